"""How long Cancel takes to end an import that runs in worker processes: this code beside an
older commit, in one invocation.

    python bench/bench_import_cancel.py [--n 10000] [--runs 8] [--baseline-commit main]
                                        [--corpus DIR] [--seed S]

Each run imports the bench corpus (``make_corpus.py``) into a fresh library with
``import_paths`` in a child process, as the window's import does, and sets its cancel flag
after a delay (spread over the runs from a tenth to nine tenths of an import that is not
cancelled, so the cancel meets the pool in different states);
the figure is the wall time from the flag to ``import_paths`` returning, the workers gone.
The code at ``--baseline-commit`` (unpacked with ``git archive``) runs the same delays,
alternating with this code. Each cancelled import must have stored exactly the files its
report names; once per code, an import that is not cancelled must store the same rows in
the same order in both (every column but the import time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from _common import machine, print_machine, run_child, unpack_commit
from bench_import import corpus_dir
from make_corpus import batch_folders, ensure_corpus

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import hashlib, json, sys, threading, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from sqlalchemy import text
from app.importer import import_paths
from app.library import Library


def main():
    folders = [Path(p) for p in json.loads(sys.argv[2])]
    delay = float(sys.argv[3])  # seconds; below 0: not cancelled
    root = Path(sys.argv[4])
    flag = threading.Event()
    said = {}

    def cancel():
        said["at"] = time.perf_counter()
        flag.set()

    if delay >= 0:
        threading.Timer(delay, cancel).start()
    began = time.perf_counter()
    with Library(root) as library:
        report = import_paths(library, folders, cancelled=flag.is_set)
        ended = time.perf_counter()
        with library.engine.connect() as connection:
            result = connection.execute(text("SELECT * FROM conversations ORDER BY pk"))
            columns = [c for c in result.keys() if c != "imported_at"]
            rows = [tuple(row._mapping[c] for c in columns) for row in result]
        stored = [row[columns.index("conversation_id")] for row in rows]
        named = [v.conversation_id for v in report.verdicts if v.verdict.value == "imported"]
        print("BENCH-RESULT " + json.dumps({
            "latency": ended - said["at"] if "at" in said else None,
            "took": ended - began,
            "cancelled": report.cancelled, "files": len(report.verdicts),
            "stored_as_reported": stored == named,
            "rows": hashlib.sha256(repr(rows).encode()).hexdigest(), "count": len(rows)}))


if __name__ == "__main__":  # the pool's workers import this file too
    main()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--baseline-commit", default="main")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print_machine(machine())
    corpus = corpus_dir(args.corpus, args.n, args.seed)
    ensure_corpus(corpus, args.n, args.seed)
    folders = [str(f) for f in batch_folders(corpus)]

    with tempfile.TemporaryDirectory(prefix="bench-cancel-") as tmp:
        work = Path(tmp)
        child = work / "child.py"
        child.write_text(CHILD)
        trees = {f"baseline {args.baseline_commit}": unpack_commit(args.baseline_commit,
                                                                   work / "baseline"),
                 "this code": ROOT}

        def run(tree: Path, delay: float, name: str) -> dict[str, object]:
            return run_child([str(child), str(tree), json.dumps(folders), str(delay),
                              str(work / name)])

        full = {label: run(tree, -1, f"full-{i}") for i, (label, tree) in
                enumerate(trees.items())}
        for label, result in full.items():
            print(f"{label}: not cancelled, {result['count']} rows in {result['took']:.1f} s, "
                  f"rows {result['rows'][:16]}")
        same = len({r["rows"] for r in full.values()}) == 1
        print("rows stored, not cancelled:", "identical" if same else "DIFFERENT")
        latencies: dict[str, list[float]] = {label: [] for label in trees}
        took = min(float(r["took"]) for r in full.values())
        for run_number in range(args.runs):
            # From early to late in the import: the cancel meets the pool in various states.
            delay = took * (0.1 + 0.8 * run_number / max(args.runs - 1, 1))
            for label, tree in trees.items():
                result = run(tree, delay, f"run-{run_number}-{label[:4]}")
                if not result["stored_as_reported"]:
                    raise SystemExit(f"{label}: stored rows differ from the report")
                if result["latency"] is None or not result["cancelled"]:
                    print(f"{label}: delay {delay:.2f} s: ended before the cancel")
                    continue
                latencies[label].append(float(result["latency"]) * 1000)
                print(f"{label}: cancel at {delay:.2f} s, {result['files']} files done, "
                      f"ended {latencies[label][-1]:.0f} ms later")
        for label, values in latencies.items():
            if values:
                print(f"{label}: cancel to end, median {statistics.median(values):.0f} ms, "
                      f"max {max(values):.0f} ms, min {min(values):.0f} ms "
                      f"({len(values)} cancels)")


if __name__ == "__main__":
    main()
