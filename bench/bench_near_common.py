"""What the near-duplicate check of an add (and of a file on the files page) costs when the
dialogues are all different but share stock sentences whose hashes are among their
smallest ("Thank you so much." from the client, "I appreciate it." in the reply): the shape
that made the check compare each conversation with every earlier one.

The library is made once from the real fixtures (``tests/common_sentences.py``: every
sentence varied, the two stock lines put in), imported as files, and kept under
``--cache``. Then, for each size of ``--members``, ``near_on_add(library, None, the first
N conversations)`` (what ``near_members`` asks of an N-member file) runs in a fresh
process on this checkout and on ``--before`` (an older one, say ``git archive main app |
tar -x -C TREE``), alternating, ``--rounds`` times; printed: the best wall time, how many
near-duplicates it found, and how many candidates it compared (``first_near``'s, counted).
A run over ``--timeout`` seconds is stopped and shown as such.

Usage: ``python bench/bench_near_common.py [--members 1000,4000,20000] [--before TREE]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
DONE = "library.done"  # written when the cached library is complete


def _library(cache: Path, count: int, seed: int) -> Path:
    """The cached library of ``count`` stock dialogues, made if missing."""
    root = cache / f"stock-{count}-{seed}"
    if (root / DONE).exists():
        return root / "library"
    sys.path.insert(0, str(ROOT / "tests"))
    from common_sentences import stock_dialogues

    from app.importer import import_paths
    from app.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = stock_dialogues(Path(tmp), count, seed)
        written = time.perf_counter() - start
        with Library(root / "library") as library:
            start = time.perf_counter()
            report = import_paths(library, paths)
            print(f"made {report.imported:,} stock dialogues (files written in {written:.1f} s, "
                  f"imported in {time.perf_counter() - start:.1f} s, "
                  f"{library.count_with_warning('near_duplicate')} flagged near at import)")
    (root / DONE).write_text("done")
    return root / "library"


def _measure(library_path: Path, members: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    from _common import maxrss_mb

    from app import near_in_file
    from app.library import Library

    compared = [0]
    real = near_in_file.first_near

    def counting(sketch: bytes, candidates: Iterable[tuple[str, bytes]], *rest: Any) -> Any:
        def counted() -> Iterator[tuple[str, bytes]]:
            for pair in candidates:
                compared[0] += 1
                yield pair
        return real(sketch, counted(), *rest)

    near_in_file.first_near = counting  # type: ignore[assignment]
    with Library(library_path) as library:
        rows = [(row.conversation_id, row.pk) for row in library.summaries()][:members]
        start = time.perf_counter()
        found = near_in_file.near_on_add(library, None, rows)
        seconds = time.perf_counter() - start
    return {"members": len(rows), "seconds": seconds, "near": len(found.near),
            "compared": compared[0], "peak_mb": maxrss_mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="1000,4000,20000")
    parser.add_argument("--before", help="an older checkout to measure beside this one")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "bench-near-common")
    parser.add_argument("--tree", help=argparse.SUPPRESS)  # the child's checkout
    parser.add_argument("--library", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.members.split(",")]
    if args.tree:
        sys.path.insert(0, args.tree)
        sys.stdout.buffer.write(orjson.dumps(_measure(args.library, sizes[0])))
        return 0
    library = _library(args.cache, max(sizes), args.seed)
    trees = ([("before", args.before)] if args.before else []) + [("after", str(ROOT))]
    for size in sizes:
        runs: dict[str, list[dict[str, Any] | None]] = {label: [] for label, _tree in trees}
        for _ in range(args.rounds):
            for label, tree in trees:
                try:
                    out = subprocess.run(
                        [sys.executable, __file__, "--members", str(size), "--tree", tree,
                         "--library", str(library)], check=True, capture_output=True,
                        cwd=tree, env={**os.environ, "PYTHONPATH": tree},
                        timeout=args.timeout).stdout
                    runs[label].append(orjson.loads(out))
                except subprocess.TimeoutExpired:
                    runs[label].append(None)
        for label, tree in trees:
            done = [run for run in runs[label] if run is not None]
            if not done:
                print(f"{size:>7,} members, {label} ({tree}): stopped after "
                      f"{args.timeout:.0f} s")
                continue
            best = min(done, key=lambda run: run["seconds"])
            print(f"{size:>7,} members, {label} ({tree}): {best['seconds']:8.2f} s, "
                  f"{best['near']:,} near, {best['compared']:,} compared, peak "
                  f"{best.get('peak_mb', 0):.0f} MB (all rounds: "
                  + ", ".join("stopped" if run is None else f"{run['seconds']:.2f}"
                              for run in runs[label]) + " s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
