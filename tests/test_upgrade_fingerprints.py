"""A library from before dialogue fingerprints (schema v3/v4) gets them at its first open,
so the one-time near-duplicate pass sees every stored conversation, as an import would.

``tests/data/library-before-fingerprints`` was written by LoRA Studio at commit d54ab62
(schema v3): ``lora-studio import --batch originals enriched/enriched-2.json``, then
``import --batch windows-copies`` of the same conversation as a Windows-made generator
writes it (every line break ``\\r\\n``) under the id ``fp_conversation_enriched-2-windows-
copy``. That version took the copy as other content; mended (``\\r\\n`` made ``\\n``) it is
the same dialogue, which today's import refuses as a duplicate. Before this fix the first
open left the original without a fingerprint, so the near-duplicate pass (which reads
fingerprints) saw nothing and recorded itself done: the copy's replies were trained twice,
unflagged, for good.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from app import upkeep
from app.cli import main
from app.importer import import_paths
from app.library import Library
from app.recovery import finish_interrupted_work
from app.similar import NEAR_DUPLICATE

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-fingerprints"
ORIGINAL = "fp_conversation_2ecd51bd-8dd9-478a-9fb4-de20f69bd441"
COPY = "fp_conversation_enriched-2-windows-copy"
ENRICHED_2 = Path(__file__).parent / "fixtures" / "enriched" / "enriched-2.json"


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def stored(root: Path) -> dict[str, tuple[str | None, str]]:
    """Each conversation's dialogue fingerprint and warning codes."""
    with closing(sqlite3.connect(root / "library.sqlite3")) as conn:
        return {cid: (sha, codes) for cid, sha, codes in conn.execute(
            "SELECT conversation_id, dialogue_sha256, warning_codes FROM conversations")}


def test_the_first_open_flags_a_copy_that_mending_made_the_same_dialogue(
        old_library: Path, tmp_path: Path) -> None:
    with closing(sqlite3.connect(old_library / "library.sqlite3")) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (3,)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(conversations)")}
    assert "dialogue_sha256" not in columns  # from before fingerprints
    with Library(old_library) as library:
        said = finish_interrupted_work(library)
    rows = stored(old_library)
    assert rows[ORIGINAL][0] is not None and rows[ORIGINAL][0] == rows[COPY][0]
    assert NEAR_DUPLICATE in rows[COPY][1].split(",")
    assert NEAR_DUPLICATE not in rows[ORIGINAL][1].split(",")
    assert any(s.startswith("flagged 1 conversation near_duplicate") for s in said), said
    with Library(old_library) as library:  # once: a second open does nothing again
        assert finish_interrupted_work(library) == []
    # What the flag stands for: today's import never lets the copy in.
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(ENRICHED_2, folder / "a.json")
    text = ENRICHED_2.read_text(encoding="utf-8")
    (folder / "b.json").write_text(text.replace("\\n", "\\r\\n").replace(
        ORIGINAL, COPY), encoding="utf-8")
    with Library(tmp_path / "fresh") as library:
        assert import_paths(library, [folder]).imported == 1


def test_the_first_command_says_it_and_the_flag_names_the_original(
        old_library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = (old_library / "library.sqlite3").read_bytes()
    assert main(["--library", str(old_library), "batches"]) == 0
    assert (old_library / "library.sqlite3").read_bytes() == database  # a reader: no change
    assert main(["--library", str(old_library), "rename-batch", "windows-copies",
                 "windows"]) == 0
    err = capsys.readouterr().err
    assert "note: flagged 1 conversation near_duplicate" in err
    with Library(old_library, read_only=True) as library:
        text = next(row.warnings_text for row in library.summaries()
                    if row.conversation_id == COPY)
    assert ORIGINAL in text


def test_a_library_whose_pass_ran_without_fingerprints_is_looked_at_again(
        old_library: Path) -> None:
    """The version released just before the fix above (558ecd6) upgraded such a library,
    ran the near-duplicate pass over no fingerprints and recorded it done (version 3): the
    copy stayed unflagged, and later opens never looked again. Left as that version left it
    (schema of today, fingerprints empty, no flag, the pass recorded at 3), the next open
    fills them and flags the copy."""
    with Library(old_library) as library:
        finish_interrupted_work(library)
    with closing(sqlite3.connect(old_library / "library.sqlite3")) as conn, conn:
        conn.execute("UPDATE conversations SET dialogue_sha256 = NULL, dialogue_sketch = NULL, "
                     "warning_codes = '', warnings_text = ''")
        conn.execute("DELETE FROM dialogue_keys")
    upkeep.record(old_library)
    record = json.loads((old_library / upkeep.FILE_NAME).read_text())
    (old_library / upkeep.FILE_NAME).write_text(
        json.dumps({**record, upkeep.SHORTER_COPIES: 3}))
    assert NEAR_DUPLICATE not in stored(old_library)[COPY][1].split(",")
    with Library(old_library) as library:
        said = finish_interrupted_work(library)
    rows = stored(old_library)
    assert NEAR_DUPLICATE in rows[COPY][1].split(","), "the copy's replies trained twice"
    assert NEAR_DUPLICATE not in rows[ORIGINAL][1].split(",")
    assert any(s.startswith("flagged 1 conversation near_duplicate") for s in said), said


def test_an_upgrade_kept_waiting_by_another_writer_says_the_library_is_busy(
        old_library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another program writing the older library's database past the wait: the open says
    it is busy (what to do), not SQLite's "cannot rollback - no transaction is active",
    which the failed rollback of a transaction never begun put in its place."""
    import functools

    from held_writer import HeldWriter

    from app import db
    from app.errors import LibraryError

    held = HeldWriter(old_library / "library.sqlite3")
    monkeypatch.setattr(db.sqlite3, "connect",
                        functools.partial(sqlite3.connect, timeout=0.2))
    try:
        with pytest.raises(Exception) as raised:
            Library(old_library).close()
    finally:
        held.release()
    said = str(raised.value)
    assert "no transaction is active" not in said
    assert isinstance(raised.value, LibraryError)
    assert "is busy: another program is writing to it. Wait a moment and try again" in said
