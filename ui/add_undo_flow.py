"""Edit ▸ Undo for the last addition to a training file, or its creation.

The Create training files flow builds and says so (``CreateController``: ``add_starts``,
``added``, ``add_not_made``); this controller keeps what takes the addition back
(``app.add_undo``), offers it in the window's one Undo (``ui.undo_slot``), and runs it as
the addition ran: on a worker, with progress and Cancel. Without it, Ctrl+Z after an
addition undid the change before it (a batch move, say), which the person did not mean.
"""

from __future__ import annotations

from app.add_undo import AdditionUndo, refused, undo_addition
from ui.kept_undo import KeptUndoController
from ui.wording import plural


class AdditionUndoController(KeptUndoController[AdditionUndo]):
    """Keeps the last addition to (or creation of) a training file and undoes it."""

    refused = staticmethod(refused)

    def undo_last(self) -> bool:
        """Take the added conversations out again, or delete the created file, as a job;
        True when it was started."""
        last = self._taken()
        if last is None:
            return False
        count = plural(len(last.added), "conversation")
        if last.created:
            title = f"Deleting training file '{last.name}' again"
            done = (f"Undone: training file '{last.name}' is deleted again; its "
                    f"{plural(len(last.after), 'conversation')} stay in the library")
        else:
            title = f"Taking {count} out of '{last.name}' again"
            done = (f"Undone: {count} taken out of '{last.name}' again; it is as it was "
                    "before the addition")
        self._rebuild_file(
            last, last.name, title,
            lambda progress, cancelled: undo_addition(self.library, last, progress, cancelled),
            lambda _result: done, name_of=lambda _result: last.name, conversations_too=False)
        return True
