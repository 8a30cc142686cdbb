"""Jobs a test can hold part-way, deterministically, in a child process as in a thread.

A child cannot wait on the test's ``threading.Event``, so these wait for a file: the job
says where it stands by creating ``<gate>.held``, then waits until ``gate`` exists or it is
cancelled, exactly where a real job would next look at its cancel flag.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.build import BuildCancelled
from app.importer import ImportReport, import_paths
from app.library import Library
from app.trainingfiles import TrainingFileInfo

Progress = Callable[[int, int, str], None]
HELD_FOR = 60.0  # seconds at most a held job waits


def held_import(library: Library, paths: Sequence[Path], batch: str | None = None, *,
                gate: str, progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None) -> ImportReport:
    """The real import, held after its first file until ``gate`` exists or it is
    cancelled (``ui.import_flow`` calls it as ``import_paths``)."""
    def held(done: int, total: int, current: str) -> None:
        if progress is not None:
            progress(done, total, current)
        if done == 1:
            Path(f"{gate}.held").touch()
            while not Path(gate).exists() and not (cancelled and cancelled()):
                time.sleep(0.01)

    return import_paths(library, paths, batch, progress=held, cancelled=cancelled)


def held_rebuild(library: Library, names: Sequence[str], *, gate: str,
                 progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> list[str]:
    """A rebuild held before its first file until ``gate`` exists (then it rebuilds) or it
    is cancelled (then it stops as the real one does at its next look: ``BuildCancelled``)."""
    from app.trainingfiles import rebuild_training_files

    Path(f"{gate}.held").touch()
    while not Path(gate).exists():
        if cancelled and cancelled():
            raise BuildCancelled()
        time.sleep(0.01)
    return rebuild_training_files(library, names, progress, cancelled)


def held_batch_rename(library: Library, old: str, new: str, *, gate: str,
                      progress: Progress | None = None,
                      cancelled: Callable[[], bool] | None = None) -> tuple[list[str], Any]:
    """The real batch rename, held after its write (committed: other readers see the new
    name) until ``gate`` exists, so its announcement comes after whatever a test does
    meanwhile (``ui.batch_flow`` calls it as ``batch_jobs.rename_batch``)."""
    from app.batch_jobs import rename_batch

    result = rename_batch(library, old, new, progress, cancelled)
    Path(f"{gate}.held").touch()
    while not Path(gate).exists() and not (cancelled and cancelled()):
        time.sleep(0.01)
    return result


def held_file_rename(library: Library, old: str, new: str, progress: Progress | None = None,
                     cancelled: Callable[[], bool] | None = None, *,
                     gate: str) -> TrainingFileInfo:
    """The real training-file rename, held after its write (committed: a read of the rows
    sees the new name) until ``gate`` exists, so its announcement comes after whatever a
    test does meanwhile (``ui.training_files_page`` calls it as ``rename_training_file``)."""
    from app.trainingfiles import rename_training_file

    info = rename_training_file(library, old, new, progress, cancelled)
    Path(f"{gate}.held").touch()
    while not Path(gate).exists() and not (cancelled and cancelled()):
        time.sleep(0.01)
    return info


def held_finish(library: Library, *, gate: str, progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None) -> tuple[list[str], bool]:
    """The real finishing at start (``app.recovery.finish_for_a_window``), held at its
    first look at Cancel after one build from before v6 was moved in, until ``gate``
    exists or it is cancelled: a test presses Cancel between the two moves."""
    from app.recovery import files_built_on_disk, finish_for_a_window

    before = len(files_built_on_disk(library))
    held = [False]

    def looked() -> bool:
        if not held[0] and len(files_built_on_disk(library)) < before:
            held[0] = True
            Path(f"{gate}.held").touch()
            until = time.monotonic() + HELD_FOR  # a test that never answers fails, not hangs
            while not Path(gate).exists() and not (cancelled and cancelled()) \
                    and time.monotonic() < until:
                time.sleep(0.01)
        return bool(cancelled and cancelled())

    return finish_for_a_window(library, progress, looked)


def finish_on_a_full_disk(library: Library, progress: Progress | None = None,
                          cancelled: Callable[[], bool] | None = None
                          ) -> tuple[list[str], bool]:
    """The real finishing at start, in a child whose disk is full when a build is moved
    in (as a test would make it in its own process: ``move_into_database`` fails)."""
    from app import recovery

    def full_disk(_library: Library, _name: str) -> bool:
        raise OSError(28, "No space left on device")

    recovery.move_into_database = full_disk  # type: ignore[assignment]
    return recovery.finish_for_a_window(library, progress, cancelled)
