"""What the child processes of the team-library race tests do (``spawn`` children import
this module by name, so it holds no test and needs no fixture).

A child stops at a chosen point of its build (``paused`` set) until the test lets it go
on (``go``), so another process can act at exactly that point: while it renders, or
inside its switch transaction (after its member rows are written, before the commit).
"""

from __future__ import annotations

import traceback
from typing import Any

from app import trainingfiles
from app.library import Library
from app.trainingfiles import add_conversations

WAIT = 300  # seconds a paused child waits for the test at most


def _report(results: Any, who: str, job: Any) -> None:
    try:
        results.put((who, job()))
    except BaseException:  # the parent fails the test with it
        results.put((who, "failed: " + traceback.format_exc()))


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
