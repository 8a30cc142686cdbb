"""Run long ``app`` work (import, build, export) off the GUI thread, with progress and Cancel.

The ``app`` functions take ``progress(done, total, current)`` and ``cancelled()`` callables;
a ``Task`` adapts them to Qt signals, and ``run_with_progress`` shows a progress dialog
whose Cancel button sets the flag the work polls. The window never freezes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import (
    SIGNAL,
    SLOT,
    QEventLoop,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QFontMetrics
from PySide6.QtWidgets import QProgressDialog, QWidget
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from app import killed_work
from app.build import BuildCancelled, StoppedByForce
from app.errors import InputError, LibraryError
from app.failures import failure_sentence
from app.job_process import ChildDied, run_in_child
from app.library import Library
from app.library_folder import refuse_changes
from app.tokenizer_choice import warm_default_counter

PROGRESS_INTERVAL = 0.05  # seconds between progress signals
# Where the jobs run in child processes live (``in_child``, the row read, token counts): the
# spare child imports them ahead (``app.job_process.keep_spare``).
JOB_MODULES = ("app.trainingfiles", "app.batch_jobs", "app.importer", "app.library_undo",
               "app.token_counts", "ui.row_index")
# What the spare does ahead besides: the default tokenizer's counter (a plan counts tokens)
# and the database mappings' set-up (done on a job's first query otherwise).
JOB_WARM_UP = (warm_default_counter, configure_mappers)
# Said of a job killed after Cancel whose flow does not say more (``saying_if_killed``).
STOPPED_BY_FORCE = ("Stopped: the job did not stop in time after Cancel, so it was ended; "
                    "what it had finished before that is kept.")
Work = Callable[[Callable[[int, int, str], None], Callable[[], bool]], Any]


class TaskSignals(QObject):
    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    done = Signal()
    cancelling = Signal()  # the first ``cancel``, on the thread that cancelled


_running = threading.local()  # ``task``: the Task whose work runs on this thread


def said_by_its_window() -> bool:
    """Whether how the work running on this thread ends reaches a window to be said: run
    by a ``Task`` not detached (a window closing lets its jobs' outcomes go unsaid)."""
    task: Task | None = getattr(_running, "task", None)
    return task is not None and not task.detached


class Task(QRunnable):
    """One piece of work on the global thread pool."""

    def __init__(self, work: Work) -> None:
        super().__init__()
        self.work = work
        self.signals = TaskSignals()
        self._cancel = threading.Event()
        self.ended = threading.Event()  # set when ``run`` has returned (any thread may wait)
        # Set when the work has returned, before its outcome is signalled: a job whose
        # outcome is being handled no longer runs (``running_jobs``).
        self.returned = threading.Event()
        # The window that started it (``run_with_progress``): closing it asks about it.
        self.owner: QWidget | None = None
        # Its outcome is no longer wanted (its window closed): only ``abandon`` hears it.
        self.detached = False
        # False for the opening of another library: the question before closing the window
        # must not say it runs "in this library" (``ui.close_guard.cancel_question``).
        self.in_this_library = True
        self.setAutoDelete(False)

    def cancel(self) -> None:
        if not self._cancel.is_set():
            self._cancel.set()
            self.signals.cancelling.emit()

    def detach(self) -> None:
        """From now on its outcome reaches no window (only ``run_with_progress``'s
        ``abandon``): called on the GUI thread, before that window closes."""
        self.detached = True

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _throttled_progress(self) -> Callable[[int, int, str], None]:
        """Report at most ~20 times a second (and always the last step): a 100,000-file
        import must not flood the GUI thread with signals."""
        last = [0.0]

        def report(done: int, total: int, current: str) -> None:
            now = time.monotonic()
            if done >= total or now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                self.signals.progress.emit(done, total, current)

        return report

    def run(self) -> None:
        _running.task = self
        try:
            try:
                result = self.work(self._throttled_progress(), self._cancel.is_set)
            finally:
                self.returned.set()
                _running.task = None
        except StoppedByForce:  # (a job of several steps may have finished some)
            self.signals.failed.emit(STOPPED_BY_FORCE)
        except BuildCancelled:
            self.signals.failed.emit(CANCELLED)
        except (LibraryError, InputError) as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # shown to the user rather than lost in a thread
            self.signals.failed.emit(failure_sentence(exc))
        else:
            self.signals.succeeded.emit(result)
        finally:
            self.signals.done.emit()
            self.ended.set()


# How a job that stopped on Cancel (``BuildCancelled``) fails: a flow that can offer the
# same step again (Edit ▸ Undo) tells it from a refusal or a kill by these words.
CANCELLED = "Cancelled: nothing was changed."


def stopped_unchanged(task: Task, why: str) -> bool:
    """``task`` failed with ``why`` because Cancel stopped it before its commit, so nothing
    was changed: an undo may be offered again. Cancel pressed is not enough: a job killed
    after Cancel past its grace may have committed, and one refused or failing while Cancel
    was pressed says so in its own words (``why``), which must reach the person."""
    return task.is_cancelled() and why == CANCELLED


def changing(library: Library, work: Work) -> Work:
    """``work``, a change to ``library``, refused before it starts when nothing may be
    written in the library's folder now (``app.library_folder.refuse_changes``): every
    change the window makes, in its own process or in a job's, is refused alike and with
    the same sentence, and none is left half done."""
    def checked(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]) -> Any:
        refuse_changes(library)
        return work(progress, cancelled)

    return checked


def in_child(job: Callable[..., Any], library: Library, *args: Any, **kwargs: Any) -> Work:
    """Work that runs ``job(library, *args, **kwargs, progress=, cancelled=)`` in a child
    process (``app.job_process``): the worker thread only waits for it, so the window keeps
    the interpreter to itself and never stalls while a long job runs. Every such job
    changes the library: it is refused first as any change is (``changing``).

    A child killed after Cancel is said by the window (``saying_if_killed``, or
    ``STOPPED_BY_FORCE``), one killed by the system or another program with what it left
    undone: either way the record it left of an import or a build is settled here, so the
    next start does not say the same kill again."""
    def work(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]) -> Any:
        # (less two seconds: a file's time is as coarse as that on some disks)
        since = time.time_ns() - 2_000_000_000
        try:
            return run_in_child(job, library.location, *args,
                                opener=Library.under_parent_lock, progress=progress,
                                cancelled=cancelled, **kwargs)
        except StoppedByForce as stopped:
            _settle_child(library, stopped.pid, since)
            raise
        except ChildDied as died:  # killed by the system or another program: said now
            said = _settle_child(library, died.pid, since)
            if not said:
                raise
            raise LibraryError(f"{died} LoRA Studio " + "; ".join(said) + ".") from None

    return changing(library, work)


def _settle_child(library: Library, pid: int | None, since_ns: int) -> list[str]:
    """What the killed child ``pid`` left undone (``app.killed_work``), its records gone:
    the window says it now, the next start not again. Nothing if they cannot be read, or
    if no window will say it (its window closes): they stay, and the next start says them."""
    if pid is None or not said_by_its_window():
        return []
    try:
        return killed_work.settle_left_by(library, pid, since_ns)
    except (LibraryError, SQLAlchemyError, OSError):
        return []


def saying_if_killed(work: Work, words: Callable[[], str]) -> Work:
    """``work`` (an ``in_child`` job) whose failure after a kill (``StoppedByForce``) is
    ``words()``: what the job may have done, naming its file or batch, and what to do
    (``app.stopped_jobs``), instead of "nothing was changed"."""
    def said(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]) -> Any:
        try:
            return work(progress, cancelled)
        except StoppedByForce:
            raise LibraryError(words()) from None

    return said


# The jobs running behind a progress dialog, by title: switching libraries asks first.
_jobs: dict[Task, str] = {}


def running_jobs() -> dict[Task, str]:
    """The long jobs (imports, builds, rebuilds…) running now, with their titles (one
    whose work has returned is not: its ``done`` may simply not have been handled yet)."""
    return {task: title for task, title in _jobs.items() if not task.returned.is_set()}


def jobs_of(window: QWidget) -> dict[Task, str]:
    """The jobs ``window`` started whose outcome it has not handled yet (running, or
    returned with their outcome still queued for the GUI thread)."""
    return {task: title for task, title in _jobs.items() if task.owner is window}


def job_over(task: Task) -> bool:
    """The job's thread (and child process) has ended and its outcome was handled."""
    return task.ended.is_set() and task not in _jobs


def stop_jobs(jobs: Iterable[Task], *, detach: bool = True) -> None:
    """Cancel ``jobs``; with ``detach`` (their window is going: it closes, the app quits)
    each is detached first, so that how it ends reaches no window."""
    for task in jobs:
        if detach:
            task.detach()
        task.cancel()


def start(task: Task) -> None:
    QThreadPool.globalInstance().start(task)


def stoppable_count(count: Callable[[Callable[[], bool]], Any],
                    stopped: type[Exception]) -> Task:
    """A task for a count a newer one makes pointless (``count(cancelled)``, raising
    ``stopped`` once cancelled): it succeeds with None when stopped, so whoever shows the
    count needs no failure path for a Cancel of its own making."""
    def work(_progress: Callable[[int, int, str], None],
             cancelled: Callable[[], bool]) -> Any:
        try:
            return count(cancelled)
        except stopped:
            return None

    return Task(work)


def start_as_job(window: QWidget, title: str, task: Task, *,
                 in_this_library: bool = True) -> Task:
    """Start ``task`` as one of ``window``'s jobs without a progress dialog of its own (it
    says how it goes where it was asked for, as the team library dialog does): closing
    ``window`` or quitting asks about it, cancels it and waits for it like any other job
    (``ui.close_guard``); once it is detached its outcome is for its handlers to drop.
    ``in_this_library=False`` for a job that opens another library."""
    task.owner = window
    task.in_this_library = in_this_library
    _jobs[task] = title
    task.signals.done.connect(lambda: _jobs.pop(task, None))
    start(task)
    return task


class WorkProgress(QProgressDialog):
    """A progress dialog that only its work closes (``end``): its title bar's close button
    and Escape ask for a cancel, as its Cancel button does, once; the dialog stays up saying
    so until the work has stopped (hidden at once, the window looked idle meanwhile)."""

    def __init__(self, label: str, parent: QWidget | None) -> None:
        super().__init__(label, "Cancel", 0, 0, parent)
        self._ending = False
        self._cancel_asked = False
        # Its Cancel button (or Escape) no longer hides it at once: the work ends its step
        # first, and the dialog says so meanwhile (``cancelling``).
        QObject.disconnect(self, SIGNAL("canceled()"), self, SLOT("cancel()"))
        self.canceled.connect(self._asked)

    def _asked(self) -> None:
        self._cancel_asked = True

    def _ask_cancel(self) -> None:
        if not self._cancel_asked:
            self.canceled.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._ending:
            super().closeEvent(event)
            return
        event.ignore()
        self._ask_cancel()

    def reject(self) -> None:
        if self._ending:
            super().reject()
        else:
            self._ask_cancel()

    def end(self) -> None:
        """The work has ended: close for good."""
        self._ending = True
        self.reset()
        self.close()
        self.deleteLater()


def _progress_dialog(label: str, window_title: str, parent: QWidget | None,
                     modality: Qt.WindowModality, width: int) -> WorkProgress:
    """A progress dialog with Cancel, shown only once the work has taken a moment, that
    stays up until the work ends (its owner ends it: ``WorkProgress.end``)."""
    dialog = WorkProgress(label, parent)
    dialog.setWindowTitle(window_title)
    dialog.setWindowModality(modality)
    dialog.setMinimumDuration(300)
    # Qt counts the 300 ms from a value at its minimum: without one, the dialog showed
    # only after Qt's own 4 s, and for those 4 s the window looked idle and took clicks.
    dialog.setValue(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumWidth(width)
    return dialog


CANCELLING = "Cancelling: the step under way ends first…"


def cancelling(dialog: QProgressDialog, title: str) -> None:
    """The dialog once its Cancel was pressed, until the work has stopped: it hid at once,
    and for the seconds the step under way took the window looked as if nothing ran."""
    dialog.setLabelText(f"{title}\n{CANCELLING}" if title else CANCELLING)
    dialog.setCancelButton(None)  # asked once is enough


LABEL_MARGINS = 40  # the dialog's width less its label's (Qt's margins, either side)


def step_line(dialog: QProgressDialog, title: str, done: int, total: int,
              current: str) -> str:
    """The dialog's words for a step, the name of what it is on shortened in the middle to
    fit the dialog's width: a long file name widened the dialog at each step that showed
    one (to 1,800 px for a name of 240 characters, past a laptop's screen and its Cancel).
    A step that counts nothing (``total`` 0) shows no "0 of 0"; each line of a step's
    words is fitted on its own."""
    count = f"{done:,} of {total:,}: " if total else ""
    metrics = QFontMetrics(dialog.font())
    room = dialog.minimumWidth() - LABEL_MARGINS
    lines = [metrics.elidedText(line, Qt.TextElideMode.ElideMiddle,
                                max(room - (metrics.horizontalAdvance(count) if not n else 0), 1))
             for n, line in enumerate(current.split("\n"))]
    return f"{title}\n{count}" + "\n".join(lines)


def run_with_progress(
    parent: QWidget,
    title: str,
    work: Work,
    on_success: Callable[[Any], None],
    on_failure: Callable[[str], None],
    abandon: Callable[[Any], None] | None = None,
    before_steps: str = "",
) -> Task:
    """Start ``work`` in the background behind a window-modal progress dialog
    (``before_steps``: what it says under the title until the work counts its first step).

    Once the task is detached (its window closes: ``ui.close_guard``) neither
    ``on_success`` nor ``on_failure`` is called; a result it still returns goes to
    ``abandon``, for work that opened something to close again."""
    dialog = _progress_dialog(f"{title}\n{before_steps}" if before_steps else title, title,
                              parent, Qt.WindowModality.WindowModal, 420)
    task = Task(work)
    task.owner = parent.window()

    def show_progress(done: int, total: int, current: str) -> None:
        if task.is_cancelled() or not shiboken6.isValid(dialog):
            return  # (it would show the hidden dialog again)
        # The words first: a modal dialog's setValue handles the events waiting, a later
        # step's among them, and words set after it said an earlier count than the bar's.
        dialog.setLabelText(step_line(dialog, title, done, total, current))
        dialog.setMaximum(max(total, 1))
        dialog.setValue(done)

    def finish() -> None:
        _jobs.pop(task, None)
        if not shiboken6.isValid(dialog):
            return  # deleted with a window that was let go while the job ran
        dialog.canceled.disconnect(cancel_pressed)  # (Qt's close says "canceled" too)
        dialog.end()

    def succeeded(result: Any) -> None:
        if not task.detached:
            on_success(result)
        elif abandon is not None:
            abandon(result)

    def failed(message: str) -> None:
        if not task.detached:
            on_failure(message)

    task.signals.progress.connect(show_progress)
    task.signals.succeeded.connect(succeeded)
    task.signals.failed.connect(failed)
    task.signals.done.connect(finish)
    # Cancelled elsewhere (a library switch, the window closing): the dialog goes
    # (QProgressDialog.cancel hides it for good) and whoever cancelled says what happens
    # next. By its own Cancel: it stays, saying so, until the work has stopped.
    own_cancel: list[bool] = []

    def cancelled_elsewhere() -> None:
        if not own_cancel and shiboken6.isValid(dialog):
            dialog.cancel()

    def cancel_pressed() -> None:
        own_cancel.append(True)
        cancelling(dialog, title)
        task.cancel()

    task.signals.cancelling.connect(cancelled_elsewhere)
    dialog.canceled.connect(cancel_pressed)
    parent.setProperty("_running_task", task)  # keep a reference while it runs
    _jobs[task] = title
    start(task)
    return task


# Work whose wait was given up on Cancel (``wait_behind_progress(abandon=...)``), kept
# alive until its thread ends.
_abandoned: set[Task] = set()


def wait_behind_progress(
    title: str,
    work: Work,
    parent: QWidget | None = None,
    *,
    abandon: Callable[[Any], None] | None = None,
) -> tuple[Any, str | None, bool]:
    """Run ``work`` off the GUI thread and wait for it behind a modal progress dialog with
    Cancel (shown only if it takes more than a moment), for work that must end before
    what comes next can begin: at start, before the first window. Returns the result, the
    sentence saying why it failed (None if it did not), and whether it was cancelled.

    Events keep flowing while it waits (a nested event loop), so nothing freezes; Cancel
    asks the work to stop at its next check and the wait goes on until it has. With
    ``abandon``, for work that cannot stop part-way (a server that does not answer),
    Cancel returns at once instead: the work runs on, and a result it returns after that
    is handed to ``abandon`` (to close what it opened)."""
    dialog = _progress_dialog(title, "LoRA Studio", parent,
                              Qt.WindowModality.ApplicationModal, 460)
    task = Task(work)
    outcome: dict[str, Any] = {}
    loop = QEventLoop()

    def show_progress(done: int, total: int, current: str) -> None:
        if task.is_cancelled():
            return
        # One thing to wait for (one large file read): its name over a moving bar, as a
        # count of one tells nothing and its empty bar looked stuck until the end.
        counted = f" ({done:,} of {total:,} done)" if total > 1 else ""
        dialog.setLabelText(f"{title}\n{current}{counted}…")  # (before the value: above)
        dialog.setMaximum(total if total > 1 else 0)
        dialog.setValue(done)

    def succeeded(result: Any) -> None:
        if abandon is not None and task in _abandoned:
            abandon(result)  # too late: the person chose not to wait
        else:
            outcome.setdefault("result", result)

    def ended() -> None:
        _abandoned.discard(task)
        loop.quit()

    def cancel() -> None:
        task.cancel()
        if abandon is not None:
            _abandoned.add(task)
            loop.quit()
            return
        cancelling(dialog, "")

    task.signals.progress.connect(show_progress)
    task.signals.succeeded.connect(succeeded)
    task.signals.failed.connect(lambda message: outcome.setdefault("failure", message))
    task.signals.done.connect(ended)
    dialog.canceled.connect(cancel)
    _jobs[task] = title
    start(task)
    try:
        loop.exec()
    finally:
        _jobs.pop(task, None)
        dialog.canceled.disconnect(cancel)
        dialog.end()
    cancelled = task.is_cancelled() and "result" not in outcome
    return (outcome.get("result"), None if cancelled else outcome.get("failure"),
            cancelled)
