"""Edit ▸ Undo for the last Mark reviewed (or Take review mark).

The review controller marks and says so (``ui.review_flow``); this controller keeps what
gives each conversation its mark from before (``app.review_undo``), offers it in the
window's one Undo (``ui.undo_slot``), and undoes it as the mark is made: at once, then
the training files holding the conversations are rebuilt in the background. Whether it is
still exact is read again each time the library is said to have changed, so a greyed-out
Undo says why on hover; the undo checks every conversation again before it writes.
"""

from __future__ import annotations

from app.errors import LibraryError
from app.failures import failure_sentence
from app.review_undo import ReviewUndo, refused, undo_review
from ui.kept_undo import KeptUndoController
from ui.rebuild_flow import quoted, update_training_files
from ui.wording import agreeing, plural


class ReviewUndoController(KeptUndoController[ReviewUndo]):
    """Keeps the last change of review marks and undoes it on Edit ▸ Undo."""

    refused = staticmethod(refused)

    def undo_last(self) -> bool:
        """Give the conversations their marks from before; True when it was done."""
        last = self._taken()
        if last is None:
            return False
        try:
            stale = undo_review(self.library, last)
        except LibraryError as exc:
            self.dialogs.warn(self.window, "Undo", str(exc))
            self.failed.emit(str(exc))
            return False
        except Exception as exc:  # a busy or read-only database: nothing was changed
            why = failure_sentence(exc, self.library.database)
            self.record(last)  # (one transaction, rolled back: it can still be undone)
            self.dialogs.warn(self.window, "Undo", why)
            self.failed.emit(why)
            return False
        self.changes.conversations_marked.emit(last.ids)
        self.changes.conversations_changed.emit()
        them = plural(last.count, "conversation")
        update_training_files(
            self.window, self.library, self.changes, self.dialogs, stale,
            f"Undone: {them} {agreeing(last.count, 'has', 'have')} the review "
            f"{agreeing(last.count, 'mark', 'marks')} from before again", self.status.emit,
            f"The review marks from before are back; {quoted(stale)} may still show the "
            f"other review state until {agreeing(len(stale), 'it is', 'they are')} rebuilt, "
            "at the latest the next time LoRA Studio opens this library.")
        return True
