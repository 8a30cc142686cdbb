"""What the question before importing a training file of ours costs for each such file
(on the window's thread until restore59, on a worker since: ``app.full_found``): reading
the file's header (``app.full_found.read_facts``), beside the least any look at
the file costs (opening it and reading its first 64 KB), for a small file and one of
about 100 MB, in the same run.

    python bench/bench_full_header.py [--runs 20]

Median wall time of ``--runs`` reads each (the file is in the page cache after the first:
what a person choosing a file they just saved meets). The header comes before the
conversations in every file LoRA Studio writes, so the read stops there whatever the size.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def timed(work: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def first_bytes(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(1 << 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from restore_source import make_source

    from app.full_found import read_facts

    folder = Path(tempfile.mkdtemp(prefix="bench-full-header-"))
    try:
        small = make_source(folder / "made").full
        document = orjson.loads(small.read_bytes())
        copies = max(1, 100_000_000 // small.stat().st_size)
        document["conversations"] = document["conversations"] * copies
        large = folder / "large.json"
        large.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        print(f"{'file':<28} {'size':>9} {'first 64 KB (floor)':>20} {'header (question)':>18}")
        for path in (small, large):
            assert read_facts(path) is not None
            floor = timed(lambda p=path: first_bytes(p), args.runs)
            header = timed(lambda p=path: read_facts(p), args.runs)
            print(f"{path.name:<28} {path.stat().st_size / 1e6:>7.1f} MB "
                  f"{floor:>17.2f} ms {header:>15.2f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
