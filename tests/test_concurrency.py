"""Two real processes on one library: the writer lock, and a kill -9 in the middle of an import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from child_process import kill_hard, python_child, wait_for_marker
from conftest import ENRICHED, LEGACY
from hostile_corpus import conversation, dump, hold_library, with_own_dialogue

from app import importer
from app.importer import Verdict, import_paths
from app.library import Library
from app.lock import LibraryLocked


def lora_studio(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False,
    )


# --- (a) a second writer is refused while readers keep working ----------------------


def test_a_held_library_refuses_writers_serves_readers_and_loses_nothing(
    tmp_path: Path, fixture_folder: Path
) -> None:
    root = tmp_path / "library"
    with Library(root) as library:
        assert import_paths(library, [fixture_folder]).rejected == 0
        ids = [row.conversation_id for row in library.summaries()]
    assert len(ids) == len(ENRICHED) + len(LEGACY)
    new_file = tmp_path / "arrives-later.json"
    new_file.write_bytes(dump(conversation("arrives_later")))

    with hold_library(root, tmp_path / "holder") as holder:
        with pytest.raises(LibraryLocked, match="already open") as refused:
            Library(root)
        assert f"process {holder.pid}" in str(refused.value)

        imported = lora_studio("--data-dir", root, "import", new_file)
        assert imported.returncode == 1, imported.stdout
        assert "already open" in imported.stderr
        assert imported.stderr.startswith("error:"), imported.stderr
        assert "Traceback" not in imported.stderr + imported.stdout

        listed = lora_studio("--data-dir", root, "conversations", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [orjson.loads(line)["conversation_id"] for line in listed.stdout.splitlines()] == ids

        with Library(root, read_only=True) as reader:
            assert reader.count() == len(ids)
            assert reader.record(ids[0])["conversation_id"] == ids[0]
    assert holder.returncode == 0, holder.returncode

    with Library(root) as library:  # the holder is gone: writing works again
        report = import_paths(library, [new_file])
        assert report.imported == 1, report.verdicts
        after = [row.conversation_id for row in library.summaries()]
    assert after == [*ids, "arrives_later"]


# --- (b) kill -9 in the middle of an import -----------------------------------------

TOTAL = max(600, 2 * importer.CHUNK + 100)  # ~600 files, and always past two chunks

CHILD = r"""
import sys, time
from pathlib import Path

from app.importer import import_paths
from app.library import Library

root, folder, marker, after = sys.argv[1:]
after = int(after)


def progress(done, total, name):
    time.sleep(0.002 if done < after else 0.02)  # slow, and slower once the marker is out
    if done == after:
        Path(marker).write_text(str(done))


import_paths(Library(Path(root)), [Path(folder)], progress=progress, workers=1)
print("finished, which it never should")
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX-only")
def test_a_killed_import_keeps_whole_chunks_and_a_rerun_completes(tmp_path: Path) -> None:
    chunk = importer.CHUNK
    kill_after = chunk + chunk // 5  # well inside the second chunk
    assert kill_after < TOTAL
    template = json.loads(min(ENRICHED, key=lambda p: p.stat().st_size).read_text("utf-8"))
    folder = tmp_path / "six-hundred"
    folder.mkdir()
    names = [f"killed_import_{i:04d}" for i in range(TOTAL)]
    for i, name in enumerate(names):
        document = with_own_dialogue(template, name)
        document["dataset_metadata"]["dataset_name"] = name
        (folder / f"conv-{i:04d}.json").write_bytes(json.dumps(document).encode())
    root = tmp_path / "library"
    Library(root).close()
    marker = tmp_path / "child-is-importing"

    with python_child(CHILD, str(root), str(folder), str(marker), str(kill_after)) as child:
        wait_for_marker(child, marker, 90, "got far enough")
        kill_hard(child)

    # The lock died with the child: the library opens for writing at once.
    with Library(root) as library:
        stored = [row.conversation_id for row in library.summaries()]
        assert 0 < len(stored) < TOTAL
        assert len(stored) % chunk == 0, f"{len(stored)} stored: a partial chunk survived"
        assert stored == names[: len(stored)]
        for cid in stored:
            assert library.record(cid)["conversation_id"] == cid
        assert [(b.batch_id, b.conversations) for b in library.batches()] == [
            (folder.name, len(stored))]

        report = import_paths(library, [folder], workers=1)
        assert report.rejected == 0, report.verdicts[:3]
        assert report.duplicates == len(stored)
        assert report.imported == TOTAL - len(stored)
        duplicates = [v.conversation_id for v in report.verdicts
                      if v.verdict is Verdict.DUPLICATE]
        assert duplicates == stored
        assert library.count() == TOTAL
        assert [row.conversation_id for row in library.summaries()] == names
