"""Edit ▸ Undo for the last removal of conversations from a training file.

The files page removes and says so (``removal_starts``, ``members_removed``); this
controller keeps what puts them back, offers it in the window's one Undo
(``ui.undo_slot``), and runs it as the removal ran: on a worker thread, with progress and
Cancel. Whether it is still exact is read from the library each time the library is said
to have changed, and when the Edit menu opens, so a greyed-out Undo says why on hover; the
job checks again, in one transaction, before it changes anything.
"""

from __future__ import annotations

from app.member_undo import RemovalUndo, refused, undo_removal
from ui.kept_undo import KeptUndoController
from ui.wording import plural


class RemovalUndoController(KeptUndoController[RemovalUndo]):
    """Keeps the last removal from a training file and undoes it on Edit ▸ Undo."""

    refused = staticmethod(refused)
    # The removal's job read the removed conversations' states in its transaction to make
    # the undo, and the page announced it before: read again on the GUI thread they held
    # a 10,000-conversation window 60 ms (5,764 removed) and said nothing new.
    read_at_record = False

    def undo_last(self) -> bool:
        """Put the removed conversations back, as a job; True when it was started."""
        last = self._taken()
        if last is None:
            return False
        count = plural(len(last.removed), "conversation")
        self._rebuild_file(
            last, last.name, f"Putting {count} back into '{last.name}'",
            lambda progress, cancelled: undo_removal(self.library, last, progress, cancelled),
            lambda info: f"Undone: {count} put back into '{info.name}'")
        return True
