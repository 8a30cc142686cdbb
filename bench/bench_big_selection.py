"""What a person pays, window frozen, acting on a large selection: Space on every row of
the Conversations table selected (checks them, then again unchecks them), and Ctrl+A on
a training file's members (the list and its heading painted after). Each code tree in a
child process of its own, the baseline unpacked from git, alternating, in one invocation:

    python bench/bench_big_selection.py --n 10000 --runs 3 --baseline-commit main
"""

from __future__ import annotations

import argparse
import json
import os
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

STEPS = ("space checks all selected", "space unchecks them", "ctrl+a on the file's members")


def child(code: Path, folder: Path, n: int) -> None:
    """In ``code``'s tree: a library of ``n`` with a file of all, the window, the steps."""
    sys.path.insert(0, str(code))
    from _table_library import build_library
    from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.trainingfiles import add_conversations
    from ui.main import MainWindow
    from ui.snapshot import QuietDialogs

    app = QApplication.instance() or QApplication(sys.argv[:1])
    library = build_library(folder / "library", n)
    add_conversations(library, "everyone",
                      [row.conversation_id for row in library.summaries()], create=True)
    window = MainWindow(library, QuietDialogs(),
                        QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1400, 860)
    window.show()
    settle_until = time.perf_counter() + 6  # the first reads and the token counts settle
    while time.perf_counter() < settle_until:
        app.processEvents()
        time.sleep(0.01)

    def frozen_ms(action: object) -> float:
        began = time.perf_counter()
        action()  # type: ignore[operator]
        window.repaint()
        app.processEvents()
        return round((time.perf_counter() - began) * 1000, 1)

    table = window.conversations.table
    model = table.model()
    table.selectionModel().select(
        QItemSelection(model.index(0, 0), model.index(model.rowCount() - 1,
                                                      model.columnCount() - 1)),
        QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    app.processEvents()
    table.setFocus()
    result = {STEPS[0]: frozen_ms(lambda: QTest.keyClick(table, Qt.Key.Key_Space))}
    checked = model.checked_count
    result[STEPS[1]] = frozen_ms(lambda: QTest.keyClick(table, Qt.Key.Key_Space))
    result["checked"] = checked
    window.pages.setCurrentIndex(1)
    page = window.training_files
    until = time.perf_counter() + 30
    while page.members_model.rowCount() == 0 and time.perf_counter() < until:
        app.processEvents()
        time.sleep(0.01)
    page.members.setFocus()
    app.processEvents()
    result[STEPS[2]] = frozen_ms(page.members.selectAll)
    result["members"] = page.members_model.rowCount()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    window.close()
    library.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-commit", default="main")
    parser.add_argument("--child", nargs=2, metavar=("CODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.n)
        return 0
    print_machine(machine())
    found: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = code_trees(args.baseline_commit, Path(tmp))
        for run in range(args.runs):
            for label, code in trees:
                result = run_child([__file__, "--n", str(args.n), "--child", str(code),
                                    str(Path(tmp) / f"{label.split()[0]}-{run}")])
                print(f"run {run + 1} {label}: {result}", flush=True)
                for step in STEPS:
                    found.setdefault(label, {}).setdefault(step, []).append(result[step])
    labels = [label for label, _code in trees]
    print(f"\nWindow frozen (ms), median of {args.runs} runs, {args.n:,} conversations, "
          "all selected:")
    print(f"  {'step':<32}" + "".join(f"{label:>18}" for label in labels))
    for step in STEPS:
        print(f"  {step:<32}" + "".join(
            f"{fmt(median(found[label][step]), '.0f'):>18}" for label in labels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
