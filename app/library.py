"""The conversation library: one SQLite file plus the training-files folder.

This module opens the library and answers questions about conversations and batches;
importing lives in ``app.importer`` and training files in ``app.trainingfiles``.
"""

from __future__ import annotations

import errno
import multiprocessing
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from sqlalchemy import ColumnElement, Engine, Select, case, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app import upkeep
from app.db import Cancelled, Progress, close_engine, open_engine, reads_a_copy
from app.errors import LibraryError
from app.failures import as_library_error, known_failure, unchangeable_library
from app.idtext import clean_batch_id as clean_batch_id  # its home before app.prepare
from app.key_parts import in_parts
from app.location import LibraryLocation, parse_location
from app.lock import LibraryLock
from app.models import (
    Batch,
    BuildFragment,
    Conversation,
    ConversationDocument,
    LibraryTokenizer,
    Member,
    Profile,
    TrainingFile,
)
from app.packing import ZSTD_MAGIC as ZSTD_MAGIC  # re-exported: readers import them here
from app.packing import pack as pack
from app.packing import unpack as unpack
from app.paths import BUILD_FOLDER, DATABASE_NAME, TOKEN_CACHE_NAME, TRAINING_FILES_DIR
from app.portable import insert_for
from app.review import with_review
from app.stored_builds import forget_totals
from app.team_changes import announce_changes
from app.team_db import open_team_engine
from app.token_lines import DEFAULT_MAX_SEQ_LEN

# Large reads fetch this many rows at a time. Fetching 100,000 rows in one call keeps the
# GIL in C for the whole read, and the window (GUI thread) cannot run meanwhile; between
# chunks Python switches threads.
READ_CHUNK = 2000

# What a conversation's rendering depends on besides its document: its batch, reviewer,
# content hash and review time (``Library.records_with_states``).
RecordState = tuple[str, str | None, str, str | None]


def now_iso() -> str:
    """UTC time to the second, as written in headers and tables."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class ConversationRow(NamedTuple):
    """One line of the Conversations table: plain values, never a live ORM object.

    The stored part of a conversation's summary (``app.records.ConversationSummary``, same
    names) plus what the library adds: import time, training files and review mark. A named
    tuple because the table may hold 100,000 of them and tuples are built fastest.
    """

    pk: int
    conversation_id: str
    batch_id: str
    persona_name: str | None
    persona_archetype: str | None
    emotional_arc: str | None
    emotional_arc_key: str | None
    training_topic: str | None
    training_topic_key: str | None
    turns: int
    trainable_replies: int
    replies_trained: int
    quality_score: float | None
    quality_tier: str | None
    created: str | None
    imported_at: str
    source_file: str
    warning_codes: tuple[str, ...]
    warnings_text: str
    training_files: tuple[str, ...]
    reviewed_by: str | None = None  # the library's review mark (see app.review)
    reviewed_at: str | None = None
    # Exact tokens of the conversation's training line (0: not counted yet), and the
    # smallest maximum sequence length of the training files holding it that write its line
    # as it is (else the default; ``SHORTENED_TO_FIT``: every file holding it ends its line
    # at its last whole reply that fits, so none holds a line over its limit).
    token_count: int = 0
    token_budget: int = DEFAULT_MAX_SEQ_LEN


# A conversation's ``token_budget`` when every training file holding it shortens its line
# to fit that file's length limit.
SHORTENED_TO_FIT = 0


@dataclass(frozen=True, slots=True)
class BatchInfo:
    batch_id: str
    conversations: int
    created_at: str


SUMMARY_COLUMNS = (
    Conversation.pk,
    Conversation.conversation_id,
    Conversation.batch_id,
    Conversation.persona_name,
    Conversation.persona_archetype,
    Conversation.emotional_arc,
    Conversation.emotional_arc_key,
    Conversation.training_topic,
    Conversation.training_topic_key,
    Conversation.turns,
    Conversation.trainable_replies,
    Conversation.replies_trained,
    Conversation.quality_score,
    Conversation.quality_tier,
    Conversation.created,
    Conversation.imported_at,
    Conversation.source_file,
    Conversation.warning_codes,
    Conversation.warnings_text,
    Conversation.reviewed_by,
    Conversation.reviewed_at,
)  # then the token count, made with the library's tokenizer (``Library.counted``)



class RecordsGone(LibraryError):
    """Conversations asked for by row key were removed from the library meanwhile (by
    another member of a team library, or another job)."""

    def __init__(self, pks: Sequence[int]) -> None:
        super().__init__(f"{len(pks):,} of the conversations asked for "
                         f"{'was' if len(pks) == 1 else 'were'} removed from the library "
                         "meanwhile; try again")
        self.pks = frozenset(pks)

class Library:
    """A library: a folder holding ``library.sqlite3`` (and, from before v6,
    ``training-files/``), or a team's PostgreSQL database (``app.location``)."""

    def __init__(self, root: Path | str | LibraryLocation, read_only: bool = False,
                 lock_holder: int | None = None, progress: Progress | None = None,
                 cancelled: Cancelled | None = None) -> None:
        """Open the library; unless ``read_only``, hold its writer lock while open (or
        write under the lock process ``lock_holder`` holds: see ``under_parent_lock``).
        ``progress`` and ``cancelled``: a window's, for the upgrade of a library of an
        older version (``app.db.open_engine``).

        A team library takes no lock: several people write to it at once, each change in
        a transaction of its own."""
        self.location = parse_location(root)
        # The library folder; for a team library this computer's own folder for it (caches,
        # upkeep record, tokenizer choice), never shared with the other members.
        self.root = self.location.folder
        self._lock_holder = lock_holder
        self.db_path = self.root / DATABASE_NAME
        self.files_dir = self.root / TRAINING_FILES_DIR
        self.read_only = read_only
        self._lock = LibraryLock(self.root)
        if self.location.is_team:
            self.engine = self._open_team()
        elif read_only:
            self.engine = open_engine(self.db_path, read_only=True)
        else:
            self.engine = self._open_writer(progress, cancelled)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        # Said once, where it matters: the tokenizer choice this computer kept before it
        # moved into the library was carried over now (``app.tokenizer_choice``).
        self.tokenizer_notice = "" if read_only else self._carry_over_tokenizer()

    def _carry_over_tokenizer(self) -> str:
        try:
            with self.engine.connect() as conn:
                if conn.scalar(select(LibraryTokenizer.id)) is not None:
                    return ""  # the usual case: no need to load the tokenizer code
            from app.tokenizer_choice import carry_over

            return carry_over(self)
        except BaseException:
            self.close()
            raise

    def counts_key(self) -> str:
        """What the valid token counts carry in ``conversations.token_basis`` (made with
        the library's tokenizer and template; others are not counts: 0)."""
        with self.engine.connect() as conn:
            basis = conn.scalar(select(LibraryTokenizer.basis))
        if basis is not None:
            return str(basis)
        from app.tokenizer_choice import load_choice  # an old library read as it is

        return load_choice(self).counts_key

    def counted(self) -> ColumnElement[int]:
        """``conversations.token_count`` where it was made with the library's choice, else
        0 ("not counted yet"), for a query."""
        return case((Conversation.token_basis == self.counts_key(), Conversation.token_count),
                    else_=0)

    def summary_query(self) -> Select[*tuple[Any, ...]]:
        """The select of a table row's columns, ending with the valid token count: the
        one place that pairs ``SUMMARY_COLUMNS`` with ``counted``, so no reader forgets it."""
        return select(*SUMMARY_COLUMNS, self.counted())

    @property
    def dialect(self) -> str:
        """The database's SQLAlchemy dialect: "sqlite" or "postgresql"."""
        return self.location.dialect

    @property
    def is_team(self) -> bool:
        """A team library (PostgreSQL): no OS lock, other members may write at any time."""
        return self.location.is_team

    @property
    def display(self) -> str:
        """Where the library is, as shown to people (a team URL without its password)."""
        return self.location.display

    @property
    def database(self) -> Path | str:
        """What failure messages name: the database file, or the team URL (no password)."""
        return self.display if self.is_team else self.db_path

    def _open_team(self) -> Engine:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create this computer's folder for the team library "
                               f"{self.display} ({self.root}): "
                               f"{known_failure(exc) or exc}") from None
        engine, new = open_team_engine(self.location, read_only=self.read_only)
        if not self.read_only:  # the other members' windows hear of each change
            announce_changes(engine)
        if new:  # nothing in a new library is old: it needs no one-time pass
            upkeep.record(self.root)
        return engine


    def _open_writer(self, progress: Progress | None, cancelled: Cancelled | None) -> Engine:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder {self.root}: "
                               f"{_why_no_folder(self.root, exc)}") from None
        self._refuse_a_lost_database()
        try:
            if self._lock_holder is None:
                self._lock.acquire()
            else:
                self._lock.acquire_or_borrow(self._lock_holder)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise LibraryError(unchangeable_library(self.root, exc)) from None
            raise as_library_error(exc, self.db_path) or exc from None
        new = not self.db_path.exists()
        try:
            engine = open_engine(self.db_path, progress=progress, cancelled=cancelled)
            if new:  # nothing in a new library is old: it needs no one-time pass
                upkeep.record(self.root)
            return engine
        except BaseException:
            self._lock.release()
            raise

    def _refuse_a_lost_database(self) -> None:
        """An empty database beside the library's other files was lost, not new: opening
        it as a new library would hide everything it held."""
        try:
            empty = self.db_path.stat().st_size == 0
        except FileNotFoundError:
            return
        except OSError as exc:
            raise as_library_error(exc, self.db_path) or exc from None
        if not empty:
            return
        evidence = [p.name for p in self.root.glob(f"{DATABASE_NAME}.v*.bak")]
        if (self.root / TOKEN_CACHE_NAME).exists():
            evidence.append(TOKEN_CACHE_NAME)
        if self.files_dir.is_dir():
            evidence += [f"{TRAINING_FILES_DIR}/{p.name}" for p in self.files_dir.glob("*")
                         if BUILD_FOLDER.match(p.name)]
        if evidence:
            raise LibraryError(
                f"{self.db_path} is empty (0 bytes), but the library folder still holds "
                f"{', '.join(sorted(evidence)[:3])}: the database was lost (a crash, a full "
                "disk or an interrupted copy), not new. Restore library.sqlite3 from a "
                "backup (library.sqlite3.v*.bak beside it, or your own), or move the whole "
                "folder away to start a new library.")

    @classmethod
    def under_parent_lock(cls, where: Path | LibraryLocation) -> Library:
        """Open for writing in a child process doing one job for its parent, which holds
        the writer lock and waits for the child (``app.job_process``)."""
        parent = multiprocessing.parent_process()
        return cls(where, lock_holder=parent.pid if parent is not None else None)

    @classmethod
    def open(cls, where: str | Path | LibraryLocation | None = None,
             read_only: bool = False, progress: Progress | None = None,
             cancelled: Cancelled | None = None) -> Library:
        """Open the library at ``where``: a folder, a ``postgresql://`` URL, or a location
        (None: ``LORA_STUDIO_HOME``, else the user-data folder)."""
        return cls(parse_location(where), read_only=read_only, progress=progress,
                   cancelled=cancelled)

    @property
    def older_version(self) -> bool:
        """Opened read-only on a library of an older version (read through an upgraded
        copy; the library itself is upgraded only by something that changes it)."""
        return reads_a_copy(self.engine)

    def close(self) -> None:
        close_engine(self.engine)
        self._lock.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def session(self) -> Session:
        return self.session_factory()

    # --- conversations -------------------------------------------------------------

    def count(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(Conversation)) or 0

    def count_with_warning(self, code: str) -> int:
        """How many conversations carry ``code`` in their row's warning codes, which hold
        the record's own quality warnings and also the library's ``near_duplicate`` flag:
        ask for one code by name (the Conversations table's "Warnings" are the record's
        own only, ``app.similar.own_warnings``)."""
        codes = "," + Conversation.warning_codes + ","
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(Conversation)
                                  .where(codes.contains(f",{code},"))) or 0

    def repaired_count(self) -> int:
        """Conversations whose text had literal escape sequences repaired at import."""
        return self.count_with_warning("text_repaired")

    def batch_assignments(self) -> dict[int, str]:
        """Each conversation's batch (by conversation pk): what the table re-reads after
        a batch is renamed or conversations move, instead of every summary row."""
        with self.engine.connect() as conn:
            result = conn.execute(select(Conversation.pk, Conversation.batch_id))
            return {pk: batch for part in result.partitions(READ_CHUNK) for pk, batch in part}

    def membership(self) -> dict[int, tuple[str, ...]]:
        """Which training files each conversation is in (by conversation pk)."""
        query = (
            select(Member.conversation_pk, TrainingFile.name)
            .join(TrainingFile, TrainingFile.file_id == Member.file_id)
            .order_by(TrainingFile.name)
        )
        names: dict[int, list[str]] = defaultdict(list)
        with self.engine.connect() as conn:
            for part in conn.execute(query).partitions(READ_CHUNK):
                for pk, name in part:
                    names[pk].append(name)
        return {pk: tuple(v) for pk, v in names.items()}

    def token_facts(self) -> dict[int, tuple[int, int]]:
        """Per conversation pk: (token count, token budget), as the summary rows have them
        (counts change when they are filled in, budgets with training-file membership)."""
        budgets = self.token_budgets()
        with self.engine.connect() as conn:
            return {pk: (int(n), budgets.get(pk, DEFAULT_MAX_SEQ_LEN)) for pk, n in
                    conn.execute(select(Conversation.pk, self.counted()))}

    def token_budgets(self, pks: Sequence[int] | None = None) -> dict[int, int]:
        """Per conversation pk in any training file (of ``pks``, when given): the smallest
        maximum sequence length of the files holding it that write its line as it is, or
        ``SHORTENED_TO_FIT`` when each of them ends it early to fit (its written line,
        in the file's build, is within the limit its library count is over)."""
        limits: dict[int, list[int]] = defaultdict(list)
        query = (select(Member.conversation_pk, TrainingFile.max_seq_len)
                 .join(TrainingFile, TrainingFile.file_id == Member.file_id))
        # A line is shortened only where the library's count is over the file's limit:
        # only those pairs read the line's tokens from the file's build.
        longer = (select(Member.conversation_pk, TrainingFile.max_seq_len, BuildFragment.tokens)
                  .join(TrainingFile, TrainingFile.file_id == Member.file_id)
                  .join(Conversation, Conversation.pk == Member.conversation_pk)
                  .join(BuildFragment, BuildFragment.key == Member.fragment_key)
                  .where(Conversation.token_count > TrainingFile.max_seq_len))
        parts = ([None] if pks is None
                 else [list(pks[start : start + READ_CHUNK])
                       for start in range(0, len(pks), READ_CHUNK)])
        shortened: dict[int, list[int]] = defaultdict(list)  # pk → limits it is fitted to
        with self.session() as session:
            for part in parts:
                where = (Member.conversation_pk.in_(part),) if part is not None else ()
                for pk, limit in session.execute(query.where(*where)):
                    limits[pk].append(int(limit))
                for pk, limit, tokens in session.execute(longer.where(*where)):
                    # A line ended early is stored as {"lines": …, "fitted": …}
                    # (``app.stored_builds``); one that failed to fit is written whole.
                    written = orjson.loads(tokens) if tokens else None
                    if (isinstance(written, dict) and written["lines"]
                            and max(written["lines"]) <= limit):
                        shortened[pk].append(int(limit))
        budgets = {pk: min(values) for pk, values in limits.items()}
        for pk, fitted in shortened.items():
            whole = list(limits[pk])  # the limits of the files writing it as it is
            for limit in fitted:
                whole.remove(limit)
            budgets[pk] = min(whole) if whole else SHORTENED_TO_FIT
        return budgets

    def summaries(self, batch_id: str | None = None) -> list[ConversationRow]:
        """Summary rows in import order, optionally of one batch."""
        return [row for part in self.summary_parts(batch_id) for row in part]

    def summary_parts(self, batch_id: str | None = None,
                      size: int = READ_CHUNK) -> Iterator[list[ConversationRow]]:
        """``summaries`` a part of ``size`` rows at a time (a child process streams them to
        the window this way: ``ui.row_index.row_parts``)."""
        query = self.summary_query().order_by(Conversation.pk)
        if batch_id is not None:
            query = query.where(Conversation.batch_id == batch_id)
        files = self.membership()
        budgets = self.token_budgets()
        no_files: tuple[str, ...] = ()
        make = ConversationRow._make
        default = DEFAULT_MAX_SEQ_LEN
        with self.engine.connect() as conn:
            for part in conn.execute(query).partitions(size):
                yield [
                    make((*row[:17], tuple(row[17].split(",")) if row[17] else (), row[18],
                          files.get(row[0], no_files), row[19], row[20], row[21],
                          budgets.get(row[0], default)))
                    for row in part
                ]

    def summaries_of(self, conversation_ids: Iterable[str],
                     chunk: int = 500) -> list[ConversationRow]:
        """The summary rows of these conversations in pk order (unknown ids are left out),
        as ``summary_parts`` makes them: what the table reads after an import instead of
        every row (its membership and budgets are read for these rows alone)."""
        wanted = list(dict.fromkeys(conversation_ids))
        found: list[Any] = []
        query = self.summary_query()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), chunk):
                part = wanted[start : start + chunk]
                found += conn.execute(query
                                      .where(Conversation.conversation_id.in_(part))).all()
            pks = [row[0] for row in found]
            names: dict[int, list[str]] = defaultdict(list)
            for start in range(0, len(pks), chunk):
                part_pks = pks[start : start + chunk]
                for pk, name in conn.execute(
                        select(Member.conversation_pk, TrainingFile.name)
                        .join(TrainingFile, TrainingFile.file_id == Member.file_id)
                        .where(Member.conversation_pk.in_(part_pks))
                        .order_by(TrainingFile.name)):
                    names[pk].append(name)
        budgets = self.token_budgets(pks)
        found.sort(key=lambda row: int(row[0]))
        make = ConversationRow._make
        return [make((*row[:17], tuple(row[17].split(",")) if row[17] else (), row[18],
                      tuple(names.get(row[0], ())), row[19], row[20], row[21],
                      budgets.get(row[0], DEFAULT_MAX_SEQ_LEN)))
                for row in found]

    def record(self, conversation_id: str) -> dict[str, Any]:
        """The canonical record, with the batch as the library has it now."""
        with self.session() as session:
            row = session.execute(
                select(ConversationDocument.document, Conversation.batch_id,
                       Conversation.reviewed_by, Conversation.reviewed_at)
                .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)
                .where(Conversation.conversation_id == conversation_id)
            ).one_or_none()
        if row is None:
            raise LibraryError(f"no conversation '{conversation_id}' in the library")
        record: dict[str, Any] = unpack(row[0])
        record["batch_id"] = row[1]
        return with_review(record, row[2], row[3])

    def records_by_pk(self, pks: Sequence[int], chunk: int = 500) -> Iterator[dict[str, Any]]:
        """Stream records in the order given, a chunk at a time (bounded memory)."""
        for record, _state in self.records_with_states(pks, chunk):
            yield record

    def records_with_states(self, pks: Sequence[int], chunk: int = 500,
                            ) -> Iterator[tuple[dict[str, Any], RecordState]]:
        """``records_by_pk``, each with the state it was read in (batch, reviewer, content
        hash, review time), from the same query: a build checks the state its fragment key
        was made from against it. ``RecordsGone`` when some were removed meanwhile."""
        for start in range(0, len(pks), chunk):
            part = list(pks[start : start + chunk])
            with self.session() as session:
                found = {
                    pk: (doc, (batch, by, content, at))
                    for pk, doc, batch, by, content, at in session.execute(
                        select(Conversation.pk, ConversationDocument.document,
                               Conversation.batch_id, Conversation.reviewed_by,
                               Conversation.content_sha256, Conversation.reviewed_at)
                        .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)
                        .where(Conversation.pk.in_(part))
                    )
                }
            gone = [pk for pk in part if pk not in found]
            if gone:
                raise RecordsGone(gone)
            for pk in part:
                doc, state = found[pk]
                record = unpack(doc)
                record["batch_id"] = state[0]
                yield with_review(record, state[1], state[3]), state

    def profile(self, profile_hash: str) -> Any:
        with self.session() as session:
            blob = session.get(Profile, profile_hash)
            if blob is None:
                raise LibraryError(f"consultant profile {profile_hash} is missing")
            return orjson.loads(blob.document)

    def resolve_ids(self, conversation_ids: Iterable[str]) -> dict[str, int]:
        """Map conversation ids to row keys; unknown ids are left out."""
        wanted = list(dict.fromkeys(conversation_ids))
        found: dict[str, int] = {}
        with self.session() as session:
            for part in in_parts(wanted):
                for cid, pk in session.execute(
                    select(Conversation.conversation_id, Conversation.pk).where(
                        Conversation.conversation_id.in_(part)
                    )
                ):
                    found[cid] = pk
        return found

    def row_keys(self, conversation_ids: Iterable[str]) -> dict[str, int]:
        """Each of ``conversation_ids`` the library holds with its row key, in the order
        given and each once (unknown ids are left out): reading their records or digests
        by row key then keeps that order, which ``resolve_ids`` does not promise."""
        wanted = list(dict.fromkeys(conversation_ids))
        found = self.resolve_ids(wanted)
        return {cid: found[cid] for cid in wanted if cid in found}

    # --- batches -------------------------------------------------------------------

    def batches(self) -> list[BatchInfo]:
        query = (
            select(Batch.batch_id, func.count(Conversation.pk), Batch.created_at)
            .outerjoin(Conversation, Conversation.batch_id == Batch.batch_id)
            .group_by(Batch.batch_id)
            .order_by(Batch.batch_id)
        )
        with self.session() as session:
            return [BatchInfo(b, n, c) for b, n, c in session.execute(query)]

    def ensure_batch(self, session: Session, batch_id: str) -> bool:
        """Create the batch unless it exists; True when it was created."""
        if self.is_team:  # another member may be creating it at this very moment
            return bool(session.execute(  # type: ignore[attr-defined]
                insert_for(session, Batch).on_conflict_do_nothing()
                .values(batch_id=batch_id, created_at=now_iso())).rowcount)
        if session.get(Batch, batch_id) is None:
            session.add(Batch(batch_id=batch_id, created_at=now_iso()))
            session.flush()
            return True
        return False

    def delete_empty_batch(self, batch_id: str) -> None:
        """Remove a batch that no conversation uses any more."""
        with self.session() as session, session.begin():
            if session.scalar(select(func.count()).select_from(Conversation)
                              .where(Conversation.batch_id == batch_id)):
                raise LibraryError(f"the batch '{batch_id}' still holds conversations")
            session.execute(delete(Batch).where(Batch.batch_id == batch_id))

    def rename_batch(self, old: str, new: str) -> tuple[bool, list[tuple[int, str]], str]:
        """Rename batch ``old`` (an existing ``new`` merges the two); whether it merged,
        each conversation it renamed as (row key, id) and ``old``'s creation time, read in
        the same transaction (what an undo needs: ``app.batch_undo``)."""
        new = clean_batch_id(new)
        with self.session() as session, session.begin():
            batch = session.get(Batch, old)
            if batch is None:
                raise LibraryError(f"there is no batch '{old}'")
            created_at = batch.created_at
            if old == new:
                return False, [], created_at
            renamed = [(int(pk), str(cid)) for pk, cid in session.execute(
                select(Conversation.pk, Conversation.conversation_id)
                .where(Conversation.batch_id == old))]
            # Every line names its batch: files holding these rebuild in full next time.
            forget_totals(session, select(Conversation.pk).where(Conversation.batch_id == old))
            merged = session.get(Batch, new) is not None
            if merged:
                # Renaming onto an existing batch merges the two.
                session.execute(
                    update(Conversation).where(Conversation.batch_id == old).values(batch_id=new)
                )
                session.execute(delete(Batch).where(Batch.batch_id == old))
            else:
                session.execute(update(Batch).where(Batch.batch_id == old).values(batch_id=new))
            return merged, renamed, created_at

    def move_conversations(self, conversation_ids: Sequence[str], batch_id: str) -> int:
        return len(self.move_recorded(conversation_ids, batch_id)[1])

    def move_recorded(self, conversation_ids: Sequence[str], batch_id: str
                      ) -> tuple[bool, list[tuple[int, str, str]]]:
        """Give these conversations ``batch_id``; whether the batch was created for them,
        and each one moved as (row key, id, its batch before), read in the same
        transaction (what an undo needs: ``app.batch_undo``)."""
        batch_id = clean_batch_id(batch_id)
        found = self.resolve_ids(conversation_ids)
        missing = [cid for cid in conversation_ids if cid not in found]
        if missing:
            raise LibraryError("not in the library: " + ", ".join(missing[:10]))
        before: list[tuple[int, str, str]] = []
        with self.session() as session, session.begin():
            created = self.ensure_batch(session, batch_id)
            pks = list(found.values())
            forget_totals(session, pks)  # their lines name the batch
            for part in in_parts(pks):
                before += [(pk, cid, batch) for pk, cid, batch in session.execute(
                    select(Conversation.pk, Conversation.conversation_id,
                           Conversation.batch_id).where(Conversation.pk.in_(part)))]
                session.execute(
                    update(Conversation)
                    .where(Conversation.pk.in_(part))
                    .values(batch_id=batch_id)
                )
        return created, before


def _why_no_folder(root: Path, exc: OSError) -> str:
    """Why a library folder could not be made: a file in its place (or on its way) is
    named as such; "File exists" alone does not say what to do."""
    in_the_way = next((place for place in (root, *root.parents)
                       if place.exists() and not place.is_dir()), None)
    if in_the_way is not None:
        return (f"{in_the_way} is a file, not a folder. Choose a library folder (a new one "
                "is made for you), not a file.")
    return known_failure(exc) or str(exc)
