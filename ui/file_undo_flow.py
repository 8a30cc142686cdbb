"""Edit ▸ Undo for the last Delete… of a training file.

The files page deletes and says so once it is done (``file_deleted``: a delete that
fails leaves what Undo offered before); this
controller keeps what brings the file back (``app.file_undo``), offers it in the window's
one Undo (``ui.undo_slot``), and runs it as a job, with progress and Cancel. Whether it is
still exact is read again each time the library is said to have changed, so a greyed-out
Undo says why on hover; the job checks again, in the transaction that writes, before it
changes anything.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.file_undo import FileDeletionUndo, refused, undo_deletion
from app.library import Library
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.kept_undo import KeptUndoController
from ui.saved_copies import with_out_of_date
from ui.tasks import run_with_progress, stopped_unchanged
from ui.undo_slot import UndoSlot
from ui.wording import plural


class FileDeletionUndoController(KeptUndoController[FileDeletionUndo]):
    """Keeps the last deleted training file and brings it back on Edit ▸ Undo."""

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, undo: UndoSlot) -> None:
        super().__init__(window, library, dialogs, changes, undo, refused)

    def undo_last(self) -> bool:
        """Bring the deleted file back, as a job; True when it was started."""
        last = self._taken()
        if last is None:
            return False

        def announce() -> None:
            # (their "In files" column is read again on this signal alone: no conversation
            # changed, so the table and the token counts need no new read)
            self.changes.training_files_changed.emit()

        def done(name: str) -> None:
            self.changes.training_file_built.emit(name)
            announce()
            self.status.emit(with_out_of_date(
                f"Undone: training file '{name}' is back, with its "
                f"{plural(last.count, 'conversation')} and settings as before",
                self.library, [name]))

        def failed(why: str) -> None:
            if stopped_unchanged(task, why):  # nothing was changed: it can still be undone
                self.record(last)
                self.status.emit(f"Undo cancelled: '{last.name}' is still deleted")
                return
            if task.is_cancelled():  # ended after Cancel: it may have been saved
                announce()
            self.dialogs.warn(self.window, "Undo", why)
            self.failed.emit(why)

        task = run_with_progress(
            self.window, f"Bringing back training file '{last.name}'",
            lambda progress, cancelled: undo_deletion(self.library, last, progress, cancelled),
            done, failed)
        return True
