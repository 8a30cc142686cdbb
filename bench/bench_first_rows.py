"""How long a person waits, from the app's start, for a large library's rows: the window
shown, then the rows on screen (the first read runs in a child). ``bench/bench_table.py``
times the window's construction alone, which only starts that read. Each code tree in a
child process of its own, alternating, in one invocation, on one library made once (or a
copy of ``--library`` with the settings a window restores):

    python bench/bench_first_rows.py --n 30000 --runs 3 --baseline-commit main
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import (  # noqa: E402
    RESULT_PREFIX,
    code_trees,
    fmt,
    machine,
    median,
    print_machine,
    run_child,
)


def child(code: Path, library_folder: Path) -> None:
    """In ``code``'s tree, as the command starts the app: the window's imports, the
    library, the window, its rows."""
    began = time.perf_counter()
    sys.path.insert(0, str(code))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.job_process import end_spare
    from app.library import Library
    from ui.main import MainWindow
    from ui.snapshot import QuietDialogs

    app = QApplication.instance() or QApplication(sys.argv[:1])
    library = Library.open(library_folder)
    window = MainWindow(library, QuietDialogs(),
                        QSettings(str(library_folder.parent / "settings.ini"),
                                  QSettings.Format.IniFormat))
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    shown = time.perf_counter() - began
    page = window.conversations
    while page.model.rowCount() == 0 and time.perf_counter() - began < 120:
        app.processEvents()
        time.sleep(0.005)
    rows = time.perf_counter() - began
    print(RESULT_PREFIX + json.dumps({"shown": round(shown, 2), "rows": round(rows, 2),
                                      "count": page.model.rowCount()}), flush=True)
    window.close()
    app.processEvents()
    library.close()
    end_spare()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-commit", default="main")
    parser.add_argument("--library", type=Path, default=None,
                        help="copy this library folder (and a settings.ini beside it: the "
                             "sort and filters a window restores) instead of making one")
    parser.add_argument("--child", nargs=2, metavar=("CODE", "LIBRARY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return 0
    print_machine(machine())
    found: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        made = Path(tmp) / "made" / "library"
        if args.library:
            shutil.copytree(args.library, made)
            if (args.library.parent / "settings.ini").exists():
                shutil.copy(args.library.parent / "settings.ini", made.parent)
        else:
            from _table_library import build_library
            build_library(made, args.n).close()
        trees = code_trees(args.baseline_commit, Path(tmp))
        for run in range(args.runs):
            for label, code in trees:
                copy = Path(tmp) / f"{label.split()[0]}-{run}" / "library"
                shutil.copytree(made, copy)
                if (made.parent / "settings.ini").exists():
                    shutil.copy(made.parent / "settings.ini", copy.parent)
                result = run_child([__file__, "--child", str(code), str(copy)])
                print(f"run {run + 1} {label}: {result}", flush=True)
                for key in ("shown", "rows"):
                    found.setdefault(label, {}).setdefault(key, []).append(result[key])
    labels = [label for label, _code in trees]
    print(f"\nSeconds from the start, median of {args.runs} runs, {args.n:,} conversations:")
    print(f"  {'':<28}" + "".join(f"{label:>18}" for label in labels))
    for key, said in (("shown", "window shown"), ("rows", "rows on screen")):
        print(f"  {said:<28}" + "".join(
            f"{fmt(median(found[label][key]), '.2f'):>18}" for label in labels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
