"""Turn a current library's database back into what an older version wrote (v1–v4).

Each step undoes one migration of ``app.db`` on a real database, keeping its rows, so a
test can hold an older library with real conversations and training files in it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def _to_v4(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE dialogue_keys")
    conn.execute("ALTER TABLE conversations DROP COLUMN dialogue_sketch")


def _to_v3(conn: sqlite3.Connection) -> None:
    conn.execute("DROP INDEX ix_conversations_dialogue")
    for column in ("token_count", "dialogue_sha256", "reviewed_by", "reviewed_at"):
        conn.execute(f"ALTER TABLE conversations DROP COLUMN {column}")
    for column in ("max_seq_len", "cut_off_policy"):
        conn.execute(f"ALTER TABLE training_files DROP COLUMN {column}")


def _to_v2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE conversations ADD COLUMN document BLOB NOT NULL DEFAULT x''")
    conn.execute("UPDATE conversations SET document = (SELECT d.document FROM "
                 "conversation_documents d WHERE d.pk = conversations.pk)")
    conn.execute("DROP TABLE conversation_documents")


def _to_v1(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE conversations DROP COLUMN estimated_tokens")
    conn.execute("ALTER TABLE training_files DROP COLUMN estimated_tokens")


STEPS = {4: _to_v4, 3: _to_v3, 2: _to_v2, 1: _to_v1}  # STEPS[n] makes version n of n + 1


def downgrade(database: Path, version: int) -> None:
    """Make the current-version ``database`` the schema ``version`` had, rows kept."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN")
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(current - 1, version - 1, -1):
            STEPS[step](conn)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")  # as older versions left it
    finally:
        conn.close()
