"""Per-file import CPU (``app.importer.prepare``: read, parse, check, normalise, digest,
compress) and the stored size, in this code and in an older commit, side by side.

    python bench/bench_prepare.py [--n 1000] [--runs 5] [--baseline-commit main]

Each code tree runs in its own process (the older one unpacked with ``git archive``, not
checked out) over the same corpus files; CPU time (``time.process_time``) of that one
process, median of ``--runs`` passes, so other processes on the machine disturb it less
than wall time. The stored size is the sum of the compressed documents ``prepare`` made.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import machine, print_machine, run_child, unpack_commit
from bench_import import corpus_dir, corpus_files
from make_corpus import ensure_corpus

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, statistics, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from app.importer import prepare
files = [Path(line) for line in Path(sys.argv[2]).read_text().splitlines()]
runs = int(sys.argv[3])
for path in files[:50]:  # warm up: imports, caches
    prepare(str(path), "bench")
samples, stored, raw = [], 0, 0
for run in range(runs):
    started = time.process_time()
    for path in files:
        rows = prepare(str(path), "bench")
        if run == 0:
            stored += sum(len(row["document"]) for _where, row, _why in rows if row)
    samples.append((time.process_time() - started) / len(files) * 1000)
print("BENCH-RESULT " + json.dumps({"ms": statistics.median(samples), "runs": samples,
                                    "stored_kb": stored / len(files) / 1000,
                                    "code": str(Path(prepare.__code__.co_filename).parents[1])}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-commit", default="main")
    args = parser.parse_args()
    corpus = corpus_dir(args.corpus, args.n, args.seed)
    ensure_corpus(corpus, args.n, args.seed)
    files = corpus_files(corpus)
    print_machine(machine())
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(map(str, files)), encoding="utf-8")
        baseline = unpack_commit(args.baseline_commit, Path(tmp) / "baseline")
        script = Path(tmp) / "child.py"
        script.write_text(CHILD, encoding="utf-8")
        found = {}
        for name, code in ((f"before ({args.baseline_commit})", baseline), ("now", ROOT)):
            found[name] = run_child([str(script), str(code), str(listing), str(args.runs)])
    print(f"\n{len(files)} files, median of {args.runs} passes, CPU ms per file "
          "(one process):")
    for name, result in found.items():
        runs = " / ".join(f"{r:.3f}" for r in result["runs"])
        print(f"  {name:<24} {result['ms']:.3f} ms  ({runs});  stored "
              f"{result['stored_kb']:.1f} KB per conversation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
