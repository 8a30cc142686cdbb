"""The splitter between the training-file list and the chosen file's details.

The list shows a name and a count; the details hold the file's conversations, a table of
six columns that a person reads to choose what to remove. The split was a fixed 2 : 5,
so at 1366 px (and at 150 % scaling) the list took some 30 % of the width for two short
names while the conversations' topics were cut. Until the person drags the handle, the
list is now as wide as its names and counts want, within bounds, and the details take
the rest; once dragged, the list keeps the width chosen (the window remembers it) and the
details take whatever the window gains or loses.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QWidget

LIST_MIN = 200  # px: a name of some 20 characters and its count
LIST_SHARE = (1, 4)  # the most of the width a fitted list takes (names longer are elided)
CHOSEN_SHARE = (1, 2)  # the most a width chosen on a wider window keeps on a narrower one


def fitted_list_width(total: int, list_wants: int) -> int:
    """The list's width while the person has chosen none: what its names and counts want,
    no less than ``LIST_MIN`` and no more than a quarter of ``total``."""
    share, of = LIST_SHARE
    return max(LIST_MIN, min(list_wants, total * share // of))


class FileListSplitter(QSplitter):
    """File list (fitted, or as wide as the person chose) | details (the rest).
    ``list_wants`` says how wide the list would like to be to show its names and counts
    whole."""

    def __init__(self, file_list: QWidget, details: QWidget, list_wants: Callable[[], int],
                 parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.addWidget(file_list)
        self.addWidget(details)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)  # the details take what the window gains or loses
        self.setChildrenCollapsible(False)
        self._list_wants = list_wants
        self.chosen_width: int | None = None  # dragged by the person; None: fitted
        self.splitterMoved.connect(self._moved)

    def list_width(self) -> int:
        """How wide the list is at the splitter's present width."""
        total = sum(self.sizes())
        if self.chosen_width:
            share, of = CHOSEN_SHARE
            return max(LIST_MIN, min(self.chosen_width, total * share // of))
        return fitted_list_width(total, self._list_wants())

    def fit(self) -> None:
        """The list at its width (after the window, the names listed or the chosen width
        changed)."""
        total = sum(self.sizes())
        if total <= 0:
            return  # not laid out yet: the first resize fits it
        width = min(self.list_width(), total)
        if self.sizes() != [width, total - width]:
            self.setSizes([width, total - width])

    def _moved(self, _pos: int, _index: int) -> None:
        self.chosen_width = self.sizes()[0]

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()  # the details take the difference
