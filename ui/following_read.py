"""A small read of the library that follows each re-read of the Conversations page (the
samples banner's count), on a worker thread: in a large library even a short query after
every reload is a stall the window would feel, so only its answer reaches the GUI thread.

Requests while a read runs make one more read after it, and a running read's answer is
dropped when a newer one is coming, so what is shown is never older than the last request.
Once stopped (the library is about to close) nothing more is read or handed over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.library import Library
from ui.tasks import Task, start


class FollowingRead(QObject):
    """Runs ``read(library)`` off the GUI thread on ``request`` and emits ``answered``
    with what it returned. A read that fails changes nothing: the page's own read
    reports what is wrong with the library."""

    answered = Signal(object)

    def __init__(self, library: Library, read: Callable[[Library], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._read = read
        self._task: Task | None = None
        self._again = False  # asked again while a read ran: read once more after it
        self._stopped = False

    @property
    def busy(self) -> bool:
        return self._task is not None

    def request(self) -> None:
        if self._stopped:
            return
        if self._task is not None:
            self._again = True
            return
        library, read = self.library, self._read

        def work(_progress: object, cancelled: Callable[[], bool]) -> tuple[bool, Any]:
            if cancelled():  # stopped before it began: the library may be closing
                return False, None
            return True, read(library)

        task = Task(work)
        task.signals.succeeded.connect(self._answered)
        task.signals.done.connect(self._done)
        self._task = task
        self._again = False
        start(task)

    def stop(self, timeout: float = 30.0) -> None:
        """Read no more: a read under way is cancelled and waited for, so the library never
        closes under it, and its answer is dropped."""
        self._stopped = True
        self._again = False
        task = self._task
        if task is not None:
            task.cancel()
            task.ended.wait(timeout)

    def _answered(self, outcome: tuple[bool, Any]) -> None:
        read, answer = outcome
        if read and not self._stopped and not self._again:
            self.answered.emit(answer)

    def _done(self) -> None:
        self._task = None
        if self._again:
            self.request()
