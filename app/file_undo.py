"""Undo of the last Delete… of a training file, exactly or not at all.

The deletion (``delete_recorded``) keeps, read in the transaction that deletes, every row
it takes away: the file's row (its settings, header and stored build's head), its member
rows in order, the stored renderings only it used, and the records of the copies saved
from it; with each member's state (what its rendering depends on) and the library's
tokenizer as they were. The undo is a job like the other undos: in one transaction it
checks that the library can take the file back as it was (no other file under its name,
every member still in the library unchanged, the same tokenizer, each rendering it shared
with another file still stored), then writes every row back, so the file is its old stored
build again, byte for byte, with its saved-copies records. Otherwise it changes nothing
and says why.

The rows are kept in memory (the window's, as long as it is open, like its other undos):
the renderings compressed, as ``app.library_undo`` keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, exists, insert, select
from sqlalchemy.orm import Session

from app.build import Progress
from app.errors import LibraryError
from app.key_parts import in_parts
from app.library import Library
from app.library_undo import UNDO_KEPT_UP_TO as UNDO_KEPT_UP_TO_CONVERSATIONS
from app.models import (
    BuildFragment,
    LibraryTokenizer,
    Member,
    SavedCopy,
    TrainingFile,
)
from app.portable import insert_for
from app.team_locks import REMOVING, lock_in_transaction, training_file_lock
from app.trainingfiles import TrainingFileInfo, delete_training_file, next_file_id
from app.undo_rows import (
    RenderedState,
    Row,
    insert_rows,
    packed,
    put_renderings_back,
    quoted_ids,
    rendered_states,
    stop_if_cancelled,
    table_of,
)
from app.wording import agreeing, plural

# A member's id and what its rendering depends on.
State = tuple[str, RenderedState]


@dataclass(frozen=True)
class FileDeletionUndo:
    """Everything one Delete… of the training file ``name`` took away (see the module)."""

    file_id: int
    name: str
    row: Row
    members: tuple[Row, ...]  # in file order
    states: tuple[tuple[int, State], ...]  # each member's row key and state
    fragments: tuple[Row, ...]  # the renderings only it used (``undo_rows.packed``)
    saved_copies: tuple[Row, ...]
    tokenizer: tuple[str, str] | None  # the library's (basis, changed_at), None: no row

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def label(self) -> str:
        return f"Undo delete of training file '{self.name}'"

    @property
    def tip(self) -> str:
        return (f"Bring back the training file '{self.name}' as it was: its "
                f"{plural(self.count, 'conversation')} in order, its settings, its JSON and "
                "JSONL and its saved-copies records")


# What a deletion keeps for its undo is held in the window's memory (its renderings
# compressed, about half of its JSON and JSONL): as for a removal from the library, a file
# of more conversations is deleted without it, and its question says so.
UNDO_KEPT_UP_TO = UNDO_KEPT_UP_TO_CONVERSATIONS


def undo_kept(info: TrainingFileInfo) -> bool:
    """Whether Edit ▸ Undo can bring the file back once deleted: not a build from before
    LoRA Studio kept builds in the library, whose files on disk the deletion removes, nor
    a file too large to keep (``UNDO_KEPT_UP_TO``)."""
    return info.built and info.conversations <= UNDO_KEPT_UP_TO


def _tokenizer(session: Session) -> tuple[str, str] | None:
    row = session.execute(select(LibraryTokenizer.basis, LibraryTokenizer.changed_at)
                          .where(LibraryTokenizer.id == 1)).first()
    return None if row is None else (str(row[0]), str(row[1]))


def delete_recorded(library: Library, name: str) -> FileDeletionUndo:
    """``trainingfiles.delete_training_file``, with what its undo puts back, read in the
    transaction that deletes."""
    kept: list[FileDeletionUndo] = []

    def record(session: Session, row: TrainingFile) -> None:
        members = [dict(m._mapping) for m in session.execute(
            select(table_of(Member)).where(Member.file_id == row.file_id)
            .order_by(Member.position))]
        keys = sorted({str(m["fragment_key"]) for m in members if m["fragment_key"]})
        # Only the renderings the deletion drops: one another file uses stays stored.
        shared_elsewhere = exists().where(and_(Member.fragment_key == BuildFragment.key,
                                               Member.file_id != row.file_id))
        fragments: list[Row] = []
        for part in in_parts(keys):
            fragments.extend(
                packed(dict(f._mapping))
                for f in session.execute(select(table_of(BuildFragment)).where(
                    BuildFragment.key.in_(part), ~shared_elsewhere)))
        states = rendered_states(session, [int(m["conversation_pk"]) for m in members])
        copies = [dict(c._mapping) for c in session.execute(
            select(table_of(SavedCopy)).where(SavedCopy.file_id == row.file_id))]
        kept.append(FileDeletionUndo(
            row.file_id, row.name,
            {column.name: getattr(row, column.name) for column in table_of(TrainingFile).columns},
            tuple(members), tuple(sorted(states.items())), tuple(fragments), tuple(copies),
            _tokenizer(session)))

    delete_training_file(library, name, before=record)
    return kept[0]


def _cannot(undo: FileDeletionUndo, why: str) -> str:
    return (f"Deleting training file '{undo.name}' cannot be undone exactly: {why}. Nothing "
            "was changed.")


def refused(session: Session, undo: FileDeletionUndo, whole: bool = True) -> str | None:
    """Why ``undo`` cannot be done exactly now, as a sentence (None: it can). ``whole``:
    the other undos' signature; these reads are by key, cheap enough each time."""
    taken = session.scalar(select(TrainingFile.name)
                           .where(TrainingFile.slug == str(undo.row["slug"])))
    if taken is not None:
        return _cannot(undo, f"a training file named '{taken}' was made since. Rename it, "
                             "then choose Undo again")
    if _tokenizer(session) != undo.tokenizer:
        return _cannot(undo, "the library's tokenizer was changed since, so its token "
                             "counts would differ")
    now = rendered_states(session, [pk for pk, _state in undo.states])
    gone = [state[0] for pk, state in undo.states if pk not in now or now[pk][0] != state[0]]
    if gone:
        return _cannot(undo, f"{quoted_ids(gone)} {agreeing(len(gone), 'is', 'are')} no longer "
                             "in the library")
    changed = [state[0] for pk, state in undo.states if now[pk] != state]
    if changed:
        return _cannot(undo, f"{quoted_ids(changed)} changed since (replaced, moved to another "
                             "batch or marked reviewed)")
    kept = {str(f["key"]) for f in undo.fragments}
    wanted = sorted({str(m["fragment_key"]) for m in undo.members
                     if m["fragment_key"] and m["fragment_key"] not in kept})
    found: set[str] = set()
    for part in in_parts(wanted):
        found.update(session.scalars(select(BuildFragment.key)
                                     .where(BuildFragment.key.in_(part))))
    if len(found) != len(wanted):
        return _cannot(undo, "another training file that shared some of its stored "
                             "renderings was rebuilt since")
    return None


def undo_deletion(library: Library, undo: FileDeletionUndo, progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> str:
    """Bring the deleted file back as it was (see the module's docstring); its name.
    Raises ``LibraryError`` saying why, with nothing changed, when that is not exact;
    ``BuildCancelled`` on Cancel, with nothing changed."""
    with training_file_lock(library, undo.name):
        stop_if_cancelled(cancelled)
        with library.session() as session, session.begin():
            # No removal deletes one of its conversations while this runs.
            lock_in_transaction(session, REMOVING)
            why = refused(session, undo)
            if why is not None:
                raise LibraryError(why)
            if progress:
                progress(0, 3, "putting its stored renderings back")
            row = dict(undo.row)
            if session.get(TrainingFile, undo.file_id) is not None:  # its number was reused
                row["file_id"] = next_file_id(library, session)
            put_renderings_back(session, undo.fragments)
            stop_if_cancelled(cancelled)
            if progress:
                progress(1, 3, undo.name)
            file_id = int(session.execute(insert(table_of(TrainingFile)).values(**row)
                                          .returning(TrainingFile.file_id)).scalar_one())
            insert_rows(session, table_of(Member),
                        [{**m, "file_id": file_id} for m in undo.members])
            if progress:
                progress(2, 3, "its saved-copies records")
            if undo.saved_copies:  # a path saved to since for another file keeps that one
                statement = insert_for(session, SavedCopy).on_conflict_do_nothing(
                    index_elements=[SavedCopy.path])
                session.execute(statement, [{**c, "file_id": file_id}
                                            for c in undo.saved_copies])
            stop_if_cancelled(cancelled)  # the last moment: after it, the commit
    return undo.name

