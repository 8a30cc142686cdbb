"""What counting a training file's near-duplicates costs (``near_in_file.near_members``),
and what showing the file on the LoRA Training JSON Files page costs the GUI thread, before
and after.

For each training file of ``--library`` (a copy, never written to): ``near_members``'s wall
time and count. Then the page, offscreen, selects the largest file while a 10 ms heartbeat
timer runs: the longest gap between two beats (the GUI thread's longest stall) and the time
until the details and the count are shown. Each checkout runs in a fresh process on its own
copy, ``--rounds`` times, alternating; the best round is printed.

Usage: ``python bench/bench_near_in_file.py --library LIB [--before TREE] [--rounds 3]``
(TREE: an older checkout, say ``git archive main app ui resources | tar -x -C TREE``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
BEAT_MS = 10


def _counts(library: Any) -> dict[str, Any]:
    try:
        from app.near_in_file import near_members
    except ImportError:  # a checkout from before
        return {}
    from app.trainingfiles import list_training_files

    found: dict[str, Any] = {}
    for info in list_training_files(library):
        start = time.perf_counter()
        near = near_members(library, info.name)
        found[info.name] = {"members": info.conversations, "near": len(near.repeats),
                            "near_s": time.perf_counter() - start}
    return found


def _page(library: Any) -> dict[str, float]:
    """Select the largest file on a fresh page; the GUI thread's longest stall meanwhile."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QThreadPool, QTimer
    from PySide6.QtWidgets import QApplication

    from app.trainingfiles import list_training_files
    from ui.snapshot import QuietDialogs
    from ui.training_files_page import TrainingFilesPage

    app = QApplication.instance() or QApplication([])
    files = list_training_files(library)
    largest = max(files, key=lambda info: info.conversations)
    smallest = min(files, key=lambda info: info.conversations)
    page = TrainingFilesPage(library, QuietDialogs())  # type: ignore[arg-type]
    page.resize(1440, 880)
    page.show()
    page.refresh(select_name=smallest.name)
    pool = QThreadPool.globalInstance()
    while pool.activeThreadCount():
        app.processEvents()
    beats: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))
    timer.start(BEAT_MS)
    start = time.perf_counter()
    beats.append(start)
    page.refresh(select_name=largest.name)
    while (page.members_model.rowCount() != largest.conversations or pool.activeThreadCount()
           or "looking for near-duplicates" in page.quality_label.text()):
        app.processEvents()
    shown = time.perf_counter() - start
    beats.append(time.perf_counter())
    timer.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    return {"members": largest.conversations, "shown_s": shown, "longest_stall_s": max(gaps)}


def _measure(library_path: Path) -> dict[str, Any]:
    from app.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "library"
        shutil.copytree(library_path, copy, ignore=shutil.ignore_patterns("*.lock"))
        with Library(copy) as library:
            return {"counts": _counts(library), "page": _page(library)}


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
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _tree in trees}
    for _ in range(args.rounds):
        for label, tree in trees:
            out = subprocess.run([sys.executable, __file__, "--library", str(args.library),
                                  "--tree", tree], check=True, capture_output=True,
                                 cwd=tree, env={**os.environ, "PYTHONPATH": tree}).stdout
            runs[label].append(orjson.loads(out))
    for label, tree in trees:
        found = runs[label]
        best = min(found, key=lambda run: run["page"]["longest_stall_s"])
        page = best["page"]
        print(f"{label} ({tree}): selecting the {page['members']:,.0f}-member file: shown "
              f"in {page['shown_s']:.2f} s, longest GUI stall "
              f"{page['longest_stall_s'] * 1000:.0f} ms (all rounds: "
              + ", ".join(f"{run['page']['longest_stall_s'] * 1000:.0f}" for run in found)
              + " ms)")
        for name, count in best["counts"].items():
            every = ", ".join(f"{run['counts'][name]['near_s']:.2f}" for run in found)
            print(f"  near_members('{name}'): {count['members']:,} members, "
                  f"{count['near']:,} near-duplicates, {count['near_s']:.2f} s (all: {every})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
