"""Edit ▸ Undo for the last Rename… of a training file.

The files page renames and says so (``file_renamed``: a rename that fails leaves what
Undo offered before); this controller keeps what names the file as before
(``app.file_rename_undo``), offers it in the window's one Undo (``ui.undo_slot``), and
runs it as a job like the rename, with progress and Cancel; views showing the new name
follow the file back to its old one.
"""

from __future__ import annotations

from collections.abc import Callable

from app.file_rename_undo import FileRenameUndo, refused, undo_file_rename
from app.trainingfiles import TrainingFileInfo
from ui.kept_undo import KeptUndoController

Rename = tuple[str, str] | None


class FileRenameUndoController(KeptUndoController[FileRenameUndo]):
    """Keeps the last rename of a training file and undoes it on Edit ▸ Undo."""

    refused = staticmethod(refused)
    # (old, new) as the undo's rename starts writing, None if it was not made: the
    # Conversations page's filter on the file follows it (``TrainingFilesPage.renaming``)
    expect_rename: Callable[[Rename], None] = staticmethod(lambda _rename: None)

    def undo_last(self) -> bool:
        """Name the file as before, as a job; True when it was started."""
        last = self._taken()
        if last is None:
            return False

        def renamed(info: TrainingFileInfo) -> None:  # a filter on the file follows it
            self.changes.training_file_renamed.emit(last.new, info.name)

        def said(info: TrainingFileInfo) -> str:
            return f"Undone: training file '{last.new}' is '{info.name}' again"

        def work(progress: Callable[[int, int, str], None],
                 cancelled: Callable[[], bool]) -> TrainingFileInfo:
            return undo_file_rename(self.library, last, progress, cancelled)

        self.expect_rename((last.new, last.old))
        self._rebuild_file(last, last.new, f"Renaming '{last.new}' back to '{last.old}'",
                           work, said, unchanged=f"'{last.new}' keeps its name",
                           conversations_too=False,
                           not_made=lambda: self.expect_rename(None), first=renamed)
        return True
