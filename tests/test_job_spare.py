"""The warm spare child (app/job_process.py ``keep_spare``): a job handed to it runs there
and comes back as from any child, Cancel still ends it, a dead spare is replaced by a
fresh child, a new spare waits after each job, it holds no library file while it waits,
and it never outlives the app (killed or quitting). Real processes, a real library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from child_process import run_bounded
from conftest import open_window
from test_import_pool import alive
from test_job_process import (
    ROOT,
    errors_come_back_as_themselves,
    ignore_cancel,
    no_children_left,
    pid_and_count,
    wait_for_cancel,
)

from app import job_process, tokenizer_choice
from app.build import BuildCancelled
from app.job_process import end_spare, keep_spare, run_in_child, spare_pid
from app.library import Library

OPEN = Library.under_parent_lock


def counters_before_and_after(library: Library, progress: Any,
                              cancelled: Any) -> tuple[list[Any], list[Any]]:
    """The tokenizer counters this process had made, before and after the library's."""
    before = list(tokenizer_choice._counters)
    tokenizer_choice.counting(library)
    return before, list(tokenizer_choice._counters)
POSIX = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and /proc")


@pytest.fixture
def spare() -> Iterator[int]:
    """A spare kept for the test (the pid of the first); none left after it."""
    keep_spare(("app.trainingfiles",))
    try:
        first = spare_pid()
        assert first is not None
        yield first
    finally:
        end_spare()
    assert no_children_left()


def wait_dead(pid: int) -> None:
    deadline = time.monotonic() + 60
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid), f"process {pid} is still alive"


def test_a_job_runs_on_the_spare_and_a_new_spare_waits_after_it(
    filled_library: Library, spare: int
) -> None:
    pid, count = run_in_child(pid_and_count, filled_library.location, opener=OPEN)
    assert pid == spare, "the job ran on the spare"
    assert count == filled_library.count() > 0
    wait_dead(spare)  # one job per process
    following = spare_pid()
    assert following is not None and alive(following) and following != spare
    pid, _count = run_in_child(pid_and_count, filled_library.location, opener=OPEN)
    assert pid == following


def test_errors_on_the_spare_come_back_as_themselves(filled_library: Library,
                                                     spare: int) -> None:
    errors_come_back_as_themselves(filled_library)


def test_cancel_ends_a_job_on_the_spare(library: Library, tmp_path: Path,
                                        spare: int) -> None:
    marker = tmp_path / "started"
    with pytest.raises(BuildCancelled):
        run_in_child(wait_for_cancel, library.root, str(marker), opener=OPEN,
                     cancelled=marker.exists)
    assert int(marker.read_text()) == spare
    wait_dead(spare)
    marker.unlink()
    following = spare_pid()
    assert following is not None
    with pytest.raises(BuildCancelled):  # one that does not listen is killed
        run_in_child(ignore_cancel, library.root, str(marker), opener=OPEN,
                     cancelled=marker.exists, grace=0.5)
    assert int(marker.read_text()) == following
    wait_dead(following)


def pid_and_variable(library: Library, name: str, progress: Any,
                     cancelled: Any) -> tuple[int, str | None]:
    return os.getpid(), os.environ.get(name)


def test_a_job_on_the_spare_sees_the_environment_as_it_is_when_the_job_starts(
    library: Library, spare: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team library's window names its origin in the environment after the spare was
    started; a job of the window must announce its changes under that origin."""
    monkeypatch.setenv("LORA_TEST_LATE_VARIABLE", "set after the spare started")
    pid, seen = run_in_child(pid_and_variable, library.location, "LORA_TEST_LATE_VARIABLE",
                             opener=OPEN)
    assert pid == spare and seen == "set after the spare started"


def test_the_next_spare_starts_once_the_job_is_over(library: Library, tmp_path: Path,
                                                    spare: int) -> None:
    """Started beside the job, the next spare's imports took a core from the job."""
    marker = tmp_path / "started"
    spares_during_the_job: list[int | None] = []

    def cancelled() -> bool:
        if not marker.exists():
            return False
        spares_during_the_job.append(spare_pid())
        return True

    with pytest.raises(BuildCancelled):
        run_in_child(wait_for_cancel, library.root, str(marker), opener=OPEN,
                     cancelled=cancelled)
    assert int(marker.read_text()) == spare
    assert spares_during_the_job[:1] == [None]
    following = spare_pid()
    assert following is not None and following != spare


@POSIX
def test_a_spare_killed_before_its_job_is_replaced_by_a_fresh_child(
    filled_library: Library, spare: int
) -> None:
    os.kill(spare, signal.SIGKILL)
    wait_dead(spare)
    pid, count = run_in_child(pid_and_count, filled_library.location, opener=OPEN)
    assert pid not in (spare, os.getpid()) and count == filled_library.count()
    following = spare_pid()
    assert following is not None and following not in (spare, pid) and alive(following)


def test_a_spare_that_dies_before_taking_its_job_is_replaced_by_a_fresh_child(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    monkeypatch.setenv("LORA_TEST_SPARE_GATE", str(gate))  # spares die once it exists
    keep_spare(("spare_import",))
    try:
        doomed = spare_pid()
        assert doomed is not None and alive(doomed)
        gate.touch()
        pid, count = run_in_child(pid_and_count, filled_library.location, opener=OPEN)
        assert pid != doomed and count == filled_library.count()
    finally:
        end_spare()
    assert no_children_left()


def open_files(pid: int) -> list[str]:
    """What ``pid`` holds open now; a descriptor closed while they are listed is left out."""
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            held.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            continue
    return held


@POSIX
def test_an_idle_spare_holds_no_library_file(filled_library: Library, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Looked at only once the spare says it has imported all and waits: while it still
    imports, it opens and closes module files under our feet."""
    ready = tmp_path / "ready"
    monkeypatch.setenv("LORA_TEST_SPARE_READY", str(ready))  # (each spare inherits it)
    keep_spare(("app.trainingfiles", "spare_import"))
    try:
        run_in_child(pid_and_count, filled_library.location, opener=OPEN)  # a library known
        idle = spare_pid()
        assert idle is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                ready.exists() and ready.read_text() == str(idle)):
            time.sleep(0.01)
        assert ready.read_text() == str(idle), "the spare never said it waits"
        held = open_files(idle)
        root = str(filled_library.root.resolve())
        assert held and not [path for path in held if path.startswith(root)], held
    finally:
        end_spare()
    assert no_children_left()


def test_ending_the_spare_ends_its_process(spare: int) -> None:
    end_spare()
    wait_dead(spare)
    assert spare_pid() is None
    assert job_process._spare is None


PARENT = r"""
import os, sys, time
from pathlib import Path
from app.job_process import keep_spare

ready, how = sys.argv[1:]
if __name__ == "__main__":
    os.environ["LORA_TEST_SPARE_READY"] = ready  # (the spare inherits it)
    keep_spare(("app.trainingfiles", "spare_import"))
    while not Path(ready).exists():  # the spare has imported all and waits for a job
        time.sleep(0.01)
    if how == "wait":
        time.sleep(600)
"""


def _parent(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    script = tmp_path / "parent.py"  # a file: the spawned child re-imports __main__
    script.write_text(PARENT, encoding="utf-8")
    return script, {**os.environ,
                    "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}


@POSIX
def test_a_killed_parent_leaves_no_spare(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    script, env = _parent(tmp_path)
    parent = subprocess.Popen([sys.executable, str(script), str(ready), "wait"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert parent.poll() is None, parent.communicate()
            assert time.monotonic() < deadline, "no spare was started"
            time.sleep(0.05)
        spare = int(ready.read_text())
        assert alive(spare)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        wait_dead(spare)
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.communicate(timeout=30)


@POSIX
def test_a_quitting_app_ends_its_waiting_spare(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    script, env = _parent(tmp_path)
    code, _out, err = run_bounded(
        ["env", f"PYTHONPATH={env['PYTHONPATH']}", sys.executable, str(script), str(ready),
         "quit"], 120, "an app quitting with a spare")
    assert code == 0, err
    wait_dead(int(ready.read_text()))


def test_the_window_keeps_a_spare_for_its_jobs_once_shown(
    qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path
) -> None:
    from ui.main import keep_spare_once_settled
    from ui.tasks import JOB_MODULES, in_child

    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    # The window's own first token count (200 ms after it opens, in a child) is over
    # first: had its timer fired once the spare was kept (a loaded machine, the test
    # slow to get here), that count took the spare, and the job below found none.
    counts = window.token_counts  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not counts.pending, timeout=60000)
    try:
        keep_spare_once_settled(window, after_ms=0)  # type: ignore[arg-type]
        qtbot.waitUntil(lambda: job_process._spare_modules == JOB_MODULES, timeout=30000)
        spare = spare_pid()
        assert spare is not None
        work = in_child(pid_and_count, filled_library)
        assert work(lambda *_: None, lambda: False)[0] == spare
    finally:
        end_spare()
    assert no_children_left()


def test_a_spare_has_the_default_tokenizer_counter_ready(filled_library: Library) -> None:
    keep_spare(("app.trainingfiles",), (tokenizer_choice.warm_default_counter,))
    try:
        before, after = run_in_child(counters_before_and_after, filled_library.location,
                                     opener=OPEN)
        assert before and after == before, "the library's counter was the one made ahead"
    finally:
        end_spare()
    assert no_children_left()
