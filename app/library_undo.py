"""Undo of the last Remove from library, exactly or not at all.

A removal rebuilds every training file holding the conversations without them, then deletes
them in one transaction (``app.removal``). Run through ``remove_recorded``, it keeps, as it
goes, every row it takes away: each file's row, member rows and the stored renderings its
rebuild drops (read under the file's lock, just before the rebuild), and the conversations'
rows, records, sentence keys, profiles and batches (read in the deleting transaction). The
undo is a job like the removal: in one transaction it checks that the library still holds
what the removal left (each file as its rebuild left it, no conversation stored since in
their place or with their id, content or dialogue, their batches as they were), then writes
every row back, so the files are their old stored builds again, byte for byte. Otherwise,
or on Cancel before the commit, it changes nothing; a refusal says what is in the way.

The rows are kept in memory (the window's, as long as it is open, like its other undos):
the compressed records are what the library stored, so nothing is rendered or parsed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.build import Progress
from app.errors import LibraryError
from app.fullfile import shared_profile_hash
from app.key_parts import in_parts
from app.library import Library
from app.models import (
    Batch,
    BuildFragment,
    Conversation,
    ConversationDocument,
    DialogueKey,
    Member,
    Profile,
    TrainingFile,
)
from app.portable import insert_for
from app.records import Digest
from app.removal import RemovalPlan, RemovalResult, apply_removal
from app.stored_builds import drop_unreferenced
from app.team_locks import REMOVING, lock_in_transaction, training_file_lock
from app.undo_rows import (
    Row,
    insert_rows,
    packed,
    put_renderings_back,
    rows_where,
    stop_if_cancelled,
    table_of,
)
from app.wording import agreeing, and_list, plural, the_count


@dataclass(frozen=True)
class FileBefore:
    """A training file the removal rebuilt: its row, its members (row key, position,
    fragment key) and the stored renderings its rebuild dropped, all as before; its
    members' row keys, ``revision`` and ``changes`` as the removal left it; ``refused``:
    why it cannot be put back exactly (None: it can)."""

    file_id: int
    name: str
    created_at: str
    row: Row
    members: tuple[tuple[int, int, str | None], ...]
    fragments: tuple[Row, ...]  # their JSON and JSONL compressed (``undo_rows.packed``)
    after: tuple[int, ...] = ()
    revision: int = 0
    changes: int = 0
    refused: str | None = None


@dataclass(frozen=True)
class LibraryRemovalUndo:
    """Everything one Remove from library took away, as it was (see the module)."""

    conversations: tuple[Row, ...]
    documents: tuple[Row, ...]
    dialogue_keys: tuple[Row, ...]
    profiles: tuple[Row, ...]
    batches: tuple[Row, ...]  # the batches they were in, as they were
    batches_removed: tuple[str, ...]  # those the removal emptied and deleted
    twins: frozenset[int]  # others holding one of their dialogues at the removal
    files: tuple[FileBefore, ...]

    @property
    def count(self) -> int:
        return len(self.conversations)

    @property
    def label(self) -> str:
        return f"Undo removal of {plural(self.count, 'conversation')} from the library"

    @property
    def tip(self) -> str:
        them = the_count(self.count)
        text = f"Put {them} back in the library as {agreeing(self.count, 'it', 'they')} were"
        if self.files:
            text += (f", and into {_files(self.files)} where "
                     f"{agreeing(self.count, 'it', 'they')} were (rebuilt as before)")
        return text


def _files(files: Sequence[FileBefore]) -> str:
    return and_list([f"'{f.name}'" for f in files[:5]]
                    + ([plural(len(files) - 5, "other file")] if len(files) > 5 else []))


class _Recorder:
    """The ``app.removal.RemovalWatcher`` that keeps what the undo puts back."""

    def __init__(self, library: Library, plan: RemovalPlan) -> None:
        self.library = library
        self.pks = frozenset(plan.pks)
        self.files: dict[str, FileBefore] = {}
        self.conversations: list[Row] = []
        self.documents: list[Row] = []
        self.dialogue_keys: list[Row] = []
        self.profiles: dict[str, Row] = {}
        self.batches: dict[str, Row] = {}
        self.twins: set[int] = set()

    def file_before(self, name: str) -> None:
        with self.library.session() as session:
            row = session.scalar(select(TrainingFile)
                                 .where(TrainingFile.slug == name.casefold()))
            if row is None:
                return  # (the rebuild says so)
            listed = session.execute(
                select(Member.conversation_pk, Member.position, Member.fragment_key,
                       Conversation.profile_hash)
                .join(Conversation, Conversation.pk == Member.conversation_pk)
                .where(Member.file_id == row.file_id).order_by(Member.position)).all()
            members = [(pk, position, key) for pk, position, key, _profile in listed]
            # The rebuild drops the renderings of the conversations it takes out; all of
            # them when the profile most of the file shares changes with it.
            order = [{"profile_hash": profile} for _pk, _p, _k, profile in listed]
            kept = [{"profile_hash": profile} for pk, _p, _k, profile in listed
                    if pk not in self.pks]
            # (the build's own choice of it: it reads only each digest's profile hash)
            every = (shared_profile_hash(cast("list[Digest]", order))
                     != shared_profile_hash(cast("list[Digest]", kept)))
            keys = [key for pk, _p, key in members
                    if key is not None and (every or pk in self.pks)]
            refused = (None if row.head is not None else
                       f"'{row.name}' was built by an earlier version of LoRA Studio, and "
                       "that build was replaced")
            self.files[name] = FileBefore(
                row.file_id, row.name, row.created_at,
                {column.name: getattr(row, column.name)
                 for column in table_of(TrainingFile).columns},
                tuple(members), tuple(packed(fragment) for fragment in rows_where(
                    session, table_of(BuildFragment), BuildFragment.key, keys)),
                refused=refused)

    def file_after(self, name: str) -> None:
        before = self.files.get(name)
        if before is None:
            return
        with self.library.session() as session:
            row = session.get(TrainingFile, before.file_id)
            if row is None:
                return
            after = tuple(session.scalars(select(Member.conversation_pk)
                                          .where(Member.file_id == row.file_id)
                                          .order_by(Member.position)))
            wanted = [key for _pk, _p, key in before.members if key is not None]
            kept = {str(f["key"]) for f in before.fragments}
            for part in in_parts(wanted):
                kept.update(session.scalars(select(BuildFragment.key)
                                            .where(BuildFragment.key.in_(part))))
            refused = before.refused
            if refused is None and not set(wanted) <= kept:  # (a safety net: not expected)
                refused = (f"rebuilding '{row.name}' without them wrote its other "
                           "conversations anew")
            self.files[name] = replace(before, after=after, revision=row.revision,
                                       changes=row.changes, refused=refused)

    def deleting(self, session: Session, pks: Sequence[int]) -> None:
        if not self.conversations:  # the first part: profiles no conversation used
            # already go with theirs (the removal drops every unused one)
            for orphan in session.execute(select(table_of(Profile)).where(
                    Profile.profile_hash.not_in(select(Conversation.profile_hash)))):
                self.profiles[str(orphan.profile_hash)] = dict(orphan._mapping)
        rows = rows_where(session, table_of(Conversation), Conversation.pk, pks)
        self.conversations.extend(rows)
        self.documents.extend(rows_where(session, table_of(ConversationDocument),
                                    ConversationDocument.pk, pks))
        self.dialogue_keys.extend(rows_where(session, table_of(DialogueKey),
                                        DialogueKey.conversation_pk, pks))
        wanted = sorted({str(r["profile_hash"]) for r in rows} - set(self.profiles))
        for profile in rows_where(session, table_of(Profile), Profile.profile_hash, wanted):
            self.profiles[str(profile["profile_hash"])] = profile
        wanted = sorted({str(r["batch_id"]) for r in rows} - set(self.batches))
        for batch in rows_where(session, table_of(Batch), Batch.batch_id, wanted):
            self.batches[str(batch["batch_id"])] = batch
        dialogues = sorted({r["dialogue_sha256"] for r in rows if r["dialogue_sha256"]})
        for part in in_parts(dialogues):
            self.twins.update(pk for pk in session.scalars(
                select(Conversation.pk).where(Conversation.dialogue_sha256.in_(part)))
                if pk not in self.pks)

    def undo(self, result: RemovalResult) -> LibraryRemovalUndo:
        return LibraryRemovalUndo(
            tuple(self.conversations), tuple(self.documents), tuple(self.dialogue_keys),
            tuple(self.profiles.values()), tuple(self.batches.values()),
            result.batches_removed, frozenset(self.twins),
            tuple(self.files[name] for name in result.rebuilt if name in self.files))


# What a removal keeps for its undo is held in the window's memory (about 15 KB a
# conversation): beyond this many, a removal is not kept, and its question says so.
UNDO_KEPT_UP_TO = 20_000


def undo_kept(plan: RemovalPlan) -> bool:
    """Whether Edit ▸ Undo will be able to bring this removal back."""
    return plan.count <= UNDO_KEPT_UP_TO


def remove_recorded(
    library: Library, plan: RemovalPlan, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None, *, keep: bool = True,
) -> tuple[RemovalResult, LibraryRemovalUndo | None]:
    """``app.removal.apply_removal``, with what its undo puts back (None: not ``keep``,
    for a removal too large to keep: ``undo_kept``, which the window asks, as it says so
    before the removal)."""
    if not keep:
        return apply_removal(library, plan, progress, cancelled), None
    recorder = _Recorder(library, plan)
    result = apply_removal(library, plan, progress, cancelled, recorder)
    return result, recorder.undo(result)


# --- the undo ----------------------------------------------------------------------------

def _cannot(undo: LibraryRemovalUndo, why: str) -> str:
    them = agreeing(undo.count, "it", "them")
    return (f"Removing {plural(undo.count, 'conversation')} from the library cannot be "
            f"undone exactly: {why}. Nothing was changed. To bring {them} back anyway, "
            f"import {agreeing(undo.count, 'its file', 'their files')} again.")


def _file_refused(session: Session, before: FileBefore, whole: bool) -> str | None:
    if before.refused is not None:
        return before.refused
    row = session.get(TrainingFile, before.file_id)
    if row is None or row.created_at != before.created_at:
        return f"the training file '{before.name}' was deleted since"
    if row.name != before.name:
        return f"the training file '{before.name}' was renamed '{row.name}' since"
    if (row.revision != before.revision or row.changes != before.changes
            or (whole and tuple(session.scalars(
                select(Member.conversation_pk).where(Member.file_id == before.file_id)
                .order_by(Member.position))) != before.after)):
        return f"the training file '{before.name}' was changed or rebuilt since"
    return None


def _stored_since(session: Session, undo: LibraryRemovalUndo, whole: bool) -> str | None:
    """A conversation stored since with one of their ids or in their place, or (``whole``)
    with one of their contents or dialogues, or sharing their sentence keys (a
    near-duplicate of one)."""
    rows = undo.conversations
    by_pk = {int(r["pk"]): str(r["conversation_id"]) for r in rows}
    checks: list[tuple[Any, Sequence[Any], Callable[[str, Any], str]]] = [
        (Conversation.conversation_id, [r["conversation_id"] for r in rows],
         lambda cid, _value: f"'{cid}' was imported again since"),
        (Conversation.pk, sorted(by_pk),
         lambda cid, value: f"'{cid}' was imported since and took the place in the "
                            f"library that '{by_pk[int(value)]}' had"),
    ]
    for column, values, why in checks:
        for part in in_parts(values):
            hit = session.execute(select(Conversation.conversation_id, column)
                                  .where(column.in_(part)).limit(1)).first()
            if hit is not None:
                return why(hit[0], hit[1])
    if not whole:
        return None
    for name, column in (("content", Conversation.content_sha256),
                         ("dialogue", Conversation.dialogue_sha256)):
        owner = {r[column.key]: str(r["conversation_id"]) for r in rows if r[column.key]}
        for part in in_parts(sorted(owner)):
            for cid, pk, value in session.execute(
                    select(Conversation.conversation_id, Conversation.pk, column)
                    .where(column.in_(part))):
                if pk not in undo.twins:
                    return (f"'{cid}' was imported since, with the same {name} as "
                            f"'{owner[value]}'")
    keys = [int(r["key"]) for r in undo.dialogue_keys]
    for part in in_parts(keys):
        hit = session.execute(select(Conversation.conversation_id)
                              .join(DialogueKey, DialogueKey.conversation_pk == Conversation.pk)
                              .where(DialogueKey.key.in_(part)).limit(1)).first()
        if hit is not None:
            return (f"'{hit[0]}' was imported since, a near-duplicate of "
                    f"{agreeing(undo.count, 'it', 'one of them')}")
    return None


def _batch_refused(session: Session, undo: LibraryRemovalUndo) -> str | None:
    for batch in undo.batches:
        name = str(batch["batch_id"])
        now = session.get(Batch, name)
        if name in undo.batches_removed:  # put back as it was, if its name is free
            if now is not None:
                return f"the batch name '{name}' was taken since by a new batch"
        elif now is None or now.created_at != batch["created_at"]:
            return f"the batch '{name}' was renamed or removed since"
    return None


def refused(session: Session, undo: LibraryRemovalUndo, whole: bool = True) -> str | None:
    """Why ``undo`` cannot be done exactly now, as a sentence (None: it can).
    ``whole=False``, for the window's greying of Undo on each change, reads the files'
    rows, the batches and the conversations' ids and row keys only: not every member of
    each file, nor every conversation's content, dialogue and sentence keys (up to eight
    each), whose reading would stall the window after a removal of 50,000. The undo
    itself always checks all of it."""
    for before in undo.files:
        why = _file_refused(session, before, whole)
        if why is not None:
            return _cannot(undo, why)
    why = _stored_since(session, undo, whole) or _batch_refused(session, undo)
    return None if why is None else _cannot(undo, why)


def _put_file_back(session: Session, before: FileBefore) -> None:
    """The file's rows as before the removal: its stored build again, byte for byte."""
    put_renderings_back(session, before.fragments)
    unused = {key for key in session.scalars(select(Member.fragment_key)
                                             .where(Member.file_id == before.file_id))
              if key is not None}
    session.execute(delete(Member).where(Member.file_id == before.file_id))
    insert_rows(session, table_of(Member), [
        {"file_id": before.file_id, "conversation_pk": pk, "position": position,
         "fragment_key": key} for pk, position, key in before.members])
    row = session.get(TrainingFile, before.file_id)
    assert row is not None  # (checked in this transaction)
    values = {name: value for name, value in before.row.items()
              if name not in ("file_id", "revision", "changes", "changes_built")}
    # A new revision (its bytes changed again); what it owed before, it owes again.
    owed = int(before.row["changes"]) - int(before.row["changes_built"])
    values.update(revision=row.revision + 1, changes_built=row.changes - owed)
    session.execute(update(TrainingFile).where(TrainingFile.file_id == before.file_id)
                    .values(**values))
    session.expire(row)
    drop_unreferenced(session, unused - {key for _pk, _p, key in before.members})


def undo_library_removal(library: Library, undo: LibraryRemovalUndo,
                         progress: Progress | None = None,
                         cancelled: Callable[[], bool] | None = None) -> tuple[str, ...]:
    """Put back everything the removal took away (see the module's docstring); the names
    of the training files put back. Raises ``LibraryError`` saying why, with nothing
    changed, when that is not exact; ``BuildCancelled`` on Cancel, with nothing changed."""
    names = [before.name for before in undo.files]

    steps = 2 + len(undo.files)
    with training_file_lock(library, *names):
        stop_if_cancelled(cancelled)
        with library.session() as session, session.begin():
            # No build writes a file, and no removal deletes, while this runs.
            lock_in_transaction(session, REMOVING)
            why = refused(session, undo)
            if why is not None:
                raise LibraryError(why)
            stop_if_cancelled(cancelled)
            if progress:
                progress(0, steps, "putting the conversations back")
            profiles = insert_for(session, Profile).on_conflict_do_nothing(
                index_elements=[Profile.profile_hash])
            if undo.profiles:
                session.execute(profiles, list(undo.profiles))
            insert_rows(session, table_of(Batch), [b for b in undo.batches
                                             if b["batch_id"] in undo.batches_removed])
            insert_rows(session, table_of(Conversation), undo.conversations)
            insert_rows(session, table_of(ConversationDocument), undo.documents)
            insert_rows(session, table_of(DialogueKey), undo.dialogue_keys)
            if progress:
                progress(1, steps, "putting the training files back")
            for done, before in enumerate(undo.files, 2):
                stop_if_cancelled(cancelled)
                _put_file_back(session, before)
                if progress:
                    progress(done, steps, before.name)
            stop_if_cancelled(cancelled)  # the last moment: after it, the commit
    return tuple(names)
