"""Closing the main window (or quitting) while a long job of it runs.

The window asks first, naming the jobs; on a yes they are cancelled, a small "Stopping…"
dialog keeps the window alive (events flow, nothing waits on the GUI thread), and the
window closes only once every job's thread and child process has ended, so nothing writes
into a library that is being let go. A job that does not stop within STOP_PATIENCE_S is
named again, with the offer to close anyway (``stop_jobs_before_exit`` then ends it with
the app). Once the window is let go, what its jobs still return reaches it no more
(``Task.detach``).

``cancel_question`` words the question for the library switch too, so both ask alike.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget

from app.job_process import GRACE
from ui.dialogs import Dialogs
from ui.tasks import Task, WorkProgress, job_over, jobs_of, running_jobs, stop_jobs
from ui.wording import agreeing

POLL_MS = 50
# A child-process job is killed GRACE seconds after its cancel (``app.job_process``); a
# job in a thread of this process can only stop at its next check, which may take longer.
STOP_PATIENCE_S = GRACE + 10.0
EXIT_PATIENCE_S = GRACE + 5.0  # after the last window: how long quitting waits for a job


def titles_of(jobs: dict[Task, str]) -> str:
    return "; ".join(sorted(set(jobs.values())))


def cancel_question(jobs: dict[Task, str], what: str) -> str:
    """The question before ``what`` (a sentence's subject: "Closing the window") cancels
    the running ``jobs``. Only the jobs that work in this library are said to run "in this
    library": the opening of another one is not there yet."""
    here = {task: title for task, title in jobs.items() if task.in_this_library}
    elsewhere = {task: title for task, title in jobs.items() if not task.in_this_library}
    running = ([f"{titles_of(here)}: still running in this library."] if here else []) + (
        [f"{titles_of(elsewhere)}: still running."] if elsewhere else [])
    return (f"{' '.join(running)} {what} cancels {agreeing(len(jobs), 'it', 'them')} "
            "first (a cancelled job keeps what it had finished, or changes nothing).")


def still_running(jobs: dict[Task, str]) -> str:
    """The title of that question: "A job is still running", "2 jobs are still running"."""
    return agreeing(len(jobs), "A job is", f"{len(jobs)} jobs are") + " still running"


def the_jobs(jobs: dict[Task, str]) -> str:
    """"the job" or "the jobs", for the button that cancels them."""
    return agreeing(len(jobs), "the job", "the jobs")


def stopping_dialog(parent: QWidget, jobs: dict[Task, str]) -> WorkProgress:
    """A busy indicator without Cancel: the window stays alive but takes no new work.
    Escape and its close button leave it up (they hid it, and the window looked idle
    while its jobs stopped); it goes when they have (``WorkProgress.end``)."""
    dialog = WorkProgress(f"Stopping {titles_of(jobs)}…\nThe window closes when "
                          f"{agreeing(len(jobs), 'it has', 'they have')} stopped.", parent)
    dialog.setWindowTitle("Stopping")
    dialog.setCancelButton(None)  # no Cancel: it is stopping already
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumWidth(420)
    return dialog


class CloseGuard(QObject):
    """Decides whether ``window`` may close now (``may_close``, from its ``closeEvent``)."""

    def __init__(self, window: QWidget, dialogs: Dialogs) -> None:
        super().__init__(window)
        self.window = window
        self.dialogs = dialogs
        self.let_go_done = False  # the window may close: its jobs ended or were let go
        # Quitting on a signal (``ui.quit_signals``): nobody may be there to answer, so the
        # jobs are cancelled without the question, and closed anyway past the patience.
        self.without_asking = False
        self.stopping: dict[Task, str] = {}
        self.indicator: WorkProgress | None = None
        self._patience_ends = 0.0

    def may_close(self) -> bool:
        """True: close now. False: not now (the person said no, or the jobs are being
        stopped and the window closes by itself when they have)."""
        if self.let_go_done:
            return True
        if self.stopping:
            return False  # (the Stopping dialog says why)
        jobs = jobs_of(self.window)
        running = {task: title for task, title in jobs.items() if not task.returned.is_set()}
        if not running:
            self.let_go()
            return True
        asked = {task: title for task, title in running.items() if not task.is_cancelled()}
        if asked and not self.without_asking and not self.dialogs.confirm_destructive(
                self.window, still_running(asked),
                cancel_question(asked, "Closing the window"),
                f"Cancel {the_jobs(asked)} and close", keep="Keep working"):
            return False
        self._stop(jobs)
        return False

    def let_go(self) -> None:
        """The window closes now: what its jobs still return is dropped."""
        for task in jobs_of(self.window):
            task.detach()
        self.let_go_done = True

    def _stop(self, jobs: dict[Task, str]) -> None:
        stop_jobs(jobs)
        self.stopping = dict(jobs)
        self.indicator = stopping_dialog(self.window, self.stopping)
        self.indicator.show()
        self._patience_ends = time.monotonic() + STOP_PATIENCE_S
        QTimer.singleShot(POLL_MS, self._check)

    def _check(self) -> None:
        left = {task: title for task, title in self.stopping.items() if not job_over(task)}
        if left and time.monotonic() >= self._patience_ends:
            many = len(left)
            if self.without_asking or self.dialogs.confirm_destructive(
                    self.window, agreeing(many, "A job has", f"{many} jobs have") + " not stopped",
                    f"{titles_of(left)}: asked to stop {STOP_PATIENCE_S:.0f} seconds ago and "
                    "still running (a step that cannot be interrupted, or a library that does "
                    f"not answer). Close anyway? {the_jobs(left).capitalize()} "
                    f"{agreeing(many, 'is', 'are')} then ended when LoRA Studio quits, as if "
                    "the computer had stopped: what "
                    f"{agreeing(many, 'it', 'they')} had saved stays, what "
                    f"{agreeing(many, 'it', 'they')} had not is rolled back.", "Close anyway",
                    keep="Keep waiting"):
                left = {}
            else:
                self._patience_ends = time.monotonic() + STOP_PATIENCE_S
        if left:
            QTimer.singleShot(POLL_MS, self._check)
            return
        if self.indicator is not None:
            self.indicator.end()
            self.indicator = None
        self.stopping = {}
        self.let_go_done = True
        self.window.close()


def stop_jobs_before_exit() -> bool:
    """After the last window (``app.exec()`` returned): cancel the jobs still running and
    wait for their threads, up to EXIT_PATIENCE_S in all (no window is left to freeze).
    False when one still runs: its library must not be closed under it."""
    jobs = running_jobs()
    stop_jobs(jobs)
    deadline = time.monotonic() + EXIT_PATIENCE_S
    return all(task.ended.wait(max(0.0, deadline - time.monotonic())) for task in jobs)


def finish_app(status: int, close_library: Callable[[], None],
               end_process: Callable[[int], object] = os._exit) -> int:
    """The end of ``run_gui``: close the library once no job writes into it. A job thread
    that still runs cannot be stopped from outside, so the process ends at once instead
    and takes the job with it, as a power cut would (every write is a transaction or an
    atomic file replacement, and the next start finishes what was interrupted), rather
    than letting the library go while it writes."""
    if not stop_jobs_before_exit():
        sys.stdout.flush()
        sys.stderr.flush()
        end_process(status)
        return status
    close_library()
    return status
