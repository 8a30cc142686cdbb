"""Undo of the last Rename… of a training file: its old name again.

The rename is one rebuild (the header names the file); its undo is another, back to the
old name. It is offered while the file still has the name the rename gave it and its old
name is free; otherwise it is refused before anything changes, saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import LibraryError
from app.library import Library
from app.models import TrainingFile
from app.trainingfiles import TrainingFileInfo, rename_training_file

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FileRenameUndo:
    """Training file ``file_id`` was renamed from ``old`` to ``new``."""

    file_id: int
    old: str
    new: str

    @property
    def label(self) -> str:
        return f"Undo rename of training file '{self.old}' to '{self.new}'"

    @property
    def tip(self) -> str:
        return (f"Name training file '{self.new}' '{self.old}' again; its JSON and JSONL are "
                "rebuilt (their header names it)")


def refused(session: Session, undo: FileRenameUndo, whole: bool = True) -> str | None:
    """Why the rename cannot be undone now (None: it can). ``whole``: the other undos'
    signature; two rows read by key are always cheap."""
    cannot = f"Renaming training file '{undo.old}' to '{undo.new}' cannot be undone"
    row = session.get(TrainingFile, undo.file_id)
    if row is None:
        return f"{cannot}: the file was deleted since."
    if row.name != undo.new:
        return (f"{cannot}: it was renamed '{row.name}' since. Nothing was changed: use "
                "Rename… to choose its name.")
    taken = session.scalar(select(TrainingFile.name).where(
        TrainingFile.slug == undo.old.casefold(), TrainingFile.file_id != undo.file_id))
    if taken is not None:
        return (f"{cannot}: a training file named '{taken}' was made since. Rename that "
                "one, then choose Undo again.")
    return None


def undo_file_rename(library: Library, undo: FileRenameUndo, progress: Progress | None = None,
                     cancelled: Callable[[], bool] | None = None) -> TrainingFileInfo:
    """The file's old name again (one rebuild), if it still can be; otherwise nothing is
    changed and ``LibraryError`` says why (the rename itself checks the name again under
    the files' locks)."""
    with library.session() as session:
        why = refused(session, undo)
    if why is not None:
        raise LibraryError(why)
    return rename_training_file(library, undo.new, undo.old, progress, cancelled)
