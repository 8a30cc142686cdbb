"""The table's search text made ahead, a few milliseconds at a time, while nothing else is
read: made at the first key typed in the search instead, it held the window 0.5-1.8 s at
100,000 rows (``RowIndex.haystacks``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QTimer

from ui.row_index import RowIndex
from ui.row_reader import run_a_slice


class SearchTextAhead(QObject):
    """Makes the search text of the index the table shows, in steps between events; stops
    while ``busy`` (a read or a patch takes the GUI thread's turns) until told to ``follow``
    again, and starts over for a new index (a patch carries the text already made into the
    index it makes)."""

    def __init__(self, current: Callable[[], RowIndex], busy: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self._busy = busy
        self._index: RowIndex | None = None
        self._steps: Iterator[None] | None = None
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._step)

    def follow(self) -> None:
        """The table shows a new index: make its search text, unless it has it."""
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._index = self._steps = None

    @property
    def making(self) -> bool:
        return self._timer.isActive()

    def _step(self) -> None:
        if self._busy():  # a read takes the turns: ``follow`` comes again once it ends
            self._timer.stop()
            return
        index = self._current()
        if index is not self._index:
            self._index, self._steps = index, index.haystack_steps()
        assert self._steps is not None
        if run_a_slice(self._steps):
            self.stop()
