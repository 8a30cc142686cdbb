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

    python bench/bench_table.py --stalls [--n 100000] [--runs 3]

measures instead how long the window freezes while it opens (until its rows show) and after
an import, a build, a batch rename, a move and new token counts (goal, issue 13: <= 100 ms
each), in this code and, side by side in the same invocation, in --baseline-commit
(bench/stall_child.py does each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import fmt, machine, median, print_machine, run_child, unpack_commit  # noqa: E402
from _table_library import build_library  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.trainingfiles import add_conversations  # noqa: E402
from ui.conversations_model import Column  # noqa: E402
from ui.main import MainWindow  # noqa: E402
from ui.snapshot import QuietDialogs  # noqa: E402


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    QApplication.processEvents()
    return time.perf_counter() - start


def stalls(args: argparse.Namespace) -> int:
    """Each code tree in its own process (bench/stall_child.py), on the same machine in the
    same invocation; the baseline is unpacked from git (git archive), not checked out."""
    print_machine(machine())
    with tempfile.TemporaryDirectory() as tmp:
        baseline = unpack_commit(args.baseline_commit, Path(tmp) / "baseline-code")
        trees = {f"before ({args.baseline_commit})": baseline, "now": ROOT}
        found: dict[str, dict[str, Any]] = {}
        for run in range(args.runs):
            for name, code in trees.items():
                result = run_child([str(Path(__file__).with_name("stall_child.py")), str(code),
                                    str(Path(tmp) / f"{name.split()[0]}-{run}"),
                                    "--n", str(args.n), "--file-size", str(args.file_size),
                                    "--import-files", str(args.import_files),
                                    "--batches", str(args.batches),
                                    "--busy", str(args.busy),
                                    *(["--steps", args.steps] if args.steps else []),
                                    *(["--library-cache", str(args.library_cache)]
                                      if args.library_cache else [])])
                print(f"run {run + 1} {name}: " + ", ".join(
                    f"{step} {result[step]['stall_ms']} ms"
                    f" ({result[step].get('stall_gui_cpu_ms', '?')} ms GUI CPU)"
                    for step in STEPS if step in result), flush=True)
                for step in STEPS:
                    if step in result:  # older code may not have the step
                        found.setdefault(name, {}).setdefault(step, []).append(result[step])
    print(f"\nLongest GUI stall (ms), median of {args.runs} runs, {args.n:,} conversations, "
          f"a {args.file_size:,}-conversation training file, {args.import_files} files "
          f"imported, {args.busy} busy processes beside; in brackets the GUI thread's own "
          "CPU during the run's longest stall (median):")
    names = list(trees)
    print(f"  {'step':<22}" + "".join(f"{n:>26}" for n in names)
          + "   until settled (s), now")
    for step in STEPS:
        cells = [f"{fmt(median([r['stall_ms'] for r in runs]), '.0f')} "
                 f"({fmt(median([r.get('stall_gui_cpu_ms') for r in runs]), '.0f')})"
                 for runs in (found[n].get(step, []) for n in names)]
        settled = median([r["until_settled_s"] for r in found["now"].get(step, [])])
        print(f"  {step:<22}" + "".join(f"{c:>26}" for c in cells)
              + f"   {fmt(settled, '.1f')}")
    return 0


STEPS = ("idle 3 s", "open window", "import", "build", "rename batch", "move 100 checked",
         "token counts", "remove batch", "undo remove batch", "select near-duplicates",
         "remove from file", "undo remove from file", "count tokens",
         "GUI share of a reload")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file-size", type=int, default=10_000,
                        help="conversations in the training file the window opens with")
    parser.add_argument("--stalls", action="store_true",
                        help="measure the longest GUI stall after import, build, rename and "
                             "move instead, here and in --baseline-commit")
    parser.add_argument("--baseline-commit", default="049c4f4",
                        help="the code to compare with (default: the last commit before the "
                             "change signal, when every change re-read the table on the GUI "
                             "thread)")
    parser.add_argument("--import-files", type=int, default=100,
                        help="--stalls: files the import step imports (10000 with --n 0: a "
                             "person's first large import)")
    parser.add_argument("--batches", type=int, default=100,
                        help="--stalls: batches the conversations are spread over (10 at "
                             "--n 10000: the remove-batch step removes 1,000)")
    parser.add_argument("--busy", type=int, default=0,
                        help="--stalls: processes keeping a CPU busy meanwhile (a loaded machine)")
    parser.add_argument("--steps", default="",
                        help="--stalls: only these steps (comma-separated, see stall_child.py); "
                             '"count tokens" runs only when named')
    parser.add_argument("--library-cache", type=Path, default=None,
                        help="--stalls: keep the prepared library here and copy it for each "
                             "run (both trees must share the schema; saves minutes a run)")
    args = parser.parse_args()
    if args.stalls:
        return stalls(args)
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
