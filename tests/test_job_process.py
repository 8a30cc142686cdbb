"""Long jobs in a child process (app/job_process.py): the same bytes as a build here, the
caller's lock shared with its own child only, Cancel that ends the child, errors that come
back as themselves or as sentences, and no child left behind by a killed parent.
Real processes, a real library, real files."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from child_process import python_child
from conftest import addable
from test_import_pool import alive, children_of
from test_incremental import assert_same_as_full_rebuild

from app import batch_jobs, job_process
from app.build import BuildCancelled
from app.errors import LibraryError
from app.failures import bug_report
from app.job_process import ChildFailed, run_in_child
from app.library import Library
from app.lock import LibraryLock, LibraryLocked
from app.removal import apply_removal, plan_removal
from app.trainingfiles import apply_addition, member_ids, plan_addition, rebuild_training_files

ROOT = Path(__file__).resolve().parents[1]
OPEN = Library.under_parent_lock
ON_BOTH = pytest.mark.usefixtures("backend")  # a library folder and a team library


# --- jobs the children run (module level: a spawned child imports them by name) ----------

def say_pid(marker: str) -> None:
    """Write this process's id to ``marker`` whole (a new file, then renamed): a test sees
    the marker exist and reads it at once, and a child that lost its core between making
    the file and writing it was read as '' (``int('')``: ValueError)."""
    part = Path(f"{marker}.part")
    part.write_text(str(os.getpid()))
    part.replace(marker)


def wait_for_cancel(library: Library, marker: str, progress: Any, cancelled: Any) -> None:
    say_pid(marker)
    while not cancelled():
        progress(1, 2, "waiting")
        time.sleep(0.02)
    raise BuildCancelled()


def ignore_cancel(library: Library, marker: str, progress: Any, cancelled: Any) -> None:
    say_pid(marker)
    while True:
        progress(1, 2, "not listening")
        time.sleep(0.02)


class Unbuildable(Exception):
    """Pickles, but cannot be rebuilt from its arguments."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a} and {b}")


def raise_unbuildable(library: Library, progress: Any, cancelled: Any) -> None:
    raise Unbuildable("one", "two")


def pid_and_count(library: Library, progress: Any, cancelled: Any) -> tuple[int, int]:
    return os.getpid(), library.count()


def no_children_left() -> bool:
    deadline = time.monotonic() + 30
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


# --- tests ------------------------------------------------------------------------------

@ON_BOTH
def test_a_build_in_a_child_writes_what_a_build_here_writes(filled_library: Library) -> None:
    ids = addable([row.conversation_id for row in filled_library.summaries()
                   if row.trainable_replies])
    plan = plan_addition(filled_library, "From a child", ids, create=True)
    seen: list[tuple[int, int, str]] = []
    info = run_in_child(apply_addition, filled_library.location, plan, opener=OPEN,
                        progress=lambda *step: seen.append(step))
    assert info.name == "From a child" and info.conversations == len(ids)
    assert seen and seen[-1][0] == seen[-1][1], "the child reports its progress"
    assert member_ids(filled_library, "From a child") == ids  # this process sees the change
    assert_same_as_full_rebuild(filled_library, "From a child")
    assert no_children_left()


@ON_BOTH
def test_the_child_runs_elsewhere_on_the_same_library(filled_library: Library) -> None:
    pid, count = run_in_child(pid_and_count, filled_library.location, opener=OPEN)
    assert pid != os.getpid()
    assert count == filled_library.count() > 0


@ON_BOTH
def test_a_batch_rename_and_a_move_in_a_child_name_the_files_to_rebuild(
    filled_library: Library,
) -> None:
    ids = [row.conversation_id for row in filled_library.summaries() if row.trainable_replies]
    apply_addition(filled_library, plan_addition(filled_library, "Held", ids[:2], create=True))
    (old,) = [info.batch_id for info in filled_library.batches()]
    stale, _undo = run_in_child(batch_jobs.rename_batch, filled_library.location, old,
                                "renamed", opener=OPEN)
    assert stale == ["Held"]
    assert [info.batch_id for info in filled_library.batches()] == ["renamed"]
    moved, stale, _undo = run_in_child(batch_jobs.move_conversations,
                                       filled_library.location, ids[:1], "elsewhere",
                                       opener=OPEN)
    assert (moved, stale) == (1, ["Held"])
    batch_of = {row.conversation_id: row.batch_id for row in filled_library.summaries()}
    assert (batch_of[ids[0]], batch_of[ids[1]]) == ("elsewhere", "renamed")
    rebuild_training_files(filled_library, stale)
    assert_same_as_full_rebuild(filled_library, "Held")
    assert no_children_left()


def test_only_the_lock_holders_own_children_may_write_under_its_lock(
    library: Library, tmp_path: Path
) -> None:
    # In this process: a second handle on the lock file conflicts, as another process's
    # would; it may borrow the lock only when the holder is the one named.
    with pytest.raises(LibraryLocked):
        LibraryLock(library.root).acquire_or_borrow(os.getpid() + 1)
    LibraryLock(library.root).acquire_or_borrow(os.getpid())
    # Another program that is not our child is refused as before.
    code = ("import sys; from pathlib import Path; from app.library import Library\n"
            "try:\n    Library.under_parent_lock(Path(sys.argv[1]))\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)\n")
    with python_child(code, str(library.root)) as child:
        out, err = child.communicate(timeout=120)
    assert out.decode().startswith("LibraryLocked"), (out, err)


def test_cancel_stops_the_child(library: Library, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    asked = [False]

    def cancelled() -> bool:
        asked[0] = asked[0] or marker.exists()
        return asked[0]

    with pytest.raises(BuildCancelled):
        run_in_child(wait_for_cancel, library.root, str(marker), opener=OPEN,
                     cancelled=cancelled)
    assert not alive(int(marker.read_text()))
    assert no_children_left()


def test_a_child_that_ignores_cancel_is_ended(library: Library, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with pytest.raises(BuildCancelled):
        run_in_child(ignore_cancel, library.root, str(marker), opener=OPEN,
                     cancelled=marker.exists,
                     grace=0.5)
    assert not alive(int(marker.read_text()))
    assert no_children_left()


def errors_come_back_as_themselves(library: Library) -> None:
    """A library error a job raises comes back as itself; one that cannot be rebuilt
    comes back as ChildFailed with its text (the spare's tests call this too)."""
    ids = [row.conversation_id for row in library.summaries() if row.trainable_replies]
    plan = plan_addition(library, "Gone", ids[:1], create=True)
    apply_removal(library, plan_removal(library, ids[:1]))  # since the plan
    with pytest.raises(LibraryError, match="nothing to add"):
        run_in_child(apply_addition, library.location, plan, opener=OPEN)
    with pytest.raises(ChildFailed, match="Unbuildable: one and two"):
        run_in_child(raise_unbuildable, library.location, opener=OPEN)


def test_a_locked_database_in_the_child_comes_back_as_a_sentence(
        filled_library: Library) -> None:
    """The audit's case: another program holds the library's database while a new training
    file is built. SQLAlchemy's error holds the statement's parameters (memory views, which
    do not pickle): it came back as a bug report with the child's whole traceback."""
    ids = [row.conversation_id for row in filled_library.summaries() if row.trainable_replies]
    plan = plan_addition(filled_library, "Locked out", ids, create=True)
    holder = sqlite3.connect(filled_library.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(LibraryError) as raised:
            run_in_child(apply_addition, filled_library.location, plan, opener=OPEN)
    finally:
        holder.close()
    text = str(raised.value)
    assert "is busy: another program is writing to it" in text
    assert str(filled_library.db_path) in text and "Traceback" not in text


@ON_BOTH
def test_errors_come_back_as_themselves(filled_library: Library) -> None:
    errors_come_back_as_themselves(filled_library)


def test_a_child_killed_by_someone_else_is_a_sentence(library: Library, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    killed: list[int] = []

    def progress(done: int, total: int, current: str) -> None:
        if not killed:
            killed.append(int(marker.read_text()))
            os.kill(killed[0], signal.SIGKILL)

    with pytest.raises(LibraryError, match="stopped unexpectedly") as raised:
        run_in_child(wait_for_cancel, library.root, str(marker), opener=OPEN,
                     progress=progress)
    assert no_children_left()
    assert ("(SIGKILL: killed, by the system when memory ran out or by another program)"
            in str(raised.value))


@pytest.mark.parametrize(("exitcode", "said"), [
    (-signal.SIGTERM, "(SIGTERM: ended by another program or the system)"),
    (1, "(exit code 1: it failed, or another program ended it)"),
    (None, "(exit code None: it failed, or another program ended it)"),
])
def test_how_a_child_ended_is_told_by_what_its_exit_code_can_say(
        exitcode: int | None, said: str) -> None:
    """Exit code 1 (an error of its own, or Windows' End task) is not "out of memory"."""
    assert said in str(job_process._died(exitcode))


PARENT = r"""
import sys
from pathlib import Path
from app.job_process import run_in_child
from app.library import Library
from test_job_process import ignore_cancel

root, marker = sys.argv[1:]
if __name__ == "__main__":
    with Library(Path(root)) as library:
        run_in_child(ignore_cancel, library.root, marker, opener=Library.under_parent_lock)
"""


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals and /proc")
def test_a_killed_parent_leaves_no_child(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    script = tmp_path / "parent.py"  # a file: the spawned child re-imports __main__
    script.write_text(PARENT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path / "lib"),
                               str(marker)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env)
    helpers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert parent.poll() is None, parent.communicate()
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        helpers = children_of(parent.pid)
        assert int(marker.read_text()) in helpers
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in helpers if alive(pid)], "a child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in helpers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        parent.communicate(timeout=30)


def test_a_bug_in_the_child_is_told_in_one_line_and_logged_whole(
        library: Library, tmp_path: Path) -> None:
    """A person reads the error's first line; the log holds the child's own traceback."""
    with pytest.raises(ChildFailed) as raised:
        run_in_child(raise_unbuildable, library.location, opener=OPEN)
    text = bug_report(raised.value, tmp_path)
    assert "(ChildFailed: Unbuildable: one and two)" in text and "Traceback" not in text
    (log,) = tmp_path.glob("lora-studio-error-*.log")
    assert "in raise_unbuildable" in log.read_text(encoding="utf-8")
