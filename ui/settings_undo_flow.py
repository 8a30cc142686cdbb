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
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.kept_undo import KeptUndoController
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

        self._rebuild_file(
            last, last.name, f"Rebuilding '{last.name}' with its settings from before",
            lambda progress, cancelled: undo_settings(self.library, last, progress, cancelled),
            lambda info: (f"Undone: '{info.name}' has its settings from before again "
                          f"({info.max_seq_len:,} tokens)"))
        return True
