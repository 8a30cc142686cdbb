"""Edit ▸ Undo for the last change of a training file's settings.

The files page changes them and says so (``settings_starts``, ``settings_changed``); this
controller keeps what puts them back, offers it in the window's one Undo
(``ui.undo_slot``), and runs it as the change ran: a rebuild on a worker thread, with
progress and Cancel.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.library import Library
from app.settings_undo import SettingsUndo, refused, undo_settings
from app.trainingfiles import TrainingFileInfo
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.kept_undo import KeptUndoController
from ui.saved_copies import with_out_of_date
from ui.tasks import run_with_progress, stopped_unchanged
from ui.undo_slot import UndoSlot


class SettingsUndoController(KeptUndoController[SettingsUndo]):
    """Keeps the last change of a file's settings and undoes it on Edit ▸ Undo."""

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, undo: UndoSlot) -> None:
        super().__init__(window, library, dialogs, changes, undo, refused)

    def undo_last(self) -> bool:
        """Rebuild the file with its settings from before, as a job; True when started."""
        last = self._taken()
        if last is None:
            return False

        def done(info: TrainingFileInfo) -> None:
            self.changes.training_file_built.emit(info.name)
            self.changes.training_files_changed.emit()
            self.status.emit(with_out_of_date(
                f"Undone: '{info.name}' has its settings from before again "
                f"({info.max_seq_len:,} tokens)", self.library, [info.name]))

        def failed(why: str) -> None:
            if stopped_unchanged(task, why):  # nothing was changed: it can still be undone
                self.record(last)
                self.status.emit(f"Undo cancelled: '{last.name}' was not changed")
                return
            self.dialogs.warn(self.window, "Undo", why)
            self.failed.emit(why)

        task = run_with_progress(
            self.window, f"Rebuilding '{last.name}' with its settings from before",
            lambda progress, cancelled: undo_settings(self.library, last, progress, cancelled),
            done, failed)
        return True
