"""Counting tokens in the background, so the Tokens column fills without anyone waiting.

A library's per-conversation counts (``app.token_counts.ensure_counts``) are missing after
an import, after a tokenizer or chat template change and in libraries made before counts
existed. ``TokenCountFlow`` counts them in a child process with a progress bar and a Cancel
button in the status bar, and says ``tokens_changed`` through the change signal so the table
re-reads only each row's count (not every summary row). The window never waits for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QToolButton

from app.build import StoppedByForce
from app.job_process import run_in_child
from app.library import Library
from app.token_counts import count_missing
from ui.changes import LibraryChanges
from ui.tasks import Task, start

ANNOUNCE_EVERY = 2.0  # seconds: a long count shows its progress in the table as it goes
START_DELAY_MS = 200  # changes in a row (an import's signals) start one count


class TokenCountFlow(QObject):
    """Counts what is uncounted, one pass at a time; ``start()`` whenever counts may be
    missing (the window calls it at start, after imports and after a tokenizer change)."""

    status = Signal(str)  # a sentence for the status bar (cancelled, failed)
    # Counting is complete: how many conversations were counted since the last time (a pass
    # restarted by ``start`` hands on what it had counted).
    finished = Signal(int)

    def __init__(self, window: QMainWindow, library: Library,
                 changes: LibraryChanges) -> None:
        super().__init__(window)
        self.library = library
        self.changes = changes
        self._task: Task | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._again = False
        self._closing = False
        self._carried = 0  # counted by passes that were restarted before they finished
        self._last_announce = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(START_DELAY_MS)
        self._timer.timeout.connect(self._begin)

        self.label = QLabel()
        self.label.setContentsMargins(12, 0, 0, 0)  # apart from the shown/checked counts
        self.label.setMinimumWidth(
            self.label.fontMetrics().horizontalAdvance("Counting tokens: 100,000 of 100,000"))
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop counting tokens; the counts made so far are kept "
                                      "and the rest are counted at the next start")
        self.cancel_button.clicked.connect(self.cancel)
        bar = window.statusBar()
        for widget in (self.label, self.bar, self.cancel_button):
            bar.addPermanentWidget(widget)
        self._show_progress(False)

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def pending(self) -> bool:
        """A pass is running or about to start."""
        return self._task is not None or self._timer.isActive()

    def start(self) -> None:
        """Count what is missing, soon; a pass already running ends and a new one begins
        (after a tokenizer change the running pass counts with the old one)."""
        if self._closing or self.library.read_only:
            return
        if self._task is not None:
            self._again = True
            self._task.cancel()
            return
        self._timer.start()

    def cancel(self) -> None:
        """The user's Cancel: counts made so far stay stored."""
        self._again = False
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()
            self.label.setText("Cancelling token count…")

    def stop(self, timeout: float = 30.0) -> None:
        """At close: cancel and wait for the pass to end (it stops between chunks), so the
        library is never closed under it."""
        self._closing = True
        self._timer.stop()
        self.cancel()
        if self._task is not None and QThreadPool.globalInstance().tryTake(self._task):
            # Still queued behind other jobs (Qt's pool has a thread per core): it never
            # started, so nothing runs against the library and nothing is waited for.
            self._task = None
            self._idle.set()
        self._idle.wait(timeout)

    def _begin(self) -> None:
        if self._task is not None or self._closing:
            return
        library = self.library
        idle = self._idle

        def work(progress: Callable[[int, int, str], None],
                 cancelled: Callable[[], bool]) -> tuple[int, bool]:
            """In a child process: counting is Python work (templates) that would otherwise
            share the interpreter with the window and freeze it (``app.job_process``)."""
            try:
                result: tuple[int, bool] = run_in_child(
                    count_missing, library.location, opener=Library.under_parent_lock,
                    progress=progress, cancelled=cancelled)
                return result
            except StoppedByForce:  # ended after Cancel: the chunks it stored are kept
                return 0, True
            finally:
                idle.set()

        task = Task(work)
        task.signals.progress.connect(self._progress)
        task.signals.succeeded.connect(self._succeeded)
        task.signals.failed.connect(self._failed)
        task.signals.done.connect(self._done)
        self._task = task
        self._again = False
        self._last_announce = time.monotonic()
        self._idle.clear()
        start(task)

    def _show_progress(self, visible: bool) -> None:
        for widget in (self.label, self.bar, self.cancel_button):
            widget.setVisible(visible)

    def _progress(self, done: int, total: int, _current: str) -> None:
        if self._task is None or self._task.is_cancelled():
            return
        self._show_progress(True)
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(done)
        self.label.setText(f"Counting tokens: {done:,} of {total:,}")
        now = time.monotonic()
        if done and now - self._last_announce >= ANNOUNCE_EVERY:
            self._last_announce = now
            self.changes.tokens_changed.emit()

    def _succeeded(self, result: tuple[int, bool]) -> None:
        counted, cancelled = result
        if counted or cancelled:  # (a pass killed after Cancel does not say how many)
            self.changes.tokens_changed.emit()
        if cancelled and self._again:
            self._carried += counted  # the next pass goes on from here
        elif cancelled and not self._closing:
            self._carried = 0
            self.status.emit("Token count cancelled: the counts made so far are kept; the "
                             "rest are counted at the next start.")
        if not cancelled:
            counted, self._carried = counted + self._carried, 0
            self.finished.emit(counted)

    def _failed(self, message: str) -> None:
        self.changes.tokens_changed.emit()  # counts stored before the failure show
        self.status.emit(f"Token counts could not be made: {message}")

    def _done(self) -> None:
        self._task = None
        self._show_progress(False)
        if self._again and not self._closing:
            self._again = False
            self._timer.start()
