"""The child processes of the team-library concurrency and race tests, and how a test
runs them (``spawn`` children import this module by name, so it holds no test and needs
no fixture).

Writers start together (a barrier) and report what they did; a racer stops at a chosen
point of its build (``paused`` set) until the test lets it go on (``go``), so another
process can act at exactly that point: while it renders, or inside its switch transaction
(after its member rows are written, before the commit). A child's failure comes back as
text starting with "failed" and fails the test.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path
from typing import Any

from app import trainingfiles
from app.importer import import_paths
from app.library import Library
from app.trainingfiles import add_conversations, remove_conversations

SPAWN = multiprocessing.get_context("spawn")
DEADLINE = 300  # seconds for a child to report (a loaded machine: each starts Python)
WAIT = 300  # seconds a paused child waits for the test at most


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


def _pause_while_rendering(at: int, paused: Any, go: Any) -> Any:
    """A progress callback that stops the build once ``at`` conversations are rendered."""
    def progress(done: int, _total: int, _current: str) -> None:
        if done >= at and not paused.is_set():
            paused.set()
            go.wait(WAIT)
    return progress


def _pause_in_switch(paused: Any, go: Any) -> None:
    """Stop in the switch transaction, after the member rows are written (the last step
    before the commit drops the fragments the file no longer uses)."""
    original = trainingfiles.drop_unreferenced

    def pausing(*args: Any, **kwargs: Any) -> int:
        if not paused.is_set():
            paused.set()
            go.wait(WAIT)
        return original(*args, **kwargs)

    trainingfiles.drop_unreferenced = pausing  # type: ignore[assignment]


def add_paused_rendering(url: str, name: str, ids: list[str], create: bool, at: int,
                         spill_every: bool, paused: Any, go: Any, results: Any) -> None:
    """Add ``ids`` to ``name`` (creating it with ``create``), stopping after ``at`` are
    rendered; ``spill_every``: each rendered fragment is stored at once, before the
    switch (as a build larger than ``SPILL_BYTES`` does)."""
    def job() -> list[str]:
        if spill_every:
            trainingfiles.SPILL_BYTES = 0
        with Library.open(url) as library:
            add_conversations(library, name, ids, create=create,
                              progress=_pause_while_rendering(at, paused, go))
            return trainingfiles.member_ids(library, name)
    _report(results, f"adder to {name}", job)


def add_paused_in_switch(url: str, name: str, ids: list[str], paused: Any, go: Any,
                         results: Any) -> None:
    """Add ``ids`` to ``name``, stopping inside the switch transaction."""
    def job() -> list[str]:
        _pause_in_switch(paused, go)
        with Library.open(url) as library:
            add_conversations(library, name, ids)
            return trainingfiles.member_ids(library, name)
    _report(results, f"adder to {name}", job)


def create_file(url: str, name: str, ids: list[str], start: Any, results: Any) -> None:
    """Create ``name`` with ``ids`` at the same moment as other processes create theirs."""
    def job() -> list[str]:
        with Library.open(url) as library:
            start.wait(60)
            add_conversations(library, name, ids, create=True)
            return trainingfiles.member_ids(library, name)
    _report(results, f"creator of {name}", job)


# --- the test's side ---------------------------------------------------------------------


def _failed(outcome: Any) -> bool:
    return isinstance(outcome, str) and outcome.startswith("failed")


def stop(process: Any) -> None:
    process.join(timeout=60)
    if process.is_alive():
        process.kill()


def run_together(jobs: list[tuple[Any, tuple[Any, ...]]]) -> list[tuple[str, Any]]:
    """Start every job in its own process; they begin together (a barrier); return what
    each reported. A job that failed or never finished fails the test."""
    start = SPAWN.Barrier(len(jobs))
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(*args, start, results))
                 for target, args in jobs]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=DEADLINE) for _ in processes]
    finally:
        for process in processes:
            stop(process)
    failed = [outcome for _, outcome in reports if _failed(outcome)]
    assert not failed, failed[0]
    return reports


def run_in_child(target: Any, *args: Any) -> Any:
    """What one job returned, run in a process of its own."""
    ((_, outcome),) = run_together([(target, args)])
    return outcome


class Paused:
    """A child process stopped at a point of its build until ``go()``."""

    def __init__(self, target: Any, *args: Any) -> None:
        self.paused, self.proceed = SPAWN.Event(), SPAWN.Event()
        self.results = SPAWN.Queue()
        self.process = SPAWN.Process(target=target,
                                     args=(*args, self.paused, self.proceed, self.results))
        self.process.start()

    def wait_paused(self) -> None:
        while not self.paused.wait(1):
            assert self.process.is_alive() or not self.results.empty(), "the child died"
            if not self.results.empty():
                raise AssertionError(f"the child ended before its pause: "
                                     f"{self.results.get()}")

    def go(self) -> Any:
        """Let it finish; what it returned (a failure fails the test)."""
        self.proceed.set()
        _, outcome = self.results.get(timeout=DEADLINE)
        assert not _failed(outcome), outcome
        return outcome

    def end(self) -> None:
        self.proceed.set()
        stop(self.process)
