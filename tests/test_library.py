"""The library store: batches, listing, records, and opening old, new and foreign files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from conftest import ENRICHED, LEGACY

from app.db import SCHEMA_VERSION
from app.errors import LibraryError
from app.importer import import_paths
from app.library import Library
from app.paths import DATABASE_NAME

TOTAL = len(ENRICHED) + len(LEGACY)
ON_BOTH = pytest.mark.usefixtures("backend")  # about the store: a folder and a team library


def ids_of(library: Library, batch: str | None = None) -> list[str]:
    return [row.conversation_id for row in library.summaries(batch)]


def counts(library: Library) -> dict[str, int]:
    return {b.batch_id: b.conversations for b in library.batches()}


# --- batches -----------------------------------------------------------------------


@ON_BOTH
def test_batches_count_their_conversations(library: Library, tmp_path: Path) -> None:
    import_paths(library, ENRICHED[:2], batch="alpha")
    import_paths(library, LEGACY[:3], batch="beta")
    assert counts(library) == {"alpha": 2, "beta": 3}
    for info in library.batches():
        assert info.created_at.endswith("Z")


@ON_BOTH
def test_summaries_filter_by_batch(library: Library) -> None:
    import_paths(library, ENRICHED[:2], batch="alpha")
    import_paths(library, LEGACY[:3], batch="beta")
    alpha = library.summaries("alpha")
    assert len(alpha) == 2 and {r.batch_id for r in alpha} == {"alpha"}
    assert len(library.summaries("beta")) == 3
    assert library.summaries("nobody") == []
    everything = library.summaries()
    assert len(everything) == 5
    assert [r.pk for r in everything] == sorted(r.pk for r in everything)  # import order
    row = alpha[0]
    assert row.turns > 0 and row.trainable_replies > 0
    assert row.source_file == ENRICHED[0].name
    assert row.training_files == ()


@ON_BOTH
def test_rename_batch(filled_library: Library, fixture_folder: Path) -> None:
    library = filled_library
    old = fixture_folder.name
    library.rename_batch(old, "  renamed   batch ")
    assert counts(library) == {"renamed batch": TOTAL}
    assert {r.batch_id for r in library.summaries()} == {"renamed batch"}
    cid = ids_of(library)[0]
    assert library.record(cid)["batch_id"] == "renamed batch"
    with pytest.raises(LibraryError, match="no batch 'gone'"):
        library.rename_batch("gone", "x")
    with pytest.raises(LibraryError, match="empty"):
        library.rename_batch("renamed batch", "   ")


@ON_BOTH
def test_rename_onto_an_existing_batch_merges(library: Library) -> None:
    import_paths(library, ENRICHED[:2], batch="alpha")
    import_paths(library, LEGACY[:3], batch="beta")
    library.rename_batch("alpha", "beta")
    assert counts(library) == {"beta": 5}
    assert len(library.summaries("beta")) == 5
    assert library.summaries("alpha") == []


@ON_BOTH
def test_move_conversations(filled_library: Library, fixture_folder: Path) -> None:
    library = filled_library
    chosen = ids_of(library)[:3]
    assert library.move_conversations(chosen, "picked") == 3
    assert counts(library) == {fixture_folder.name: TOTAL - 3, "picked": 3}
    assert ids_of(library, "picked") == chosen
    for cid in chosen:
        assert library.record(cid)["batch_id"] == "picked"


@ON_BOTH
def test_move_of_an_unknown_id_names_it_and_moves_nothing(
    filled_library: Library, fixture_folder: Path
) -> None:
    library = filled_library
    known = ids_of(library)[0]
    with pytest.raises(LibraryError, match="no-such-conversation"):
        library.move_conversations([known, "no-such-conversation"], "picked")
    assert counts(library) == {fixture_folder.name: TOTAL}


@ON_BOTH
def test_record_is_the_canonical_record_with_the_current_batch(library: Library) -> None:
    (verdict,) = import_paths(library, [ENRICHED[0]], batch="first").verdicts
    cid = verdict.conversation_id
    record = library.record(cid)
    assert record["conversation_id"] == cid
    assert record["batch_id"] == "first"
    assert record["messages"][0]["role"] == "system"
    assert record["source"]["file_name"] == ENRICHED[0].name
    assert {"client", "scaffolding", "consultant_profile", "quality", "stats"} <= set(record)
    library.move_conversations([cid], "second")
    assert library.record(cid)["batch_id"] == "second"
    with pytest.raises(LibraryError, match="no conversation 'missing'"):
        library.record("missing")


# --- opening databases -------------------------------------------------------------


V1_SCHEMA = Path(__file__).parent / "data" / "library-v1.sql"


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def make_v1_library(tmp_path: Path, files: list[Path], batch: str) -> Path:
    """A library as version 1 stored it, holding real rows.

    The rows come from a current library that imported ``files``; they are copied into the
    frozen version-1 schema (documents inside the conversations table, no token columns).
    """
    with Library(tmp_path / "source") as source:
        import_paths(source, files, batch=batch)
    source_db = tmp_path / "source" / DATABASE_NAME
    old_root = tmp_path / "old"
    old_root.mkdir()
    conn = sqlite3.connect(old_root / DATABASE_NAME)
    try:
        conn.executescript(V1_SCHEMA.read_text(encoding="utf-8"))
        assert "estimated_tokens" not in _columns(conn, "conversations")
        assert "document" in _columns(conn, "conversations")
        conn.execute("ATTACH DATABASE ? AS src", (str(source_db),))
        shared = sorted(_columns(conn, "conversations") - {"document"})
        keep = ", ".join(f"c.{name}" for name in shared)
        conn.execute("INSERT INTO batches SELECT * FROM src.batches")
        conn.execute("INSERT INTO profiles SELECT * FROM src.profiles")
        conn.execute(
            f"INSERT INTO conversations ({', '.join(shared)}, document) "
            f"SELECT {keep}, d.document FROM src.conversations c "
            "JOIN src.conversation_documents d ON d.pk = c.pk"
        )
        conn.commit()
        conn.execute("DETACH DATABASE src")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    finally:
        conn.close()
    return old_root


def test_a_version_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    old_root = make_v1_library(tmp_path, [ENRICHED[0]], "old-batch")
    old_db = old_root / DATABASE_NAME
    conn = sqlite3.connect(old_db)
    try:
        cid, blob = conn.execute("SELECT conversation_id, digest FROM conversations").fetchone()
    finally:
        conn.close()
    expected_tokens = orjson.loads(blob)["estimated_tokens"]
    assert expected_tokens > 0
    before = old_db.read_bytes()

    with Library(old_root) as library:
        assert library.count() == 1
        assert library.record(cid)["batch_id"] == "old-batch"
        assert [(b.batch_id, b.conversations) for b in library.batches()] == [("old-batch", 1)]

    conn = sqlite3.connect(old_db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert "estimated_tokens" in _columns(conn, "training_files")
        assert "document" not in _columns(conn, "conversations")
        assert conn.execute("SELECT count(*) FROM conversation_documents").fetchone()[0] == 1
        tokens = conn.execute(
            "SELECT estimated_tokens FROM conversations WHERE conversation_id = ?", (cid,)
        ).fetchone()[0]
    finally:
        conn.close()
    assert tokens == expected_tokens

    backup = old_root / f"{DATABASE_NAME}.v1.bak"
    assert backup.is_file()
    assert backup.read_bytes() == before
    conn = sqlite3.connect(backup)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        conn.close()


def test_the_upgraded_library_still_builds_training_files(tmp_path: Path) -> None:
    """After an upgrade the new columns and tables are used like in a fresh library."""
    from app.trainingfiles import add_conversations, create_training_file

    root = make_v1_library(tmp_path, ENRICHED[:2], "b")
    with Library(root) as library:
        create_training_file(library, "after upgrade")
        info = add_conversations(library, "after upgrade", ids_of(library))
        assert info.conversations == 2
        assert info.estimated_tokens > 0


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with Library(root) as library:
        import_paths(library, [ENRICHED[0]])
    conn = sqlite3.connect(root / DATABASE_NAME)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = (root / DATABASE_NAME).read_bytes()
    with pytest.raises(LibraryError, match="newer"):
        Library(root)
    assert (root / DATABASE_NAME).read_bytes() == before
    assert not list(root.glob("*.bak"))


def test_a_garbage_file_is_not_a_library(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    (root / DATABASE_NAME).write_bytes(b"this is certainly not an SQLite database\n" * 100)
    with pytest.raises(LibraryError, match="not a LoRA Studio library"):
        Library(root)


def test_an_sqlite_file_of_another_program_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    conn = sqlite3.connect(root / DATABASE_NAME)
    conn.execute("CREATE TABLE recipes (name TEXT, minutes INTEGER)")
    conn.execute("INSERT INTO recipes VALUES ('soup', 30)")
    conn.commit()
    conn.close()
    with pytest.raises(LibraryError, match="another program"):
        Library(root)
    conn = sqlite3.connect(root / DATABASE_NAME)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert tables == {"recipes"}, "the foreign database must be left alone"


def test_an_empty_database_file_becomes_a_library(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    (root / DATABASE_NAME).touch()
    with Library(root) as library:
        assert library.count() == 0
        import_paths(library, [ENRICHED[0]])
        assert library.count() == 1
