"""Edit ▸ Undo for the last Remove from library.

The removal (``ui.remove_flow``) runs as a job in a child process and hands back what it
took away (``app.library_undo``); this controller keeps it, offers it in the window's one
Undo (``ui.undo_slot``), and runs the undo as the removal ran: in a child, with progress
and Cancel. Whether it is still exact is read again each time the library is said to have
changed, so a greyed-out Undo says why on hover; the job checks again, in the transaction
that writes, before it changes anything.
"""

from __future__ import annotations

from app.library_undo import LibraryRemovalUndo, refused, undo_library_removal
from ui.kept_undo import KeptUndoController
from ui.tasks import in_child, run_with_progress, saying_if_killed, stopped_unchanged
from ui.wording import plural


def stopped_undo(undo: LibraryRemovalUndo) -> str:
    """What an undo killed after Cancel did: all of it or nothing (one transaction)."""
    them = "the conversation is" if undo.count == 1 else f"the {undo.count:,} conversations are"
    return ("Stopped: the undo did not stop in time after Cancel, so it was ended. It is "
            f"one change: either {them} back in the library, with the training files that "
            "held them as before, or nothing was changed; the pages show which.")


class LibraryRemovalUndoController(KeptUndoController[LibraryRemovalUndo]):
    """Keeps the last removal from the library and undoes it on Edit ▸ Undo."""

    refused = staticmethod(refused)

    def undo_last(self) -> bool:
        """Put the removed conversations back, as a job; True when it was started."""
        last = self._taken()
        if last is None:
            return False
        count = plural(last.count, "conversation")

        def announce() -> None:
            self.changes.conversations_changed.emit()
            self.changes.batches_changed.emit()
            self.changes.training_files_changed.emit()

        def done(names: tuple[str, ...]) -> None:
            for name in names:
                self.changes.training_file_built.emit(name)
            announce()
            text = f"Undone: {count} back in the library"
            if names:
                text += "; " + ", ".join(f"'{n}'" for n in names) + " as before"
            self.status.emit(text)

        def failed(why: str) -> None:
            if stopped_unchanged(task, why):  # nothing was changed: it can still be undone
                self.record(last)
                self.status.emit(f"Undo cancelled: the {count} are still removed"
                                 if last.count != 1 else
                                 "Undo cancelled: the conversation is still removed")
                return
            if task.is_cancelled():  # ended after Cancel: it may have been saved
                announce()
            self.dialogs.warn(self.window, "Undo", why)
            self.failed.emit(why)

        task = run_with_progress(
            self.window, f"Putting {count} back in the library",
            saying_if_killed(in_child(undo_library_removal, self.library, last),
                             lambda: stopped_undo(last)),
            done, failed)
        return True
