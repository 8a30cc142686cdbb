"""Re-read a large library's rows in a child process and index them here a slice at a time.

In a 100,000-conversation library the read and the indexing take about a second of
Python. In a worker thread that second froze the window in turns of up to a second, since
threads share one interpreter lock (docs/PERFORMANCE.md). Here a child process reads the
rows (``ui.row_index.row_parts``) while the worker thread only waits on the pipe, and the
GUI thread unpacks and indexes each part of 1,000 rows in slices of a few milliseconds
between its own events, so no paint waits for long.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.job_process import run_in_child
from app.library import ConversationRow, Library
from ui.row_index import Filter, RowIndex, row_parts, rows_of_part
from ui.tasks import Task, start

SLICE = 0.012  # seconds of GUI-thread work before the event loop gets its turn again
SORT_KEYS_PER_STEP = 10_000
READ_IN_CHILD_FROM = 20_000  # rows; a large library (its token counts gather, its counts step)
# rows; from this many the table's reads and patches run in a child all the same: a thread
# reading 10,000 rows held the interpreter lock while the window painted, each of the
# paint's data() calls waiting for it (0.1-0.26 s frozen after Remove batch and its Undo)
THREAD_READS_BELOW = 5_000
# rows; from this many the first read goes to the background too (on the GUI thread, 10,000
# rows held the window 0.3–0.6 s before it showed), read by a thread below READ_IN_CHILD_FROM
READ_AT_START_FROM = 2_000
TOKENS_PAUSE_MS = 10_000  # new token counts alone wait this long before a large patch


def run_a_slice(steps: Iterator[object]) -> bool:
    """Take ``steps`` for one ``SLICE`` of the GUI thread; True once they are all taken
    (the work a timer hands the GUI thread a slice at a time)."""
    deadline = time.perf_counter() + SLICE
    while time.perf_counter() < deadline:
        if next(steps, StopIteration) is StopIteration:
            return True
    return False


def _done_already(_progress: object, _cancelled: object) -> None:
    """The work of a read that has finished (see ``ChildRowRead._let_go``)."""


class ChildRowRead(QObject):
    """One read: ``finished`` carries the RowIndex, prepared as the swap wants it (the
    current filter's masks and counts, the choosers' values, the sort column's keys)."""

    finished = Signal(object)  # RowIndex
    failed = Signal(str)
    done = Signal()  # after finished or failed
    indexed = Signal(int)  # rows indexed so far (after each slice that indexed some)
    _arrived = Signal()  # a part is waiting (emitted from the worker thread)

    def __init__(self, library: Library, wanted: Filter, sort_column: int,
                 sort_key: Callable[[ConversationRow], Any] | None,
                 parent: QObject | None = None, descending: bool = False) -> None:
        super().__init__(parent)
        self._parts: deque[bytes] = deque()
        self._index = RowIndex([])
        self._all_received = False
        self._cancelled = False
        self._steps: Iterator[None] | None = None
        self._wanted = wanted
        self._sort = (sort_column, sort_key, descending)
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._work)
        self._arrived.connect(self._wake)
        root = library.location

        def read(_progress: object, cancelled: Callable[[], bool]) -> None:
            run_in_child(row_parts, root, opener=Library.under_parent_lock, on_part=self._receive,
                         cancelled=cancelled)

        self.task = Task(read)
        self.task.signals.succeeded.connect(self._received_all)
        self.task.signals.failed.connect(self._failed)

    def start(self) -> None:
        start(self.task)

    def cancel(self) -> None:
        """Stop (the window closes): ``done`` follows once the child has ended,
        ``finished`` never does; parts still arriving are not indexed."""
        if self._cancelled:
            return
        self._cancelled = True
        self.task.cancel()
        self._timer.stop()
        if self._all_received:  # the child has ended: only the indexing steps were left
            self._let_go()
            QTimer.singleShot(0, self.done.emit)

    def _receive(self, part: bytes) -> None:  # worker thread: keep it short
        self._parts.append(part)
        self._arrived.emit()

    def _wake(self) -> None:
        if self._cancelled:
            return
        if not self._timer.isActive():
            self._timer.start()

    def _received_all(self, _result: object) -> None:
        self._all_received = True
        if self._cancelled:
            self._let_go()
            self.done.emit()
            return
        self._wake()

    def _failed(self, message: str) -> None:
        self._timer.stop()
        self._let_go()
        if not self._cancelled:
            self.failed.emit(message)
        self.done.emit()

    def _let_go(self) -> None:
        """Drop what this read holds: the task's work refers back to this object, a cycle
        that only the collector could free, and the rows it holds must not wait for that
        (``spare_the_collector`` keeps such cycles for ever)."""
        self._parts.clear()
        self._index = RowIndex([])
        self._steps = None
        self.task.work = _done_already

    def _work(self) -> None:
        """One slice: unpack and index parts, then the finishing steps, until SLICE."""
        deadline = time.perf_counter() + SLICE
        before = self._index.count
        while time.perf_counter() < deadline:
            if self._parts:
                self._index.extend(rows_of_part(self._parts.popleft()))
                spare_the_collector()  # before the next part: see there
                continue
            if self._index.count != before:
                self.indexed.emit(self._index.count)
                before = self._index.count
            if not self._all_received:
                self._timer.stop()  # the next part wakes it
                return
            if self._steps is None:
                self._steps = self._finish()
            if next(self._steps, StopIteration) is StopIteration:
                self._timer.stop()
                index, self._index = self._index, RowIndex([])
                self.finished.emit(index)
                self._let_go()
                self.done.emit()
                return
        if self._index.count != before:
            self.indexed.emit(self._index.count)

    def _finish(self) -> Iterator[None]:
        """What the swap would otherwise do on the GUI thread at once, in steps."""
        column, key, descending = self._sort
        return prepare_steps(self._index, self._wanted, column, key, descending)


def prepare_steps(index: RowIndex, wanted: Filter, column: int,
                  key: Callable[[ConversationRow], Any] | None,
                  descending: bool = False) -> Iterator[None]:
    """Make, a step of a few milliseconds at a time, what the swap of ``index`` into the
    table asks for: the sort column's keys, the filter's masks, the shown rows in sort
    order, its counts and every chooser's values (each is kept in the index)."""
    if key is not None:
        stop = 0
        while True:
            stop += SORT_KEYS_PER_STEP
            if index.extend_sort_keys(column, key, stop):
                break
            yield
    shown, _mask = index.select(wanted)
    yield
    for _facet in index.count_steps(wanted, shown):
        yield
    if key is not None:
        yield from index.order_steps(wanted, shown, column, descending)
    for _facet in index.choosable_steps():
        yield


def spare_the_collector(young: bool = True) -> None:
    """Keep what the window holds now out of the cyclic garbage collector's full passes.

    Table rows are named tuples, which the collector tracks (it stops tracking only plain
    tuples); with 100,000 of them each full pass took 0.4-0.5 s, and the allocations of a
    re-read trigger several: the window froze that long. ``gc.freeze`` moves every object
    alive now to a generation the collector no longer walks, and costs next to nothing. They
    are still freed when no longer used (reference counting); only reference cycles among
    them would stay, and the rows, their index and the model hold none. Called after each
    part of a large read, so the collector never meets more than one part of new rows, and
    after a large index is swapped in (``young=False``).

    After a part the young generations hold that part (small, so a collection is quick and
    its garbage is not kept). After a swap they hold lists of 100,000 references each (the
    new index's, the old one's on their way out in ``ui.slow_release``), which a collection
    of even the youngest generation walks entry by entry: 0.1 s idle, 0.5-0.8 s at a load
    of 10. So a swap only freezes; what little cyclic garbage it made stays.
    """
    if young:
        gc.collect(1)
    gc.freeze()
