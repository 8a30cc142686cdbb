"""What looking for training files of ours before an import's question costs (it runs off
the window's thread, behind a progress bar with Cancel): the walk the import makes of a
dropped folder anyway (``app.importer.collect``), beside the look (``full_files_in``: that
walk, then each .json file's first 256 bytes, and the header of ours), in the same run.

    python bench/bench_full_survey.py [--files 2000] [--runs 5]

A corpus of ``--files`` conversation files (``make_corpus``) with one full training file of
ours among them; median wall time of ``--runs`` after one warm-up (the page cache holds the
files, as when a person drops a folder they just unpacked).
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


def timed(work: Callable[[], object], runs: int) -> float:
    work()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from make_corpus import make_corpus
    from restore_source import make_source

    from app.full_found import full_files_in
    from app.importer import collect
    from app.library import Library

    folder = Path(tempfile.mkdtemp(prefix="bench-full-survey-"))
    try:
        corpus = folder / "corpus"
        make_corpus(corpus, args.files)
        ours = make_source(folder / "made").full
        shutil.copy(ours, corpus / ours.name)
        with Library.open(folder / "library") as library:
            walk = timed(lambda: collect([corpus]), args.runs)
            look = timed(lambda: full_files_in(library, [corpus]), args.runs)
            found = full_files_in(library, [corpus])
        print(f"{found.files:,} .json files, {len(found.full_files)} of ours; median of "
              f"{args.runs} runs")
        print(f"{'':38}{'ms':>10}")
        print(f"{'the import walk (collect), baseline':38}{walk:>10.1f}")
        print(f"{'the look for files of ours':38}{look:>10.1f}")
        print(f"{'added per file':38}{(look - walk) / found.files * 1000:>9.1f}µs")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
