"""Edit ▸ Undo after Remove batch from library, in the real window: Ctrl+Z brings the
batch, its conversations and the training files that held them back exactly (every
table's rows, every file's bytes); Cancel on the undo's progress changes nothing and
offers it again; a change in the way greys it out with the reason."""

from __future__ import annotations

import time

import pytest
from conftest import ids_of, open_window, settle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from test_library_undo import LEGACY_PART, MIXED, every_file, every_row, hold_in_files
from test_undo_cancelled import cancel_the_undo, offered, started_after_cancel

from app import library_undo
from app.build import StoppedByForce
from app.trainingfiles import rename_training_file
from ui import library_undo_flow
from ui.library_undo_flow import stopped_undo
from ui.tasks import jobs_of
from ui.undo_slot import NOTHING_TO_UNDO

WAIT_MS = 60000
BATCH = "legacy-batch"


@pytest.fixture
def with_files(two_batches):
    return hold_in_files(two_batches)


def quiet(qtbot, window) -> None:
    """The window's own work behind it is over: its jobs, the table's read, and the token
    counts it fills in (they write the conversations' rows)."""
    counts = window.token_counts
    qtbot.waitUntil(lambda: not jobs_of(window) and not counts.running and not counts.pending,
                    timeout=WAIT_MS)
    settle(qtbot, window)


def _opened(qtbot, library, dialogs, tmp_path):
    window = open_window(qtbot, library, dialogs, tmp_path)
    quiet(qtbot, window)
    return window


def _remove_batch(qtbot, window, dialogs) -> None:
    """Remove batch from library… on ``BATCH``, answered yes."""
    assert window.conversations.set_batch_filter(BATCH)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.status, timeout=WAIT_MS):
        window.remove_batch_action.trigger()
    quiet(qtbot, window)


def _removed_batch(qtbot, library, dialogs, tmp_path):
    """The window, once Remove batch from library… took ``BATCH`` away."""
    window = _opened(qtbot, library, dialogs, tmp_path)
    _remove_batch(qtbot, window, dialogs)
    return window


def _table_ids(window) -> list[str]:
    model = window.conversations.model
    return sorted(model.row_at(row).conversation_id for row in range(model.rowCount()))


def test_ctrl_z_brings_a_removed_batch_back_exactly(qtbot, with_files, dialogs, tmp_path):
    library = with_files
    legacy = ids_of(library, BATCH)
    assert NOTHING_TO_UNDO.endswith("rename of a training file, or deletion of one")
    window = _opened(qtbot, library, dialogs, tmp_path)
    rows, files = every_row(library), every_file(library)
    _remove_batch(qtbot, window, dialogs)
    (_kind, _title, question) = dialogs.asked[-1]
    assert "You can undo this with Edit ▸ Undo (Ctrl+Z)" in question
    assert ids_of(library, BATCH) == []
    undo = window.edit_menu.actions()[0]
    assert undo.isEnabled()
    assert undo.text() == f"Undo removal of {len(legacy)} conversations from the library"
    assert undo.toolTip() == (
        f"Put the {len(legacy)} conversations back in the library as they were, and into "
        f"'{LEGACY_PART}' and '{MIXED}' where they were (rebuilt as before)")

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    window.conversations.table.setFocus()
    with qtbot.waitSignal(window.library_undo.status, timeout=WAIT_MS) as said:
        qtbot.keyClick(window.conversations.table, Qt.Key.Key_Z,
                       Qt.KeyboardModifier.ControlModifier)
    assert said.args == [f"Undone: {len(legacy)} conversations back in the library; "
                         f"'{LEGACY_PART}', '{MIXED}' as before"]
    quiet(qtbot, window)
    assert every_row(library) == rows, "every row of every table as before"
    assert every_file(library) == files, "the full JSON and the JSONL, byte for byte"
    settle(qtbot, window)
    assert set(legacy) <= set(_table_ids(window)), "the table shows them again"
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"
    assert dialogs.warnings == []


def test_a_removal_too_large_to_keep_says_so_first_and_leaves_nothing_to_undo(
        qtbot, with_files, dialogs, tmp_path, monkeypatch):
    """What an undo keeps is held in memory: a removal beyond the limit is not kept, the
    question says so before anything is removed, and Undo offers nothing older."""
    library = with_files
    legacy = ids_of(library, BATCH)
    monkeypatch.setattr(library_undo, "UNDO_KEPT_UP_TO", len(legacy) - 1)
    monkeypatch.setattr("ui.remove_flow.UNDO_KEPT_UP_TO", len(legacy) - 1)
    window = _opened(qtbot, library, dialogs, tmp_path)
    _remove_batch(qtbot, window, dialogs)
    (_kind, _title, question) = dialogs.asked[-1]
    assert "You can undo" not in question
    assert (f"This cannot be undone: Edit ▸ Undo keeps a removal of up to {len(legacy) - 1:,} "
            "conversations." in question)
    assert ids_of(library, BATCH) == []
    undo = window.edit_menu.actions()[0]
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO


def test_a_cancelled_undo_changes_nothing_and_is_offered_again(qtbot, with_files, dialogs,
                                                             tmp_path, monkeypatch):
    library = with_files
    window = _removed_batch(qtbot, library, dialogs, tmp_path)
    undo = window.edit_menu.actions()[0]
    before = offered(undo)
    assert before[1]
    removed = every_row(library), every_file(library)
    started_after_cancel(monkeypatch, library_undo_flow, library_undo.undo_library_removal)
    with qtbot.waitSignal(window.library_undo.status, timeout=WAIT_MS) as said:
        cancel_the_undo(qtbot, window, undo)
    count = before[0].split()[3]
    assert said.args == [f"Undo cancelled: the {count} conversations are still removed"]
    quiet(qtbot, window)
    assert (every_row(library), every_file(library)) == removed
    assert offered(undo) == before
    assert dialogs.warnings == []


def test_undo_is_greyed_out_with_the_reason_once_a_file_was_renamed(qtbot, with_files,
                                                                   dialogs, tmp_path):
    library = with_files
    window = _removed_batch(qtbot, library, dialogs, tmp_path)
    undo = window.edit_menu.actions()[0]
    count = undo.text().split()[3]
    rename_training_file(library, MIXED, "Renamed")
    window.changes.training_files_changed.emit()
    assert not undo.isEnabled()
    assert undo.text() == f"Undo removal of {count} conversations from the library"
    assert undo.toolTip() == (
        f"Removing {count} conversations from the library cannot be undone exactly: the "
        f"training file '{MIXED}' was renamed 'Renamed' since. Nothing was changed. To "
        "bring them back anyway, import their files again.")
    assert not window.library_undo.undo_last()


def saved_then_killed(library, undo, progress=None, cancelled=None):
    """The undo past its grace after Cancel (in the window's child): its transaction was
    committed, then it was ended (what the window hears of a child killed after Cancel)."""
    give_up = time.monotonic() + WAIT_MS / 1000
    while not cancelled() and time.monotonic() < give_up:
        time.sleep(0.02)
    library_undo.undo_library_removal(library, undo, progress, lambda: False)
    raise StoppedByForce()


def test_an_undo_killed_after_cancel_says_so_and_is_not_offered_again(
        qtbot, with_files, dialogs, tmp_path, monkeypatch):
    library = with_files
    window = _opened(qtbot, library, dialogs, tmp_path)
    rows, files = every_row(library), every_file(library)
    _remove_batch(qtbot, window, dialogs)
    undo = window.edit_menu.actions()[0]
    last = window.library_undo.last
    monkeypatch.setattr(library_undo_flow, "undo_library_removal", saved_then_killed)
    said: list[str] = []
    window.library_undo.status.connect(said.append)
    cancel_the_undo(qtbot, window, undo)
    assert dialogs.warnings == [("Undo", stopped_undo(last))]
    assert said == []
    assert offered(undo) == ("Undo", False, NOTHING_TO_UNDO)
    quiet(qtbot, window)
    assert (every_row(library), every_file(library)) == (rows, files), "it was saved"
    assert set(ids_of(library, BATCH)) <= set(_table_ids(window)), "and the table says so"


def test_a_removal_reads_whether_its_undo_is_exact_once(qtbot, with_files, dialogs, tmp_path,
                                                        monkeypatch):
    """The removal announces itself with three change signals; whether Undo is still exact
    is read from the library once for them all, not once each (on the GUI thread, each
    read of 1,000 removed ids took 15-20 ms), and Undo is offered as before."""
    window = _opened(qtbot, with_files, dialogs, tmp_path)
    reads: list[int] = []
    refused = library_undo_flow.LibraryRemovalUndoController.refused

    def counted(session, undo, whole):
        reads.append(undo.count)
        return refused(session, undo, whole)

    monkeypatch.setattr(library_undo_flow.LibraryRemovalUndoController, "refused",
                        staticmethod(counted))
    removed = len(ids_of(with_files, BATCH))
    assert window.conversations.set_batch_filter(BATCH)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.removed, timeout=WAIT_MS):
        window.remove_batch_action.trigger()
    assert reads == [removed]
    undo = window.edit_menu.actions()[0]
    assert undo.isEnabled()
    assert undo.text() == f"Undo removal of {removed} conversations from the library"
    quiet(qtbot, window)
