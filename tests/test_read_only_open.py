"""A library opened only to read changes nothing in its folder (issue 13, item 7).

The command line's read commands (conversations, batches, files, export) first ask whether
a killed job left work behind (``app.recovery.needs_recovery``); while the window holds
the library they read it as it is. The library here holds what such a check looks at: a
killed build's record, a record cut short while it was written, and a training file
whose rebuild after a batch rename never ran. Every file of the folder keeps its bytes
and its modification time, and the check still sees what was left.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cli_process import run_cli
from conftest import ENRICHED

from app import killed_work, running_work
from app.importer import import_paths
from app.library import Library
from app.recovery import needs_recovery, stale_training_files
from app.trainingfiles import add_conversations

# SQLite's shared-memory index beside a database in WAL mode: every reader marks in it
# which part of the log it reads (it holds nothing of the library, and is rebuilt from
# the log when lost).
SHARED_MEMORY = "library.sqlite3-shm"

Snapshot = dict[str, tuple[bytes, int]]


def snapshot(root: Path) -> Snapshot:
    """Every file under ``root`` but SQLite's shared memory: its bytes and mtime."""
    return {str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(root.rglob("*"))
            if path.is_file() and path.name != SHARED_MEMORY}


def _left_behind(tmp_path: Path) -> Path:
    """A library with two training files, one owing its rebuild after a batch rename, a
    killed creation's record and a record cut short while it was written."""
    root = tmp_path / "library"
    with Library(root) as library:
        for batch, files in (("batch-a", ENRICHED[:3]), ("batch-b", ENRICHED[3:5])):
            folder = tmp_path / batch
            folder.mkdir()
            for path in files:
                shutil.copy(path, folder)
            import_paths(library, [folder])
        for name, batch in (("stale", "batch-a"), ("fine", "batch-b")):
            ids = [row.conversation_id for row in library.summaries(batch)]
            add_conversations(library, name, ids, create=True)
        library.rename_batch("batch-a", "renamed")  # killed before the rebuild it owes
    records = root / running_work.FOLDER
    records.mkdir(exist_ok=True)  # (left by the import and the builds)
    (records / "killed.json").write_bytes(json.dumps(
        {"kind": "build", "change": "create", "name": "Big three", "count": 3}).encode())
    (records / "cut-short.json").write_bytes(b'{"kind": "imp')
    return root


@pytest.mark.skipif(os.name == "nt", reason="the window's lock is held by this process")
def test_a_read_only_open_and_every_read_command_change_nothing_in_the_folder(
        tmp_path: Path) -> None:
    root = _left_behind(tmp_path)
    with Library(root):  # the window holds the library: readers read it as it is
        before = snapshot(root)
        with Library(root, read_only=True) as reader:
            assert needs_recovery(reader)
            assert killed_work.any_left(reader)
            assert stale_training_files(reader) == ["stale"]
        assert snapshot(root) == before, "the read-only open"
        out = tmp_path / "out"
        out.mkdir()
        for args in (("conversations",), ("conversations", "--json"), ("batches",),
                     ("files",),
                     ("export", "fine", "--format", "jsonl", "-o", out / "fine.jsonl"),
                     ("export", "stale", "--format", "jsonl", "-o", out / "stale.jsonl")):
            result = run_cli("--data-dir", root, *args)
            assert "Traceback" not in result.stderr, result.stderr
            assert result.returncode == (1 if "stale" in args else 0), result.stderr
            assert snapshot(root) == before, f"lora-studio {' '.join(map(str, args))}"
        assert (out / "fine.jsonl").stat().st_size > 0
        with Library(root, read_only=True) as reader:
            assert len(running_work.interrupted(reader.root)) == 2, "both still there"


def test_the_next_start_forgets_a_record_cut_short_and_names_the_killed_one(
        tmp_path: Path) -> None:
    root = _left_behind(tmp_path)
    with Library(root) as library:
        said = killed_work.say_and_forget(library)
    assert said == ["found that creating the training file 'Big three' from 3 conversations "
                    "was interrupted: 'Big three' was not created and the library is as it "
                    "was before; create it again"]
    assert list((root / running_work.FOLDER).iterdir()) == []
