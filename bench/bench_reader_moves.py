"""The window's longest stall after each current-row change with the reader open: the real
window (offscreen) on the real fixtures, the current row moved ``--moves`` times, a 10 ms
heartbeat noting the longest gap in the 0.3 s after each move (the move itself included).
Each tree in a child process of its own (``--baseline-commit``: an older commit's code beside
this checkout's, in the same invocation).

    python bench/bench_reader_moves.py --moves 40 --baseline-commit 57f0f27
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, code_trees, emit, machine, print_machine, run_child, use_code

FIXTURES = ROOT / "tests" / "fixtures"


def _child(tree: Path, moves: int, folder: Path) -> None:
    use_code(tree)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from _heartbeat import Heartbeat, bench_window, spin
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QApplication

    from app.importer import import_paths
    from app.library import Library

    QApplication.instance() or QApplication([])
    library = Library(folder / "library")
    import_paths(library, [FIXTURES / "enriched", FIXTURES / "legacy"])
    window = bench_window(library, folder)
    spin(1.0)
    heart = Heartbeat()
    table, model = window.conversations.table, window.conversations.model
    stalls = []
    for move in range(moves):
        spin(0.25)
        heart.reset()
        table.selectionModel().setCurrentIndex(
            model.index(move % model.rowCount(), 1),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        spin(0.3)
        stalls.append(heart.worst_ms)
    heart.stop()
    emit({"median": statistics.median(stalls), "worst": max(stalls),
          "over_100": sum(s > 100 for s in stalls)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--baseline-commit", default=None)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.tree, args.moves, args.child)
        return
    print_machine(machine())
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        trees = code_trees(args.baseline_commit, work)
        print(f"{args.moves} moves of the current row, the reader open (the fixtures)")
        print(f"{'code':<16}{'median (ms)':>13}{'worst (ms)':>12}{'over 100 ms':>13}")
        for n, (label, tree) in enumerate(trees):
            (work / f"run-{n}").mkdir()
            found = run_child([__file__, "--child", str(work / f"run-{n}"), "--tree",
                               str(tree), "--moves", str(args.moves)])
            print(f"{label:<16}{found['median']:>13.0f}{found['worst']:>12.0f}"
                  f"{found['over_100']:>10} of {args.moves}")


if __name__ == "__main__":
    main()
