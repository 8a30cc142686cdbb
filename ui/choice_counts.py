"""The filter choosers' counts of a large library, counted a part at a time between events:
counted in one go after each filter change they held the window 0.1 s at 100,000 rows on an
idle machine (0.12-0.84 s on a busy one), after the table had its rows already."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QTimer

from ui.conversations_model import ConversationsModel
from ui.row_index import FacetCounts, Filter, RowIndex
from ui.row_reader import READ_IN_CHILD_FROM, run_a_slice

COUNT_IN_STEPS_FROM = READ_IN_CHILD_FROM  # rows; fewer are counted at once (~20 ms)


class ChoiceCounts(QObject):
    """Counts what the model shows for its choosers, and hands the counts to ``show``: at
    once when they are known (a read counts them ahead for the filter it was read for) or
    the library is small; else in steps, the newest filter's only (a change meanwhile
    starts the count over)."""

    def __init__(self, model: ConversationsModel,
                 show: Callable[[dict[str, FacetCounts]], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._show = show
        self._counting: tuple[RowIndex, Filter] | None = None
        self._steps: Iterator[str] | None = None
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._step)

    @property
    def counting(self) -> bool:
        return self._timer.isActive()

    def refresh(self) -> None:
        model = self._model
        index, wanted = model.index_, model.current_filter
        if index.count < COUNT_IN_STEPS_FROM or index.counts_known(wanted):
            self._stop()
            self._show(model.facet_counts())
            return
        if self._counting == (index, wanted) and self.counting:
            return  # the same count is under way
        self._counting = (index, wanted)
        self._steps = model.facet_count_steps()
        self._timer.start()

    def _stop(self) -> None:
        self._timer.stop()
        self._counting = self._steps = None

    def _step(self) -> None:
        assert self._steps is not None and self._counting is not None
        if not run_a_slice(self._steps):
            return
        counted = self._counting
        self._stop()
        model = self._model
        if counted == (model.index_, model.current_filter):
            self._show(model.facet_counts())  # counted now: kept in the index
        else:  # (the model moved on without saying so: count what it shows now)
            self.refresh()
