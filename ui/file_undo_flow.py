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

from app.file_undo import FileDeletionUndo, refused, undo_deletion
from ui.kept_undo import KeptUndoController
from ui.wording import plural


class FileDeletionUndoController(KeptUndoController[FileDeletionUndo]):
    """Keeps the last deleted training file and brings it back on Edit ▸ Undo."""

    refused = staticmethod(refused)

    def undo_last(self) -> bool:
        """Bring the deleted file back, as a job; True when it was started."""
        last = self._taken()
        if last is None:
            return False

        # Done or not, no conversation changed: their "In files" column is read again on
        # training_files_changed alone; the table and the token counts need no new read.
        self._rebuild_file(
            last, last.name, f"Bringing back training file '{last.name}'",
            lambda progress, cancelled: undo_deletion(self.library, last, progress, cancelled),
            lambda name: (f"Undone: training file '{name}' is back, with its "
                          f"{plural(last.count, 'conversation')} and settings as before"),
            name_of=str, unchanged=f"'{last.name}' is still deleted", conversations_too=False)
        return True
