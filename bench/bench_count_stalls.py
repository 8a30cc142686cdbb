"""The window's stalls while the background token count runs in a large library: a library
of ``--n`` conversations none of which is counted for the tokenizer in use (as after a
command-line import, or a change of tokenizer), opened in the real window (offscreen), which
counts them all; optionally ``--import`` more files while it does. A 10 ms heartbeat on the
GUI thread notes every gap over 100 ms until the count and the table's reads have ended.

Each tree runs in a child process of its own (``--baseline-commit``: an older commit's code
beside this checkout's, in the same invocation), on its own copy of one library.

    python bench/bench_count_stalls.py --n 100000 --baseline-commit 7e31611 [--import 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    bench_corpus,
    code_trees,
    corpus_files,
    emit,
    machine,
    print_machine,
    run_child,
    use_code,
)

GAP_S = 0.1


def _uncounted_copy(source: Path, target: Path) -> None:
    """``source``'s library with every count made for another tokenizer: none counts."""
    shutil.copytree(source, target)
    with sqlite3.connect(target / "library.sqlite3") as db:
        db.execute("UPDATE conversations SET token_basis = 'another tokenizer'")


def _child(args: argparse.Namespace) -> None:
    use_code(args.tree)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "tests"))
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from scripted_dialogs import ScriptedDialogs

    from app.library import Library
    from ui.main import MainWindow
    from ui.tasks import jobs_of

    app = QApplication.instance() or QApplication([])
    library = Library(args.library)
    settings = QSettings(str(args.library.parent / f"{args.library.name}.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(library, ScriptedDialogs(), settings)  # type: ignore[arg-type]
    window.resize(1200, 760)
    window.show()
    began = last = time.perf_counter()
    gaps: list[float] = []

    def beat() -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last > GAP_S:
            gaps.append(now - last)
        last = now

    heart = QTimer()
    heart.timeout.connect(beat)
    heart.start(10)
    counts = window.token_counts
    imported = False

    def busy() -> bool:
        return bool(counts.pending or window.conversations.loading or jobs_of(window))

    deadline = began + args.limit
    quiet_since: float | None = None
    while time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.002)
        now = time.perf_counter()
        if args.import_files and not imported and now - began > 3:
            window.importer.start(args.import_files, ask_batch=False)
            imported = True
        if busy() or (args.import_files and not imported):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since > 3:  # settled: nothing counted or read for 3 s
            break
    settled = (quiet_since or time.perf_counter()) - began
    heart.stop()
    counted = sum(1 for count, _budget in library.token_facts().values() if count)
    emit({"gaps": len(gaps), "worst_ms": max(gaps, default=0) * 1000,
          "over_200": sum(g > 0.2 for g in gaps), "settled_s": settled,
          "counted": counted, "total": library.count()})
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--import", dest="import_n", type=int, default=0)
    parser.add_argument("--baseline-commit", default=None)
    parser.add_argument("--limit", type=float, default=600.0, help="seconds per run at most")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--library", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.import_files = (json.loads(args.files.read_text()) if args.files else [])
        args.import_files = [Path(p) for p in args.import_files]
        _child(args)
        return
    print_machine(machine())
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        from _table_library import build_library

        build_library(work / "source", args.n).close()
        trees = code_trees(args.baseline_commit, work)
        files_arg: list[str] = []
        if args.import_n:
            listed = work / "files.json"
            listed.write_text(json.dumps([str(p) for p in corpus_files(
                bench_corpus(args.import_n, seed=7))]))
            files_arg = ["--files", str(listed)]
        print(f"{args.n:,} conversations, none counted"
              + (f"; {args.import_n:,} files imported 3 s after the window opens"
                 if args.import_n else ""))
        print(f"{'code':<16}{'gaps >100 ms':>14}{'>200 ms':>9}{'worst (ms)':>12}"
              f"{'settled (s)':>13}{'counted':>16}")
        for label, tree in trees:
            library = work / f"library-{len(label)}-{tree.name}"
            _uncounted_copy(work / "source", library)
            found = run_child([__file__, "--child", "--tree", str(tree), "--library",
                               str(library), "--limit", str(args.limit), *files_arg])
            print(f"{label:<16}{found['gaps']:>14}{found['over_200']:>9}"
                  f"{found['worst_ms']:>12.0f}{found['settled_s']:>13.1f}"
                  f"{found['counted']:>8,} of {found['total']:,}")


if __name__ == "__main__":
    main()
