"""The parent's share of an import, alone: this code beside an older commit.

    python bench/bench_import_parent.py [--n 1000] [--runs 5] [--baseline-commit main]

An import's per-file work runs in worker processes; the parent collects the files, takes
the rows back, decides duplicates, checks near-duplicates and stores the rows. To time the
parent without the workers (and the noise of their start and of the two cores they share),
every file is prepared once beforehand (``prepare``, pickled as a worker sends it) and
``import_paths`` then runs with ``_prepared`` handing those rows back, as the pool would.
CPU time of the process (``time.process_time``) per file, best and all of ``--runs``
imports into fresh libraries; each code tree in its own process (the older one unpacked
with ``git archive``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import machine, print_machine, run_child
from bench_import import corpus_dir, corpus_files
from make_corpus import ensure_corpus

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, pickle, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from app import importer
from app.library import Library
files = Path(sys.argv[2]).read_text().splitlines()
runs = int(sys.argv[3])
sent = {path: pickle.dumps(importer.prepare(path, "bench"), protocol=pickle.HIGHEST_PROTOCOL)
        for path in files}

def prepared(candidates, workers, notes=None):
    for candidate in candidates:
        yield pickle.loads(sent[str(candidate.path)])

importer._prepared = prepared
samples = []
for _ in range(runs):
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "library")
        started = time.process_time()
        report = importer.import_paths(library, [Path(p) for p in files])
        samples.append((time.process_time() - started) / len(files) * 1e6)
        library.close()
    assert report.imported == len(files), report.summary()
print("BENCH-RESULT " + json.dumps({"us": min(samples), "runs": samples,
                                    "code": str(Path(importer.__file__).parents[1])}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternate the two trees this many times")
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
        baseline = Path(tmp) / "baseline"
        baseline.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline_commit],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        script = Path(tmp) / "child.py"
        script.write_text(CHILD, encoding="utf-8")
        found: dict[str, list[dict[str, object]]] = {}
        for _round in range(args.rounds):
            for name, code in ((f"before ({args.baseline_commit})", baseline), ("now", ROOT)):
                found.setdefault(name, []).append(
                    run_child([str(script), str(code), str(listing), str(args.runs)]))
    print(f"\n{len(files)} files, rows prepared beforehand; the parent's CPU µs per file, "
          f"best of {args.runs} imports, per round:")
    for name, results in found.items():
        best = " / ".join(f"{r['us']:.0f}" for r in results)
        print(f"  {name:<24} {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
