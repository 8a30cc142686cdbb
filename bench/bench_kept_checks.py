"""Keeping 100,000 checks (``app.kept_checks``, ``ui.check_keeper``): what each step costs,
beside what the page already does with as many checks (Check all shown, and ``checked_ids``
that Create training files reads), measured in the same run on the same model.

On the GUI thread: gathering the ids to keep (after each change, at most once a second),
and putting the rows found back (once, when the window opens). On the keeper's thread:
reading the file and finding its rows (at open), writing the file (atomically, with
fsync). Beside them, as the GUI thread did it before (``set_checked_ids`` on the ids
read). The library is built as ``bench_table.py`` builds it (real fixtures imported, then
cloned in SQL).

Usage::

    QT_QPA_PLATFORM=offscreen python bench/bench_kept_checks.py [--runs 5] [--n 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import machine, print_machine  # noqa: E402
from _table_library import build_library  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.kept_checks import checks_file, load_checks, save_checks  # noqa: E402
from app.library import Library  # noqa: E402
from ui.conversations_model import ConversationsModel, rows_checked  # noqa: E402
from ui.row_index import RowIndex  # noqa: E402
from ui.row_reader import spare_the_collector  # noqa: E402


def timed(runs: int, step: Callable[[], object]) -> float:
    """The median of ``runs`` times of ``step``, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def timed_swap(runs: int, model: ConversationsModel, rows: list) -> float:  # type: ignore[type-arg]
    """The median time of swapping a freshly read library into the model (what the GUI
    thread does when a large library's first read is in), the index built untimed as a
    worker builds it."""
    times = []
    for _ in range(runs):
        index = RowIndex(rows)
        start = time.perf_counter()
        model.set_index(index)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def timed_put_back(runs: int, model: ConversationsModel, rows: frozenset[int]) -> float:
    """The median time of putting the rows found back into a model with nothing checked
    (what the GUI thread does when the keeper's read is in)."""
    times = []
    for _ in range(runs):
        model.check_none()
        start = time.perf_counter()
        model.add_checks(model.index_, rows)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def longest_wait_beside(runs: int, work: Callable[[], object]) -> float:
    """The median over ``runs`` of the longest time this thread (the GUI thread's stand-in,
    waking every millisecond) waited beyond its millisecond while ``work`` ran on another
    thread: how long that work holds the interpreter's lock from the window."""
    waits = []
    for _ in range(runs):
        worker = threading.Thread(target=work)
        longest = 0.0
        worker.start()
        while worker.is_alive():
            start = time.perf_counter()
            time.sleep(0.001)
            longest = max(longest, time.perf_counter() - start - 0.001)
        worker.join()
        waits.append(longest * 1000)
    return statistics.median(waits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--library", type=Path,
                        help="a library built by an earlier run (kept there), else a new one")
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication(sys.argv)
    print_machine(machine())
    with tempfile.TemporaryDirectory() as tmp:
        library = (Library(args.library) if args.library and args.library.exists()
                   else build_library(args.library or Path(tmp) / "library", args.n))
        model = ConversationsModel()
        model.set_index(RowIndex(library.summaries()))
        spare_the_collector(young=False)  # as the page does after a large swap
        kept = checks_file(library.location, Path(tmp) / "kept-checks")
        model.check_all_shown()
        ids = model.every_checked_id()
        print(f"{model.checked_count:,} checks of {model.total:,} conversations")
        rows = {
            "baseline: swap in the rows read (at open)": timed_swap(args.runs, model,
                                                                    library.summaries()),
            "baseline: Check all shown": timed(args.runs, model.check_all_shown),
            "baseline: checked_ids (Create reads it)": timed(args.runs, model.checked_ids),
            "gather the ids to keep (GUI thread)": timed(args.runs, model.every_checked_id),
            "write the file (writer thread)": timed(args.runs, lambda: save_checks(kept, ids)),
            "before: read and put back (GUI thread, at open)": timed(
                args.runs, lambda: model.set_checked_ids(load_checks(kept))),
            "read the file (keeper's thread, at open)": timed(args.runs,
                                                              lambda: load_checks(kept)),
            "read, find the rows (keeper's thread)": timed(
                args.runs, lambda: rows_checked(model.index_, load_checks(kept))),
            "put the rows found back (GUI thread)": timed_put_back(
                args.runs, model, rows_checked(model.index_, ids)),
            "GUI thread's longest wait beside the read": longest_wait_beside(
                args.runs, lambda: rows_checked(model.index_, load_checks(kept))),
        }
        size = kept.path.stat().st_size
        library.close()
    for what, ms in rows.items():
        print(f"{what:<48} {ms:8.1f} ms")
    print(f"file size: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
