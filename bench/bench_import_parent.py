"""The parent's share of an import, alone: this code beside an older commit.

    python bench/bench_import_parent.py [--n 1000] [--runs 5] [--baseline-commit main]
                                        [--corpus-n 100000]

An import's per-file work runs in worker processes; the parent collects the files, takes
the rows back, decides duplicates, checks near-duplicates and stores the rows. To time the
parent without the workers (and the noise of their start and of the two cores they share),
every file is prepared once beforehand (``prepare``, pickled as a worker sends it) and
``import_paths`` then runs with ``_prepared`` handing those rows back, as the pool would.
CPU time of the process (user and system) per file, of the best of ``--runs`` imports
into fresh libraries; each code tree in its own process (the older one unpacked with
``git archive``). ``--corpus-n`` takes the ``--n`` files from a larger corpus (the cost
per file grows with the library: index pages, commits).
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
import json, os, pickle, sys, tempfile, time
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
        before = os.times()
        report = importer.import_paths(library, [Path(p) for p in files], workers=1)
        after = os.times()
        samples.append(((after.user - before.user) / len(files) * 1e6,
                        (after.system - before.system) / len(files) * 1e6))
        library.close()
    assert report.imported == len(files), report.summary()
print("BENCH-RESULT " + json.dumps({"us": min(samples, key=sum), "runs": samples,
                                    "code": str(Path(importer.__file__).parents[1])}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternate the two trees this many times")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--corpus-n", type=int, help="take the files from the corpus of "
                        "this many (default: --n)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-commit", default="main")
    args = parser.parse_args()
    size = args.corpus_n or args.n
    corpus = corpus_dir(args.corpus, size, args.seed)
    ensure_corpus(corpus, size, args.seed)
    files = corpus_files(corpus)[: args.n]
    print_machine(machine())
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(map(str, files)), encoding="utf-8")
        baseline = unpack_commit(args.baseline_commit, Path(tmp) / "baseline")
        script = Path(tmp) / "child.py"
        script.write_text(CHILD, encoding="utf-8")
        found: dict[str, list[dict[str, object]]] = {}
        for _round in range(args.rounds):
            for name, code in ((f"before ({args.baseline_commit})", baseline), ("now", ROOT)):
                found.setdefault(name, []).append(
                    run_child([str(script), str(code), str(listing), str(args.runs)]))
    print(f"\n{len(files)} files, rows prepared beforehand; the parent's CPU µs per file "
          f"(user + system), best of {args.runs} imports, per round:")
    for name, results in found.items():
        best = " / ".join(f"{sum(r['us']):.0f} ({r['us'][0]:.0f} + {r['us'][1]:.0f})"
                          for r in results)
        print(f"  {name:<24} {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
