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
import resource
import shutil
import sys
import tempfile
from pathlib import Path

from _common import (
    Timer,
    TreeRssSampler,
    cpu_seconds,
    emit,
    fmt,
    machine,
    maxrss_mb,
    median,
    print_machine,
    run_child,
    unpack_commit,
)
from bench_import import corpus_dir, corpus_files, use_code
from bench_large_full import build_full
from make_corpus import ensure_corpus

WORK = Path(tempfile.gettempdir()) / "lora-studio-bench-big-among-small"
FULL_FROM = 10_000  # corpus files the full training file is built from (over 64 MB)
SMALL_FROM = 1000  # the conversation files: another corpus (seed 1), none in the big file


def child(code: str, library_dir: str, paths: list[str]) -> None:
    use_code(Path(code))
    from app.importer import import_paths
    from app.library import Library

    with TreeRssSampler() as tree:
        library = Library(Path(library_dir))
        with Timer() as timer:
            report = import_paths(library, [Path(p) for p in paths])
        library.close()
    emit({"seconds": timer.seconds, "stored": report.imported, "rejected": report.rejected,
          "parent_cpu": cpu_seconds(), "workers_cpu": cpu_seconds(resource.RUSAGE_CHILDREN),
          "worker_mb": maxrss_mb(resource.RUSAGE_CHILDREN), "tree_mb": tree.peak_mb})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", default="3,300",
                        help="how many conversation files go with the big file, per case")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--baseline-commit", default="main")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    full_corpus = corpus_dir(None, FULL_FROM, 0)
    ensure_corpus(full_corpus, FULL_FROM, 0)
    big = WORK / f"big-{FULL_FROM}.json"
    if not big.exists():
        shutil.rmtree(WORK / "build-library", ignore_errors=True)
        build_full(full_corpus, WORK / "build-library", big)
        shutil.rmtree(WORK / "build-library", ignore_errors=True)
    small_corpus = corpus_dir(None, SMALL_FROM, 1)
    ensure_corpus(small_corpus, SMALL_FROM, 1)
    small_files = corpus_files(small_corpus)
    baseline = unpack_commit(args.baseline_commit, WORK / "baseline")
    print_machine(machine())
    print(f"the big file: {big.stat().st_size / 1e6:,.0f} MB; baseline: "
          f"{args.baseline_commit} ({baseline}), now: this checkout")
    codes = {args.baseline_commit: baseline, "now": Path(__file__).resolve().parents[1]}
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
                f"{'big + ' + str(count) + ' small':22} {label[:6]:>6} {runs[0]['stored']:>7,} "
                f"{fmt(median([r['seconds'] for r in runs]), '.2f'):>7} "
                f"{fmt(median([r['parent_cpu'] for r in runs]), '.2f'):>13} "
                f"{fmt(median([r['workers_cpu'] for r in runs]), '.2f'):>14} "
                f"{fmt(median([r['worker_mb'] for r in runs]), '.0f'):>10} "
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
