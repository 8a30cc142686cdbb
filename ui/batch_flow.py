"""Renaming batches and moving conversations between them, from the window."""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app import batch_jobs
from app.batch_undo import MoveUndo, RenameUndo, Undo, undo_move, undo_rename
from app.library import Library, clean_batch_id
from app.stopped_jobs import move_back_stopped, move_stopped, rename_stopped
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.name_prompt import ask_name
from ui.rebuild_flow import quoted, update_training_files
from ui.tasks import in_child, run_with_progress, saying_if_killed, stopped_unchanged
from ui.undo_slot import NOTHING_TO_UNDO, UndoSlot
from ui.wording import agreeing, plural, the_count


class BatchController(QObject):
    """Asks for the new batch id, changes the library, announces the change, and says
    what happened. It asks the page two questions (which batch, which rows are checked)
    and never touches the page's widgets."""

    status = Signal(str)  # a message for the status bar, once everything is done
    failed = Signal(str)  # the rename or move was refused (after the warning)
    # (old, new) as a rename starts writing, None once it was refused: rows read after the
    # write reach the page before ``batch_renamed`` can, and already lack the old batch.
    renaming = Signal(object)

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, current_batch: Callable[[], str | None],
                 checked_ids: Callable[[], list[str]], undo: UndoSlot | None = None,
                 batch_ids: Callable[[], list[str]] = list) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        self.current_batch = current_batch
        self.checked_ids = checked_ids
        self.batch_ids = batch_ids  # the library's batches, in the filter's order
        # Edit ▸ Undo: the last rename or move, while the batches are as it left them
        self.last: Undo | None = None
        self.changed_since = False  # the batches changed after ``last`` was done
        # The window's one Undo, shared with the other changes it can undo (``undo``).
        self.undo = undo or UndoSlot(self)
        self.undo_action = self.undo.action
        changes.batches_changed.connect(self._batches_changed)
        self._show_undo()

    def move_checked(self) -> bool:
        """True when the move was started (it writes in a child process; ``status`` says
        when everything, the rebuilt training files included, is done)."""
        ids = self.checked_ids()
        if not ids:
            self.dialogs.warn(self.window, "Move to batch",
                              "No conversations are checked: check the ones to move first.")
            return False
        # The batches there are, to pick from (a typo in a typed name made a new batch
        # without a word); a new name is still typed, and said to be new. A name refused
        # (empty, control characters, too long) is asked again as typed, with the reason.
        known = self.batch_ids()
        target = ask_name(self.dialogs, self.window, "Move to batch",
                          f"Move {plural(len(ids), 'checked conversation')} to batch "
                          "(pick one, or type a new batch ID):",
                          self.current_batch() or "", clean_batch_id, known)
        if target is None:
            return False
        where = f"batch '{target}'" if target in known else f"a new batch, '{target}'"

        def moved(result: tuple[int, list[str], MoveUndo]) -> None:
            count, stale, undo = result
            self.changes.conversations_moved.emit(list(ids), target)
            self.changes.batches_changed.emit()
            self._record(undo)
            self._rebuild(stale, f"Moved {plural(count, 'conversation')} to {where}")

        self._hold_undo()
        task = run_with_progress(
            self.window, f"Moving {plural(len(ids), 'conversation')}",
            saying_if_killed(in_child(batch_jobs.move_conversations, self.library, ids, target),
                             functools.partial(move_stopped, len(ids), target)),
            moved, lambda why: self._failed("Move to batch", why, task.is_cancelled()))
        return True

    def rename_current(self) -> bool:
        """True when the rename was started (see ``move_checked``)."""
        old = self.current_batch()
        if old is None:
            self.dialogs.warn(self.window, "Rename batch",
                              "Choose a batch in the Batch ID filter, or select one of its "
                              "conversations, first.")
            return False
        new = ask_name(self.dialogs, self.window, "Rename batch",
                       f"New batch ID for '{old}' (an existing batch ID merges the two "
                       "batches):", old, clean_batch_id)
        if new is None or new == old:
            return False

        def renamed(result: tuple[list[str], RenameUndo]) -> None:
            stale, undo = result
            self.changes.batch_renamed.emit(old, new)
            self.changes.batches_changed.emit()
            self._record(undo)
            self._rebuild(stale, (
                f"Merged batch '{old}' into '{undo.new}': its "
                f"{plural(len(undo.renamed), 'conversation')} "
                f"{agreeing(len(undo.renamed), 'is', 'are')} in '{undo.new}' now "
                "(Edit ▸ Undo takes them out again)" if undo.merged
                else f"Renamed batch '{old}' to '{new}'"))

        def refused(why: str) -> None:
            self.renaming.emit(None)
            self._failed("Rename batch", why, task.is_cancelled())

        self.renaming.emit((old, new))
        self._hold_undo()
        task = run_with_progress(
            self.window, f"Renaming batch '{old}'",
            saying_if_killed(in_child(batch_jobs.rename_batch, self.library, old, new),
                             functools.partial(rename_stopped, old, new)),
            renamed, refused)
        return True

    # --- undo ----------------------------------------------------------------------------

    def _record(self, undo: Undo) -> None:
        """The change just announced is the one Undo reverses (said after its own
        ``batches_changed``, which therefore does not count as a later change)."""
        self.last = undo
        self.changed_since = False
        self.undo.take(self)
        self._show_undo()

    def _hold_undo(self) -> None:
        """A new change starts: Undo waits for it, greyed out (Ctrl+Z in the moment before
        the progress dialog shows must not undo the one before under it), keeping what it
        offered: made, the new change's undo takes the place (``_record``); refused or
        cancelled, Undo offers again what it offered (``_failed``). Forgotten at the
        start, a rename or move that failed lost the undo of the change before it."""
        self.undo.hold(self)

    def forget_undo(self) -> None:
        """A change of another kind came after ``last``: Undo offers that one now."""
        self.last = None

    def _batches_changed(self) -> None:
        if self.last is not None:
            self.changed_since = True
            self._show_undo()

    def undo_refused(self) -> str | None:
        """Why Undo is greyed out now (None: it is not)."""
        if self.last is None:
            return NOTHING_TO_UNDO
        if self.changed_since:
            return ("The batches changed after this (an import, a removal, another "
                    "rename or move): it can no longer be undone exactly. To put "
                    "them back anyway, filter on the batch and use Rename batch… or Move "
                    "checked to batch… yourself.")
        return None

    def _show_undo(self) -> None:
        refused = self.undo_refused()
        self.undo.show(self, None if self.last is None else self.last.label, refused,
                       "" if refused else self._undo_tip())

    def _undo_tip(self) -> str:
        last = self.last
        if isinstance(last, RenameUndo) and last.merged:
            count = len(last.renamed)
            them = "the conversation" if count == 1 else f"the {count:,} conversations"
            return (f"Make batch '{last.old}' again and put {them} it held back in it, out "
                    f"of '{last.new}'; the training files holding them are rebuilt")
        if isinstance(last, RenameUndo):
            return (f"Name batch '{last.new}' '{last.old}' again "
                    f"({plural(len(last.pks), 'conversation')}); the training files "
                    "holding them are rebuilt")
        assert last is not None
        back = last.back_to()
        places = (f"batch '{next(iter(back))}'" if len(back) == 1
                  else f"the {len(back)} batches they came from")
        count = len(last.before)
        them = "the conversation" if count == 1 else f"the {count:,} conversations"
        return f"Put {them} back in {places}; the training files holding them are rebuilt"

    def undo_last(self) -> bool:
        """Reverse the last rename or move as a job like it (in the child, with progress);
        True when it was started. The job itself checks that it is still exact, and changes
        nothing when it is not."""
        last = self.last
        if last is None or self.undo_refused() is not None:
            return False
        self.last = None  # one step: no redo, and never twice
        self._show_undo()
        if isinstance(last, RenameUndo):
            self._undo_rename(last)
        else:
            self._undo_move(last)
        return True

    def _undo_rename(self, undo: RenameUndo) -> None:
        if undo.merged:
            self._undo_merge(undo)
            return

        def done(stale: list[str]) -> None:
            self.changes.batch_renamed.emit(undo.new, undo.old)
            self.changes.batches_changed.emit()
            self._rebuild(stale, f"Undone: batch '{undo.new}' is '{undo.old}' again")

        self.renaming.emit((undo.new, undo.old))
        self._run_undo(undo, f"Undoing the rename of batch '{undo.old}'", undo_rename,
                       functools.partial(rename_stopped, undo.new, undo.old), done,
                       f"batch '{undo.new}' was not changed",
                       not_made=lambda: self.renaming.emit(None))

    def _undo_merge(self, undo: RenameUndo) -> None:
        """A merge's undo is a move back: ``undo.new`` stays, with what it held before."""
        count = len(undo.renamed)

        def done(stale: list[str]) -> None:
            self.changes.conversations_moved.emit(undo.ids, undo.old)
            self.changes.batches_changed.emit()
            self._rebuild(stale, f"Undone: batch '{undo.old}' is back, with its "
                                 f"{plural(count, 'conversation')}, apart from '{undo.new}'")

        self._run_undo(undo, f"Taking batch '{undo.old}' out of '{undo.new}' again",
                       undo_rename, functools.partial(move_back_stopped, count, undo.new),
                       done, f"{the_count(count)} of '{undo.old}' {agreeing(count, 'is', 'are')} "
                             f"still in batch '{undo.new}'")

    def _undo_move(self, undo: MoveUndo) -> None:
        count = len(undo.before)

        def done(stale: list[str]) -> None:
            for batch, ids in undo.back_to().items():
                self.changes.conversations_moved.emit(ids, batch)
            self.changes.batches_changed.emit()
            self._rebuild(stale, f"Undone: {plural(count, 'conversation')} moved back from "
                                 f"batch '{undo.target}'")

        self._run_undo(undo, f"Moving {plural(count, 'conversation')} back", undo_move,
                       functools.partial(move_back_stopped, count, undo.target), done,
                       f"{the_count(count)} {agreeing(count, 'is', 'are')} still in batch "
                       f"'{undo.target}'")

    def _run_undo(self, undo: Undo, title: str, job: Callable[..., list[str]],
                  stopped: Callable[[], str], done: Callable[[list[str]], None],
                  unchanged: str, not_made: Callable[[], None] = lambda: None) -> None:
        """Run an undo's ``job`` in the child with progress and Cancel: stopped by Cancel
        before it changed anything, it is offered again and the status says ``unchanged``;
        refused or failed, it is said (``not_made`` first, either way it was not made)."""
        def refused(why: str) -> None:
            not_made()
            if not self._offered_again(undo, stopped_unchanged(task, why), unchanged):
                self._failed("Undo", why, task.is_cancelled())

        task = run_with_progress(
            self.window, title,
            saying_if_killed(in_child(job, self.library, undo), stopped), done, refused)

    def _offered_again(self, undo: Undo, unchanged_by_cancel: bool, unchanged: str) -> bool:
        """An undo that stopped on Cancel changed nothing (its one transaction was rolled
        back): Undo offers it again, as before. Not after a kill (it may be saved) or a
        refusal (it is no longer exact): those are said as any failure is
        (``ui.tasks.stopped_unchanged``)."""
        if not unchanged_by_cancel:
            return False
        self._record(undo)
        self.status.emit(f"Undo cancelled: {unchanged}")
        return True

    def _failed(self, title: str, why: str, cancelled: bool) -> None:
        """The write is one transaction: refused, nothing was changed; but after Cancel its
        child may have been killed with the change saved (``app.stopped_jobs``), so then
        the views read the library again."""
        self.undo.release(self)  # (what it offers reads again: the signals below)
        if cancelled:
            self.changes.conversations_changed.emit()
            self.changes.batches_changed.emit()
            self.changes.training_files_changed.emit()
        self.dialogs.warn(self.window, title, why)
        self.failed.emit(why)

    def _rebuild(self, names: list[str], message: str) -> None:
        """Training files record each conversation's batch: bring those that changed up to
        date in the background, then report."""
        update_training_files(
            self.window, self.library, self.changes, self.dialogs, names, message,
            self.status.emit,
            f"The batch change is saved; {quoted(names)} "
            f"{agreeing(len(names), 'shows', 'show')} the old batch until "
            f"{agreeing(len(names), 'it is', 'they are')} rebuilt, at the latest the next "
            "time LoRA Studio opens this library.")
