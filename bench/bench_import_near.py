"""What the import's near-duplicate check costs the parent, per row, on two corpora, and
the same on another checkout.

The import's check (``fingerprints.flag_near_duplicates``, inside ``_store``, chunk after
chunk as an import stores them) and the dialogue keys (``index_keys``), CPU time, on:

* ``clones``: the ``--n``-file bench corpus (``make_corpus.py``: about fifteen dialogues
  cloned, so nearly every row is near an earlier one);
* ``stock``: ``--stock`` different dialogues that all say the same stock lines ("Thank you
  so much.", "I appreciate it.": ``tests/common_sentences.py``), then about one
  re-generation per ``--every`` of them (past the first 16) whose sentences behind its
  original's smallest hashes are reworded, kept when it is near its original and the only
  lookup keys they share are the stock lines (hidden among the stock dialogues);
* ``stock, then 100 more``: a second import of 100 stock dialogues (and the
  re-generation of one of the first import's, hidden the same way) into the library the
  stock import made: what a small import into a large library pays (the library's
  sketches are read once per import when a row shares a key with one not near).

With ``--wall``, also the whole import (``import_paths``, two workers) of the stock corpus
into a new library, wall clock. Printed per corpus: the check and the keys in µs per row,
the whole of ``_store`` per row, the rows flagged ``near_duplicate``, and the peak RSS of
the process (which prepared the rows too). ``--compare TREE`` runs this on the ``app`` of
TREE (say ``git archive main app resources | tar -x -C TREE``) and on this checkout in
turn, ``--rounds`` times each, in fresh processes, and prints the best figures side by
side.

Usage: ``python bench/bench_import_near.py [--n 10000] [--stock 10000] [--wall]
[--compare TREE]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(tempfile.gettempdir()) / "bench-import-near"


def _stock_corpus(count: int, every: int, seed: int) -> tuple[list[Path], list[Path]]:
    """The stock corpus's files (the stock dialogues, then the hidden re-generations but the
    first) and a second import's (100 more stock dialogues, then that first one), written
    under ``CACHE`` once."""
    sys.path.insert(0, str(ROOT / "tests"))
    from common_sentences import stock_dialogues, templates, vocabulary, written_hidden_twin

    root = CACHE / f"hidden-{count}-{every}-{seed}"
    done = root / "files.json"
    if not done.exists():
        paths = stock_dialogues(root / "stock", count, seed)
        more = stock_dialogues(root / "more", 100, seed + 1)
        rng = random.Random(seed)
        words = vocabulary(templates())
        twins: list[Path] = []
        for number in range(16, count):
            if len(twins) * every > number - 16:
                continue
            # the first dialogue past the last twin's ``every`` whose re-generation is hidden
            name = f"fp_conversation_stock_twin_{number:06d}"
            twin = written_hidden_twin(paths[number], name, root / "twins", rng, words)
            if twin is not None:
                twins.append(twin)
        done.write_text(json.dumps({
            "first": [str(p) for p in [*paths, *twins[1:]]],
            "second": [str(p) for p in [*more, twins[0]]]}))
    listed = json.loads(done.read_text())
    return [Path(p) for p in listed["first"]], [Path(p) for p in listed["second"]]


def _measure(args: argparse.Namespace) -> dict[str, float]:
    from _common import (
        bench_corpus,
        corpus_files,
        cpu_timing,
        maxrss_mb,
        prepared_rows,
        store_new_rows,
    )

    from app import importer
    from app.importer import import_paths
    from app.library import Library

    corpus = bench_corpus(args.n)
    first, second = _stock_corpus(args.stock, args.every, 0)
    figures: dict[str, float] = {}

    def store(kind: str, library: Any, rows: list[dict[str, Any]]) -> None:
        spent: dict[str, float] = {}
        flagged = library.count_with_warning("near_duplicate")
        with cpu_timing(importer, spent, flag="flag_near_duplicates", keys="index_keys"):
            start = time.process_time()
            store_new_rows(importer, library, rows)
            spent["store"] = time.process_time() - start
        per_row = 1e6 / len(rows)
        for name in ("flag", "keys", "store"):
            figures[f"{kind}: {name}"] = min(figures.get(f"{kind}: {name}", float("inf")),
                                             spent.get(name, 0.0) * per_row)
        figures[f"{kind}: flagged"] = library.count_with_warning("near_duplicate") - flagged
        figures[f"{kind}: rows"] = len(rows)

    clones, stock, more = (prepared_rows(corpus_files(corpus)), prepared_rows(first),
                           prepared_rows(second))
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            library = Library(Path(tmp) / "clones")
            try:
                store("clones", library, clones)
            finally:
                library.close()
            library = Library(Path(tmp) / "stock")
            try:
                store("stock", library, stock)
                store("stock, then 100 more", library, more)
            finally:
                library.close()
    figures["all: peak MB"] = maxrss_mb()
    if args.wall:  # the whole import of the stock corpus, files read by the workers
        with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "wall") as library:
            start = time.perf_counter()
            report = import_paths(library, first)
            figures["stock, the whole import: wall s"] = time.perf_counter() - start
            figures["stock, the whole import: flagged"] = library.count_with_warning(
                "near_duplicate")
            assert report.imported == len(first)
    return figures


LABELS = {
    "flag": "near-duplicate check (µs/row)",
    "keys": "dialogue keys (µs/row)",
    "store": "_store, all of it (µs/row)",
    "flagged": "rows flagged near_duplicate",
    "rows": "rows",
    "peak MB": "peak RSS of the process (MB)",
    "wall s": "wall time (s, 2 workers)",
}


def _compare(args: argparse.Namespace) -> int:
    from _common import best_beside, print_figures

    common = ["--n", str(args.n), "--stock", str(args.stock), "--every", str(args.every),
              "--repeat", str(args.repeat), *(["--wall"] if args.wall else [])]
    best = best_beside(__file__, common, args.compare, args.rounds)
    print(f"best of {args.repeat} × {args.rounds} rounds (before: {args.compare}; "
          f"after: {ROOT})")
    print_figures(best, LABELS, 62)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="clone corpus size (files)")
    parser.add_argument("--stock", type=int, default=10_000, help="stock dialogues")
    parser.add_argument("--every", type=int, default=100,
                        help="one hidden re-generation per this many stock dialogues")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--wall", action="store_true",
                        help="also time the whole import of the stock corpus (wall clock)")
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

        print_figures({"": figures}, LABELS, 62)
    return 0


if __name__ == "__main__":
    sys.exit(main())
