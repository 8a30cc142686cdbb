"""Do this code and an older commit make the same rows from the same files?

    python bench/same_rows.py [--n 10000] [--baseline-commit main] [--extra DIR ...]

Runs ``app.prepare.prepare`` (the whole per-file work of an import: the row, the packed
record, the profile, the digest, the fingerprint, every rejection's reason) over the bench
corpus, the test fixtures, the hostile files of ``tests/hostile_corpus.py`` (every way a
file is refused) and any ``--extra`` folders, in this code and in the code at
``--baseline-commit`` (unpacked with ``git archive``), each in its own process, and
compares the results file by file. A speed change to the import must print "identical";
the tests hold the same on their fixtures, this holds it on the whole corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

from _common import run_child, unpack_commit
from bench_import import corpus_dir, corpus_files
from make_corpus import ensure_corpus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
CHILD = r"""
import hashlib, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from app.prepare import prepare
files = Path(sys.argv[2]).read_text().splitlines()
digests = {}
for path in files:
    for named in (False, True):
        rows = prepare(path, "bench-batch", named)
        # repr, not pickle: pickle writes a string seen twice as a reference to the first,
        # so equal rows whose equal strings are one object or two would differ.
        digests[f"{path} {named}"] = hashlib.sha256(repr(
            [(where, sorted(row.items()) if row else None, why) for where, row, why in rows]
        ).encode()).hexdigest()
print("BENCH-RESULT " + json.dumps({"digests": digests,
                                    "code": str(Path(prepare.__code__.co_filename).parents[1])}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-commit", default="main")
    parser.add_argument("--extra", type=Path, nargs="*", default=[],
                        help="more folders of .json files to compare on")
    args = parser.parse_args()
    corpus = corpus_dir(None, args.n, args.seed)
    ensure_corpus(corpus, args.n, args.seed)
    files = [*corpus_files(corpus), *sorted((ROOT / "tests" / "fixtures").rglob("*.json"))]
    for folder in args.extra:
        files += sorted(folder.rglob("*.json"))
    with tempfile.TemporaryDirectory() as tmp:
        from hostile_corpus import hostile_cases, write_corpus

        files += sorted(write_corpus(Path(tmp) / "hostile", hostile_cases(), big=False)
                        .values())
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(map(str, files)), encoding="utf-8")
        baseline = unpack_commit(args.baseline_commit, Path(tmp) / "baseline")
        script = Path(tmp) / "child.py"
        script.write_text(CHILD, encoding="utf-8")
        before = run_child([str(script), str(baseline), str(listing)])
        now = run_child([str(script), str(ROOT), str(listing)])
    if not before["code"].startswith(str(baseline)) or before["code"] == now["code"]:
        raise SystemExit(f"the two runs did not use two trees: {before['code']}, {now['code']}")
    differ = [key for key, digest in now["digests"].items()
              if before["digests"].get(key) != digest]
    total = hashlib.sha256("".join(sorted(now["digests"].values())).encode()).hexdigest()
    print(f"{len(files)} files, each with a default and a named batch: "
          + ("identical" if not differ else f"{len(differ)} DIFFER, e.g. {differ[:3]}")
          + f" (digest of all rows {total[:16]})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
