"""Renaming batches and moving conversations between them, from the window."""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app import batch_jobs
from app.library import Library, clean_batch_id
from app.stopped_jobs import move_stopped, rename_stopped
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.name_prompt import ask_name
from ui.rebuild_flow import quoted, rebuild_in_background
from ui.tasks import in_child, run_with_progress, saying_if_killed
from ui.wording import agreeing, plural


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
                 checked_ids: Callable[[], list[str]]) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        self.current_batch = current_batch
        self.checked_ids = checked_ids

    def move_checked(self) -> bool:
        """True when the move was started (it writes in a child process; ``status`` says
        when everything, the rebuilt training files included, is done)."""
        ids = self.checked_ids()
        if not ids:
            self.dialogs.warn(self.window, "Move to batch",
                              "No conversations are checked: check the ones to move first.")
            return False
        # A name refused (empty, control characters, too long) is asked again as typed,
        # with the reason above the question.
        target = ask_name(self.dialogs, self.window, "Move to batch",
                          f"Move {plural(len(ids), 'checked conversation')} to batch:",
                          self.current_batch() or "", clean_batch_id)
        if target is None:
            return False

        def moved(result: tuple[int, list[str]]) -> None:
            count, stale = result
            self.changes.conversations_moved.emit(list(ids), target)
            self.changes.batches_changed.emit()
            self._rebuild(stale, f"Moved {plural(count, 'conversation')} to batch '{target}'")

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
                       f"New name for batch '{old}' (an existing name merges the two "
                       "batches):", old, clean_batch_id)
        if new is None or new == old:
            return False

        def renamed(stale: list[str]) -> None:
            self.changes.batch_renamed.emit(old, new)
            self.changes.batches_changed.emit()
            self._rebuild(stale, f"Renamed batch '{old}' to '{new}'")

        def refused(why: str) -> None:
            self.renaming.emit(None)
            self._failed("Rename batch", why, task.is_cancelled())

        self.renaming.emit((old, new))
        task = run_with_progress(
            self.window, f"Renaming batch '{old}'",
            saying_if_killed(in_child(batch_jobs.rename_batch, self.library, old, new),
                             functools.partial(rename_stopped, old, new)),
            renamed, refused)
        return True

    def _failed(self, title: str, why: str, cancelled: bool) -> None:
        """The write is one transaction: refused, nothing was changed; but after Cancel its
        child may have been killed with the change saved (``app.stopped_jobs``), so then
        the views read the library again."""
        if cancelled:
            self.changes.conversations_changed.emit()
            self.changes.batches_changed.emit()
            self.changes.training_files_changed.emit()
        self.dialogs.warn(self.window, title, why)
        self.failed.emit(why)

    def _rebuild(self, names: list[str], message: str) -> None:
        """Training files record each conversation's batch: bring those that changed up to
        date in the background, then report."""
        if not names:
            self.status.emit(message)
            return
        rebuild_in_background(
            self.window, self.library, self.changes, self.dialogs, names,
            title="Updating training files",
            on_done=lambda rebuilt: self.status.emit(f"{message}; rebuilt {quoted(rebuilt)}"),
            failure_title="Training files not updated",
            failure_consequence=(
                f"The batch change is saved; {quoted(names)} "
                f"{agreeing(len(names), 'shows', 'show')} the old batch until "
                f"{agreeing(len(names), 'it is', 'they are')} rebuilt, at the latest the next "
                "time LoRA Studio opens this library."))
