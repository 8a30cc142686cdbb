"""Undo of the last change of a training file's settings (Settings… on the files page).

The change is one rebuild (``app.trainingfiles.change_settings``); its undo is another,
with the settings the file had before. It is exact only while the file still has the
settings the change gave it: a later change (here or by a team member), or the file's
deletion, refuses it before anything changes, with a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import LibraryError
from app.library import Library
from app.models import TrainingFile
from app.trainingfiles import TrainingFileInfo, change_settings
from app.wording import LENGTH_LIMIT

Progress = Callable[[int, int, str], None]
# (cut-off policy, length limit, what a line over it becomes), as the file's row holds them.
Settings = tuple[str, int, str]


@dataclass(frozen=True)
class SettingsUndo:
    """Training file ``file_id``, named ``name``, had settings ``before`` and was given
    ``after``."""

    file_id: int
    name: str
    before: Settings
    after: Settings

    @property
    def label(self) -> str:
        return f"Undo settings of '{self.name}'"

    @property
    def tip(self) -> str:
        return (f"Put back the settings '{self.name}' had before ({LENGTH_LIMIT} "
                f"{self.before[1]:,} tokens); its JSONL is rebuilt")


def settings_undo(info_before: TrainingFileInfo, info_after: TrainingFileInfo) -> SettingsUndo:
    """What puts ``info_before``'s settings back on the file ``info_after`` shows."""
    return SettingsUndo(info_after.file_id, info_after.name, _of(info_before), _of(info_after))


def _of(info: TrainingFileInfo) -> Settings:
    return info.cut_off_policy, info.max_seq_len, info.over_budget


def settings_now(library: Library, file_id: int) -> Settings | None:
    """The settings the file's row holds now (None: the file is gone): after a change
    that failed, they say whether it was made."""
    with library.session() as session:
        row = session.get(TrainingFile, file_id)
        return None if row is None else (row.cut_off_policy, row.max_seq_len, row.over_budget)


def refused(session: Session, undo: SettingsUndo, whole: bool = True) -> str | None:
    """Why the change cannot be undone exactly now (None: it can). ``whole`` is the
    removal undos' signature: reading one row is always cheap."""
    return _refused_by(session.get(TrainingFile, undo.file_id), undo)


def _refused_by(row: TrainingFile | None, undo: SettingsUndo) -> str | None:
    if row is None or row.file_id != undo.file_id:
        return (f"The settings of '{undo.name}' cannot be put back: the training file was "
                "deleted since.")
    if (row.cut_off_policy, row.max_seq_len, row.over_budget) != undo.after:
        return (f"The settings of '{row.name}' cannot be put back exactly: they were changed "
                "again since (here or by a team member). Nothing was changed: open its "
                "Settings… to choose them yourself.")
    return None


def undo_settings(library: Library, undo: SettingsUndo, progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> TrainingFileInfo:
    """Give the file its settings from before the change again (one rebuild), if it
    still has the ones the change gave it; otherwise change nothing and say why."""
    with library.session() as session:
        row = session.get(TrainingFile, undo.file_id)
        why = _refused_by(row, undo)
        name = row.name if row is not None else undo.name
    if why is not None:
        raise LibraryError(why)
    policy, limit, fit = undo.before
    # Asked again once the file is locked: a change by a team member in between is seen.
    return change_settings(library, name, cut_off_policy=policy, max_seq_len=limit,
                           over_budget=fit, progress=progress, cancelled=cancelled,
                           unless=lambda row: _refused_by(row, undo))
