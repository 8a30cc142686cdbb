"""How long refusing hostile files takes, beside importing good files of the same count.

    python bench/bench_hostile.py [--runs 3] [--big]

The tests prove every hostile file is refused with a clear reason and that the 200 MB
file is never read; how long that takes is measured here (a wall-clock limit in a test
fails on a loaded machine and proves nothing on an idle one). Each row: the median wall
and CPU time of importing one hostile file into an empty library, then the same for one
good conversation (the baseline, measured in the same run); the last rows import the whole
corpus and as many good files. ``--big`` adds the 200 MB file (needs 1 GB of free disk).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile_corpus import conversation, dump, hostile_cases, write_corpus

from app.importer import import_paths
from app.library import Library


def _timed(step: Callable[[], None], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``step`` over ``runs`` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _import_into_fresh_library(scratch: Path, paths: list[Path]) -> Callable[[], None]:
    counter = iter(range(10**9))

    def step() -> None:
        with Library(scratch / f"library-{next(counter)}") as library:
            import_paths(library, paths)
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="include the 200 MB file")
    args = parser.parse_args()
    cases = hostile_cases()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        scratch = Path(tmp)
        hostile = scratch / "hostile"
        hostile.mkdir()
        written = write_corpus(hostile, cases, big=args.big)
        good = scratch / "good"
        good.mkdir()
        for index in range(len(written)):
            (good / f"good-{index:03d}.json").write_bytes(dump(conversation(f"g{index}")))
        one_good = sorted(good.iterdir())[0]
        base_wall, base_cpu = _timed(_import_into_fresh_library(scratch, [one_good]), args.runs)
        print(f"{len(written)} hostile files, median of {args.runs} runs, load average "
              f"{os.getloadavg()[0]:.1f}; baseline: one good conversation "
              f"{base_wall * 1000:.0f} ms wall, {base_cpu * 1000:.0f} ms CPU")
        print(f"{'file':<44}{'wall ms':>10}{'CPU ms':>10}{'wall / good':>13}")
        for name, path in sorted(written.items()):
            wall, cpu = _timed(_import_into_fresh_library(scratch, [path]), args.runs)
            print(f"{name[:43]:<44}{wall * 1000:>10.0f}{cpu * 1000:>10.0f}"
                  f"{wall / base_wall:>12.1f}x")
        corpus_wall, corpus_cpu = _timed(_import_into_fresh_library(scratch, [hostile]), 1)
        good_wall, good_cpu = _timed(_import_into_fresh_library(scratch, [good]), 1)
        print(f"{'the whole hostile corpus':<44}{corpus_wall * 1000:>10.0f}"
              f"{corpus_cpu * 1000:>10.0f}{corpus_wall / good_wall:>12.1f}x")
        print(f"{f'{len(written)} good conversations':<44}{good_wall * 1000:>10.0f}"
              f"{good_cpu * 1000:>10.0f}{1:>12.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
