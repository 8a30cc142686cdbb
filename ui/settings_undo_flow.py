"""Edit ▸ Undo for the last change of a training file's settings.

The files page changes them and says so (``settings_starts``, then ``settings_changed``, or
``settings_not_changed`` when the rebuild failed or was cancelled); this controller keeps
what puts them back, offers it in the window's one Undo (``ui.undo_slot``), and runs it as
the change ran: a rebuild on a worker thread, with progress and Cancel. While a change
runs, Undo waits; one that was not made leaves Undo offering what it offered before.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from app.settings_undo import SettingsUndo, refused, settings_now, undo_settings
from app.trainingfiles import TrainingFileInfo
from ui.kept_undo import KeptUndoController


class SettingsUndoController(KeptUndoController[SettingsUndo]):
    """Keeps the last change of a file's settings and undoes it on Edit ▸ Undo."""

    refused = staticmethod(refused)

    def starting(self) -> None:
        """A change of settings starts: Undo waits for it, keeping what it offered."""
        self.undo.hold(self)

    def not_changed(self, before: TrainingFileInfo) -> None:
        """The change of ``before``'s settings failed or was cancelled. The file's row says
        whether it was made: still the settings from before, Undo offers again what it
        offered; others (it ended after saving them), their undo is kept; unreadable or
        gone, nothing can be undone exactly."""
        try:
            now = settings_now(self.library, before.file_id)
        except SQLAlchemyError:
            now = None
        was = (before.cut_off_policy, before.max_seq_len, before.over_budget)
        if now == was:
            self.undo.release(self)
        else:
            self.record(None if now is None else SettingsUndo(
                before.file_id, before.name, was, now))

    def undo_last(self) -> bool:
        """Rebuild the file with its settings from before, as a job; True when started."""
        last = self._taken()
        if last is None:
            return False

        self._rebuild_file(
            last, last.name, f"Rebuilding '{last.name}' with its settings from before",
            lambda progress, cancelled: undo_settings(self.library, last, progress, cancelled),
            lambda info: (f"Undone: '{info.name}' has its settings from before again "
                          f"({info.max_seq_len:,} tokens)"))
        return True
