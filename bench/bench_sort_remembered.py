"""What a header click pays to keep the view's remembered rows (current row, selection
corners) after a sort of N shown rows: the map of every shown row the model once built,
beside ``ui.conversations_model._positions_of`` (same run, same rows; median of runs).

    python bench/bench_sort_remembered.py --n 100000 --remembered 3 --runs 9
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ui.conversations_model import _positions_of


@dataclass
class _Row:
    pk: int


def _every_row(rows: list[_Row], shown: list[int], kept: list[int]) -> list[int]:
    position = {rows[i].pk: n for n, i in enumerate(shown)}  # the former way
    return [position[rows[i].pk] for i in kept]


def _now(rows: list[_Row], shown: list[int], kept: list[int]) -> list[int]:
    position = _positions_of(set(kept), shown)
    return [position[i] for i in kept]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--remembered", type=int, default=3)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    rows = [_Row(pk) for pk in range(args.n)]
    shown = list(range(args.n))
    random.Random(1).shuffle(shown)
    kept = random.Random(2).sample(shown, args.remembered)
    timings: dict[str, list[float]] = {"every shown row (before)": [], "now": []}
    for _ in range(args.runs):
        for name, way in (("every shown row (before)", _every_row), ("now", _now)):
            start = time.perf_counter()
            found = way(rows, shown, kept)
            timings[name].append((time.perf_counter() - start) * 1000)
            assert [shown[p] for p in found] == kept
    for name, values in timings.items():
        print(f"{name:26} {statistics.median(values):8.2f} ms  (n={args.n:,}, "
              f"remembered={args.remembered})")


if __name__ == "__main__":
    main()
