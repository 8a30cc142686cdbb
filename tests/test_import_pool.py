"""The import's worker pool: a killed worker is reported and replaced; a killed parent
takes its workers (and the resource tracker) with it. Real processes, real signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from child_process import run_bounded
from hostile_corpus import conversation, dump

from app.library import Library

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and /proc")
FILES = 120


def corpus(folder: Path, count: int = FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"c{index:04d}.json").write_bytes(dump(conversation(f"pool_{index:04d}")))
    return folder


KILL_A_WORKER = r"""
import os, signal, sys
from pathlib import Path


def dies_once(path, batch, named=False, own_batches=True):
    # In a worker: the one that reaches this file first is killed mid-import, with files
    # still to do (a kill from outside may come after a fast pool has finished them all).
    from app.prepare import prepare
    marker = Path(path).parent.parent / "killed"
    if path.endswith("c0060.json") and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return prepare(path, batch, named, own_batches)


if __name__ == "__main__":
    import orjson
    import app.importer as importer
    from app.library import Library

    root, folder = map(Path, sys.argv[1:])
    importer.PARALLEL_FROM = 1
    importer.prepare = dies_once  # looked up when the pool is made: runs in the workers
    with Library(root) as library:
        report = importer.import_paths(library, [folder], workers=2)
        marker = folder.parent / "killed"
        print(orjson.dumps({"killed": marker.read_text() if marker.exists() else None,
                            "imported": report.imported, "rejected": report.rejected,
                            "notes": report.notes, "stored": library.count()}).decode())
"""


def test_a_killed_worker_is_reported_and_the_import_finishes(tmp_path: Path) -> None:
    """In a child process with a deadline: should the pool ever hang after a worker dies,
    this test fails with the child's output instead of stalling the run."""
    folder = corpus(tmp_path / "batch")
    script = tmp_path / "kill_a_worker.py"  # a file, not -c: spawned workers re-import it
    script.write_text(KILL_A_WORKER, encoding="utf-8")
    code, out, err = run_bounded(
        [sys.executable, str(script), str(tmp_path / "lib"), str(folder)], 600,
        "an import whose worker was killed")
    assert code == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["killed"]
    assert result["imported"] == FILES, result
    assert result["rejected"] == 0
    assert result["notes"] and "stopped unexpectedly" in result["notes"][0], result["notes"]
    assert result["stored"] == FILES


PARENT = r"""
import sys, time
from pathlib import Path
import app.importer as importer
from app.library import Library

root, folder, marker = map(Path, sys.argv[1:])
importer.PARALLEL_FROM = 1

def progress(done, total, current):
    if done == 1:
        marker.write_text("importing")
        time.sleep(120)

if __name__ == "__main__":
    with Library(root) as library:
        importer.import_paths(library, [folder], progress=progress, workers=2)
"""


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_never_outlive_a_killed_parent(tmp_path: Path) -> None:
    folder = corpus(tmp_path / "batch")
    marker = tmp_path / "marker"
    script = tmp_path / "parent.py"  # a file, not -c: spawned workers re-import __main__
    script.write_text(PARENT, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path / "lib"),
                               str(folder), str(marker)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    helpers: set[int] = set()
    try:
        deadline = time.monotonic() + 300  # spawned workers start slowly on a busy machine
        while not marker.exists():
            assert parent.poll() is None, parent.communicate(timeout=60)
            assert time.monotonic() < deadline, "the import never started"
            time.sleep(0.05)
        helpers = children_of(parent.pid)
        assert len(helpers) >= 2, "expected worker processes (and a resource tracker)"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [pid for pid in helpers if alive(pid)]
        assert not survivors, f"processes outlived their parent: {survivors}"
        # Nothing holds the caller's pipes any more: they reach their end (a deadline, so
        # that a process still holding them fails the test instead of hanging it).
        try:
            parent.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("60 s after the parent was killed, something still holds its "
                        "output pipes (a worker or the resource tracker outlived it)")
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in helpers:  # this test's own grandchildren, should any have survived
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
            parent.communicate(timeout=30)  # pipes already read, or held: never wait longer


@pytest.mark.parametrize("files", [1, 7, 120, 450, 10_000, 100_000])
def test_tasks_cover_every_file_once_big_first_and_small_at_the_end(files: int) -> None:
    from app.import_pool import FILES_PER_TASK, task_sizes

    sizes = task_sizes(files, 2)
    assert sum(sizes) == files
    assert sizes == sorted(sizes, reverse=True)
    assert max(sizes) <= FILES_PER_TASK
    assert sizes[-1] == 1  # the workers run out of files together
    if files >= 10_000:  # few tasks: each costs the parent CPU
        assert sizes[0] == FILES_PER_TASK
        assert len(sizes) < 2 * files / FILES_PER_TASK


def test_workers_start_during_the_walk_and_end_once_the_last_file_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers are started as soon as the walk has found enough files (their start-up
    overlaps the rest of the walk) and let go when the last rows are in (their exit
    overlaps the storing of those rows); none is left once the pool is closed."""
    import multiprocessing

    import app.importer as importer
    from app.prepare import prepare

    folder = corpus(tmp_path / "batch", 40)
    monkeypatch.setattr(importer, "PARALLEL_FROM", 10)
    before = set(multiprocessing.active_children())
    with importer.Workers(2, prepare) as pool:
        candidates, _ = importer.collect([folder], counted=importer._start_when_worth(pool))
        assert pool.started  # before a single file was handed to it
        workers = set(multiprocessing.active_children()) - before
        assert len(workers) == 2
        rows = iter(importer._prepared(candidates, pool))
        found = [next(rows) for _ in candidates]
        assert not pool.started  # the last rows are in: the workers are let go
        assert next(rows, None) is None
    assert [row["conversation_id"] for (_where, row, _), in found] == [
        f"pool_{i:04d}" for i in range(40)]
    assert not any(worker.is_alive() for worker in workers)


def test_a_cancel_stops_the_workers_between_files(
    tmp_path: Path, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled after the first file's rows: the workers stop after the file each is in
    (before, every task running or queued, up to five of 64 files, ran to its end), the
    first file alone is stored, and an import again completes in the usual order."""
    from gated_prepare import GATED_FROM, noted_prepare, prepared

    import app.importer as importer
    from app.import_pool import task_sizes
    from app.prepare import prepare

    folder = corpus(tmp_path / "batch", 400)
    first_task = task_sizes(400, 2)[0]
    monkeypatch.setenv(GATED_FROM, str(first_task))  # the second task on wait till the end
    monkeypatch.setattr(importer, "PARALLEL_FROM", 10)
    monkeypatch.setattr(importer, "prepare", noted_prepare)
    seen: list[str] = []
    report = importer.import_paths(library, [folder], workers=2,
                                   progress=lambda d, t, c: seen.append(c),
                                   cancelled=lambda: bool(seen))
    assert report.cancelled and report.summary().endswith(
        " before the import was cancelled: 399 of the 400 files it found were not reached; "
        "import the same files or folders again to finish (those already in are skipped as "
        "duplicates).")
    assert [v.conversation_id for v in report.verdicts] == ["pool_0000"]
    assert library.count() == report.imported == 1
    done = prepared(folder)
    assert sorted(done[:first_task]) == [f"c{i:04d}.json" for i in range(first_task)]
    assert len(done) == len(set(done))
    assert len(done) <= first_task + 2, "after the cancel, one file at most per worker"

    monkeypatch.setattr(importer, "prepare", prepare)
    again = importer.import_paths(library, [folder], workers=2)
    assert not again.cancelled and again.imported == 399 and again.duplicates == 1
    assert [r.conversation_id for r in library.summaries()] == [
        f"pool_{i:04d}" for i in range(400)]


def test_a_cancel_while_the_parent_waits_for_rows_ends_the_import(
    tmp_path: Path, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while the first task's rows are still awaited: the import ends without
    waiting for them (before, it waited for the whole task, then stored its first file),
    stores nothing and says it was cancelled."""
    from gated_prepare import GATED_FROM, noted_prepare, prepared

    import app.importer as importer

    folder = corpus(tmp_path / "batch", 400)
    monkeypatch.setenv(GATED_FROM, "0")  # every file waits for the pool to stop
    monkeypatch.setattr(importer, "PARALLEL_FROM", 10)
    monkeypatch.setattr(importer, "prepare", noted_prepare)
    report = importer.import_paths(library, [folder], workers=2, cancelled=lambda: True)
    assert report.cancelled and report.verdicts == [] and library.count() == 0
    assert len(prepared(folder)) <= 2  # the file each worker was in


KILL_BEFORE_THE_FIRST_FILE = r"""
import multiprocessing, os, signal, sys
from pathlib import Path

if __name__ == "__main__":
    import orjson
    import app.importer as importer
    from app.prepare import prepare

    folder = Path(sys.argv[1])
    candidates, _ = importer.collect([folder])
    notes = []
    with importer.Workers(2, prepare) as pool:
        pool.start()
        victim = multiprocessing.active_children()[0]  # a worker, still starting
        os.kill(victim.pid, signal.SIGKILL)
        victim.join()
        rows = [row for rows in importer._prepared(candidates, pool, notes) for row in rows]
    print(orjson.dumps({"ids": [row["conversation_id"] for _w, row, _r in rows],
                        "notes": notes}).decode())
"""


def test_a_worker_killed_before_the_first_file_is_reported_and_replaced(
    tmp_path: Path
) -> None:
    """A worker that dies while the walk still goes on breaks the pool before any file
    was handed to it: the break is told like any other and new workers do the files."""
    folder = corpus(tmp_path / "batch", 30)
    script = tmp_path / "kill_early.py"  # a file, not -c: spawned workers re-import it
    script.write_text(KILL_BEFORE_THE_FIRST_FILE, encoding="utf-8")
    code, out, err = run_bounded([sys.executable, str(script), str(folder)], 600,
                                 "an import whose worker was killed at its start")
    assert code == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ids"] == [f"pool_{i:04d}" for i in range(30)]
    # "after 0 of 30 files", unless the other worker was quick enough to send some first
    (note,) = result["notes"]
    assert note.startswith("a worker process stopped unexpectedly after "), note
    assert note.endswith("of 30 files (out of memory, or ended by another program); new "
                         "workers were started and the import went on"), note


LIGHT_WORKER = r"""
import sys
from pathlib import Path


def probe(path, batch, named=False, own_batches=True):
    # What a worker does (app.prepare.prepare), then which heavy modules it had to load.
    from app.prepare import prepare
    rows = prepare(path, batch, named, own_batches)
    heavy = sorted(m for m in ("sqlalchemy", "app.library", "app.importer", "app.db")
                   if m in sys.modules)
    return [(where, row and row["conversation_id"], heavy) for where, row, _ in rows]


if __name__ == "__main__":
    import orjson
    import app.importer as importer
    from app.prepare import prepare

    folder = Path(sys.argv[1])
    assert importer.prepare is prepare  # the pool maps the light module's function
    importer.PARALLEL_FROM = 1
    importer.prepare = probe  # looked up when the pool is made: the probe runs in workers
    candidates, _ = importer.collect([folder])
    with importer.Workers(2, probe) as pool:
        found = [row for rows in importer._prepared(candidates, pool) for row in rows]
    print(orjson.dumps(found).decode())
"""


def test_workers_start_without_the_library_code(tmp_path: Path) -> None:
    """A spawned worker imports only the per-file code (no SQLAlchemy, no library): that
    is most of a worker's start-up time, paid again at every pool restart."""
    folder = corpus(tmp_path / "batch", 6)
    script = tmp_path / "light_worker.py"  # a file, not -c: spawned workers re-import it
    script.write_text(LIGHT_WORKER, encoding="utf-8")
    code, out, err = run_bounded([sys.executable, str(script), str(folder)], 600,
                                 "an import through light workers")
    assert code == 0, err[-3000:]
    found = json.loads(out.strip().splitlines()[-1])
    assert [cid for _where, cid, _heavy in found] == [f"pool_{i:04d}" for i in range(6)]
    assert all(heavy == [] for _where, _cid, heavy in found), found


def test_the_entry_a_worker_re_runs_is_light() -> None:
    """A spawned worker re-imports its parent's entry (the ``lora-studio`` script imports
    ``app.__main__``; the bundle re-runs it): that must not load the application."""
    probe = ("import sys, app.__main__; "
             "print(sorted(m for m in ('app.cli', 'sqlalchemy', 'app.library') "
             "if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           timeout=300, check=True)
    assert found.stdout.strip() == "[]", found
