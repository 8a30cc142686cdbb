"""A full training file too large to read whole (over 64 MB: the import reads it itself,
a conversation at a time) imported with a few or a few hundred conversation files, beside
another checkout's code, in one run.

The question it answers: are worker processes started for files the workers never read?
Each import runs in a child process of its own into a fresh library, the two codes
alternating, with the app's default workers. Printed per case: wall time, CPU of the
import process and of its workers, the largest worker's peak RSS (0: no worker ran) and
the sampled peak of the whole process tree.

Usage::

    python bench/bench_big_among_small.py [--small 3,300] [--runs 2] [--baseline-commit main]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import (
    ROOT,
    bench_corpus,
    corpus_files,
    emit,
    fmt,
    machine,
    median,
    print_machine,
    run_child,
    timed_import,
    unpack_commit,
    use_code,
)
from bench_large_full import build_full

WORK = Path(tempfile.gettempdir()) / "lora-studio-bench-big-among-small"
FULL_FROM = 10_000  # corpus files the full training file is built from (over 64 MB)
SMALL_FROM = 1000  # the conversation files: another corpus (seed 1), none in the big file


def big_full(n: int) -> Path:
    """The full training file the app makes of the ``n``-file bench corpus, made once."""
    WORK.mkdir(parents=True, exist_ok=True)
    corpus = bench_corpus(n)
    big = WORK / f"big-{n}.json"
    if not big.exists():
        shutil.rmtree(WORK / "build-library", ignore_errors=True)
        build_full(corpus, WORK / "build-library", big)
        shutil.rmtree(WORK / "build-library", ignore_errors=True)
    return big


def child(code: str, library_dir: str, paths: list[str]) -> None:
    use_code(Path(code))
    emit(timed_import([Path(p) for p in paths], Path(library_dir)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", default="3,300",
                        help="how many conversation files go with the big file, per case")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--baseline-commit", default="main")
    args = parser.parse_args(argv)
    big = big_full(FULL_FROM)
    small_files = corpus_files(bench_corpus(SMALL_FROM, 1))
    baseline = unpack_commit(args.baseline_commit, WORK / "baseline")
    print_machine(machine())
    print(f"the big file: {big.stat().st_size / 1e6:,.0f} MB; baseline: "
          f"{args.baseline_commit} ({baseline}), now: this checkout")
    codes = {args.baseline_commit: baseline, "now": ROOT}
    header = (f"{'case':22} {'code':>6} {'stored':>7} {'wall s':>7} {'parent CPU s':>13} "
              f"{'workers CPU s':>14} {'worker MB':>10} {'tree MB':>8}")
    rows = []
    for count in (int(n) for n in args.small.split(",")):
        paths = [str(big), *(str(p) for p in small_files[:count])]
        results: dict[str, list[dict[str, float]]] = {label: [] for label in codes}
        for _ in range(args.runs):
            for label, code in codes.items():
                library = WORK / "library"
                shutil.rmtree(library, ignore_errors=True)
                results[label].append(run_child([__file__, "--child", str(code),
                                                 str(library), *paths]))
        for label, runs in results.items():
            rows.append(
                f"{'big + ' + str(count) + ' small':22} {label[:6]:>6} {runs[0]['imported']:>7,} "
                f"{fmt(median([r['seconds'] for r in runs]), '.2f'):>7} "
                f"{fmt(median([r['parent_cpu_seconds'] for r in runs]), '.2f'):>13} "
                f"{fmt(median([r['workers_cpu_seconds'] for r in runs]), '.2f'):>14} "
                f"{fmt(median([r['child_mb'] for r in runs]), '.0f'):>10} "
                f"{fmt(median([r['tree_mb'] for r in runs]), '.0f'):>8}")
    print(f"medians of {args.runs} runs each, alternating")
    print(header)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(main())
