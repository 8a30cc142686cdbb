"""What finding near-duplicates costs, per conversation, and the same on another checkout.

Times (CPU, best of ``--repeat``) the three places that look for near-duplicates:

* the import's check and keys in the parent (``flag_near_duplicates`` and ``index_keys``,
  inside ``_store``, chunk after chunk as an import stores them);
* the add review's check (``near_on_add``: every stored conversation added to a
  new training file, each compared with the ones before it);
* the split's grouping (``similar.groups`` over every sketch).

on two libraries of ``--files`` rows: clones of the fixtures (``make_corpus.py``: nearly
every conversation nearly repeats an earlier one, the worst case of the checks) and the same
rows with random sentence sketches (unrelated conversations, the usual case).

``--compare TREE`` runs this script on the ``app`` of TREE (an older checkout, say
``git archive OLD app | tar -x -C TREE``) and on this one in turn, ``--rounds`` times each,
in fresh processes, and prints the best figures side by side.

Usage: ``python bench/bench_near.py [--files 2000] [--repeat 3] [--compare TREE]``
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from array import array
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _measure(args: argparse.Namespace) -> dict[str, float]:
    from _common import bench_corpus, corpus_files, cpu_timing, prepared_rows, store_new_rows

    from app import importer
    from app.library import Library
    try:
        from app.near_in_file import near_on_add as check_on_add
    except ImportError:  # a checkout before the check stopped at the first near one
        from app.near_in_file import (  # type: ignore[attr-defined,no-redef]
            near_duplicates_on_add as check_on_add,
        )
    from app.similar import groups

    clones = prepared_rows(corpus_files(bench_corpus(args.n))[: args.files])
    rng = random.Random(0)
    unrelated = [{**row, "dialogue_sketch": array("I", sorted(
        rng.sample(range(1 << 32), 64))).tobytes()} for row in clones]
    figures: dict[str, float] = {}
    for kind, rows in (("clones", clones), ("unrelated", unrelated)):
        per_row = 1e6 / len(rows)
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            spent: dict[str, float] = {}
            with (tempfile.TemporaryDirectory() as tmp,
                  cpu_timing(importer, spent, flag="flag_near_duplicates",
                             keys="index_keys")):
                library = Library(Path(tmp) / "library")
                try:
                    store_new_rows(importer, library, rows)
                    spent["flagged"] = library.count_with_warning("near_duplicate")
                    stored = [(row.conversation_id, row.pk) for row in library.summaries()]
                    start = time.process_time()
                    check_on_add(library, None, stored)
                    spent["add"] = time.process_time() - start
                finally:
                    library.close()
            sketches = [(r["conversation_id"], r["dialogue_sketch"]) for r in rows]
            start = time.process_time()
            spent["groups"] = len(groups(sketches))
            spent["split"] = time.process_time() - start
            for name in ("flag", "keys", "add", "split"):
                best[name] = min(best.get(name, float("inf")), spent[name] * per_row)
            best["flagged"], best["groups"] = spent["flagged"], spent["groups"]
        figures |= {f"{kind}: {name}": value for name, value in best.items()}
    return figures


LABELS = {
    "flag": "import: near-duplicate check (µs/row)",
    "keys": "import: dialogue keys (µs/row)",
    "add": "add review: near-duplicates (µs/row)",
    "split": "split: groups (µs/row)",
    "flagged": "rows flagged near_duplicate at import",
    "groups": "split groups",
}


def _compare(args: argparse.Namespace) -> int:
    from _common import best_beside, print_figures

    best = best_beside(__file__, ["--files", str(args.files), "--repeat", str(args.repeat),
                                  "--n", str(args.n)], args.compare, args.rounds)
    print(f"{args.files} rows, best of {args.repeat} × {args.rounds} rounds "
          f"(before: {args.compare}; after: {ROOT})")
    print_figures(best, LABELS, 52)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n", type=int, default=10_000, help="corpus size (files)")
    parser.add_argument("--tree", help="the checkout whose app to measure (default: this)")
    parser.add_argument("--compare", help="an older checkout to measure beside this one")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.compare:
        return _compare(args)
    sys.path[:0] = [args.tree or str(ROOT), str(HERE)]
    figures = _measure(args)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(figures))
    else:
        from _common import print_figures

        print_figures({"": figures}, LABELS, 52)
    return 0


if __name__ == "__main__":
    sys.exit(main())
