"""What the writer processes of the team-library concurrency tests do (``spawn`` children
import this module by name, so it holds no test and needs no fixture)."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from app.importer import import_paths
from app.library import Library
from app.trainingfiles import add_conversations, remove_conversations


def _report(results: Any, who: str, job: Any) -> None:
    try:
        results.put((who, job()))
    except BaseException:  # the parent fails the test with it
        results.put((who, "failed: " + traceback.format_exc()))


def add_one_by_one(url: str, name: str, ids: list[str], start: Any, results: Any) -> None:
    """Add each conversation to ``name`` in a change of its own, all at once with others."""
    def job() -> int:
        with Library.open(url) as library:
            start.wait(60)
            for cid in ids:
                add_conversations(library, name, [cid])
        return len(ids)
    _report(results, f"adder {ids[0]}", job)


def import_folder(url: str, folder: str, start: Any, results: Any) -> None:
    """Import ``folder`` at the same moment as other processes import it too."""
    def job() -> tuple[int, int, int]:
        with Library.open(url) as library:
            start.wait(60)
            report = import_paths(library, [Path(folder)], workers=1)
        return report.imported, report.duplicates, report.rejected
    _report(results, "importer", job)


def rebuild_back_and_forth(url: str, name: str, ids: list[str], rounds: int, start: Any,
                           results: Any) -> None:
    """Take ``ids`` out of ``name`` and put them back, ``rounds`` times: every change is a
    new build that replaces the last one."""
    def job() -> int:
        with Library.open(url) as library:
            start.wait(60)
            for _ in range(rounds):
                remove_conversations(library, name, ids)
                add_conversations(library, name, ids)
        return rounds
    _report(results, "rebuilder", job)
