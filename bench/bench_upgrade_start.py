"""The GUI thread while the app opens a library of an older version at start: the schema
upgrade and its backups (``app.db``) ran on it before anything was on screen. Each tree
opens its own copy of one older library the way ``ui.library_switch.start_app`` does
(``ui.main.open_library_or_explain``), with a 10 ms heartbeat on the GUI thread; noted:
the longest gap between beats (a stall), when the first window or dialog was on screen,
and how long the open took. The work left to finish afterwards (moving builds in, one-time
passes) runs behind its own progress dialog in either tree and is not measured here.

The older library is ``--older`` (a library folder made by an older version, copied for
each tree), else one of ``--n`` conversations made now and turned back into a library of
schema v7 from before Alembic (``tests/old_libraries.back_to_baseline``).

    python bench/bench_upgrade_start.py --baseline-commit main [--older FOLDER | --n 5000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, code_trees, emit, machine, print_machine, run_child, use_code


def _child(args: argparse.Namespace) -> None:
    use_code(args.tree)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "tests"))
    from _heartbeat import Heartbeat
    from PySide6.QtWidgets import QApplication
    from scripted_dialogs import ScriptedDialogs

    from ui.main import open_library_or_explain

    app = QApplication.instance() or QApplication([])
    shown: list[float] = []

    def look() -> None:  # on each beat: is anything of the app's on screen yet?
        if not shown and any(w.isVisible() for w in app.topLevelWidgets()):
            shown.append(time.perf_counter())

    heart = Heartbeat()
    heart._timer.timeout.connect(look)
    heart.reset()
    began = time.perf_counter()
    library = open_library_or_explain(str(args.library), ScriptedDialogs())
    took = time.perf_counter() - began
    app.processEvents()  # the beat after a stall that ended the open
    heart.stop()
    assert library is not None, "the library did not open"
    library.close()
    emit({"worst_ms": heart.worst_ms, "open_s": took,
          "shown_s": shown[0] - began if shown else None})


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
        print(f"{'code':<16}{'worst GUI stall (ms)':>22}{'first on screen (s)':>21}"
              f"{'open (s)':>10}")
        for number, (label, tree) in enumerate(code_trees(args.baseline_commit, work)):
            library = work / f"library-{number}"
            shutil.copytree(source, library)
            found = run_child([__file__, "--child", "--tree", str(tree), "--library",
                               str(library)])
            shown = found["shown_s"]
            print(f"{label:<16}{found['worst_ms']:>22.0f}"
                  f"{'never' if shown is None else f'{shown:.2f}':>21}{found['open_s']:>10.2f}")
            shutil.rmtree(library)


if __name__ == "__main__":
    main()
