"""Ctrl+C in the terminal that started LoRA Studio, a SIGTERM (a logout, ``kill``) or the
terminal closing (SIGHUP) quits as closing the window does: the running work is cancelled
(and said at the next start), no question is asked, since nobody may be there to answer,
and nothing prints a traceback. A second signal while the work stops ends the app at once,
as a kill would: the next start says what that cut short.

Python runs a signal's handler only between its own steps, and Qt's event loop runs none
while the window is idle, so a timer gives it a step every POLL_MS; the handler only
notes the signal, and the timer's next step quits from the event loop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from ui.close_guard import CloseGuard
from ui.tasks import WorkProgress, running_jobs, stop_jobs

POLL_MS = 200

# Those the system has: SIGHUP is POSIX only, SIGBREAK (Ctrl+Break) Windows only.
QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP",
                                                         "SIGBREAK") if hasattr(signal, name))

SAID_BY_NAME = {"SIGINT": "Ctrl+C", "SIGBREAK": "Ctrl+Break", "SIGTERM": "a request to quit",
                "SIGHUP": "its terminal closing"}


def said(signum: int) -> str:
    """How a person knows the signal: "Ctrl+C" for SIGINT."""
    name = signal.Signals(signum).name
    return SAID_BY_NAME.get(name, name)


def dismiss_questions() -> None:
    """Close every dialog waiting for an answer as its Cancel would: an open question must
    not keep the app from quitting, and answering it "no" changes nothing. A job's progress
    dialog stays: its job is cancelled with the window."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and not isinstance(widget, WorkProgress) \
                and widget.isVisible():
            widget.reject()


class QuitOnSignals(QObject):
    """Turns the quit signals into ``quit_now`` (from the event loop, once); a second one
    into ``end_now`` at once."""

    def __init__(self, quit_now: Callable[[], None],
                 end_now: Callable[[int], object] = os._exit,
                 say: Callable[[str], object] | None = None) -> None:
        super().__init__()
        self.quit_now = quit_now
        self.end_now = end_now
        self.say = say  # None: to stderr, when there is one (a windowed app has none)
        self.received: int | None = None  # the first signal, once one came
        self._quitting = False
        self._previous: dict[int, object] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._step)

    def install(self) -> None:
        for signum in QUIT_SIGNALS:
            with contextlib.suppress(ValueError, OSError):  # (not the main thread)
                self._previous[signum] = signal.signal(signum, self._received)
        self._timer.start()

    def uninstall(self) -> None:
        """Give the signals back to what handled them before (tests; the end of the app)."""
        self._timer.stop()
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def _received(self, signum: int, frame: FrameType | None) -> None:
        del frame
        if self.received is not None:
            self._write(f"LoRA Studio: {said(signum)} again: ending now; the next start says "
                        "what this cut short.\n")
            self.end_now(128 + signum)
            return
        self.received = signum
        work = "the running work is cancelled first, " if running_jobs() else ""
        self._write(f"LoRA Studio: {said(signum)}: closing as the window's close does "
                    f"({work}no question is asked); {said(signum)} again ends it at once.\n")

    def _step(self) -> None:
        if self.received is not None and not self._quitting:
            self._quitting = True
            self.quit_now()

    def _write(self, text: str) -> None:
        with contextlib.suppress(Exception):  # (no stderr in a windowed frozen app)
            if self.say is not None:
                self.say(text)
            elif sys.stderr is not None:
                sys.stderr.write(text)
                sys.stderr.flush()


def quit_without_asking() -> None:
    """What a quit signal does: every open question is dismissed, every main window closes
    as its close does but without asking (its jobs are cancelled and said at the next
    start), and the jobs of no window (a library still opening) are cancelled."""
    dismiss_questions()
    guards = {widget: guard for widget in QApplication.topLevelWidgets()
              if isinstance(guard := getattr(widget, "close_guard", None), CloseGuard)}
    stop_jobs([task for task in running_jobs() if task.owner not in guards], detach=False)
    for window, guard in guards.items():
        guard.without_asking = True
        window.close()
    if not guards:
        QApplication.quit()
