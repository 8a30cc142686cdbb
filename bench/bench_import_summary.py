"""The import summary dialog with 10,000 or 100,000 entries: what the GUI thread spends
building it, showing it (its first paint), and scrolling to its end and painting there;
and building it from lines made ahead (on the import's worker thread), where the
checkout does that.

The entries are rejected files, each listed on its own with a reason long enough to wrap
(a dropped folder of broken exports: the case the summary cannot group), beside 10,000
imported files in 10 folders (grouped into 10 lines). The same script runs against any
checkout (``--root``, e.g. an export of main) as long as its ``ImportSummaryDialog`` takes
a report: run both in one invocation with ``--compare``.

Usage::

    QT_QPA_PLATFORM=offscreen python bench/bench_import_summary.py [--runs 5]
        [--entries 10000 100000] [--compare /tmp/main-export]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REASON = ("line 1, column 39: not valid JSON: a text value starts here and never ends "
          "(truncated file?), near «t_metadata»: {\"dataset_name\": \"cut off»; copy or save "
          "the whole file again")


def measure(root: Path, entries: int, runs: int) -> dict[str, float]:
    """Median milliseconds of each step, in this process, with ``root``'s code."""
    sys.path.insert(0, str(root))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.importer import FileVerdict, ImportReport, Verdict
    from ui.import_flow import ImportSummaryDialog

    app = QApplication.instance() or QApplication([])
    report = ImportReport(batches_created=[f"delivery/batch-{n:03}" for n in range(10)])
    report.verdicts += [FileVerdict(f"/drop/exports-{n % 50}/broken-export-{n}.json",
                                    Verdict.REJECTED, REASON) for n in range(entries)]
    report.verdicts += [FileVerdict(f"/drop/delivery/batch-{n % 10:03}/{n}.json",
                                    Verdict.IMPORTED, "", f"c{n}", f"batch-{n % 10:03}")
                        for n in range(10_000)]
    steps: dict[str, list[float]] = {"build": [], "first paint": [], "end, painted": []}
    try:  # a checkout whose window makes the lines on the import's worker thread
        from ui.import_flow import summarise
        ahead = summarise(report)
        steps["build, lines made ahead"] = []
    except ImportError:
        ahead = None
    for _ in range(runs):
        if ahead is not None:
            start = time.perf_counter()
            ImportSummaryDialog(report, None, ahead).deleteLater()  # type: ignore[call-arg]
            steps["build, lines made ahead"].append((time.perf_counter() - start) * 1000)
            app.processEvents()
        start = time.perf_counter()
        dialog = ImportSummaryDialog(report)
        built = time.perf_counter()
        dialog.resize(720, 420)
        dialog.show()
        app.processEvents()
        dialog.grab()
        shown = time.perf_counter()
        dialog.details.verticalScrollBar().setValue(dialog.details.verticalScrollBar().maximum())
        app.processEvents()
        dialog.grab()
        ended = time.perf_counter()
        steps["build"].append((built - start) * 1000)
        steps["first paint"].append((shown - built) * 1000)
        steps["end, painted"].append((ended - shown) * 1000)
        dialog.close()
        dialog.deleteLater()
        app.processEvents()
    return {step: statistics.median(times) for step, times in steps.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--entries", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--compare", type=Path,
                        help="another checkout: each size is measured there and here, "
                             "alternately, each in a fresh process")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child's single size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.root, args.one, args.runs)))
        return 0
    roots = [("this", args.root)] + ([("compare", args.compare)] if args.compare else [])
    print(f"median of {args.runs} runs, ms on the GUI thread; {sys.version.split()[0]}")
    for entries in args.entries:
        for name, root in roots:
            out = subprocess.run(
                [sys.executable, __file__, "--root", str(root), "--one", str(entries),
                 "--runs", str(args.runs)], capture_output=True, text=True, check=True,
                cwd="/", env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
            result = json.loads(out.stdout.strip().splitlines()[-1])
            shown = "  ".join(f"{step} {ms:8.1f}" for step, ms in result.items())
            print(f"{entries:>7,} entries  {name:<8} {root}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
