"""Benchmark the Conversations table at scale (default 100,000 conversations).

    python bench/bench_table.py [--n 100000] [--runs 5]

Builds a library of N conversations quickly by importing the real fixtures once and then
cloning their rows in SQL with fresh ids, batches and scaffolding (the table only reads
summary rows, so clones are as good as imported files here). Then it times, offscreen, what
a user does: open the window (read rows + fill the table), filter by one batch, sort by a
column, select all of the filter, clear the filter, and type a search.
The library also holds a training file of --file-size conversations, which the Training
Files page shows when the window opens.
Goals (issue 7): open <= 1.5 s, filter <= 100 ms, sort <= 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.importer import import_paths  # noqa: E402
from app.library import Library  # noqa: E402
from app.trainingfiles import add_conversations  # noqa: E402
from ui.conversations_model import Column  # noqa: E402
from ui.main import MainWindow  # noqa: E402
from ui.snapshot import QuietDialogs  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
ARCS = ["fear_to_confidence", "confusion_to_clarity", "shame_to_acceptance",
        "couple_conflict_to_alignment", "overwhelm_to_empowerment"]
TOPICS = ["eldercare_costs", "grandparent_529", "mortgage_payoff_strategy",
          "emergency_fund_building", "retirement_catch_up", "student_loan_payoff"]


def build_library(root: Path, n: int) -> Library:
    library = Library(root)
    import_paths(library, [FIXTURES / "enriched", FIXTURES / "legacy"])
    seeds = library.count()
    columns = ("persona_name, persona_archetype, emotional_arc, emotional_arc_key, "
               "training_topic, training_topic_key, turns, trainable_replies, quality_score, "
               "quality_tier, warning_codes, warnings_text, created, imported_at, "
               "source_file, profile_hash, estimated_tokens, digest")
    with library.engine.begin() as conn:
        for b in range(100):
            conn.execute(text("INSERT OR IGNORE INTO batches VALUES (:b, '2026-01-01T00:00:00Z')"),
                         {"b": f"batch-{b:03d}"})
        conn.execute(text(
            f"INSERT INTO conversations (conversation_id, batch_id, content_sha256, {columns}) "
            "WITH RECURSIVE copies(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM copies "
            "WHERE k < :copies) "
            "SELECT 'clone-' || k || '-' || c.pk, "
            "'batch-' || printf('%03d', (k * 17 + c.pk) % 100), 'hash-' || k || '-' || c.pk, "
            f"{columns} FROM conversations c, copies LIMIT :extra"),
            {"copies": n // max(seeds, 1) + 1, "extra": max(n - seeds, 0)})
        conn.execute(text(
            "INSERT INTO conversation_documents (pk, document) "
            "SELECT c.pk, d.document FROM conversations c JOIN conversation_documents d "
            "ON d.pk = ((c.pk - 1) % :seeds) + 1 WHERE c.pk > :seeds"), {"seeds": seeds})
        for i, arc in enumerate(ARCS):
            conn.execute(text("UPDATE conversations SET emotional_arc_key = :arc "
                              "WHERE pk % 5 = :i"), {"arc": arc, "i": i})
        for i, topic in enumerate(TOPICS):
            conn.execute(text("UPDATE conversations SET training_topic_key = :t "
                              "WHERE pk % 6 = :i"), {"t": topic, "i": i})
    return library


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    QApplication.processEvents()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file-size", type=int, default=10_000,
                        help="conversations in the training file the window opens with")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    results: dict[str, list[float]] = {k: [] for k in (
        "open window (read rows + fill table)", "filter by batch", "sort by client (filtered)",
        "select all of filter", "clear filter", "sort by quality (all rows)", "search text",
        "show the training file (header + member list)")}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        library = build_library(Path(tmp) / "library", args.n)
        ids = [row.conversation_id for row in library.summaries()][: args.file_size]
        add_conversations(library, "big file", ids, create=True)
        print(f"library of {library.count():,} conversations and a training file of "
              f"{len(ids):,} built in {time.perf_counter() - started:.1f} s")
        for run in range(args.runs):
            settings = QSettings(str(Path(tmp) / f"s{run}.ini"), QSettings.Format.IniFormat)
            holder: list[MainWindow] = []
            results["open window (read rows + fill table)"].append(timed(
                lambda: holder.append(MainWindow(library, QuietDialogs(), settings))))  # noqa: B023
            window = holder[0]
            window.resize(1400, 860)
            window.show()
            QApplication.processEvents()
            page = window.conversations
            results["filter by batch"].append(timed(lambda: page.set_batch_filter("batch-042")))  # noqa: B023
            results["sort by client (filtered)"].append(timed(
                lambda: page.table.sortByColumn(Column.CLIENT, Qt.SortOrder.AscendingOrder)))  # noqa: B023
            results["select all of filter"].append(timed(window.select_all_action.trigger))
            results["clear filter"].append(timed(lambda: page.set_batch_filter(None)))  # noqa: B023
            results["sort by quality (all rows)"].append(timed(
                lambda: page.table.sortByColumn(Column.QUALITY, Qt.SortOrder.DescendingOrder)))  # noqa: B023
            results["search text"].append(timed(
                lambda: page.model.update_filter(text="mortgage")))  # noqa: B023
            files = window.training_files
            results["show the training file (header + member list)"].append(timed(
                lambda: files.refresh(select_name="big file")))  # noqa: B023
            window.close()
            window.deleteLater()
            QApplication.processEvents()
        library.close()
    print(f"\n{args.n:,} conversations, median of {args.runs} runs:")
    for name, values in results.items():
        print(f"  {name:<40} {statistics.median(values) * 1000:8.0f} ms")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
