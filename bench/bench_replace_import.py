"""The import that replaces changed conversations (``import_paths`` with ``replace``, what
the window's Replace and ``lora-studio import --replace`` run), in this code and, side by
side in the same invocation, in --baseline-commit.

    python bench/bench_replace_import.py [--baseline-commit main] [--n 300] [--runs 3]
        [--rounds 2]

A library of N corpus conversations (``make_corpus.py``), half of them marked reviewed;
then a redelivery of all N with one reply rewritten in each, imported with replace (every
one replaced, and the marked ones lose their mark where the code takes it away). Each code
tree, in its own process with the tree first on ``sys.path``, builds the library once and
times the replacing import on a fresh copy of it per run: wall and CPU milliseconds per
replaced conversation (the median of its runs; the best over --rounds processes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import best_beside, machine, print_figures, print_machine, unpack_commit, use_code  # noqa: E402


def rewritten(source: Path, target: Path) -> str:
    """``source`` written to ``target`` with its first reply rewritten; its id."""
    document = orjson.loads(source.read_bytes())
    pair = next(p for p in document["training_pairs"] if p.get("target_response"))
    pair["target_response"] = pair["target_response"] + " Let us look at it once more."
    target.write_bytes(orjson.dumps(document))
    return str(document["dataset_metadata"]["dataset_name"])


def measure(tree: Path, n: int, runs: int) -> dict[str, float]:
    use_code(tree)
    from make_corpus import batch_folders, make_corpus

    from app.importer import import_paths
    from app.library import Library
    from app.review_marks import mark_reviewed

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_corpus(work / "corpus", n)
        files = sorted(p for folder in batch_folders(work / "corpus")
                       for p in folder.glob("*.json"))
        again = work / "again"
        again.mkdir()
        ids = [rewritten(path, again / path.name) for path in files]
        with Library(work / "built") as library:
            import_paths(library, [work / "corpus"])
            mark_reviewed(library, ids[::2], "Bench Reviewer")
        wall, cpu = [], []
        for run in range(runs):
            copy = work / f"run-{run}"
            shutil.copytree(work / "built", copy)
            with Library(copy) as library:
                started, cpu_started = time.perf_counter(), time.process_time()
                report = import_paths(library, [again], replace=set(ids))
                wall.append((time.perf_counter() - started) * 1000 / n)
                cpu.append((time.process_time() - cpu_started) * 1000 / n)
                assert len(report.replaced_ids) == n, report.summary()
            shutil.rmtree(copy)
    return {"ms: wall": statistics.median(wall), "ms: cpu": statistics.median(cpu)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-commit", default="main")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tree is not None:
        print(json.dumps(measure(args.tree, args.n, args.runs)))
        return 0
    print_machine(machine())
    with tempfile.TemporaryDirectory() as tmp:
        before = unpack_commit(args.baseline_commit, Path(tmp) / "baseline")
        columns = best_beside(__file__, ["--n", str(args.n), "--runs", str(args.runs)],
                              str(before), args.rounds)
    print(f"\nReplacing {args.n:,} changed conversations ({args.n // 2 + args.n % 2:,} marked "
          "reviewed): per replaced conversation, best of "
          f"{args.rounds} processes of the median of {args.runs} runs")
    print_figures({f"before ({args.baseline_commit})": columns["before"],
                   "now": columns["after"]}, {"wall": "wall", "cpu": "CPU (parent)"}, 24)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
