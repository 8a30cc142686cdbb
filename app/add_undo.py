"""Undo of the last addition to a training file, or of its creation, exactly or not at all.

An addition by mistake (the wrong batch checked, the wrong file chosen) left a person to
find the added conversations among thousands of members by hand, and a file created by
mistake to delete. The addition records, under the file's lock, the member list before it
and after it, the conversations it put in (each with the state it was rendered from) and
the file as it left it (``add_recorded``). Its undo, under the same lock and checked again
in the transaction that writes, rebuilds the file with the old member list and the old
header date, so its bytes are the ones from before the addition; a file the addition
created is deleted again. When the file changed since (rebuilt, renamed, deleted, changed
by another addition or removal), it changes nothing and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import LibraryError
from app.library import Library
from app.models import TrainingFile
from app.team_locks import training_file_lock
from app.trainingfiles import (
    Addition,
    AddPlan,
    ConversationsGone,
    TrainingFileInfo,
    apply_addition_counted,
    delete_training_file,
    restore_members,
)
from app.undo_rows import RenderedState as State
from app.undo_rows import file_gone, file_members, file_named, rendered_states
from app.wording import plural, the_count

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class AdditionUndo:
    """``added`` (row key, id, state) were put into the training file ``file_id``, named
    ``name``, which held ``before`` (row keys in order) with the header date ``updated_at``
    (``created``: the addition made the file); ``after``, ``revision`` and ``changes``:
    the file as the addition left it."""

    file_id: int
    name: str
    created_at: str
    updated_at: str
    before: tuple[int, ...]
    after: tuple[int, ...]
    added: tuple[tuple[int, str, State], ...]
    revision: int
    changes: int
    created: bool

    @property
    def label(self) -> str:
        if self.created:
            return f"Undo creating training file '{self.name}'"
        return f"Undo adding {plural(len(self.added), 'conversation')} to '{self.name}'"

    @property
    def tip(self) -> str:
        if self.created:
            return (f"Delete '{self.name}' again; its {plural(len(self.after), 'conversation')} "
                    "stay in the library")
        return (f"Take {the_count(len(self.added))} out of '{self.name}' again; its JSON and "
                "JSONL are rebuilt as they were before")


BY_HAND = ("Nothing was changed. To take them out anyway, select them in the file's "
           "Conversations tab and use Remove from file (the file's own undo is gone).")


def _cannot(undo: AdditionUndo, why: str) -> str:
    what = (f"Creating '{undo.name}'" if undo.created else
            f"Adding {plural(len(undo.added), 'conversation')} to '{undo.name}'")
    by_hand = ("Nothing was changed; delete the file with Delete… if you no longer want it."
               if undo.created else BY_HAND)
    return f"{what} cannot be undone exactly: {why}. {by_hand}"


def refused(session: Session, undo: AdditionUndo, whole: bool = True) -> str | None:
    """Why ``undo`` cannot be done exactly now, as a sentence (None: it can). Any change to
    the file since (a rebuild: a conversation of it replaced, moved, marked or removed
    from the library; its settings; another addition or removal) shows in its revision or
    its count of changes. ``whole=False`` leaves out the read of every member (the
    window's greying of Undo on each change); the undo itself always reads them."""
    gone = file_gone(session, undo.file_id, undo.created_at, undo.name)
    if gone is not None:
        return _cannot(undo, gone)
    row = session.get(TrainingFile, undo.file_id)
    assert row is not None  # (just read)
    if (row.revision != undo.revision or row.changes != undo.changes
            or (whole and tuple(file_members(session, undo.file_id)) != undo.after)):
        return _cannot(undo, f"'{undo.name}' was changed or rebuilt since")
    return None


def add_recorded(
    library: Library, plan: AddPlan, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[Addition, AdditionUndo]:
    """``trainingfiles.apply_addition_counted``, with what its undo needs, read under the
    file's lock before and after it (no other change to the file runs in between)."""
    with training_file_lock(library, plan.name):
        before: list[int] = []
        updated_at = ""
        if not plan.create:
            with library.session() as session:
                row = file_named(session, plan.name)
                before, updated_at = file_members(session, row.file_id), row.updated_at
        addition = apply_addition_counted(library, plan, progress, cancelled)
        with library.session() as session:
            row = file_named(session, addition.info.name)
            after = file_members(session, row.file_id)
            had = set(before)
            put_in = [pk for pk in after if pk not in had]
            states = rendered_states(session, put_in)
            undo = AdditionUndo(
                row.file_id, row.name, row.created_at, updated_at, tuple(before),
                tuple(after), tuple((pk, *states[pk]) for pk in put_in if pk in states),
                row.revision, row.changes, plan.create)
    return addition, undo


def undo_addition(library: Library, undo: AdditionUndo, progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> TrainingFileInfo | None:
    """Take the added conversations out again, or delete the file the addition created
    (None then); raise ``LibraryError`` saying why, with nothing changed, when that is not
    exact."""
    def still_exact(session: Session) -> None:
        why = refused(session, undo)
        if why is not None:
            raise LibraryError(why)

    with training_file_lock(library, undo.name):
        with library.session() as session, session.begin():
            still_exact(session)
        if undo.created:
            delete_training_file(library, undo.name,
                                 before=lambda session, _row: still_exact(session))
            return None
        try:
            return restore_members(library, undo.name, undo.before, undo.updated_at,
                                   progress, cancelled, verify=still_exact)
        except ConversationsGone:  # a team member removed one from the library meanwhile
            raise LibraryError(_cannot(undo, "a team member removed some of its conversations "
                                             "from the library meanwhile")) from None
