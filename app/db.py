"""Open the library database, creating or upgrading it; the schema version lives in
SQLite's ``user_version``.

Upgrades back the file up first and run in one transaction, so an interrupted upgrade
leaves the old database as it was.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from app.errors import LibraryError
from app.models import Base

SCHEMA_VERSION = 5


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


# MIGRATIONS[n] upgrades a database at version n to version n + 1.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _add_token_estimates,
    2: _separate_documents,
    3: _add_curation_columns,
    4: _add_dialogue_sketches,
}


def _set_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.close()


def _inspect(path: Path) -> tuple[int, bool]:
    """Return (user_version, has_our_tables); raise LibraryError for a foreign file."""
    try:
        conn = sqlite3.connect(path)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise LibraryError(
            f"{path} is not a LoRA Studio library (the file is damaged or is not an SQLite "
            f"database: {exc}). Choose another library folder, or move this file away."
        ) from None
    ours = "conversations" in tables and "training_files" in tables
    if tables and not ours:
        raise LibraryError(
            f"{path} is an SQLite database of another program, not a LoRA Studio library."
        )
    return version, ours


def _upgrade(path: Path, version: int) -> None:
    backup = path.with_name(f"{path.name}.v{version}.bak")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the backup copy must be complete
    finally:
        conn.close()
    shutil.copy2(path, backup)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


def open_engine(path: Path) -> Engine:
    """Open (creating or upgrading) the database at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists() and path.stat().st_size > 0
    if existed:
        version, ours = _inspect(path)
        if ours and version > SCHEMA_VERSION:
            raise LibraryError(
                f"{path} was written by a newer LoRA Studio (library version {version}; this "
                f"program understands up to {SCHEMA_VERSION}). Update LoRA Studio to open it."
            )
        if ours and version < SCHEMA_VERSION:
            _upgrade(path, version)
    # A pooled connection stays open between transactions: closing the last connection
    # checkpoints the whole WAL, which per import chunk cost seconds on large imports.
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _set_pragmas)
    if not existed or not _inspect(path)[1]:
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return engine
