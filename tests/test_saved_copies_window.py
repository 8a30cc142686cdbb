"""The status after a rebuild started elsewhere than the files page (a batch renamed, a
conversation added) names the saved copies it left out of date (``ui.saved_copies``):
the real window, a real library, a real save into a folder."""

from __future__ import annotations

from pathlib import Path

from conftest import addable, open_window, settle

from app.export import ExportFormat, export
from app.trainingfiles import add_conversations
from ui.saved_copies import folder_text

WAIT_MS = 30_000
NAME, OLD, NEW = "Coaching A", "batch-2025-12", "renamed-batch"


def test_renaming_a_batch_says_the_saved_copy_it_left_out_of_date(
        qtbot, filled_library, dialogs, tmp_path: Path) -> None:
    ids = addable([row.conversation_id for row in filled_library.summaries()])
    add_conversations(filled_library, NAME, ids[:3], create=True)
    saved = tmp_path / "saved"
    saved.mkdir()
    export(filled_library, NAME, ExportFormat.JSONL, saved / f"{NAME}.jsonl")
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    assert window.conversations.set_batch_filter(OLD)
    messages: list[str] = []
    window.batches.status.connect(messages.append)
    dialogs.texts.append(NEW)

    assert window.batches.rename_current()
    qtbot.waitUntil(lambda: any("rebuilt" in m for m in messages), timeout=WAIT_MS)

    assert messages[-1] == (f"Renamed batch '{OLD}' to '{NEW}'; rebuilt '{NAME}'; your saved "
                            f"copy {NAME}.jsonl in {folder_text(saved)} is now out of date")


def test_adding_to_a_file_says_the_saved_copy_it_left_out_of_date(
        qtbot, filled_library, dialogs, tmp_path: Path) -> None:
    ids = addable([row.conversation_id for row in filled_library.summaries()])
    add_conversations(filled_library, NAME, ids[:3], create=True)
    saved = tmp_path / "saved"
    saved.mkdir()
    export(filled_library, NAME, ExportFormat.JSON, saved / f"{NAME}.json")
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    add_conversations(filled_library, NAME, ids[3:4])  # as the add review's build does
    window.creator.last_created, window.creator.last_added = False, 1
    window.creator.last_total = 4

    window.creator.built.emit(NAME)

    assert window.statusBar().currentMessage().endswith(
        f"its full JSON and JSONL were built again; your saved copy {NAME}.json in "
        f"{folder_text(saved)} is now out of date")


def test_undoing_settings_says_the_saved_copy_it_left_out_of_date(
        qtbot, filled_library, dialogs, tmp_path: Path) -> None:
    """The settings' undo rebuilds the file: a copy saved after the change is then older."""
    from ui.file_settings import FileSettings

    ids = addable([row.conversation_id for row in filled_library.summaries()])
    add_conversations(filled_library, NAME, ids[:3], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file(NAME)
    dialogs.settings.append(FileSettings("weight0", 512, "keep"))
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.settings_button.click()
    saved = tmp_path / "saved"
    saved.mkdir()
    export(filled_library, NAME, ExportFormat.JSONL, saved / f"{NAME}.jsonl")
    settle(qtbot, window)

    with qtbot.waitSignal(window.settings_undo.status, timeout=WAIT_MS) as done:
        window.edit_menu.actions()[0].trigger()

    assert done.args[0] == (f"Undone: '{NAME}' has its settings from before again (4,096 "
                            f"tokens); your saved copy {NAME}.jsonl in {folder_text(saved)} "
                            "is now out of date")
