"""A small horizontal bar chart of ``{label: count}``, painted by hand.

Header distributions have a handful of keys; a painted widget shows them at a glance
without pulling in QtCharts (a large add-on for a few bars).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

MAX_BARS = 8  # longer tails are folded into one "others" bar
MARGIN = 6
BAR_GAP = 4
LABEL_SHARE = 0.6  # at most this share of the width goes to labels
ELIDE_SLACK = 4  # rendered glyphs (the ellipsis above all) can be wider than measured


def top_counts(counts: Mapping[str, int], limit: int = MAX_BARS) -> list[tuple[str, int]]:
    """Largest first (ties by label); everything past ``limit - 1`` bars summed up."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(ordered) <= limit:
        return ordered
    kept, rest = ordered[: limit - 1], ordered[limit - 1 :]
    return [*kept, (f"{len(rest)} others", sum(count for _, count in rest))]


class DistributionChart(QWidget):
    """Title, then one row per key: label, bar scaled to the largest count, count."""

    def __init__(self, title: str, parent: QWidget | None = None,
                 name: Callable[[str], str] = str) -> None:
        super().__init__(parent)
        self._title = title
        self._name = name  # how a key reads (codes get display names; batch ids do not)
        self._rows: list[tuple[str, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(title)

    @property
    def title(self) -> str:
        return self._title

    def rows(self) -> list[tuple[str, int]]:
        """The bars as shown, in order (what the tests and screen readers care about)."""
        return list(self._rows)

    def set_counts(self, counts: Mapping[str, int]) -> None:
        named: dict[str, int] = {}
        for key, count in counts.items():
            label = self._name(key) or "(none)"
            named[label] = named.get(label, 0) + count
        self._rows = top_counts(named)
        total = sum(counts.values())
        self.setToolTip("\n".join(f"{label}: {count}" for label, count in self._rows)
                        if total else "")
        self.setAccessibleDescription(
            ", ".join(f"{label} {count}" for label, count in self._rows) or "No data"
        )
        self.updateGeometry()
        self.update()

    def _title_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def _row_height(self) -> int:
        return self.fontMetrics().height() + BAR_GAP

    def _title_height(self) -> int:
        return self.fontMetrics().height() + MARGIN

    def sizeHint(self) -> QSize:
        rows = max(len(self._rows), 1)
        return QSize(300, 2 * MARGIN + self._title_height() + rows * self._row_height())

    def minimumSizeHint(self) -> QSize:
        return QSize(160, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        palette = self.palette()
        metrics = self.fontMetrics()
        exact = QFontMetricsF(self.font())
        width = self.width() - 2 * MARGIN
        painter.setFont(self._title_font())
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        title_rect = QRectF(MARGIN, MARGIN, width, metrics.height())
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(self._title, Qt.TextElideMode.ElideRight, width))
        painter.setFont(self.font())
        top = MARGIN + self._title_height()
        if not self._rows:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRectF(MARGIN, top, width, self._row_height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             "No data")
            return
        widest_label = max(metrics.horizontalAdvance(label) for label, _ in self._rows)
        label_width = min(widest_label + 2 * MARGIN, int(width * LABEL_SHARE))
        count_width = max(metrics.horizontalAdvance(str(c)) for _, c in self._rows) + MARGIN
        bar_space = max(width - label_width - count_width, 1)
        largest = max(count for _, count in self._rows) or 1
        bar_color = palette.color(QPalette.ColorRole.Highlight)
        text_color = palette.color(QPalette.ColorRole.WindowText)
        row_height = self._row_height()
        for position, (label, count) in enumerate(self._rows):
            y = top + position * row_height
            label_rect = QRectF(MARGIN, y, label_width - MARGIN, row_height)
            painter.setPen(text_color)
            painter.drawText(label_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             exact.elidedText(label, Qt.TextElideMode.ElideMiddle,
                                              label_rect.width() - ELIDE_SLACK))
            bar_length = max(bar_space * count / largest, 2.0)
            bar_rect = QRectF(MARGIN + label_width, y + BAR_GAP / 2, bar_length,
                              row_height - BAR_GAP)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(bar_color))
            painter.drawRoundedRect(bar_rect, 2, 2)
            painter.setPen(text_color)
            count_rect = QRectF(bar_rect.right() + MARGIN / 2, y, count_width, row_height)
            painter.drawText(count_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             str(count))
