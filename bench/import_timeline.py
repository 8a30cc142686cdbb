"""Where an import's wall time goes: a timeline of the parent and of each worker.

    python bench/import_timeline.py [--n 10000] [--workers 2] [--code DIR]
                                    [--files-per-task N]

Imports the corpus's batch folders into a fresh library (as ``bench_import.py`` does) with
``import_paths`` wrapped, not changed: the parent notes when the folders are collected,
when each file's rows come back from the pool and when each chunk is stored (with the
main thread's own CPU time, so the pool's helper threads show as the rest of the
process's CPU, and each thread's CPU is read from /proc); each worker notes when it
starts and ends every file. Prints the phases (seconds from the call), what the parent's
threads and the workers did, and how long the workers spent between files (handing
results back, taking the next task, or waiting for a core).
``--code`` imports ``app`` from another tree (an older commit unpacked with ``git
archive``), to put two timelines side by side.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_LOG: Any = None


def timed_prepare(path: str, default_batch: str, named: bool = False) -> Any:
    """``prepare`` in a worker, noting when each file starts and ends (wall clock)."""
    global _LOG
    from app.prepare import prepare

    start = time.time()
    if _LOG is None:
        _LOG = open(Path(os.environ["TIMELINE_DIR"]) / f"worker-{os.getpid()}.txt", "a")  # noqa: SIM115
        _LOG.write(f"ready {start!r} {time.process_time()!r}\n")
    result = prepare(path, default_batch, named)
    _LOG.write(f"{start!r} {time.time()!r} {time.process_time()!r}\n")
    _LOG.flush()
    return result


class ThreadClock:
    """The CPU seconds of each thread of this process, sampled from /proc until stopped
    (the pool's threads end with the import, so their last sample is kept)."""

    def __init__(self) -> None:
        import threading

        self.seen: dict[str, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def sample(self) -> None:
        import threading

        names = {str(thread.native_id): thread.name for thread in threading.enumerate()}
        for task in Path("/proc/self/task").iterdir():
            try:
                name = names.get(task.name, self.seen.get(task.name, ("?", 0))[0])
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.seen[task.name] = (name, (int(fields[11]) + int(fields[12])) / self._tick)

    def __enter__(self) -> ThreadClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--files-per-task", type=int,
                        help="app.import_pool.FILES_PER_TASK (this tree only)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).parent), str(args.code),
                      os.environ.get("PYTHONPATH")]))
    from bench_import import corpus_dir
    from make_corpus import batch_folders

    from app import importer
    from app.library import Library

    if args.files_per_task:
        import app.import_pool

        app.import_pool.FILES_PER_TASK = args.files_per_task

    folders = batch_folders(corpus_dir(None, args.n, args.seed))
    marks: list[tuple[str, float, float, float]] = []  # what, wall, main thread, process

    def mark(what: str) -> None:
        marks.append((what, time.time(), time.thread_time(), time.process_time()))

    collect, store, prepared = importer.collect, importer._store, importer._prepared

    def timed_collect(*a: Any, **k: Any) -> Any:
        found = collect(*a, **k)
        mark("collected")
        return found

    def timed_store(*a: Any, **k: Any) -> Any:
        mark("store start")
        result = store(*a, **k)
        mark("store end")
        return result

    def timed_prepared(candidates: Any, workers: int, notes: Any = None) -> Any:
        mark("pool start")
        return delivered(prepared(candidates, workers, notes))  # submitted now, if eager

    def delivered(found: Any) -> Any:
        first = True
        for rows in found:
            if first:
                mark("first rows")
                first = False
            yield rows
        mark("last rows")

    importer.collect, importer._store, importer._prepared = (
        timed_collect, timed_store, timed_prepared)
    importer.prepare = timed_prepare  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TIMELINE_DIR"] = tmp
        library = Library(Path(tmp) / "library")
        with ThreadClock() as clock:
            mark("call")
            report = importer.import_paths(library, folders, workers=args.workers)
            mark("end")
        library.close()
        workers = [Path(tmp, name).read_text().split("\n")
                   for name in sorted(os.listdir(tmp)) if name.startswith("worker-")]
    print(f"{report.imported} imported from {args.code}; load {os.getloadavg()[0]:.2f}")
    t0, main0, proc0 = marks[0][1:]
    stores = [m for m in marks if m[0].startswith("store")]
    for what, wall, main_cpu, proc in marks:
        if what.startswith("store"):
            continue
        print(f"  {what:<12} {wall - t0:6.2f} s   parent main thread CPU {main_cpu - main0:5.2f}"
              f"  whole parent {proc - proc0:5.2f}")
    spent = sum(stores[i + 1][2] - stores[i][2] for i in range(0, len(stores), 2))
    print(f"  {len(stores) // 2} chunks stored: first at {stores[0][1] - t0:.2f} s, last "
          f"from {stores[-2][1] - t0:.2f} to {stores[-1][1] - t0:.2f} s, main-thread CPU in "
          f"_store {spent:.2f} s")
    threads = sorted(clock.seen.values(), key=lambda item: -item[1])
    print("  parent threads' CPU (from the start of the process): " + ", ".join(
        f"{name} {seconds:.2f} s" for name, seconds in threads if seconds >= 0.01))
    for lines in workers:
        ready = lines[0].split()
        spans = [tuple(map(float, line.split())) for line in lines[1:] if line]
        busy = sum(end - start for start, end, _cpu in spans)
        gaps = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
        waits = [gap for gap in gaps if gap > 0.001]
        print(f"  worker: first file at {float(ready[1]) - t0:.2f} s (CPU {float(ready[2]):.2f}"
              f" s before it), last ends {spans[-1][1] - t0:.2f} s, {len(spans)} files, "
              f"in prepare {busy:.2f} s, CPU {spans[-1][2] - float(ready[2]):.2f} s; "
              f"between files {sum(gaps):.2f} s, of it {len(waits)} waits over 1 ms "
              f"{sum(waits):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
