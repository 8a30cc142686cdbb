"""A layout that places its items left to right and wraps them onto the next line when
the width runs out, so the filter bar fits a 1,000-pixel window (Qt Widgets has none)."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    """Items keep their size hints; lines are as tall as their tallest item. An item whose
    widget is set to expand horizontally takes the rest of the last line it sits on."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # --- the QLayout contract ------------------------------------------------------------

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal & Qt.Orientation.Vertical  # neither

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        """As narrow as the widest single item: everything else can wrap."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    # --- placing -----------------------------------------------------------------------------

    def _lines(self, width: int) -> list[list[QLayoutItem]]:
        lines: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint().width()
            needed = hint if not lines[-1] else used + self._gap + hint
            if lines[-1] and needed > width:
                lines.append([item])
                used = hint
            else:
                lines[-1].append(item)
                used = needed
        return lines

    def _arrange(self, rect: QRect, apply: bool) -> int:
        margins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        y = area.y()
        for line in self._lines(area.width()):
            if not line:
                continue
            height = max(item.sizeHint().height() for item in line)
            x = area.x()
            for n, item in enumerate(line):
                width = item.sizeHint().width()
                widget = item.widget()
                last = n == len(line) - 1
                grows = widget is not None and bool(
                    widget.sizePolicy().expandingDirections() & Qt.Orientation.Horizontal)
                if last and grows:
                    width = max(width, area.right() + 1 - x)
                width = min(width, area.width())
                if apply:
                    top = y + (height - item.sizeHint().height()) // 2
                    item.setGeometry(QRect(QPoint(x, top), QSize(width,
                                                                 item.sizeHint().height())))
                x += width + self._gap
            y += height + self._gap
        return y - self._gap - rect.y() + margins.bottom() if y > area.y() else 0
