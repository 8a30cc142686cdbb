"""Edit ▸ Undo cancelled with the progress dialog's Cancel, as a person does it: nothing
changes, and Undo is offered again as before (same words, enabled), for each kind it
undoes (a batch rename, a batch move, a removal from a training file, a deleted file).

The undo job here waits for Cancel before it runs the real undo (with that Cancel), so the
Cancel always comes while the job runs, however slow the machine.
"""

from __future__ import annotations

import functools
import importlib
import time
from typing import Any

from conftest import ids_of, open_window, settle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QPushButton
from stored import stored_bytes
from test_file_undo_window import NAME as DELETED
from test_file_undo_window import _deleted
from test_member_undo_window import NAME, _on_page, _remove_picked, _undo

from app import batch_undo, file_undo, member_undo
from app.build import StoppedByForce
from app.removal import apply_removal, plan_removal
from app.trainingfiles import add_conversations, list_training_files, member_ids
from ui import batch_flow, file_undo_flow, member_undo_flow
from ui.tasks import STOPPED_BY_FORCE, job_over, jobs_of
from ui.undo_slot import NOTHING_TO_UNDO

WAIT_MS = 60000
HOLDER = "holder"  # a training file holding conversations the batch change touched


def after_cancel(library: Any, undo: Any, progress: Any = None, cancelled: Any = None, *,
                 job: str) -> Any:
    """The undo job named ``job`` (its module's own, not the patched name), started only
    once Cancel was pressed (in the window's child or on its worker thread)."""
    give_up = time.monotonic() + WAIT_MS / 1000  # (a test that never cancels ends)
    while not cancelled() and time.monotonic() < give_up:
        time.sleep(0.02)
    module, name = job.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(library, undo, progress, cancelled)


def started_after_cancel(monkeypatch: Any, module: Any, job: Any) -> None:
    monkeypatch.setattr(module, job.__name__, functools.partial(
        after_cancel, job=f"{job.__module__}.{job.__name__}"))


def cancel_the_undo(qtbot: Any, window: Any, undo: Any) -> None:
    """Edit ▸ Undo, then Cancel on its progress dialog once it shows; back when the job
    has ended and its outcome was handled. Only once the change's own jobs are over (the
    rebuild of the training files it touched: its status can come before its end is
    handled), so that the one job then is the undo."""
    qtbot.waitUntil(lambda: not jobs_of(window), timeout=WAIT_MS)
    undo.trigger()
    (task,) = jobs_of(window)

    def progress_dialog() -> QProgressDialog | None:
        shown = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
        return shown[0] if shown else None

    qtbot.waitUntil(lambda: progress_dialog() is not None, timeout=WAIT_MS)
    dialog = progress_dialog()
    assert dialog is not None
    cancel = dialog.findChild(QPushButton)
    assert cancel.text() == "Cancel"
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job_over(task), timeout=WAIT_MS)


def offered(undo: Any) -> tuple[str, bool, str]:
    return undo.text(), undo.isEnabled(), undo.toolTip()


def batch_of(library: Any) -> dict[str, str]:
    return {row.conversation_id: row.batch_id for row in library.summaries()}


def test_a_cancelled_undo_of_a_batch_move_changes_nothing_and_is_offered_again(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    legacy = ids_of(two_batches, "legacy-batch")
    add_conversations(two_batches, HOLDER, legacy[:3], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(legacy[:2])
    dialogs.texts.append("elsewhere")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
    undo = window.edit_menu.actions()[0]
    before = offered(undo)
    assert before[:2] == ("Undo move of 2 conversations to batch 'elsewhere'", True)
    moved = batch_of(two_batches), stored_bytes(two_batches, HOLDER)
    started_after_cancel(monkeypatch, batch_flow, batch_undo.undo_move)
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS) as said:
        cancel_the_undo(qtbot, window, undo)
    assert said.args == ["Undo cancelled: the 2 conversations are still in batch "
                         "'elsewhere'"]
    assert (batch_of(two_batches), stored_bytes(two_batches, HOLDER)) == moved
    assert offered(undo) == before
    assert dialogs.warnings == []
    settle(qtbot, window)
    assert offered(undo) == before, "the table read again: still offered"


def test_a_cancelled_undo_of_a_batch_rename_changes_nothing_and_is_offered_again(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    add_conversations(two_batches, HOLDER, ids_of(two_batches, "legacy-batch")[:3],
                      create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.set_batch_filter("legacy-batch")
    dialogs.texts.append("renamed")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.rename_current()
    undo = window.edit_menu.actions()[0]
    before = offered(undo)
    assert before[:2] == ("Undo rename of batch 'legacy-batch' to 'renamed'", True)
    renamed = batch_of(two_batches), stored_bytes(two_batches, HOLDER)
    started_after_cancel(monkeypatch, batch_flow, batch_undo.undo_rename)
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS) as said:
        cancel_the_undo(qtbot, window, undo)
    assert said.args == ["Undo cancelled: batch 'renamed' was not changed"]
    assert (batch_of(two_batches), stored_bytes(two_batches, HOLDER)) == renamed
    assert offered(undo) == before
    assert dialogs.warnings == []
    settle(qtbot, window)
    assert window.conversations.batch_filter.value() == "renamed", "the filter stays"
    assert offered(undo) == before


def test_a_cancelled_undo_of_a_removal_changes_nothing_and_is_offered_again(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    window, page, _ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    _remove_picked(qtbot, page, dialogs)
    undo = _undo(window)
    before = offered(undo)
    assert before[:2] == ("Undo removal of 2 conversations from 'Kept'", True)
    removed = stored_bytes(filled_library, NAME), member_ids(filled_library, NAME)
    started_after_cancel(monkeypatch, member_undo_flow, member_undo.undo_removal)
    with qtbot.waitSignal(window.removal_undo.status, timeout=WAIT_MS) as said:
        cancel_the_undo(qtbot, window, undo)
    assert said.args == ["Undo cancelled: 'Kept' was not changed"]
    assert (stored_bytes(filled_library, NAME), member_ids(filled_library, NAME)) == removed
    assert offered(undo) == before
    assert dialogs.warnings == []
    settle(qtbot, window)
    assert offered(undo) == before


def test_a_cancelled_undo_of_a_deleted_file_changes_nothing_and_is_offered_again(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    window, _page, _ids = _deleted(qtbot, filled_library, dialogs, tmp_path)
    undo = _undo(window)
    before = offered(undo)
    assert before[:2] == (f"Undo delete of training file '{DELETED}'", True)
    started_after_cancel(monkeypatch, file_undo_flow, file_undo.undo_deletion)
    with qtbot.waitSignal(window.deletion_undo.status, timeout=WAIT_MS) as said:
        cancel_the_undo(qtbot, window, undo)
    assert said.args == [f"Undo cancelled: '{DELETED}' is still deleted"]
    assert DELETED not in [f.name for f in list_training_files(filled_library)]
    assert offered(undo) == before
    assert dialogs.warnings == []
    settle(qtbot, window)
    assert offered(undo) == before


def refused_after_cancel(library: Any, undo: Any, progress: Any = None,
                         cancelled: Any = None) -> Any:
    """The removal's undo, started once Cancel was pressed, after a team member (here the
    library used directly, unannounced) removed one of its conversations from the
    library: the real job refuses, in its own words, with nothing changed."""
    give_up = time.monotonic() + WAIT_MS / 1000
    while not cancelled() and time.monotonic() < give_up:
        time.sleep(0.02)
    gone = undo.removed[0][1]
    apply_removal(library, plan_removal(library, [gone]))
    return member_undo.undo_removal(library, undo, progress, cancelled)


def saved_then_killed(library: Any, undo: Any, progress: Any = None,
                      cancelled: Any = None) -> Any:
    """The removal's undo past its grace after Cancel: its write was saved, then it was
    ended (what ``ui.tasks`` hears of a job killed after Cancel)."""
    give_up = time.monotonic() + WAIT_MS / 1000
    while not cancelled() and time.monotonic() < give_up:
        time.sleep(0.02)
    member_undo.undo_removal(library, undo, progress, lambda: False)
    raise StoppedByForce()


def test_an_undo_of_a_removal_refused_while_cancel_was_pressed_says_why_and_is_not_offered(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    """Cancel pressed is not "nothing was changed, undo it later": the job's own refusal
    reaches the person, and the undo is not offered again as if it had been cancelled."""
    window, page, _ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    _remove_picked(qtbot, page, dialogs)
    undo = _undo(window)
    gone = window.removal_undo.last.removed[0][1]
    monkeypatch.setattr(member_undo_flow, "undo_removal", refused_after_cancel)
    said: list[str] = []
    window.removal_undo.status.connect(said.append)
    cancel_the_undo(qtbot, window, undo)  # (its outcome handled: said or warned)
    assert dialogs.warnings == [("Undo", (
        f"Removing 2 conversations from 'Kept' cannot be undone exactly: '{gone}' is no "
        "longer in the library. Nothing was changed. To put them back anyway, check them "
        "on the Conversations page and add them to the file with Create training files "
        "(they go at its end)."))]
    assert said == []
    assert offered(undo) == ("Undo", False, NOTHING_TO_UNDO)


def test_an_undo_of_a_removal_killed_after_cancel_is_not_offered_again(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    """Killed after Cancel, the undo may have been saved (here it was): not "'Kept' was
    not changed", and no second undo of it."""
    window, page, ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    _remove_picked(qtbot, page, dialogs)
    undo = _undo(window)
    monkeypatch.setattr(member_undo_flow, "undo_removal", saved_then_killed)
    said: list[str] = []
    window.removal_undo.status.connect(said.append)
    cancel_the_undo(qtbot, window, undo)  # (its outcome handled: said or warned)
    assert member_ids(filled_library, NAME) == ids, "the undo was saved before the kill"
    assert dialogs.warnings == [("Undo", STOPPED_BY_FORCE)]
    assert said == []
    assert offered(undo) == ("Undo", False, NOTHING_TO_UNDO)
