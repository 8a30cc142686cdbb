"""Undo of the last removal of conversations from a training file, exactly or not at all.

The removal records, under the file's lock, the member list before it, the conversations
it took out (each with the state it was rendered from) and the file as it left it
(``remove_recorded``). Its undo is a job like the removal: under the same lock it checks,
in one transaction, that the file is still the one the removal left (same id, name and
creation time, not rebuilt or owing a rebuild since) and that every conversation taken out
is still in the library as it was and not back in the file; then it rebuilds the file with
the old member list and the old header date, so its bytes are the ones from before the
removal. Otherwise it changes nothing and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import LibraryError
from app.library import Library
from app.models import TrainingFile
from app.team_locks import training_file_lock
from app.trainingfiles import (
    ConversationsGone,
    TrainingFileInfo,
    remove_conversations,
    restore_members,
)
from app.undo_rows import RenderedState as State
from app.undo_rows import file_gone, file_members, file_named, quoted_ids, rendered_states
from app.wording import agreeing, plural, the_count

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RemovalUndo:
    """``removed`` (row key, id, state) were taken out of the training file ``file_id``,
    named ``name``; ``before``: its members' row keys in order before; ``updated_at``: its
    header date before; ``revision`` and ``changes``: its row as the removal left it."""

    file_id: int
    name: str
    created_at: str
    updated_at: str
    before: tuple[int, ...]
    removed: tuple[tuple[int, str, State], ...]
    revision: int
    changes: int

    @property
    def label(self) -> str:
        return (f"Undo removal of {plural(len(self.removed), 'conversation')} from "
                f"'{self.name}'")

    @property
    def tip(self) -> str:
        count = len(self.removed)
        them = the_count(count)
        where = "it was" if count == 1 else "they were"
        return (f"Put {them} back into '{self.name}' where {where}; its JSON and JSONL "
                "are rebuilt")

    def after(self) -> list[int]:
        """The member list the removal left."""
        gone = {pk for pk, _cid, _state in self.removed}
        return [pk for pk in self.before if pk not in gone]


BY_HAND = ("Nothing was changed. To put them back anyway, check them on the Conversations "
           "page and add them to the file with Create training files (they go at its end).")


def _cannot(undo: RemovalUndo, why: str) -> str:
    return (f"Removing {plural(len(undo.removed), 'conversation')} from '{undo.name}' "
            f"cannot be undone exactly: {why}. {BY_HAND}")


def refused(session: Session, undo: RemovalUndo, whole: bool = True) -> str | None:
    """Why ``undo`` cannot be done exactly now, as a sentence (None: it can).

    ``whole=False`` leaves out the one check that reads every member of the file (a file
    changed by another writer while the removal ran), for the window's greying of Undo on
    each change: a 50,000-member read there would stall the window, and the undo itself
    always checks the whole of it again."""
    why = file_gone(session, undo.file_id, undo.created_at, undo.name)
    if why is not None:
        return _cannot(undo, why)
    row = session.get(TrainingFile, undo.file_id)
    assert row is not None  # (just read)
    rebuilt = row.revision != undo.revision
    members = set(file_members(session, undo.file_id)) if whole and rebuilt else None
    if members is not None:
        back = [cid for pk, cid, _state in undo.removed if pk in members]
        if back:
            return _cannot(undo, f"{quoted_ids(back)} "
                                 f"{agreeing(len(back), 'is', 'are')} already back in "
                                 f"'{undo.name}'")
    now = rendered_states(session, [pk for pk, _cid, _state in undo.removed])
    gone = [cid for pk, cid, _state in undo.removed if now.get(pk, ("", None))[0] != cid]
    if gone:
        return _cannot(undo, f"{quoted_ids(gone)} {agreeing(len(gone), 'is', 'are')} no "
                             "longer in the library")
    changed = [cid for pk, cid, state in undo.removed if now[pk][1] != state]
    if changed:
        return _cannot(undo, f"{quoted_ids(changed)} changed since (replaced, moved to another "
                             "batch or marked reviewed)")
    # The member list too, not only the revision: on a library folder the file's lock
    # holds nobody off, so another writer (the command line) may have changed it while
    # the removal ran, and its ``before`` would drop that change.
    if (rebuilt or row.changes != undo.changes
            or (whole and file_members(session, undo.file_id) != undo.after())):
        return _cannot(undo, f"'{undo.name}' was changed or rebuilt since")
    return None


def remove_recorded(
    library: Library, name: str, conversation_ids: Sequence[str],
    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
) -> tuple[TrainingFileInfo, RemovalUndo]:
    """``trainingfiles.remove_conversations``, with what its undo needs, read under the
    file's lock before and after it (no other change to the file runs in between)."""
    with training_file_lock(library, name):
        with library.session() as session:
            row = file_named(session, name)
            file_id, created_at, updated_at = row.file_id, row.created_at, row.updated_at
            before = file_members(session, file_id)
        info = remove_conversations(library, name, conversation_ids, progress, cancelled)
        with library.session() as session:
            row = file_named(session, info.name)
            kept = set(file_members(session, file_id))
            out = [pk for pk in before if pk not in kept]
            states = rendered_states(session, out)
            # Only the ones asked for: one another writer removed meanwhile (the lock holds
            # nobody off on a library folder) is not this removal's to put back.
            asked = set(conversation_ids)
            undo = RemovalUndo(
                file_id, info.name, created_at, updated_at, tuple(before),
                tuple((pk, *states[pk]) for pk in out
                      if pk in states and states[pk][0] in asked),
                row.revision, row.changes)
    return info, undo


def undo_removal(library: Library, undo: RemovalUndo, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> TrainingFileInfo:
    """Put the removed conversations back where they were (see the module's docstring);
    raise ``LibraryError`` saying why, with nothing changed, when that is not exact."""
    def still_exact(session: Session) -> None:
        """Checked again in the transaction that writes: a change made while the undo
        rendered (another window's job, a team member) stops it with nothing changed."""
        why = refused(session, undo)
        if why is not None:
            raise LibraryError(why)

    with training_file_lock(library, undo.name):
        with library.session() as session, session.begin():
            still_exact(session)
        try:
            return restore_members(library, undo.name, undo.before, undo.updated_at,
                                   progress, cancelled, verify=still_exact)
        except ConversationsGone:  # a team member removed one from the library meanwhile
            raise LibraryError(_cannot(undo, "a team member removed some of them from the "
                                             "library meanwhile")) from None
