"""What the files page's saved-copies line costs on the GUI thread for a large file, beside
how it was done before revision 0007, measured in the same run on the same library.

A JSONL copy is saved, then the file is rebuilt from scratch (the same lines, a new
revision, the same size): whether the copy still matches then takes the sha256 of the
stored JSONL. Before 0007 the line read the whole build through sha256 on the GUI thread
(once per revision per process: the cache is emptied before each run, as after a start or
a rebuild); now the build stores it (``app.stored_builds.hash_for_saved_copies``) and the
line reads one row. Also shown: what the build pays for storing it (the same read, in the
build's own process), and the one-off lazy read of a build made before 0007 (a worker).
The library is built as ``bench_table.py`` builds it (real fixtures imported, then cloned
in SQL), its file made of all of it.

Usage::

    QT_QPA_PLATFORM=offscreen python bench/bench_saved_check.py [--runs 5] [--n 4000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import machine, print_machine  # noqa: E402
from _table_library import build_library  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from app import saved_copies as copies_module  # noqa: E402
from app.export import ExportFormat, export  # noqa: E402
from app.library import Library  # noqa: E402
from app.models import TrainingFile  # noqa: E402
from app.saved_copies import CopyState, saved_copies  # noqa: E402
from app.stored_builds import hash_for_saved_copies  # noqa: E402
from app.trainingfiles import add_conversations, rebuild_training_files  # noqa: E402

NAME = "Everything"


def timed(runs: int, step: Callable[[], object], before: Callable[[], object] = lambda: None
          ) -> float:
    """The median of ``runs`` times of ``step`` (``before`` untimed), in milliseconds."""
    times = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def forget(library: Library) -> None:
    """The build's sha256 as before 0007: stored nowhere, remembered by no process."""
    with library.session() as session, session.begin():
        session.execute(update(TrainingFile).values(json_sha256=None, jsonl_sha256=None))
    copies_module._digests.clear()


def jsonl_state(library: Library, hash_missing: bool) -> CopyState:
    (state,) = [c.state for c in saved_copies(library, NAME, hash_missing=hash_missing)
                if c.export_format == "jsonl"]
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=4000)
    args = parser.parse_args(argv)
    print_machine(machine())
    with tempfile.TemporaryDirectory() as tmp:
        library = build_library(Path(tmp) / "library", args.n)
        ids = [row.conversation_id for row in library.summaries()]
        start = time.perf_counter()
        add_conversations(library, NAME, ids, create=True)
        print(f"built '{NAME}' of {len(ids):,} conversations in "
              f"{time.perf_counter() - start:.1f} s")
        saved = Path(tmp) / "saved"
        saved.mkdir()
        export(library, NAME, ExportFormat.JSONL, saved / f"{NAME}.jsonl")
        rebuild_training_files(library, [NAME], from_scratch=True)  # same lines, new revision
        with library.session() as session:
            file_id, jsonl_bytes, json_bytes = session.execute(
                select(TrainingFile.file_id, TrainingFile.jsonl_bytes,
                       TrainingFile.json_bytes)).one()
        print(f"JSONL {jsonl_bytes / 1e6:.1f} MB, full JSON {json_bytes / 1e6:.1f} MB")
        assert jsonl_state(library, hash_missing=False) is CopyState.CURRENT

        now = timed(args.runs, lambda: jsonl_state(library, hash_missing=False))
        before = timed(args.runs, lambda: jsonl_state(library, hash_missing=True),
                       lambda: forget(library))
        stored = timed(args.runs, lambda: hash_for_saved_copies(
            library.engine, library.session, file_id, NAME), lambda: forget(library))
        print(f"{'':44}{'ms (median of ' + str(args.runs) + ')':>20}")
        print(f"{'GUI thread, before 0007 (reads the build)':44}{before:>20.1f}")
        print(f"{'GUI thread, now (reads the stored sha256)':44}{now:>20.1f}")
        print(f"{'build job, storing it after its switch':44}{stored:>20.1f}")
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
