"""A small horizontal bar chart of ``{label: count}``, painted by hand.

Header distributions have a handful of keys; a painted widget shows them at a glance
without pulling in QtCharts (a large add-on for a few bars). Labels are read names
(``app.labels``), wrapped onto a second line rather than cut; the folded tail ("12 others")
is drawn apart, below a rule, in a muted outline, and never sets the scale of the bars.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.file_totals import NOT_GIVEN
from ui.wording import MISSING

MAX_BARS = 8  # longer tails are folded into one "others" bar
MARGIN = 6
BAR_GAP = 4
LABEL_SHARE = 0.6  # at most this share of the width goes to labels
ELIDE_SLACK = 4  # rendered glyphs (the ellipsis above all) can be wider than measured
OTHERS_GAP = 8  # room for the rule that sets "others" apart


def top_counts(counts: Mapping[str, int], limit: int = MAX_BARS) -> list[tuple[str, int]]:
    """Largest first (ties by label); everything past ``limit - 1`` bars summed up."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(ordered) <= limit:
        return ordered
    kept, rest = ordered[: limit - 1], ordered[limit - 1 :]
    return [*kept, (f"{len(rest):,} others", sum(count for _, count in rest))]


def shown_label(name: str) -> str:
    """A key's read name, or the window's mark for a missing value (the file's header
    counts those under NOT_GIVEN), as the members table beside the chart shows it."""
    return MISSING if name in ("", NOT_GIVEN) else name


class DistributionChart(QWidget):
    """Title, then one row per key: label, bar scaled to the largest count, count."""

    def __init__(self, title: str, parent: QWidget | None = None,
                 name: Callable[[str], str] = str) -> None:
        super().__init__(parent)
        self._title = title
        self._name = name  # how a key reads (codes get display names; batch ids do not)
        self._rows: list[tuple[str, int]] = []
        self._folded = False  # the last row sums up the tail ("12 others")
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
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
            label = shown_label(self._name(key))
            named[label] = named.get(label, 0) + count
        self._rows = top_counts(named)
        self._folded = len(named) > len(self._rows)
        total = sum(counts.values())
        every = sorted(named.items(), key=lambda item: (-item[1], item[0]))
        self.setToolTip("\n".join(f"{label}: {count:,}" for label, count in every)
                        if total else "")
        self.setAccessibleDescription(
            ", ".join(f"{label} {count:,}" for label, count in self._rows) or "No data"
        )
        self.updateGeometry()
        self.update()

    def _title_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def _line_height(self) -> int:
        return self.fontMetrics().height()

    def _row_height(self) -> int:
        return self._line_height() + BAR_GAP

    def _title_height(self) -> int:
        return self.fontMetrics().height() + MARGIN

    def _is_others(self, position: int) -> bool:
        return self._folded and position == len(self._rows) - 1

    def _label_width(self, width: int) -> int:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(label) for label, _ in self._rows),
                     default=0)
        return min(widest + 2 * MARGIN, int(width * LABEL_SHARE))

    def _row_lines(self, label: str, label_width: int) -> int:
        """1 or 2: a label that does not fit on one line wraps onto a second."""
        fits = self.fontMetrics().horizontalAdvance(label) <= label_width - MARGIN
        return 1 if fits else 2

    def _heights(self, width: int) -> list[int]:
        label_width = self._label_width(width)
        return [self._row_lines(label, label_width) * self._line_height() + BAR_GAP
                + (OTHERS_GAP if self._is_others(position) else 0)
                for position, (label, _) in enumerate(self._rows)]

    def sizeHint(self) -> QSize:
        width = max(self.width(), 300) - 2 * MARGIN
        rows = sum(self._heights(width)) if self._rows else self._row_height()
        return QSize(300, 2 * MARGIN + self._title_height() + rows)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        rows = sum(self._heights(width - 2 * MARGIN)) if self._rows else self._row_height()
        return 2 * MARGIN + self._title_height() + rows

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.updateGeometry()  # wrapping depends on the width

    def minimumSizeHint(self) -> QSize:
        return QSize(160, self.heightForWidth(max(self.width(), 160)))

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
        label_width = self._label_width(width)
        shown = [count for position, (_, count) in enumerate(self._rows)
                 if not self._is_others(position)]
        count_width = max(metrics.horizontalAdvance(f"{c:,}") for _, c in self._rows) + MARGIN
        bar_space = max(width - label_width - count_width, 1)
        largest = max(shown, default=1) or 1  # "others" never sets the scale
        bar_color = palette.color(QPalette.ColorRole.Highlight)
        text_color = palette.color(QPalette.ColorRole.WindowText)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        y = float(top)
        for position, ((label, count), height) in enumerate(
                zip(self._rows, self._heights(width), strict=True)):
            others = self._is_others(position)
            if others:
                painter.setPen(QPen(muted, 1, Qt.PenStyle.DotLine))
                painter.drawLine(QPointF(MARGIN, y + OTHERS_GAP / 2),
                                 QPointF(MARGIN + width, y + OTHERS_GAP / 2))
                y += OTHERS_GAP
                height -= OTHERS_GAP
            label_rect = QRectF(MARGIN, y, label_width - MARGIN, height)
            painter.setPen(muted if others else text_color)
            text = label
            if self._row_lines(label, label_width) == 1:
                painter.drawText(label_rect,
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            else:
                painter.drawText(label_rect, Qt.AlignmentFlag.AlignLeft
                                 | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap,
                                 _two_lines(text, exact, label_rect.width() - ELIDE_SLACK))
            bar_length = min(max(bar_space * count / largest, 2.0), bar_space)
            bar_top = y + (height - self._line_height()) / 2 + BAR_GAP / 2
            bar_rect = QRectF(MARGIN + label_width, bar_top, bar_length,
                              self._line_height() - BAR_GAP)
            if others:
                painter.setPen(QPen(muted, 1, Qt.PenStyle.DashLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(bar_color))
            painter.drawRoundedRect(bar_rect, 2, 2)
            painter.setPen(muted if others else text_color)
            count_rect = QRectF(bar_rect.right() + MARGIN / 2, y, count_width, height)
            painter.drawText(count_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"{count:,}")
            y += height


def _two_lines(text: str, metrics: QFontMetricsF, width: float) -> str:
    """The text broken at a space to fit two lines of ``width``, the second elided."""
    words = text.split(" ")
    first = ""
    for count in range(len(words), 0, -1):
        candidate = " ".join(words[:count])
        if metrics.horizontalAdvance(candidate) <= width:
            first = candidate
            rest = " ".join(words[count:])
            break
    else:
        return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
    if not rest:
        return first
    return first + "\n" + metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width)
