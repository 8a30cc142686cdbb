"""What planning an add of every conversation of a library to a new training file costs
(``plan_addition``: the add review's wait), before and after, on copies of one library.

The worst case is a library of one template's re-generations (``make_corpus.py``: about
15 dialogues cloned, so every conversation nearly repeats thousands): the near-duplicate
check compared every pair there. Each checkout's ``plan_addition`` runs in a fresh process
on its own copy of ``--library`` (never written to), ``--rounds`` times, alternating; the
best and all wall times are printed, with how many near-duplicates each found and how many
conversations "Leave them out" leaves out (they must agree).

Usage: ``python bench/bench_add_plan.py --library LIB [--before TREE] [--rounds 1]``
(TREE: an older checkout's ``app``, say ``git archive main app resources | tar -x -C TREE``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent


def _measure(library_path: Path) -> dict[str, float]:
    """One plan of every conversation into a new file (run in this checkout's process)."""
    from app.library import Library
    from app.trainingfiles import plan_addition

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "library"
        shutil.copytree(library_path, copy, ignore=shutil.ignore_patterns("*.lock"))
        with Library(copy) as library:
            ids = [row.conversation_id for row in library.summaries()]
            start = time.perf_counter()
            plan = plan_addition(library, "Everything", ids, create=True)
            spent = time.perf_counter() - start
            start = time.perf_counter()
            left_out = len(plan.choose(leave_out_near_duplicates=True).left_out())
            added_beside = len(plan.near_duplicates_added())
            review = time.perf_counter() - start
    return {"conversations": len(ids), "new": len(plan.new), "plan_s": spent,
            "near": len(plan.near_duplicates), "left_out": left_out,
            "added_beside": added_beside, "review_s": review}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--before", help="an older checkout to measure beside this one")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tree", help=argparse.SUPPRESS)  # the child's checkout
    args = parser.parse_args(argv)
    if args.tree:
        sys.path.insert(0, args.tree)
        sys.stdout.buffer.write(orjson.dumps(_measure(args.library)))
        return 0
    trees = ([("before", args.before)] if args.before else []) + [("after", str(ROOT))]
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _tree in trees}
    for _ in range(args.rounds):
        for label, tree in trees:
            out = subprocess.run([sys.executable, __file__, "--library", str(args.library),
                                  "--tree", tree], check=True, capture_output=True,
                                 cwd=tree).stdout
            runs[label].append(orjson.loads(out))
    for label, tree in trees:
        found = runs[label]
        best = min(found, key=lambda run: run["plan_s"])
        every = ", ".join(f"{run['plan_s']:.2f}" for run in found)
        print(f"{label} ({tree}): plan_addition best {best['plan_s']:.2f} s "
              f"(all: {every}); "
              f"{best['conversations']:,.0f} conversations, {best['new']:,.0f} new, "
              f"{best['near']:,.0f} near-duplicates, {best['left_out']:,.0f} left out by "
              f"'Leave them out', {best['added_beside']:,.0f} added beside a twin; "
              f"review's two questions {best['review_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
