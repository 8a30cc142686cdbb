"""The GUI thread while the app starts on a library of an older version: the schema
upgrade and its backups (``app.db``) ran on it before anything was on screen. Each tree
starts on its own copy of one older library (``ui.library_switch.start_app``, up to its
first window, the work left by the older version finished), with a 10 ms heartbeat on the
GUI thread; noted: each gap over 100 ms between beats (a stall), the longest before the
first dialog or window was on screen, while only progress dialogs were (before the main
window was being made), and overall, when that first one showed, and how long the start
took (wall and CPU, the child doing the work included).

The older library is ``--older`` (a library folder made by an older version, copied for
each tree), else one of ``--n`` conversations made now and turned back into a library of
schema v7 from before Alembic (``tests/old_libraries.back_to_baseline``).

    python bench/bench_upgrade_start.py --baseline-commit main [--older FOLDER | --n 5000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    code_trees,
    cpu_seconds,
    emit,
    machine,
    print_machine,
    run_child,
    use_code,
)

GAP_S = 0.1


def _child(args: argparse.Namespace) -> None:
    use_code(args.tree)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "tests"))
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow
    from scripted_dialogs import ScriptedDialogs

    from ui.library_switch import start_app

    app = QApplication.instance() or QApplication([])
    # (when it ended, its length, whether the main window existed by then), over 100 ms
    gaps: list[tuple[float, float, bool]] = []
    shown: list[float] = []
    began = last = time.perf_counter()

    def beat() -> None:  # every 10 ms on the GUI thread
        nonlocal last
        now = time.perf_counter()
        if now - last > GAP_S:
            window = any(isinstance(w, QMainWindow) for w in app.topLevelWidgets())
            gaps.append((now - began, now - last, window))
        last = now
        if not shown and any(w.isVisible() for w in app.topLevelWidgets()):
            shown.append(now - began)

    heart = QTimer()
    heart.timeout.connect(beat)
    heart.start(10)
    settings = QSettings(str(args.library.parent / "settings.ini"), QSettings.Format.IniFormat)
    began = last = time.perf_counter()
    cpu = cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN)
    switcher = start_app(str(args.library), ScriptedDialogs(), settings)
    took = time.perf_counter() - began
    cpu = cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu  # (its child's too)
    app.processEvents()  # the beat after a stall that ended the start
    heart.stop()
    assert switcher is not None, "the library did not open"
    first = shown[0] if shown else took
    emit({"before_shown_ms": max((g for end, g, _w in gaps if end - g <= first), default=0)
          * 1000,
          "before_window_ms": max((g for _end, g, w in gaps if not w), default=0) * 1000,
          "worst_ms": max((g for _end, g, _w in gaps), default=0) * 1000,
          "shown_s": shown[0] if shown else None, "start_s": took, "cpu_s": cpu,
          "gaps": [[round(end - g, 2), round(g * 1000), w] for end, g, w in gaps]})
    switcher.window.close()
    switcher.close()


def _older_library(work: Path, n: int) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from _table_library import build_library
    from old_libraries import back_to_baseline

    from app.location import LibraryLocation

    source = work / "older"
    build_library(source, n).close()
    back_to_baseline(LibraryLocation(source), stamped=False)
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--older", type=Path, default=None)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--baseline-commit", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--library", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    print_machine(machine())
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = args.older or _older_library(work, args.n)
        print(f"older library: {source}")
        print(f"{'code':<16}{'stall before anything shows (ms)':>34}{'first on screen (s)':>21}"
              f"{'worst behind dialogs (ms)':>27}{'worst (ms)':>12}{'start (s)':>11}"
              f"{'CPU (s)':>9}  "
              "stalls over 100 ms (at s: ms, W: the window being made)")
        for number, (label, tree) in enumerate(code_trees(args.baseline_commit, work)):
            library = work / f"library-{number}"
            shutil.copytree(source, library)
            found = run_child([__file__, "--child", "--tree", str(tree), "--library",
                               str(library)])
            shown = found["shown_s"]
            print(f"{label:<16}{found['before_shown_ms']:>34.0f}"
                  f"{'never' if shown is None else f'{shown:.2f}':>21}"
                  f"{found['before_window_ms']:>27.0f}{found['worst_ms']:>12.0f}"
                  f"{found['start_s']:>11.1f}{found['cpu_s']:>9.1f}  "
                  + ", ".join(f"{at}: {ms}{' W' if w else ''}" for at, ms, w in found["gaps"]))
            shutil.rmtree(library)


if __name__ == "__main__":
    main()
