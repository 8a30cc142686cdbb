"""What "Create training files" pays on the window's thread, before its child plans the
add, to learn which checked conversations the filter hides: the walk of every shown row
that ``ui.add_review`` once made, beside the model's own ``hidden_checked_ids`` (same run,
same library; best of runs).

    python bench/bench_hidden_checked.py --n 100000 --every 40 --runs 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _table_library import build_library
from PySide6.QtWidgets import QApplication

from ui.conversations_model import ConversationsModel
from ui.row_index import Filter, RowIndex


def _walk_shown(model: ConversationsModel) -> set[str]:
    """The former way: every shown row's id, then every checked id against them."""
    shown = {model.row_at(row).conversation_id for row in range(model.rowCount())}
    return {cid for cid in model.checked_ids() if cid not in shown}


def _best_ms(work: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=40, help="check every k-th row")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        library = build_library(Path(folder), args.n)
        model = ConversationsModel()
        model.set_index(RowIndex(library.summaries()))
        ids = [row.conversation_id for row in model.index_.rows]
        model.set_checked_ids(ids[::args.every])
        print(f"{args.n:,} conversations, {model.checked_count:,} checked")
        print(f"{'filter':<22}{'hidden':>8}{'walk shown (ms)':>18}{'model (ms)':>12}")
        for label, wanted in (("none", Filter()), ("batch-007", Filter(batch_id="batch-007"))):
            model.set_filter(wanted)
            hidden = model.hidden_checked_ids()
            assert set(hidden) == _walk_shown(model)
            print(f"{label:<22}{len(hidden):>8,}"
                  f"{_best_ms(lambda: _walk_shown(model), args.runs):>18.1f}"
                  f"{_best_ms(model.hidden_checked_ids, args.runs):>12.1f}")
        library.close()


if __name__ == "__main__":
    main()
