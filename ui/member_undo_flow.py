"""Edit ▸ Undo for the last removal of conversations from a training file.

The files page removes and says so (``removal_starts``, ``members_removed``); this
controller keeps what puts them back, offers it in the window's one Undo
(``ui.undo_slot``), and runs it as the removal ran: on a worker thread, with progress and
Cancel. Whether it is still exact is read from the library each time the library is said
to have changed, and when the Edit menu opens, so a greyed-out Undo says why on hover; the
job checks again, in one transaction, before it changes anything.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.library import Library
from app.member_undo import RemovalUndo, refused, undo_removal
from app.trainingfiles import TrainingFileInfo
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.kept_undo import KeptUndoController
from ui.saved_copies import with_out_of_date
from ui.tasks import run_with_progress, stopped_unchanged
from ui.undo_slot import UndoSlot
from ui.wording import plural


class RemovalUndoController(KeptUndoController[RemovalUndo]):
    """Keeps the last removal from a training file and undoes it on Edit ▸ Undo."""

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, undo: UndoSlot) -> None:
        super().__init__(window, library, dialogs, changes, undo, refused)

    def undo_last(self) -> bool:
        """Put the removed conversations back, as a job; True when it was started."""
        last = self._taken()
        if last is None:
            return False
        count = plural(len(last.removed), "conversation")

        def done(info: TrainingFileInfo) -> None:
            self.changes.training_file_built.emit(info.name)
            self.changes.training_files_changed.emit()
            self.status.emit(with_out_of_date(f"Undone: {count} put back into '{info.name}'",
                                              self.library, [info.name]))

        def failed(why: str) -> None:
            if stopped_unchanged(task, why):  # nothing was changed: it can still be undone
                self.record(last)
                self.status.emit(f"Undo cancelled: '{last.name}' was not changed")
                return
            if task.is_cancelled():  # ended after Cancel: it may have been saved
                self.changes.training_files_changed.emit()
                self.changes.conversations_changed.emit()
            self.dialogs.warn(self.window, "Undo", why)
            self.failed.emit(why)

        task = run_with_progress(
            self.window, f"Putting {count} back into '{last.name}'",
            lambda progress, cancelled: undo_removal(self.library, last, progress, cancelled),
            done, failed)
        return True
