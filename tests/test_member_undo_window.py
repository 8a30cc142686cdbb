"""Edit ▸ Undo after "Remove from file" on the training files page: Ctrl+Z puts the
conversations back where they were (the member list, the table's "In files" and the file's
bytes as before); greyed out with the reason once that cannot be exact; refused by the job
itself, with nothing changed, when the library changed behind the window's back; and a
change of another kind replaces what Undo offers."""

from __future__ import annotations

from conftest import ids_of, open_window, settle
from PySide6.QtCore import QItemSelectionModel, Qt
from stored import stored_bytes

from app.removal import apply_removal, plan_removal
from app.trainingfiles import add_conversations, member_ids, rename_training_file
from ui.conversations_model import Column
from ui.undo_slot import NOTHING_TO_UNDO

WAIT_MS = 60000
NAME = "Kept"
PICKED = (1, 3)  # the member rows removed: from the middle, apart


def _undo(window):
    """Edit ▸ Undo, as the menu holds it (its first entry)."""
    return window.edit_menu.actions()[0]


def _files_cell(window, cid: str) -> str:
    model = window.conversations.model
    return str(model.data(model.index(model.row_of_id(cid), Column.FILES)) or "")


def _shown_members(page) -> list[str]:
    model = page.members_model
    return [model.row_at(row).conversation_id for row in range(model.rowCount())]


def _on_page(qtbot, library, dialogs, tmp_path):
    """The window on the files page, showing ``NAME`` (six conversations)."""
    ids = ids_of(library)[:6]
    add_conversations(library, NAME, ids, create=True)
    window = open_window(qtbot, library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file(NAME)
    qtbot.waitUntil(lambda: _shown_members(page) == ids, timeout=WAIT_MS)
    return window, page, ids


def _remove_picked(qtbot, page, dialogs) -> None:
    selection = page.members.selectionModel()
    selection.clearSelection()
    for row in PICKED:
        selection.select(page.members_model.index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)


def test_ctrl_z_puts_removed_conversations_back_where_they_were(qtbot, filled_library,
                                                                dialogs, tmp_path):
    window, page, ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    out = [ids[row] for row in PICKED]
    before = stored_bytes(filled_library, NAME)
    undo = _undo(window)
    assert undo.text() == "Undo" and undo.shortcut().toString() == "Ctrl+Z"
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO

    _remove_picked(qtbot, page, dialogs)
    assert member_ids(filled_library, NAME) == [c for c in ids if c not in out]
    assert undo.isEnabled()
    assert undo.text() == "Undo removal of 2 conversations from 'Kept'"
    assert undo.toolTip() == ("Put the 2 conversations back into 'Kept' where they were; "
                              "its JSON and JSONL are rebuilt")
    settle(qtbot, window)
    assert [_files_cell(window, cid) for cid in out] == ["", ""]

    window.activateWindow()
    page.members.setFocus()
    with qtbot.waitSignal(window.removal_undo.status, timeout=WAIT_MS) as said:
        qtbot.keyClick(page.members, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert said.args == ["Undone: 2 conversations put back into 'Kept'"]
    assert member_ids(filled_library, NAME) == ids, "each at its old place"
    assert stored_bytes(filled_library, NAME) == before, "the same JSON and JSONL bytes"
    qtbot.waitUntil(lambda: _shown_members(page) == ids, timeout=WAIT_MS)
    settle(qtbot, window)
    assert [_files_cell(window, cid) for cid in out] == [NAME, NAME]
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"
    assert dialogs.warnings == []


def test_undo_is_greyed_out_with_the_reason_once_the_file_was_renamed(qtbot, filled_library,
                                                                     dialogs, tmp_path):
    """Renamed elsewhere (the command line, a team member): a rename in the window is
    itself the change Undo then offers (``tests/test_file_rename_undo.py``)."""
    window, page, _ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    _remove_picked(qtbot, page, dialogs)
    rename_training_file(filled_library, NAME, "Renamed")
    window.changes.training_files_changed.emit()
    undo = _undo(window)
    assert not undo.isEnabled()
    assert undo.text() == "Undo removal of 2 conversations from 'Kept'"
    assert undo.toolTip() == (
        "Removing 2 conversations from 'Kept' cannot be undone exactly: 'Kept' was renamed "
        "'Renamed' since. Nothing was changed. To put them back anyway, check them on the "
        "Conversations page and add them to the file with Create training files (they go "
        "at its end).")
    assert not window.removal_undo.undo_last()


def test_the_undo_job_changes_nothing_when_the_library_changed_behind_the_window(
        qtbot, filled_library, dialogs, tmp_path):
    """A team member (here: the library used directly, unannounced) removed one of them
    from the library: the job refuses and says why."""
    window, page, ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    _remove_picked(qtbot, page, dialogs)
    gone = ids[PICKED[0]]
    apply_removal(filled_library, plan_removal(filled_library, [gone]))
    kept = stored_bytes(filled_library, NAME), member_ids(filled_library, NAME)
    assert _undo(window).isEnabled(), "not announced: the window does not know yet"
    with qtbot.waitSignal(window.removal_undo.failed, timeout=WAIT_MS):
        _undo(window).trigger()
    assert dialogs.warnings == [("Undo", (
        f"Removing 2 conversations from 'Kept' cannot be undone exactly: '{gone}' is no "
        "longer in the library. Nothing was changed. To put them back anyway, check them "
        "on the Conversations page and add them to the file with Create training files "
        "(they go at its end)."))]
    assert (stored_bytes(filled_library, NAME), member_ids(filled_library, NAME)) == kept
    assert not _undo(window).isEnabled()


def test_the_last_change_of_either_kind_is_the_one_undo_offers(qtbot, filled_library,
                                                              dialogs, tmp_path):
    window, page, _ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    undo = _undo(window)
    window.conversations.model.set_checked_ids(ids_of(filled_library)[-2:])
    dialogs.texts.append("elsewhere")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
    assert undo.text() == "Undo move of 2 conversations to batch 'elsewhere'"

    _remove_picked(qtbot, page, dialogs)
    assert undo.text() == "Undo removal of 2 conversations from 'Kept'"
    assert not window.batches.undo_last(), "the move is no longer the last change"

    settle(qtbot, window)
    window.conversations.model.set_checked_ids(ids_of(filled_library)[-1:])
    dialogs.texts.append("third")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
    assert undo.text() == "Undo move of 1 conversation to batch 'third'"
    assert undo.isEnabled()
    assert not window.removal_undo.undo_last(), "the removal is no longer the last change"


def test_a_removal_from_a_file_is_not_read_again_at_once_for_its_undo(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    """The removal's job read the removed conversations' states to make the undo: read
    again on the GUI thread as it was recorded they held a 10,000-conversation window
    60 ms and said nothing new. The Edit menu's opening and the next change still read
    whether Undo is exact, and greying still follows a change (renamed elsewhere)."""
    from ui import member_undo_flow

    window, page, _ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    reads: list[int] = []
    refused = member_undo_flow.RemovalUndoController.refused

    def counted(session, undo, whole):
        reads.append(len(undo.removed))
        return refused(session, undo, whole)

    monkeypatch.setattr(member_undo_flow.RemovalUndoController, "refused",
                        staticmethod(counted))
    _remove_picked(qtbot, page, dialogs)
    undo = _undo(window)
    assert reads == [] and undo.isEnabled()
    assert undo.text() == "Undo removal of 2 conversations from 'Kept'"
    window.edit_menu.aboutToShow.emit()
    assert reads == [len(PICKED)] and undo.isEnabled()
    rename_training_file(filled_library, NAME, "Renamed")
    window.changes.training_files_changed.emit()
    assert reads == [len(PICKED)] * 2 and not undo.isEnabled()
