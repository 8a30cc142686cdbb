"""Time one swap of new token counts into the Conversations table on the GUI thread, until
the table has painted: in place (``ConversationsModel.set_index`` when counts alone changed)
against the same swap followed by a model reset and the row being read selected again (what
every swap of new counts did before). Offscreen, one process, the two ways alternating.

    python bench/probe_token_swap.py [--n 10015] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10015)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from _table_library import build_library
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QApplication

    from ui.conversations_model import Column, ConversationsModel
    from ui.conversations_table import ConversationsTable
    from ui.row_index import RowIndex

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        library = build_library(Path(folder), args.n)
        rows = library.summaries()
        library.close()
    model = ConversationsModel()
    table = ConversationsTable(model)
    table.resize(1200, 700)
    table.show()
    model.set_index(RowIndex(rows))
    reading = model.index(5, Column.CLIENT)
    flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
             | QItemSelectionModel.SelectionFlag.Rows)
    table.selectionModel().setCurrentIndex(reading, flags)
    app.processEvents()
    times: dict[str, list[float]] = {"in place": [], "reset": []}
    for run in range(args.runs):
        for way in times:
            # About what a background count announces every two seconds: new counts for a
            # sixth of the library, the rows on screen among them.
            facts = {row.pk: (1000 + run * 2 + (way == "reset"), row.token_budget)
                     for row in model.index_.rows[: args.n // 6]}
            index = model.index_.with_changes(tokens=facts)
            shown, _mask = index.select(model.current_filter)
            index.counts(model.current_filter, shown)  # as the worker thread does
            index.choosable()
            app.processEvents()
            start = time.perf_counter()
            model.set_index(index)
            if way == "reset":
                model.beginResetModel()
                model.endResetModel()
                table.selectionModel().setCurrentIndex(model.index(5, Column.CLIENT), flags)
                table.scrollTo(model.index(5, Column.CLIENT))
            app.processEvents()  # the paint
            times[way].append((time.perf_counter() - start) * 1000)
    for way, ms in times.items():
        print(f"{way}: median {statistics.median(ms):.1f} ms, "
              f"min {min(ms):.1f}, max {max(ms):.1f} ({len(ms)} swaps)")


if __name__ == "__main__":
    main()
