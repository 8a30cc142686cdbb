"""The window opens as it was closed: the whole filter (every chooser and the search), not
its batch alone, which showed a batch's 1,000 rows where the person had narrowed them to
39; and the folder the last copy was saved to."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_window, settle
from PySide6.QtCore import QSettings, Qt
from scripted_dialogs import ScriptedDialogs

from app.library import ConversationRow
from app.trainingfiles import add_conversations
from ui.conversation_filters import QUALITY_VALUES
from ui.main import MainWindow


def _shown(window: MainWindow) -> list[str]:
    model = window.conversations.model
    return [model.row_at(i).conversation_id for i in range(model.rowCount())]


def _narrowed(window: MainWindow, target: ConversationRow) -> dict[str, str]:
    """A filter on every kind of chooser, and a search, that ``target`` passes."""
    bar = window.conversations.filter_bar
    bar.batch_filter.select_value(target.batch_id)
    assert target.persona_archetype and not target.warning_codes
    bar.persona_filter.select_value(target.persona_archetype)
    bar.warnings_filter.select_value("without")
    bar.files_filter.setCurrentIndex(
        bar.files_filter.findText("In Set", flags=Qt.MatchFlag.MatchStartsWith))
    bar.search.setText(f"  {target.persona_name} ")
    bar.apply_search_now()
    return bar.state()


def test_the_whole_filter_and_the_download_folder_come_back(qtbot, filled_library,
                                                           tmp_path: Path) -> None:
    rows = filled_library.summaries()
    target = next(r for r in rows if r.persona_archetype and not r.warning_codes)
    add_conversations(filled_library, "Set", [r.conversation_id for r in rows[:8]]
                      + [target.conversation_id], create=True)
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, window)
    state = _narrowed(window, target)
    assert set(state) == {"batch_id", "archetype", "warnings", "training_file", "search"}
    shown = _shown(window)
    assert target.conversation_id in shown and len(shown) < len(rows)
    window.training_files.export_folder = tmp_path
    window.save_settings()
    window.close()

    again = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, again)
    assert again.conversations.filter_bar.state() == state
    assert _shown(again) == shown
    assert again.training_files.export_folder == tmp_path


@pytest.mark.parametrize("file_rule", ["in\\u001fGone", "in:Gone"])  # gone; damaged
def test_a_remembered_value_the_library_or_the_app_no_longer_has_stops_filtering(
        qtbot, filled_library, tmp_path: Path, file_rule: str) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert "someday" not in QUALITY_VALUES
    settings.setValue("conversations/filter",
                      '{"batch_id": "batch-2025-12", "arc": "no-such-arc", "warnings": "someday",'
                      ' "reviewed": "in:Gone", "training_file": "' + file_rule + '"}')
    settings.setValue("training_files/export_folder", str(tmp_path / "gone"))
    settings.sync()
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, window)
    bar = window.conversations.filter_bar
    assert bar.state() == {"batch_id": "batch-2025-12"}
    assert len(_shown(window)) == len(filled_library.summaries("batch-2025-12"))
    assert window.training_files.export_folder is None


def test_a_setting_of_the_batch_alone_is_still_read(qtbot, filled_library,
                                                    tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("conversations/batch", "batch-2025-12")
    settings.sync()
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, window)
    assert window.conversations.filter_bar.state() == {"batch_id": "batch-2025-12"}
    window.save_settings()
    written = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert written.value("conversations/batch") is None
    assert written.value("conversations/filter") == '{"batch_id": "batch-2025-12"}'


def test_a_remembered_clean_filter_comes_back(qtbot, filled_library, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, window)
    bar = window.conversations.filter_bar
    assert bar.warnings_filter.select_value("clean")
    shown = _shown(window)
    assert 0 < len(shown) < len(filled_library.summaries())
    window.save_settings()
    window.close()
    again = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, again)
    assert again.conversations.filter_bar.state() == {"warnings": "clean"}
    assert _shown(again) == shown


def test_the_page_and_the_selected_training_file_come_back_at_the_next_start(
        qtbot, two_batches, dialogs, tmp_path) -> None:
    """Audit W1: closed on the LoRA Training JSON Files page with the second file
    selected, the window opened on Conversations with the first file selected."""
    from conftest import open_window

    from app.trainingfiles import add_conversations

    ids = [row.conversation_id for row in two_batches.summaries()]
    add_conversations(two_batches, "First", ids[:2], create=True)
    add_conversations(two_batches, "Second", ids[2:4], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    assert window.pages.currentIndex() == 0, "Conversations"
    window.pages.setCurrentWidget(window.training_files)
    assert window.training_files.select_file("Second")
    window.close()

    again = open_window(qtbot, two_batches, dialogs, tmp_path)
    assert again.pages.currentWidget() is again.training_files
    assert again.training_files.selected_file().name == "Second"
    again.pages.setCurrentIndex(0)
    again.close()

    third = open_window(qtbot, two_batches, dialogs, tmp_path)
    assert third.pages.currentIndex() == 0, "Conversations"
    assert third.training_files.selected_file().name == "Second"
