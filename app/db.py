"""Open the library database, creating or upgrading it; the schema version lives in
SQLite's ``user_version`` and shows in the tables themselves, up to version 7; after that
in Alembic's revision (``app.migrations``): version 7 is Alembic's baseline, and a library
of an older version goes up this module's chain to 7 and is then stamped with it. No new
step is added here: schema changes are Alembic revisions now.

Upgrades back the file up first and run in one transaction, so an interrupted upgrade
leaves the old database as it was. A database whose ``user_version`` was lost or is wrong
(SQLite's own ``.dump`` and ``.recover`` write 0) is recognised by its tables. A reader
never changes the file: no upgrade, no backup, not even the journal mode. A reader of an
older library reads an upgraded temporary copy instead (``_upgraded_copy``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry

from app import migrations
from app.errors import LibraryError
from app.failures import as_library_error, known_failure, sqlite_error_name
from app.lock import LibraryLock, LibraryLocked
from app.models import Base
from app.wording import agreeing

SCHEMA_VERSION = 7
# What a writer says while it upgrades an older library (its ``progress`` hears it once).
# (Two lines: each fits a progress dialog's width.)
UPGRADING = "Upgrading the library made by an older version\n(a backup is written first)"
Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]


class UpgradeCancelled(LibraryError):
    """The person cancelled an upgrade before it was written: its transaction rolled back,
    so the library is as the older version left it, and the backup made first stays."""

    def __init__(self, path: Path, backup: Path) -> None:
        super().__init__(
            f"Cancelled: the library in {path.parent} was left as the older version made it "
            f"(its backup {backup.name}, written first, is beside it). LoRA Studio upgrades "
            "it the next time it opens it.")
        self.backup = backup


def _add_token_estimates(conn: sqlite3.Connection) -> None:
    """v1 → v2: token estimates per conversation and per training file."""
    conn.execute(
        "ALTER TABLE conversations ADD COLUMN estimated_tokens INTEGER NOT NULL DEFAULT 0"
    )
    conn.execute(
        "ALTER TABLE training_files ADD COLUMN estimated_tokens INTEGER NOT NULL DEFAULT 0"
    )
    conn.execute(
        "UPDATE conversations SET estimated_tokens = "
        "COALESCE(json_extract(CAST(digest AS TEXT), '$.estimated_tokens'), 0)"
    )


def _separate_documents(conn: sqlite3.Connection) -> None:
    """v2 → v3: documents move to their own table; summary rows become small."""
    conn.execute(
        "CREATE TABLE conversation_documents (pk INTEGER NOT NULL PRIMARY KEY "
        "REFERENCES conversations (pk) ON DELETE CASCADE, document BLOB NOT NULL)"
    )
    conn.execute("INSERT INTO conversation_documents (pk, document) "
                 "SELECT pk, document FROM conversations")
    conn.execute("ALTER TABLE conversations DROP COLUMN document")


def _add_curation_columns(conn: sqlite3.Connection) -> None:
    """v3 → v4: exact token counts, dialogue fingerprints, review marks, per-file budgets.

    Existing rows get neutral values (no count yet, no fingerprint, not reviewed); the
    library fills counts and fingerprints in when it next reads those conversations.
    """
    for statement in (
        "ALTER TABLE conversations ADD COLUMN token_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE conversations ADD COLUMN dialogue_sha256 TEXT",
        "ALTER TABLE conversations ADD COLUMN reviewed_by TEXT",
        "ALTER TABLE conversations ADD COLUMN reviewed_at TEXT",
        "ALTER TABLE training_files ADD COLUMN max_seq_len INTEGER NOT NULL DEFAULT 4096",
        "ALTER TABLE training_files ADD COLUMN cut_off_policy TEXT NOT NULL DEFAULT 'trim'",
        "CREATE INDEX ix_conversations_dialogue ON conversations (dialogue_sha256)",
    ):
        conn.execute(statement)


def _add_dialogue_sketches(conn: sqlite3.Connection) -> None:
    """v4 → v5: sentence sketches and their index, for near-duplicate warnings.

    Existing rows get theirs (and their dialogue hash) the next time something imports into
    the library (``app.fingerprints.fill_missing``).
    """
    conn.execute("ALTER TABLE conversations ADD COLUMN dialogue_sketch BLOB")
    conn.execute(
        "CREATE TABLE dialogue_keys (key INTEGER NOT NULL PRIMARY KEY, conversation_pk "
        "INTEGER NOT NULL REFERENCES conversations (pk) ON DELETE CASCADE)"
    )
    conn.execute("CREATE INDEX ix_dialogue_keys_conversation_pk "
                 "ON dialogue_keys (conversation_pk)")


def _add_build_fragments(conn: sqlite3.Connection) -> None:
    """v5 → v6: stored builds become a head plus per-conversation fragments in the database.

    Builds made before stay in their files on disk (``json_file``) until the library's
    next writer moves them in (``app.recovery``): the files stay where they are until a
    build in the database replaces them, so no training file is ever without one.
    """
    conn.execute(
        "CREATE TABLE build_fragments (key VARCHAR NOT NULL PRIMARY KEY, sha256 BLOB NOT NULL, "
        "tokens BLOB NOT NULL, json_size INTEGER NOT NULL, jsonl_size INTEGER NOT NULL, "
        "jsonl BLOB NOT NULL, json BLOB NOT NULL)")
    conn.execute("ALTER TABLE training_files ADD COLUMN head BLOB")
    conn.execute("ALTER TABLE training_file_members ADD COLUMN fragment_key VARCHAR "
                 "REFERENCES build_fragments (key)")
    conn.execute("CREATE INDEX ix_members_fragment ON training_file_members (fragment_key)")
    conn.execute("CREATE INDEX ix_members_order ON training_file_members "
                 "(file_id, position, fragment_key)")


def _add_build_totals(conn: sqlite3.Connection) -> None:
    """v6 → v7: a training file's header totals are stored with its build
    (``app.file_totals``), so a change adds and subtracts the conversations it touches
    instead of reading every member again. NULL (every file here): made at the next build.
    """
    conn.execute("ALTER TABLE training_files ADD COLUMN totals BLOB")


# MIGRATIONS[n] upgrades a database at version n to version n + 1.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _add_token_estimates,
    2: _separate_documents,
    3: _add_curation_columns,
    4: _add_dialogue_sketches,
    5: _add_build_fragments,
    6: _add_build_totals,
}
# What each version added that the schema shows: (table, column or None for the table).
# A database whose user_version was lost (SQLite's .dump and .recover write 0) or is wrong
# is recognised by these instead.
MARKERS: dict[int, tuple[str, str | None]] = {
    2: ("conversations", "estimated_tokens"),
    3: ("conversation_documents", None),
    4: ("conversations", "token_count"),
    5: ("conversations", "dialogue_sketch"),
    6: ("build_fragments", None),
    7: ("training_files", "totals"),
}
OUR_TABLES = frozenset({"conversations", "training_files", "batches", "profiles",
                        "training_file_members"})
TABLES_BY_VERSION = {"conversation_documents", "build_fragments"}
RESTORE = ("Restore library.sqlite3 from a backup (library.sqlite3.v*.bak beside it, or your "
           "own), or move it away to start a new library.")


def _set_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.close()


def _set_reader_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """A reader changes nothing, not even the journal mode in the file's header."""
    dbapi_connection.execute("PRAGMA busy_timeout = 5000")
    dbapi_connection.execute("PRAGMA query_only = ON")


@dataclass(frozen=True)
class Shape:
    """What an existing database file holds."""

    user_version: int
    version: int | None  # our schema version as the tables show it; None: not ours
    empty: bool
    revision: str | None = None  # Alembic's revision (None: none recorded, as before v6)


def _has(columns: dict[str, set[str]], marker: tuple[str, str | None]) -> bool:
    table, column = marker
    return table in columns and (column is None or column in columns[table])


def schema_version(columns: dict[str, set[str]], user_version: int) -> int:
    """Our schema version, from the tables; ``user_version`` when it agrees with them."""
    shown = 1
    for version in range(2, SCHEMA_VERSION + 1):
        marker = MARKERS.get(version)
        if marker is not None and not _has(columns, marker):
            break
        shown = version
    if 1 <= user_version <= SCHEMA_VERSION and all(
        _has(columns, m) for v, m in MARKERS.items() if v <= user_version
    ) and not any(_has(columns, m) for v, m in MARKERS.items() if v > user_version):
        return user_version
    return shown


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if not read_only:
        return sqlite3.connect(path)
    uri = path.resolve().as_uri()
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except BaseException as exc:
        if conn is not None:
            conn.close()  # not left to the collector (Python 3.13 warns of it)
        if not isinstance(exc, sqlite3.OperationalError):
            raise
        if os.access(path.parent, os.W_OK) and _writer_active(path.parent):
            raise
    # A WAL reader needs a shared-memory file beside the database. In a folder nobody may
    # write to, or on a full disk, SQLite cannot make it; when no writer holds the library
    # nobody changes the file meanwhile, so it is read as it is on disk.
    return sqlite3.connect(f"{uri}?immutable=1", uri=True)


def _writer_active(folder: Path) -> bool:
    lock = LibraryLock(folder)
    try:
        lock.acquire()
    except LibraryLocked:
        return True
    except OSError:
        return False
    lock.release()
    return False


def explain_open_error(path: Path, exc: sqlite3.Error) -> LibraryError:
    """Why a library file could not be read, with what to do; damage only when it is."""
    advice = known_failure(exc, path)
    code = sqlite_error_name(exc)
    if code in (None, "", "SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return LibraryError(
            f"{path} is not a LoRA Studio library (the file is damaged or is not an SQLite "
            f"database: {exc}). Choose another library folder, or move this file away.")
    return LibraryError(advice or f"{path} cannot be read: {exc}")


def inspect(path: Path, read_only: bool = False) -> Shape:
    """Read what the file holds; raise ``LibraryError`` for one that is not our library."""
    try:
        conn = _connect(path, read_only)
        try:
            user_version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            columns = {t: {r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')}
                       for t in tables if t in OUR_TABLES or t in TABLES_BY_VERSION}
            revision = migrations.sqlite_revision(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise explain_open_error(path, exc) from None
    user_tables = [t for t in tables if not t.startswith("sqlite_")]
    if not user_tables:
        return Shape(user_version, None, True)
    if not {"conversations", "training_files"} <= set(tables):
        raise LibraryError(
            f"{path} is an SQLite database of another program, not a LoRA Studio library. "
            "Choose another library folder.")
    missing = sorted(OUR_TABLES - set(tables))
    if missing:
        raise LibraryError(
            f"{path} is an incomplete LoRA Studio library: the "
            f"{agreeing(len(missing), 'table', 'tables')} {', '.join(missing)} "
            f"{agreeing(len(missing), 'is', 'are')} missing. {RESTORE}")
    if user_version > SCHEMA_VERSION:
        raise LibraryError(
            f"{path} was written by a newer LoRA Studio (library version {user_version}; this "
            f"program understands up to {SCHEMA_VERSION}). Update LoRA Studio to open it.")
    if migrations.state(revision) == "newer":
        raise LibraryError(
            f"{path} was written by a newer LoRA Studio (schema revision {revision}; this "
            f"program understands up to {migrations.HEAD}). Update LoRA Studio to open it.")
    return Shape(user_version, schema_version(columns, user_version), False, revision)


def _upgrade(path: Path, version: int, cancelled: Cancelled | None = None) -> None:
    """Back the file up, then go up this module's chain to version 7 in one transaction;
    ``cancelled`` is asked between steps and before the commit (a cancel rolls back)."""
    backup = path.with_name(f"{path.name}.v{version}.bak")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the backup copy must be complete
    finally:
        conn.close()
    shutil.copy2(path, backup)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # Outside the rollback's reach: a BEGIN refused (another program writing, "database
        # is locked") opened no transaction, and a ROLLBACK then said only "cannot rollback
        # - no transaction is active" in its place.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for step in range(version, SCHEMA_VERSION):
                _refuse_if_cancelled(cancelled, path, backup)
                MIGRATIONS[step](conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            migrations.stamp_sqlite(conn)  # this chain's last version is Alembic's baseline
            _refuse_if_cancelled(cancelled, path, backup)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _refuse_if_cancelled(cancelled: Cancelled | None, path: Path, backup: Path) -> None:
    if cancelled is not None and cancelled():
        raise UpgradeCancelled(path, backup)


def _stamp(path: Path, user_version: bool) -> None:
    """Write the version the tables show into a file whose user_version was lost, and
    Alembic's baseline into a library of the last version from before Alembic."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        if user_version:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if migrations.sqlite_revision(conn) is None:
            migrations.stamp_sqlite(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _transactional_engine(path: Path) -> Engine:
    """An engine whose transactions are real SQLite transactions, DDL included (the
    driver's own handling would commit before each schema change): for migrations."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _migrate_file(path: Path, before_commit: Callable[[], None] | None = None) -> None:
    """Run the Alembic revisions the file has not had, in one transaction (rolled back
    when ``before_commit`` raises)."""
    engine = _transactional_engine(path)
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn)
            if before_commit is not None:
                before_commit()
    finally:
        engine.dispose()


def _revise(path: Path, revision: str | None, cancelled: Cancelled | None = None) -> None:
    """A writer's Alembic step: back the file up, then bring it to the newest revision
    (``cancelled`` is asked before the commit: a cancel rolls it back)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the backup copy must be complete
    finally:
        conn.close()
    backup = path.with_name(f"{path.name}.v{SCHEMA_VERSION}-"
                            f"{revision or migrations.BASELINE}.bak")
    shutil.copy2(path, backup)
    _migrate_file(path, lambda: _refuse_if_cancelled(cancelled, path, backup))


def open_engine(path: Path, read_only: bool = False, progress: Progress | None = None,
                cancelled: Cancelled | None = None) -> Engine:
    """Open the database at ``path``: a writer creates or upgrades it; a reader changes
    nothing and refuses a library that would need an upgrade.

    An upgrade says ``UPGRADING`` to ``progress`` first (it takes seconds in a large
    library, and a window waits for it); ``cancelled`` may stop it before its commit
    (``UpgradeCancelled``, the library left as it was). Once the older chain has been
    committed, the Alembic step that follows it is not cancelled: the library would be
    neither as it was nor upgraded."""
    if read_only:
        return _open_reader(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = inspect(path) if path.exists() and path.stat().st_size > 0 else None
    try:
        if shape is not None and shape.version is not None:
            behind = migrations.state(shape.revision) == "behind"
            if progress is not None and (shape.version < SCHEMA_VERSION or behind):
                progress(0, 0, UPGRADING)
            if shape.version < SCHEMA_VERSION:
                _upgrade(path, shape.version, cancelled)
                cancelled = None  # committed: the rest goes through (above)
            elif shape.user_version != SCHEMA_VERSION or shape.revision is None:
                _stamp(path, shape.user_version != SCHEMA_VERSION)
            if behind:
                _revise(path, shape.revision, cancelled)
    except sqlite3.Error as exc:
        raise explain_open_error(path, exc) from None
    # A pooled connection stays open between transactions: closing the last connection
    # checkpoints the whole WAL, which per import chunk cost seconds on large imports.
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _set_pragmas)
    if shape is None or shape.empty:
        try:  # a new library: the newest schema at once, stamped with the newest revision
            Base.metadata.create_all(engine)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
                migrations.stamp_connection(conn, migrations.HEAD)
        except DBAPIError as exc:
            engine.dispose()
            raise as_library_error(exc, path) or exc from None
    return engine


def _open_reader(path: Path) -> Engine:
    if not path.exists():
        raise LibraryError(f"there is no library in {path.parent} yet")
    if path.stat().st_size == 0:
        raise LibraryError(f"{path} is empty (0 bytes), so there is nothing to read. "
                           f"{RESTORE}")
    shape = inspect(path, read_only=True)
    if shape.empty:
        raise LibraryError(f"{path} holds no library yet: open it once in the window or "
                           "import into it first")
    if shape.version is not None and (shape.version < SCHEMA_VERSION
                                      or migrations.state(shape.revision) == "behind"):
        return _upgraded_copy(path, shape.version)
    engine = create_engine("sqlite://", creator=lambda: _connect(path, read_only=True))
    event.listen(engine, "connect", _set_reader_pragmas)
    return engine


# Temporary upgraded copies of older libraries, by the engine that reads them.
_COPIES: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()


def _discard(copy: Path) -> None:
    for leftover in (copy, copy.with_name(copy.name + "-journal")):
        with contextlib.suppress(OSError):
            leftover.unlink(missing_ok=True)


def _upgraded_copy(path: Path, version: int) -> Engine:
    """A reader for a library of an older version, which it must not upgrade.

    SQLite's backup copies the database (with what its write-ahead log holds) to a
    temporary file; the copy is upgraded like a library would be and read in its place.
    The library's own files are not written. The copy is removed by ``close_engine``
    (or, failing that, when the engine is collected or the program ends).
    """
    copy: Path | None = None
    try:
        fd, name = tempfile.mkstemp(prefix="lora-studio-older-library-", suffix=".sqlite3")
        os.close(fd)
        copy = Path(name)
        _copy_and_upgrade(path, copy, version)
    except (sqlite3.Error, OSError) as exc:
        if copy is not None:
            _discard(copy)
        reason = known_failure(exc) if isinstance(exc, OSError) else None
        raise LibraryError(
            f"{path} is a library of an older LoRA Studio (version {version}). To read it "
            f"without changing it, an upgraded copy is made in {tempfile.gettempdir()}, and "
            f"that failed: {reason or exc}. Free some space there (or set TMPDIR to another "
            "folder), or open the library once in the LoRA Studio window to upgrade it."
        ) from None
    except BaseException:
        if copy is not None:
            _discard(copy)
        raise
    upgraded = copy
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(upgraded))
    event.listen(engine, "connect", _set_reader_pragmas)
    _COPIES[engine] = upgraded
    weakref.finalize(engine, _discard, upgraded)
    return engine


def _copy_and_upgrade(path: Path, copy: Path, version: int) -> None:
    source = _connect(path, read_only=True)
    try:
        target = sqlite3.connect(copy, isolation_level=None)
        try:
            source.backup(target)
            target.execute("BEGIN IMMEDIATE")
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](target)
            target.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if migrations.sqlite_revision(target) is None:
                migrations.stamp_sqlite(target)
            target.execute("COMMIT")
        finally:
            target.close()
    finally:
        source.close()
    _migrate_file(copy)


def reads_a_copy(engine: Engine) -> bool:
    """True for the reader of an older library (it reads an upgraded temporary copy)."""
    return engine in _COPIES


def close_engine(engine: Engine) -> None:
    """Close every connection, and remove the temporary copy an older library's reader
    read from.

    A connection still in use (a background read not ended yet) is closed when it is
    given back, and so is any the engine opens after this: neither stays in a pool nobody
    uses any more, where only the garbage collector would close it (psycopg warns then:
    "connection ... was deleted while still open"). The listener is set before the pool
    is replaced, so the new pool has it too."""
    event.listen(engine.pool, "checkin", _close_when_given_back)
    engine.dispose()
    copy = _COPIES.pop(engine, None)
    if copy is not None:
        _discard(copy)


def _close_when_given_back(_dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
    entry.close()
