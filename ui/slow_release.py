"""Free what a large table no longer needs a slice at a time, between the window's events.

Dropping the last reference to 100,000 table rows frees them, their strings and the
index's lists in one go: 0.1 s on an idle machine and 0.3-0.8 s on a loaded one, in which
the window cannot paint (docs/PERFORMANCE.md). Here the items are first taken into lists
of our own, so dropping the old containers frees nothing large, and those lists are then
emptied a chunk at a time on the GUI thread, a few milliseconds per turn of the event
loop. ``release`` copies the items first and changes nothing it is given (a worker may still
read those containers); ``take`` empties the containers themselves, for the caller's own
that nobody else holds: a copy of eleven 100,000-entry lists held the GUI thread 40-70 ms
at a load of 10.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer

Heap = list[Any] | dict[Any, Any]

SLICE = 0.006  # seconds of freeing before the event loop gets its turn again
CHUNK = 2_000  # items freed at a time


class SlowRelease(QObject):
    """Holds the items of containers that are being let go, and frees them gradually."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._heaps: list[Heap] = []
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._work)

    def release(self, containers: Iterable[Iterable[Any]]) -> None:
        """Keep every item of ``containers`` until it is freed here; the caller then drops
        the containers themselves, which is cheap."""
        self._heaps.extend(list(items) for items in containers)
        if self._heaps and not self._timer.isActive():
            self._timer.start()

    def take(self, containers: Iterable[Heap]) -> None:
        """Empty these lists and dicts themselves, a part at a time (no copy): only for
        containers nobody else holds or reads any more."""
        self._heaps.extend(heap for heap in containers if heap)
        if self._heaps and not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> int:
        """Items not freed yet."""
        return sum(map(len, self._heaps))

    def _work(self) -> None:
        deadline = time.perf_counter() + SLICE
        heaps = self._heaps
        while heaps and time.perf_counter() < deadline:
            heap = heaps[-1]
            if isinstance(heap, dict):
                for _ in range(min(CHUNK, len(heap))):
                    heap.popitem()
            else:
                del heap[-CHUNK:]
            if not heap:
                heaps.pop()
        if not heaps:
            self._timer.stop()

    def finish(self) -> None:
        """Free everything now (the window is closing)."""
        self._timer.stop()
        self._heaps.clear()
