"""Delete… on the training files page, then Edit ▸ Undo: the question says what goes (its
conversations, size and settings) and that Ctrl+Z brings it back; Ctrl+Z brings the file
back with its members in order, its settings and its bytes; greyed out with the reason
once a file was made under its name."""

from __future__ import annotations

from conftest import ids_of, open_window, settle
from PySide6.QtCore import Qt
from stored import stored_bytes

from app.trainingfiles import (
    add_conversations,
    change_settings,
    get_training_file,
    list_training_files,
    member_ids,
)
from ui.conversations_model import Column
from ui.training_files_model import human_size
from ui.undo_slot import NOTHING_TO_UNDO

WAIT_MS = 60000
NAME = "Short lived"


def _undo(window):
    """Edit ▸ Undo, as the menu holds it (its first entry)."""
    return window.edit_menu.actions()[0]


def _files_cell(window, cid: str) -> str:
    model = window.conversations.model
    return str(model.data(model.index(model.row_of_id(cid), Column.FILES)) or "")


def _deleted(qtbot, library, dialogs, tmp_path):
    """The window after Delete… of ``NAME`` (five conversations, weight 0, 2,048 tokens)."""
    ids = ids_of(library)[:5][::-1]
    add_conversations(library, NAME, ids, create=True)
    change_settings(library, NAME, cut_off_policy="weight0", max_seq_len=2048)
    window = open_window(qtbot, library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file(NAME)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as said:
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert said.args == [f"Deleted training file '{NAME}': Edit ▸ Undo (Ctrl+Z) brings it back"]
    assert NAME not in [f.name for f in list_training_files(library)]
    return window, page, ids


def test_the_question_names_what_goes_and_ctrl_z_brings_it_back(qtbot, filled_library,
                                                                dialogs, tmp_path):
    ids = ids_of(filled_library)[:5][::-1]
    add_conversations(filled_library, NAME, ids, create=True)
    change_settings(filled_library, NAME, cut_off_policy="weight0", max_seq_len=2048)
    info = get_training_file(filled_library, NAME)
    before = stored_bytes(filled_library, NAME)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file(NAME)
    undo = _undo(window)
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO

    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)

    assert dialogs.asked == [("confirm_destructive", "Delete training file", (
        f"Delete training file '{NAME}'? It holds 5 conversations (JSON "
        f"{human_size(info.json_bytes)}, JSONL {human_size(info.jsonl_bytes)}); its "
        "settings (cut-off replies: Keep as context, weight 0; length limit 2,048 tokens) "
        "go with it. Its JSON and JSONL are removed from the library; copies you saved "
        "elsewhere are not touched.\n\n"
        "You can undo this with Edit ▸ Undo (Ctrl+Z) until your next change."))]
    assert undo.isEnabled()
    assert undo.text() == f"Undo delete of training file '{NAME}'"
    settle(qtbot, window)
    assert [_files_cell(window, cid) for cid in ids] == [""] * 5

    window.activateWindow()
    page.setFocus()
    with qtbot.waitSignal(window.deletion_undo.status, timeout=WAIT_MS) as said:
        qtbot.keyClick(page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)

    assert said.args == [f"Undone: training file '{NAME}' is back, with its 5 conversations "
                         "and settings as before"]
    assert member_ids(filled_library, NAME) == ids, "each at its old place"
    assert get_training_file(filled_library, NAME) == info, "its settings as before"
    assert stored_bytes(filled_library, NAME) == before, "the same JSON and JSONL bytes"
    qtbot.waitUntil(lambda: page.model.row_of(NAME) is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    assert [_files_cell(window, cid) for cid in ids] == [NAME] * 5
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"
    assert dialogs.warnings == []


def test_undo_is_greyed_out_with_the_reason_once_its_name_is_taken(qtbot, filled_library,
                                                                   dialogs, tmp_path):
    window, _page, ids = _deleted(qtbot, filled_library, dialogs, tmp_path)
    add_conversations(filled_library, NAME, ids[:1], create=True)
    window.changes.training_files_changed.emit()  # as any change in the window says
    undo = _undo(window)
    assert not undo.isEnabled()
    assert undo.text() == f"Undo delete of training file '{NAME}'"
    assert undo.toolTip() == (
        f"Deleting training file '{NAME}' cannot be undone exactly: a training file named "
        f"'{NAME}' was made since. Rename it, then choose Undo again. Nothing was changed.")
    assert not window.deletion_undo.undo_last()
    assert member_ids(filled_library, NAME) == ids[:1]


def test_the_question_says_a_build_from_before_v6_cannot_be_brought_back(filled_library):
    from dataclasses import replace

    from ui.training_files_page import deletion_question

    add_conversations(filled_library, NAME, ids_of(filled_library)[:2], create=True)
    earlier = replace(get_training_file(filled_library, NAME), built=False)
    assert deletion_question(earlier).endswith(
        "\n\nThis cannot be undone: its JSON and JSONL were made by an earlier version of "
        "LoRA Studio and are kept only as files in the library folder, which are deleted. "
        "Download a copy first if you may need it.")


def test_the_question_says_a_file_too_large_to_keep_cannot_be_brought_back(filled_library):
    from dataclasses import replace

    from app.file_undo import UNDO_KEPT_UP_TO
    from ui.training_files_page import deletion_question

    add_conversations(filled_library, NAME, ids_of(filled_library)[:2], create=True)
    large = replace(get_training_file(filled_library, NAME), conversations=UNDO_KEPT_UP_TO + 1)
    assert deletion_question(large).endswith(
        "\n\nThis cannot be undone: Edit ▸ Undo keeps a deleted training file of up to "
        "20,000 conversations. Download a copy first if you may need it.")
