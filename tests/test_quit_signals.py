"""Ctrl+C in the terminal, a SIGTERM or the terminal closing quits LoRA Studio as closing its
window does (``ui/quit_signals.py``): running work is cancelled without a question and
said at the next start, nothing prints a traceback, and a second signal ends at once.
The children leave Ctrl+C to their parent (``app.job_process.as_child``), and
``bootstrap.py`` waits for the step it started instead of killing it. Real window, real
library, real child processes, real signals."""

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
from conftest import open_window
from PySide6.QtWidgets import QMessageBox
from scripted_dialogs import ScriptedDialogs
from test_close_guard import ALL, start_held_import
from test_job_process import OPEN, wait_for_cancel

from app.build import BuildCancelled
from app.importer import import_paths
from app.job_process import run_in_child
from app.library import Library
from ui.main import finish_interrupted_work_or_explain
from ui.quit_signals import QuitOnSignals, quit_without_asking
from ui.tasks import jobs_of

ROOT = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="process groups and SIGKILL")
pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def quitting() -> Iterator[tuple[QuitOnSignals, list[str], list[int]]]:
    """The app's handlers, installed as ``run_gui`` installs them; what they say and the
    exit they ask for are kept, and the signals handed back afterwards."""
    said: list[str] = []
    ended: list[int] = []
    handlers = QuitOnSignals(quit_without_asking, end_now=ended.append, say=said.append)
    handlers.install()
    try:
        yield handlers, said, ended
    finally:
        handlers.uninstall()


def test_a_sigterm_closes_the_window_as_its_close_does_without_asking(
        qtbot, own_library: Library, fixture_folder: Path, held: Path, tmp_path: Path,
        quitting: tuple[QuitOnSignals, list[str], list[int]]) -> None:
    _, said, ended = quitting
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, own_library, dialogs, tmp_path)
    task = start_held_import(qtbot, window, fixture_folder, held)

    signal.raise_signal(signal.SIGTERM)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
    assert dialogs.asked == [], "no question: nobody may be there to answer it"
    assert task.is_cancelled() and not jobs_of(window)
    assert ended == []
    assert said == ["LoRA Studio: a request to quit: closing as the window's close does (the "
                    "running work is cancelled first, no question is asked); a request to "
                    "quit again ends it at once.\n"]
    stored = own_library.count()
    own_library.close()
    with Library.open(own_library.root) as again:  # the next start says what it cut short
        [note] = finish_interrupted_work_or_explain(again, ScriptedDialogs())
        assert note.startswith(f"found that an import of {ALL} files from {fixture_folder} was "
                               f"cancelled when its window closed (1 of its {ALL} files read, "
                               f"{stored} conversation")


def test_an_open_question_is_dismissed_as_its_cancel_would_and_the_window_closes(
        qtbot, library: Library, tmp_path: Path,
        quitting: tuple[QuitOnSignals, list[str], list[int]]) -> None:
    window = open_window(qtbot, library, ScriptedDialogs(), tmp_path)
    box = QMessageBox(QMessageBox.Icon.Question, "Remove batch?", "Remove it?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, window)
    box.open()
    assert box.isVisible()
    signal.raise_signal(signal.SIGINT)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert not box.isVisible() and box.result() == 0  # rejected: nothing was said yes to
    assert quitting[1][0].startswith("LoRA Studio: Ctrl+C: closing as the window's close "
                                     "does (no question is asked)")


def test_a_second_signal_ends_at_once(
        qtbot, library: Library, tmp_path: Path,
        quitting: tuple[QuitOnSignals, list[str], list[int]]) -> None:
    handlers, said, ended = quitting
    open_window(qtbot, library, ScriptedDialogs(), tmp_path)
    signal.raise_signal(signal.SIGINT)
    signal.raise_signal(signal.SIGINT)  # before the window had time to close
    assert ended == [128 + signal.SIGINT]
    assert said[1] == ("LoRA Studio: Ctrl+C again: ending now; the next start says what this "
                       "cut short.\n")
    assert handlers.received == signal.SIGINT


@POSIX_ONLY
def test_a_job_child_leaves_ctrl_c_to_its_parent(library: Library, tmp_path: Path) -> None:
    """A Ctrl+C reaching the child (a terminal sends it to every process of the app) used
    to end it with a KeyboardInterrupt in the middle of its job; now it runs on until its
    parent cancels it, and stops as a cancelled job does."""
    marker = tmp_path / "started"
    interrupted: list[float] = []

    def progress(done: int, total: int, current: str) -> None:
        if not interrupted:
            os.kill(int(marker.read_text()), signal.SIGINT)
            interrupted.append(time.monotonic())

    def cancelled() -> bool:  # a while after the Ctrl+C: the child must still be there
        return bool(interrupted) and time.monotonic() - interrupted[0] > 0.5

    with pytest.raises(BuildCancelled):
        run_in_child(wait_for_cancel, library.root, str(marker), opener=OPEN,
                     progress=progress, cancelled=cancelled)


@POSIX_ONLY
def test_import_workers_leave_ctrl_c_to_their_parent(library: Library, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The import's pool workers: a Ctrl+C in the middle of an import broke the pool (and
    now and then left ``lora-studio import`` hanging); now they go on, and the import
    stores every file."""
    from hostile_corpus import conversation, dump
    from test_import_pool import alive

    from app import import_pool, importer

    folder = tmp_path / "batch"
    folder.mkdir()
    for index in range(60):
        (folder / f"c{index:03d}.json").write_bytes(dump(conversation(f"ctrl_c_{index:03d}")))
    monkeypatch.setattr(importer, "PARALLEL_FROM", 1)
    started = import_pool.Workers.start

    def start_then_interrupt(self: Any) -> None:
        first = not self.started
        started(self)
        if not first:
            return
        self._pool.submit(os.getpid).result()  # the pool is up
        workers = list(self._pool._processes)  # (the executor's own table of its workers)
        assert len(workers) == 2
        for pid in workers:
            os.kill(pid, signal.SIGINT)
        time.sleep(0.3)
        assert all(alive(pid) for pid in workers)

    monkeypatch.setattr(import_pool.Workers, "start", start_then_interrupt)
    report = import_paths(library, [folder], workers=2)
    assert (report.imported, report.rejected, report.notes) == (60, 0, [])


def _app_process(tmp_path: Path, folder: Path, gate: Path) -> subprocess.Popen[bytes]:
    """The real app importing ``folder`` (held after its first file), in a session of its
    own, with Ctrl+C as a terminal gives it (a background shell ignores it)."""
    home = tmp_path / "home"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "quit_app.py"), str(tmp_path / "library"),
         str(folder), str(gate)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@POSIX_ONLY
def test_ctrl_c_in_the_terminal_closes_the_real_app_without_a_traceback(
        tmp_path: Path, fixture_folder: Path) -> None:
    """The terminal sends Ctrl+C to the app and every child of it. The window ignored it
    until its next Python step, then printed a KeyboardInterrupt traceback and went on;
    children starting then printed theirs."""
    gate = tmp_path / "gate"
    app = _app_process(tmp_path, fixture_folder, gate)
    try:
        deadline = time.monotonic() + 120
        while not Path(f"{gate}.held").exists():
            assert app.poll() is None and time.monotonic() < deadline, app.stderr.read()
            time.sleep(0.05)
        os.killpg(app.pid, signal.SIGINT)
        _, err = app.communicate(timeout=90)
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
    errors = err.decode()
    assert app.returncode == 0, errors
    assert "Traceback" not in errors and "KeyboardInterrupt" not in errors, errors
    assert "LoRA Studio: Ctrl+C: closing as the window's close does" in errors
    with Library.open(tmp_path / "library") as again:
        [note] = finish_interrupted_work_or_explain(again, ScriptedDialogs())
        assert f"was cancelled when its window closed (1 of its {ALL} files read" in note
        assert again.count() >= 1, "what it had stored is kept"


BOOTSTRAP_PARENT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import bootstrap
child = ("import signal, sys, time\n"
         "signal.signal(signal.SIGINT, lambda *_: (print('step stopped', flush=True),"
         " sys.exit(3)))\n"
         "print('step running', flush=True)\n"
         "time.sleep(60)\n")
print("returned", bootstrap.run_step([sys.executable, "-c", child]), flush=True)
"""


@POSIX_ONLY
def test_bootstrap_waits_for_the_step_a_ctrl_c_stops(tmp_path: Path) -> None:
    """``python bootstrap.py start`` killed the app a quarter of a second after Ctrl+C
    (``subprocess.call``) and printed its own traceback: the app had no time to cancel
    its work. Now it waits for the step, ends with the step's code and starts no other."""
    script = tmp_path / "parent.py"
    script.write_text(BOOTSTRAP_PARENT, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script), str(ROOT)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert parent.stdout is not None
    assert parent.stdout.readline() == b"step running\n"
    os.killpg(parent.pid, signal.SIGINT)
    out, err = parent.communicate(timeout=30)
    assert out == b"step stopped\n"  # not "returned": no step after an interrupted one
    assert parent.returncode == 3
    assert err == b""


def test_the_window_starts_without_a_stderr_as_a_windowed_app_has_none(tmp_path: Path) -> None:
    """A windowed app (the Windows installer's) has no stdout or stderr: sys.stderr is None.
    The handlers' default writer was looked up as the module loaded (sys.stderr.write), so
    the app could not even import its window there."""
    script = ("import sys\n"
              "sys.stdout = sys.stderr = None\n"
              "from ui.main import run_gui\n"
              "from ui.quit_signals import QuitOnSignals\n"
              "handlers = QuitOnSignals(lambda: None, end_now=lambda code: None)\n"
              "handlers._received(2, None)\n"
              "handlers._received(2, None)\n"
              "open(sys.argv[1], 'w').write('imported')\n")
    marker = tmp_path / "marker"
    done = subprocess.run([sys.executable, "-c", script, str(marker)], cwd=ROOT,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert marker.read_text() == "imported"
