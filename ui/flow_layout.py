"""A layout that places its items left to right and wraps them onto the next line when
the width runs out, so the filter bar fits a 1,000-pixel window (Qt Widgets has none).

Qt asks a layout's height for a width several times a pass, and each answer asked every
item its size hint: calls into Qt, each of which gives up the interpreter lock and waits
to get it back. With a worker thread of the window running Python (the row re-read after
an import) each wait can last the 5 ms switch interval, and the filter bar's relayout took
15-45 ms of waiting for well under 1 ms of work. The items' hints are therefore read once
after each ``invalidate`` (which Qt calls whenever an item's hint or visibility changes),
and each width's height is kept until then.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class _Placed(NamedTuple):
    """An item shown in the layout, with what placing it needs (read once a pass)."""

    item: QLayoutItem
    width: int  # its size hint's
    height: int
    grows: bool  # its widget expands horizontally: it takes the rest of its line


class FlowLayout(QLayout):
    """Items keep their size hints; lines are as tall as their tallest item. An item whose
    widget is set to expand horizontally takes the rest of the last line it sits on."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self._placed: list[_Placed] | None = None  # until the next ``invalidate``
        self._heights: dict[int, int] = {}  # each width asked for: its height
        self._minimum: QSize | None = None
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # --- the QLayout contract ------------------------------------------------------------

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        if not 0 <= index < len(self._items):
            return None
        self.invalidate()
        return self._items.pop(index)

    def invalidate(self) -> None:
        """An item's hint, visibility or the items changed: read them again when asked."""
        self._placed = None
        self._heights.clear()
        self._minimum = None
        super().invalidate()

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal & Qt.Orientation.Vertical  # neither

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            height = self._heights[width] = self._arrange(QRect(0, 0, width, 0), apply=False)
        return height

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        """As narrow as the widest single item: everything else can wrap."""
        if self._minimum is None:
            size = QSize()
            for item in self._items:
                size = size.expandedTo(item.minimumSize())
            margins = self.contentsMargins()
            self._minimum = size + QSize(margins.left() + margins.right(),
                                         margins.top() + margins.bottom())
        return QSize(self._minimum)

    # --- placing -----------------------------------------------------------------------------

    def _shown(self) -> list[_Placed]:
        if self._placed is None:
            self._placed = []
            for item in self._items:
                if item.isEmpty():
                    continue
                hint = item.sizeHint()
                widget = item.widget()
                grows = widget is not None and bool(
                    widget.sizePolicy().expandingDirections() & Qt.Orientation.Horizontal)
                self._placed.append(_Placed(item, hint.width(), hint.height(), grows))
        return self._placed

    def _lines(self, width: int) -> list[list[_Placed]]:
        lines: list[list[_Placed]] = [[]]
        used = 0
        for placed in self._shown():
            hint = placed.width
            needed = hint if not lines[-1] else used + self._gap + hint
            if lines[-1] and needed > width:
                lines.append([placed])
                used = hint
            else:
                lines[-1].append(placed)
                used = needed
        return lines

    def _arrange(self, rect: QRect, apply: bool) -> int:
        margins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        y = area.y()
        for line in self._lines(area.width()):
            if not line:
                continue
            height = max(placed.height for placed in line)
            x = area.x()
            for n, placed in enumerate(line):
                width = placed.width
                if n == len(line) - 1 and placed.grows:
                    width = max(width, area.right() + 1 - x)
                width = min(width, area.width())
                if apply:
                    top = y + (height - placed.height) // 2
                    placed.item.setGeometry(QRect(QPoint(x, top), QSize(width, placed.height)))
                x += width + self._gap
            y += height + self._gap
        return y - self._gap - rect.y() + margins.bottom() if y > area.y() else 0
