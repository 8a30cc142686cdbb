"""Turn a current library's database back into what an older version wrote (v1–v6).

Each step undoes one migration of ``app.db`` on a real database, keeping its rows, so a
test can hold an older library with real conversations and training files in it. Going
below v6 writes each stored build out as the files older versions kept
(``training-files/<id>-r<revision>/``, with the index and sha256 record the last of them
wrote beside the files).
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import orjson

from app.fragments import full_json
from app.legacy_builds import fragment_digest


def _write_build_files(conn: sqlite3.Connection, root: Path) -> None:
    """Each stored build as a v5 build folder, and the row pointing at its files."""
    rows = conn.execute("SELECT file_id, revision, name, head FROM training_files "
                        "WHERE head IS NOT NULL").fetchall()
    for file_id, revision, name, head in rows:
        parts = conn.execute(
            "SELECT m.fragment_key, f.json, f.jsonl, f.tokens FROM training_file_members m "
            "JOIN build_fragments f ON f.key = m.fragment_key WHERE m.file_id = ? "
            "ORDER BY m.position", (file_id,)).fetchall()
        json_bytes = b"".join(full_json(head, (json for _, json, _, _ in parts)))
        jsonl_bytes = b"".join(jsonl for _, _, jsonl, _ in parts)
        spans, json_at, jsonl_at = {}, len(head), 0
        for index, (key, json, jsonl, _) in enumerate(parts):
            json_at += len(b"\n    " if index == 0 else b",\n    ")
            spans[key] = [json_at, json_at + len(json), jsonl_at, jsonl_at + len(jsonl)]
            json_at += len(json)
            jsonl_at += len(jsonl)
        folder = root / "training-files" / f"{file_id:05d}-r{revision}"
        folder.mkdir(parents=True)
        (folder / f"{name}.json").write_bytes(json_bytes)
        (folder / f"{name}.jsonl").write_bytes(jsonl_bytes)
        (folder / ".fragments").write_bytes(orjson.dumps({
            "version": 3, "json": f"{name}.json", "jsonl": f"{name}.jsonl",
            "json_bytes": len(json_bytes), "jsonl_bytes": len(jsonl_bytes), "spans": spans,
            "tokens": {key: orjson.loads(tokens) for key, _, _, tokens in parts},
            "digests": {key: fragment_digest(json, jsonl) for key, json, jsonl, _ in parts}}))
        (folder / ".sha256").write_text(
            f"{hashlib.sha256(json_bytes).hexdigest()}  {name}.json\n"
            f"{hashlib.sha256(jsonl_bytes).hexdigest()}  {name}.jsonl\n", encoding="utf-8")
        conn.execute("UPDATE training_files SET json_file = ?, jsonl_file = ? WHERE file_id = ?",
                     (f"{folder.name}/{name}.json", f"{folder.name}/{name}.jsonl", file_id))


def _to_v6(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE training_files DROP COLUMN totals")


def _to_v5(conn: sqlite3.Connection) -> None:
    (database,) = [Path(row[2]) for row in conn.execute("PRAGMA database_list")
                   if row[1] == "main"]
    _write_build_files(conn, database.parent)
    conn.execute("CREATE TABLE members_v5 (file_id INTEGER NOT NULL, conversation_pk INTEGER "
                 "NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (file_id, conversation_pk), "
                 "FOREIGN KEY(file_id) REFERENCES training_files (file_id) ON DELETE CASCADE, "
                 "FOREIGN KEY(conversation_pk) REFERENCES conversations (pk) ON DELETE "
                 "RESTRICT)")
    conn.execute("INSERT INTO members_v5 SELECT file_id, conversation_pk, position "
                 "FROM training_file_members")
    conn.execute("DROP TABLE training_file_members")
    conn.execute("ALTER TABLE members_v5 RENAME TO training_file_members")
    conn.execute("CREATE INDEX ix_members_conversation ON training_file_members "
                 "(conversation_pk)")
    conn.execute("DROP TABLE build_fragments")
    conn.execute("ALTER TABLE training_files DROP COLUMN head")


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


def _to_baseline(conn: sqlite3.Connection) -> None:
    """Undo the Alembic revisions after the baseline (schema version 7 as it was)."""
    conn.execute("DROP TABLE IF EXISTS library_tokenizer")
    conn.execute("DROP TABLE IF EXISTS saved_copies")  # revision 0006
    if any(row[1] == "token_basis" for row in conn.execute("PRAGMA table_info(conversations)")):
        conn.execute("ALTER TABLE conversations DROP COLUMN token_basis")
    owed = ("changes", "changes_built", "over_budget",  # revisions 0003 and 0005
            "json_sha256", "jsonl_sha256")  # revision 0007
    for row in conn.execute("PRAGMA table_info(training_files)").fetchall():
        if row[1] in owed:
            conn.execute(f"ALTER TABLE training_files DROP COLUMN {row[1]}")
    if any(row[1] == "replies_trained"  # revision 0004
           for row in conn.execute("PRAGMA table_info(conversations)")):
        conn.execute("ALTER TABLE conversations DROP COLUMN replies_trained")
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
        conn.execute("UPDATE alembic_version SET version_num = '0001_baseline'")


# STEPS[n] makes version n of n + 1
STEPS = {6: _to_v6, 5: _to_v5, 4: _to_v4, 3: _to_v3, 2: _to_v2, 1: _to_v1}


def downgrade(database: Path, version: int) -> None:
    """Make the current-version ``database`` the schema ``version`` had, rows kept."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN")
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        _to_baseline(conn)
        for step in range(current - 1, version - 1, -1):
            STEPS[step](conn)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")  # as older versions left it
    finally:
        conn.close()
