"""Stored builds: a training file's head plus its members' fragments, in the library database.

A build is not kept as two files: the training file's row holds the full JSON's head
(``TrainingFile.head``), each member row names its conversation's fragment
(``Member.fragment_key``), and ``build_fragments`` holds each fragment once: its full-JSON
bytes, its JSONL line(s), their token counts and a sha256. The two files are put together
only when they leave the library (``BuildReader``), by streaming concatenation; every
fragment is checked against its sha256 on the way, so damaged storage is reported rather
than copied.

Switching a file to a new build is one transaction (``app.trainingfiles``), so there is
never a half-built revision. Fragments are written before the switch when a build is too
large to hold in memory; until the switch nothing refers to them, and a fragment nothing
refers to is garbage (``drop_unreferenced``): the database is the only thing that can
refer to one.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, delete, exists, func, select, text, update
from sqlalchemy.orm import Session

from app.errors import LibraryError
from app.fragments import SHA_SIZE, Fragment, full_json
from app.key_parts import in_parts
from app.models import BuildFragment, Member, SavedCopy, TrainingFile
from app.portable import insert_for

READ_CHUNK = 256  # fragments fetched at a time when a build is read out


@dataclass(frozen=True, slots=True)
class StoredFragment:
    """What a build needs to know of a stored fragment without reading its bytes."""

    tokens: tuple[int, ...]
    json_size: int
    jsonl_size: int
    fitted: tuple[int, int] = (0, 0)  # what its line left out to fit (Fragment.fitted)


def line_counts(tokens: bytes) -> tuple[int, ...]:
    """The lines' counts of a fragment's ``tokens`` column (``_stored`` reads its format)."""
    item = orjson.loads(tokens)
    return tuple(item["lines"] if isinstance(item, dict) else item)


def _stored(tokens: bytes, json_size: int, jsonl_size: int) -> StoredFragment:
    """The ``tokens`` column holds the lines' counts, or, for a line ended early to fit
    the token budget, ``{"lines": counts, "fitted": [replies, estimated tokens]}``."""
    item = orjson.loads(tokens)
    if isinstance(item, dict):
        replies, estimate = item["fitted"]
        return StoredFragment(tuple(item["lines"]), json_size, jsonl_size,
                              (int(replies), int(estimate)))
    return StoredFragment(tuple(item), json_size, jsonl_size)


def _tokens_column(fragment: Fragment) -> bytes:
    if fragment.fitted == (0, 0):
        return orjson.dumps(list(fragment.tokens))
    return orjson.dumps({"lines": list(fragment.tokens), "fitted": list(fragment.fitted)})


def file_fragments(session: Session, file_id: int) -> dict[str, StoredFragment]:
    """The fragments the file's current build uses, by key (one query, no large values)."""
    return {key: _stored(tokens, json_size, jsonl_size)
            for key, tokens, json_size, jsonl_size in session.execute(
                select(BuildFragment.key, BuildFragment.tokens, BuildFragment.json_size,
                       BuildFragment.jsonl_size)
                .join(Member, Member.fragment_key == BuildFragment.key)
                .where(Member.file_id == file_id))}


def find_fragments(session: Session, keys: Sequence[str]) -> dict[str, StoredFragment]:
    """Stored fragments among ``keys`` (whichever file they were made for)."""
    found: dict[str, StoredFragment] = {}
    for part in in_parts(keys):
        found.update((key, _stored(tokens, json_size, jsonl_size))
                     for key, tokens, json_size, jsonl_size in session.execute(
                         select(BuildFragment.key, BuildFragment.tokens,
                                BuildFragment.json_size, BuildFragment.jsonl_size)
                         .where(BuildFragment.key.in_(part))))
    return found


def save_fragments(session: Session, fragments: Sequence[Fragment]) -> None:
    """Store freshly rendered fragments; a fragment stored under the same key before is
    replaced (a render from scratch is how damaged storage gets repaired)."""
    if not fragments:
        return
    statement = insert_for(session, BuildFragment)
    statement = statement.on_conflict_do_update(
        index_elements=[BuildFragment.key],
        set_={column: statement.excluded[column]
                for column in ("sha256", "tokens", "json_size", "jsonl_size", "jsonl", "json")})
    session.execute(statement, [
        {"key": f.key, "sha256": f.sha256, "tokens": _tokens_column(f),
         "json_size": len(f.json), "jsonl_size": len(f.jsonl), "json": f.json,
         "jsonl": f.jsonl} for f in fragments])


def drop_unreferenced(session: Session, keys: Iterable[str] | None = None) -> int:
    """Delete the fragments among ``keys`` (None: all) that no member refers to."""
    unused = ~exists().where(Member.fragment_key == BuildFragment.key)
    if keys is None:
        return int(session.execute(  # type: ignore[attr-defined]
            delete(BuildFragment).where(unused)).rowcount or 0)
    wanted = list(dict.fromkeys(keys))
    gone = 0
    for part in in_parts(wanted):
        gone += int(session.execute(delete(BuildFragment).where(  # type: ignore[attr-defined]
            BuildFragment.key.in_(part), unused)).rowcount or 0)
    return gone


def member_guard(session: Session, file_id: int) -> str:
    """What the stored totals say about the file's member rows: their number and the sum
    of their row keys (``guard_of``). A row deleted or added by anything but a build (a
    conversation deleted from the library takes its rows along) shows here. One indexed
    aggregate, no row read into Python."""
    count, pk_sum = session.execute(
        select(func.count(), func.coalesce(func.sum(Member.conversation_pk), 0))
        .where(Member.file_id == file_id)).one()
    return guard_of(int(count), int(pk_sum))


def guard_of(count: int, pk_sum: int) -> str:
    return f"{count}:{pk_sum}"


def last_position(session: Session, file_id: int) -> int:
    """The file's last member position (-1: none), from the index on positions."""
    last = session.scalar(select(func.max(Member.position)).where(Member.file_id == file_id))
    return -1 if last is None else int(last)


# A rebuild owed: a change to a file's conversations that its bytes must follow (a batch
# move or rename, a replaced conversation, a review mark) or a new tokenizer counts one more
# of the file's ``changes``; a build records in ``changes_built`` the count it read before
# it read its members. The window rebuilds right after such a change; when that rebuild is
# dropped (the window closed, Cancel, a crash) the next open of the library finishes it
# (``app.recovery``), on the command line too. A change made while a build runs (another
# member's, on a team library) is counted after that build's read, so it stays owed after
# the build's switch. While a rebuild is owed the file's stored totals are not trusted:
# the build that pays it reads every member.
OWED = TrainingFile.changes > TrainingFile.changes_built


def forget_totals(session: Session, conversations: Sequence[int] | Select[Any], *,
                  rebuild_due: bool = True) -> None:
    """The training files holding any of ``conversations`` (row keys, or a query of them)
    forget their stored totals, so their next change reads every member; with
    ``rebuild_due`` they also owe a rebuild (``OWED``).

    Call it in the same transaction as any change to what a conversation's rendering and
    header part depend on (its record, digest, batch or review mark): adding to or removing
    from a file trusts its other members to be as they were built
    (``app.build_delta``). ``rebuild_due=False`` for a change the file's bytes do not show
    (a digest made again); it leaves a rebuild already owed owed."""
    def forget(holding: Any) -> None:
        change = (update(TrainingFile)
                  .where(TrainingFile.file_id.in_(
                      select(Member.file_id).where(Member.conversation_pk.in_(holding))))
                  .execution_options(synchronize_session=False))
        if rebuild_due:  # counted in the database: no other change's count is lost
            session.execute(change.values(totals=None, changes=TrainingFile.changes + 1))
        else:
            session.execute(change.values(totals=None))

    if isinstance(conversations, Select):
        forget(conversations)
        return
    pks = list(conversations)
    for part in in_parts(pks):
        forget(part)


def every_file_owes_a_rebuild(connection: Connection | Session) -> None:
    """Every training file owes a rebuild (``OWED``): what all of them depend on changed
    (the tokenizer their token counts and headers come from). In the caller's transaction,
    with that change."""
    connection.execute(update(TrainingFile).values(changes=TrainingFile.changes + 1)
                       .execution_options(synchronize_session=False))


def owes_a_rebuild(row: TrainingFile) -> bool:
    """Whether the file (its row as read) owes a rebuild (``OWED``)."""
    return row.changes > row.changes_built


def rebuilds_due(session: Session) -> list[str]:
    """The training files that owe a rebuild (``OWED``), by name."""
    return list(session.scalars(select(TrainingFile.name).where(OWED)
                                .order_by(TrainingFile.name)))


def unreferenced_count(session: Session) -> int:
    """How many stored fragments no member refers to (leftovers of an interrupted build)."""
    return int(session.scalar(text(
        "SELECT count(*) FROM build_fragments f WHERE NOT EXISTS "
        "(SELECT 1 FROM training_file_members m WHERE m.fragment_key = f.key)")) or 0)


class DamagedBuild(LibraryError):
    """A stored build does not read back as it was written."""

    def __init__(self, training_file: str, why: str) -> None:
        self.training_file, self.why = training_file, why
        super().__init__(
            f"the stored build of the training file '{training_file}' is damaged ({why}). "
            f"Run `lora-studio rebuild \"{training_file}\"` (or Rebuild in the window) to "
            "render it again from the library; nothing was written.")


class BuildReader:
    """Reads one training file's stored build inside one read transaction, so the head,
    the member list and the fragments all come from the same moment.

    Use as a context manager: ``json_chunks()`` yields the full JSON's bytes and
    ``jsonl_lines()`` each JSONL line; both may be read any number of times. ``revision``:
    the file's revision the build was read at.
    """

    def __init__(self, engine: Engine, file_id: int, name: str) -> None:
        self.file_id, self.name = file_id, name
        self._engine = engine
        self._conn: Any = None
        self._team = engine.dialect.name == "postgresql"
        self.head = b""
        self.conversations = 0
        self.revision = 0

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._team else statement

    def __enter__(self) -> BuildReader:
        # The driver's own connection: fragments stream through its cursor a chunk at a
        # time, where SQLAlchemy's result would hold them (on PostgreSQL all of them).
        self._conn = self._engine.raw_connection()
        try:
            if self._team:  # one snapshot for every read below, changing nothing
                self._conn.cursor().execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            elif not self._conn.in_transaction:
                self._conn.execute("BEGIN")  # one snapshot for every read below
            cursor = self._conn.cursor()
            cursor.execute(self._sql(
                "SELECT head, conversations, revision FROM training_files "
                "WHERE file_id = ?"),
                (self.file_id,))
            row = cursor.fetchone()
            cursor.close()
            if row is None or row[0] is None:
                raise LibraryError(f"the training file '{self.name}' was deleted meanwhile "
                                   "or has not been built yet")
            self.head, self.conversations = bytes(row[0]), int(row[1])
            self.revision = int(row[2])
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._conn is not None:
            try:
                self._conn.rollback()
            finally:
                self._conn.close()
                self._conn = None

    def _damaged(self, why: str) -> DamagedBuild:
        return DamagedBuild(self.name, why)

    def _cursor(self) -> Any:
        """A cursor that fetches as it is read: on PostgreSQL a server-side (named) one,
        since the driver's plain cursor receives the whole result at once."""
        if self._team:
            return self._conn.driver_connection.cursor(name=f"build_{self.file_id}")
        return self._conn.cursor()

    def _fragments(self, columns: str) -> Iterator[tuple[Any, ...]]:
        """Each member's (sha256, json size, jsonl size, ``columns``…) in file order."""
        cursor = self._cursor()
        try:
            cursor.execute(self._sql(
                "SELECT m.fragment_key, f.sha256, f.json_size, f.jsonl_size, "
                f"{columns} FROM training_file_members m "
                "LEFT JOIN build_fragments f ON f.key = m.fragment_key "
                "WHERE m.file_id = ? ORDER BY m.position"), (self.file_id,))
            count = 0
            while rows := cursor.fetchmany(READ_CHUNK):
                for row in rows:
                    if row[1] is None:
                        raise self._damaged(
                            f"conversation {count + 1} has no stored rendering")
                    count += 1
                    yield row
            if count != self.conversations:
                raise self._damaged(f"{count} conversations stored, "
                                    f"{self.conversations} recorded")
        except sqlite3.DatabaseError as exc:  # a team server's errors go up as they are
            raise self._damaged(f"the database could not be read: {exc}") from None
        finally:
            cursor.close()

    def _checked(self, part: str) -> Iterator[bytes]:
        """Each member's ``part`` ("json" or "jsonl"), checked against its size and hash."""
        jsonl = part == "jsonl"
        for _key, sha, json_size, jsonl_size, data in self._fragments(f"f.{part}"):
            size, half = (jsonl_size, sha[SHA_SIZE:]) if jsonl else (json_size, sha[:SHA_SIZE])
            if len(data) != size or hashlib.sha256(data).digest() != half:
                raise self._damaged("a conversation's stored rendering does not match its "
                                    "checksum")
            yield data

    def json_chunks(self, tick: Callable[[], None] | None = None) -> Iterator[bytes]:
        """The full JSON, in pieces (head, separators, fragments, tail); ``tick`` is
        called once per conversation (progress, and it may raise to cancel)."""
        fragments = self._checked("json")
        if tick is not None:
            fragments = _ticking(fragments, tick)
        return full_json(self.head, fragments)

    def jsonl_chunks(self) -> Iterator[bytes]:
        """The JSONL, one conversation's line(s) at a time (fewer pieces to hash)."""
        return self._checked("jsonl")

    def jsonl_lines(self) -> Iterator[bytes]:
        """The JSONL, one line (with its newline) at a time."""
        for data in self._checked("jsonl"):
            start = 0
            while (end := data.find(b"\n", start)) >= 0:
                yield data[start:end + 1]
                start = end + 1


def _ticking(items: Iterator[bytes], tick: Callable[[], None]) -> Iterator[bytes]:
    for item in items:
        tick()
        yield item


def built_ids(session: Session) -> list[int]:
    """The training files whose build is stored in the database."""
    return list(session.scalars(select(TrainingFile.file_id)
                                .where(TrainingFile.head.is_not(None))))


# The column keeping the sha256 of each part of the current build (``TrainingFile``)
SHA_COLUMNS = {"json": "json_sha256", "jsonl": "jsonl_sha256"}
JSON_FORMAT = "json"  # ``app.export.ExportFormat.JSON``: made from the stored full JSON


def part_of(export_format: str) -> str:
    """The stored part a copy in ``export_format`` is made from: the full JSON or the JSONL
    (every other format reshapes the JSONL's lines)."""
    return "json" if export_format == JSON_FORMAT else "jsonl"


def build_sha256_at(engine: Engine, file_id: int, name: str, part: str) -> tuple[int, str]:
    """The sha256 of the stored full JSON (``part`` "json") or JSONL of the file, read
    through, with the revision it was read at."""
    digest = hashlib.sha256()
    with BuildReader(engine, file_id, name) as build:
        for chunk in build.json_chunks() if part == "json" else build.jsonl_chunks():
            digest.update(chunk)
        return build.revision, digest.hexdigest()


def keep_build_sha256(session: Session, file_id: int, revision: int, part: str,
                      value: str) -> None:
    """Store ``value`` as the sha256 of the file's ``part`` if its build is still the one
    of ``revision`` (a later build's is its own to store)."""
    session.execute(update(TrainingFile)
                    .where(TrainingFile.file_id == file_id, TrainingFile.revision == revision)
                    .values({SHA_COLUMNS[part]: value})
                    .execution_options(synchronize_session=False))


def hash_for_saved_copies(engine: Engine, session_of: Callable[[], Session], file_id: int,
                          name: str) -> None:
    """Store the sha256 of each part of the file's new build that a saved copy of the
    same size is made from, so the files page can tell whether the copy still matches
    without reading the build (``app.saved_copies``). Only such a copy asks: one of
    another size is older than the build by its size alone, so a change that changes the
    size (most do) reads nothing here."""
    with session_of() as session:
        row = session.execute(select(TrainingFile.json_bytes, TrainingFile.jsonl_bytes)
                              .where(TrainingFile.file_id == file_id)).one_or_none()
        if row is None:
            return
        sizes = {"json": row[0], "jsonl": row[1]}
        parts = {part_of(fmt) for fmt, size in session.execute(
            select(SavedCopy.export_format, SavedCopy.source_bytes)
            .where(SavedCopy.file_id == file_id).distinct())
                 if size == sizes[part_of(fmt)]}
    for part in sorted(parts):
        revision, value = build_sha256_at(engine, file_id, name, part)
        with session_of() as session, session.begin():
            keep_build_sha256(session, file_id, revision, part, value)
