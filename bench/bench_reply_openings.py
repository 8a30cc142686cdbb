"""What counting a training file's reply openings costs (``app.reply_openings``), beside
what reading the same file costs without it, in the same run; and what showing the Reply
openings tab costs the GUI thread.

For the largest training file of ``--library`` (a copy is used, never the library given):

* baselines: its member rows alone (``member_rows``), its stored JSONL lines read alone
  (bytes, each fragment checked as an export reads it), and read and parsed (orjson);
* ``file_openings``: the same lines read, parsed and counted;

each ``--rounds`` times, alternating, the best round printed. Then the files page, offscreen,
with a 10 ms heartbeat on the GUI thread: the longest gap between two beats while the page
sits idle for a second (baseline), and while it counts the openings on a worker after their
tab is chosen, with the time until they are shown: without pausing the cycle collector,
then as the app does (``app.collector``: a full collection on the worker held the
interpreter lock 75-150 ms).

Usage: ``python bench/bench_reply_openings.py --library LIB [--rounds 3]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _largest(library: Any) -> str:
    from app.trainingfiles import list_training_files

    return max(list_training_files(library), key=lambda info: info.conversations).name


def _timed(step: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def _steps(library: Any, name: str) -> dict[str, Callable[[], object]]:
    from app.reply_openings import file_openings
    from app.trainingfiles import member_rows, read_build

    def read_lines() -> int:
        with read_build(library, name) as reader:
            return sum(len(line) for line in reader.jsonl_lines())

    def read_and_parse() -> int:
        with read_build(library, name) as reader:
            return sum(len(orjson.loads(line)["messages"]) for line in reader.jsonl_lines())

    return {"member rows alone": lambda: len(member_rows(library, name)),
            "JSONL lines read alone": read_lines,
            "JSONL lines read and parsed": read_and_parse,
            "reply openings counted": lambda: file_openings(library, name)}


def _page(library: Any, name: str, paused: bool = True) -> dict[str, float]:
    """``paused``: as the app counts, the cycle collector paused (False: without it)."""
    import contextlib

    from _heartbeat import Heartbeat, spin
    from PySide6.QtWidgets import QApplication

    import app.reply_openings

    sys.path.insert(0, str(ROOT / "tests"))
    from scripted_dialogs import ScriptedDialogs

    from app.collector import collector_paused
    from ui.training_files_page import TrainingFilesPage

    if not paused:
        app.reply_openings.collector_paused = contextlib.nullcontext  # type: ignore[assignment]
    qt = QApplication.instance() or QApplication([])
    page = TrainingFilesPage(library, ScriptedDialogs())
    page.resize(1440, 900)
    page.show()
    page.select_file(name)
    end = time.perf_counter() + 120
    while page._shown is None and time.perf_counter() < end:  # the details, on a worker
        qt.processEvents()
        time.sleep(0.002)
    while page._readers and time.perf_counter() < end:  # the near-duplicate count beside
        qt.processEvents()
        time.sleep(0.002)
    spin(0.5)  # what those counts brought is shown
    beat = Heartbeat()
    spin(1.0)
    idle = beat.worst_ms
    beat.reset()
    start = time.perf_counter()
    page.tabs.setCurrentWidget(page.openings_view)
    while page.openings_view.found is None and time.perf_counter() < end:
        qt.processEvents()
        time.sleep(0.002)
    shown = time.perf_counter() - start
    spin(0.1)
    counting = beat.worst_ms
    beat.stop()
    page.close()
    if not paused:
        app.reply_openings.collector_paused = collector_paused
    return {"idle_worst_gap_ms": idle, "counting_worst_gap_ms": counting, "shown_s": shown}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from app.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "library"
        shutil.copytree(args.library, copy, ignore=shutil.ignore_patterns("library.lock"))
        library = Library.open(copy)
        name = _largest(library)
        from app.trainingfiles import get_training_file

        info = get_training_file(library, name)
        print(f"file '{name}': {info.conversations:,} conversations, "
              f"{info.trainable_replies:,} trained replies, JSONL {info.jsonl_bytes / 1e6:.0f} MB")
        best: dict[str, float] = {}
        steps = _steps(library, name)
        found: Any = None
        for _round in range(args.rounds):
            for label, step in steps.items():
                seconds, result = _timed(step)
                best[label] = min(best.get(label, seconds), seconds)
                if label == "reply openings counted":
                    found = result
        for label, seconds in best.items():
            print(f"  {label:<30} {seconds:8.3f} s")
        counted = found.openings
        print(f"  counted: {counted.replies:,} replies, {counted.questions:,} ending on a "
              f"question; top opening {counted.top()[0].words!r} ×{counted.top()[0].replies:,}")
        for paused in (False, True):
            page = _page(library, name, paused)
            how = ("as the app counts (cycle collector paused)" if paused
                   else "without pausing the cycle collector")
            print(f"page, {how}: longest GUI-thread gap idle "
                  f"{page['idle_worst_gap_ms']:.0f} ms · while counting the openings "
                  f"{page['counting_worst_gap_ms']:.0f} ms · shown after "
                  f"{page['shown_s']:.2f} s")
        library.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
