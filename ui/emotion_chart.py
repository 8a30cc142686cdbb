"""A small chart of the client's emotional intensity across the turns, with the planned arc.

Painted by hand like ``ui.distribution_chart``: a dozen points do not need QtCharts.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.labels import display_name
from app.reading import ArcPlan
from ui.reader_colours import ReaderColours, reader_colours

PAD = 8
AXIS_WIDTH = 30  # room for "1.0" left of the plot


class EmotionArcChart(QWidget):
    """Intensity (0 to 1) of each client turn as a line; the plan as a dashed line from its
    start level at the first turn to its end level at the last, labelled with its emotions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points: list[tuple[int, float]] = []
        self._labels: list[str] = []
        self._plan: ArcPlan | None = None
        self._colours: ReaderColours | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Client's emotional intensity by turn")

    def set_data(self, points: Sequence[tuple[int, float]], plan: ArcPlan | None,
                 labels: Sequence[str] = ()) -> None:
        """``points`` are (turn number, intensity); ``labels`` name each point's emotion."""
        self._points = list(points)
        self._labels = list(labels)
        self._plan = plan
        described = ", ".join(f"turn {turn}: {level:.2f}" for turn, level in self._points)
        if plan is not None:
            described += f"; planned {self.plan_text()}"
        self.setAccessibleDescription(described or "No intensities in this conversation")
        self.setToolTip("\n".join(
            f"Turn {turn}: {label + ' ' if label else ''}{level:.2f}"
            for (turn, level), label in zip(self._points, self._padded_labels(), strict=True)))
        self.update()

    def points(self) -> list[tuple[int, float]]:
        return list(self._points)

    def plan(self) -> ArcPlan | None:
        return self._plan

    def plan_text(self) -> str:
        plan = self._plan
        if plan is None:
            return ""

        def end(name: str, level: float | None) -> str:
            shown = display_name(name)  # "fear" → "Fear", as the table and filters say it
            return f"{shown} {level:.1f}" if level is not None else shown

        return f"{end(plan.start, plan.start_intensity)} → {end(plan.end, plan.end_intensity)}"

    def plan_label(self, room: float) -> str:
        """The plan line in ``room`` pixels: the full plan, else the two emotions alone
        (named as everywhere else, never as codes), else as much as fits."""
        if self._plan is None:
            return ""
        metrics = self.fontMetrics()
        text = f"planned: {self.plan_text()}"
        if metrics.horizontalAdvance(text) > room:
            text = (f"planned: {display_name(self._plan.start)} → "
                    f"{display_name(self._plan.end)}")
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(max(room, 0)))

    def _padded_labels(self) -> list[str]:
        return (self._labels + [""] * len(self._points))[: len(self._points)]

    def set_colours(self, colours: ReaderColours) -> None:
        self._colours = colours
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(360, 3 * self.fontMetrics().height() + 2 * PAD + 70)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        colours = self._colours or reader_colours(self.palette())
        metrics = self.fontMetrics()
        line_height = metrics.height()
        small = QFont(self.font())
        painter.setPen(colours.text)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        title = "Client's emotional intensity"
        painter.drawText(QRectF(PAD, PAD / 2, self.width() - 2 * PAD, line_height),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        painter.setFont(small)
        if self._plan is not None:
            painter.setPen(colours.chart_plan)
            room = self.width() - 3 * PAD - QFontMetrics(bold).horizontalAdvance(title)
            painter.drawText(QRectF(PAD, PAD / 2, self.width() - 2 * PAD, line_height),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             self.plan_label(room))
        top = PAD / 2 + line_height + line_height / 2 + 2  # the title, and half a label above 1.0
        plot = QRectF(PAD + AXIS_WIDTH, top, self.width() - 2 * PAD - AXIS_WIDTH - 4,
                      self.height() - top - line_height - PAD)
        if plot.width() < 20 or plot.height() < 10:
            return
        painter.setPen(QPen(colours.bar_track, 1))
        for level in (0.0, 0.5, 1.0):
            y = plot.bottom() - level * plot.height()
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        painter.setPen(colours.muted)
        for level in (0.0, 0.5, 1.0):
            y = plot.bottom() - level * plot.height()
            painter.drawText(QRectF(PAD, y - line_height / 2, AXIS_WIDTH - 4, line_height),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{level:.1f}")
        if not self._points:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter,
                             "No intensities are annotated in this conversation")
            return
        first, last = self._points[0][0], self._points[-1][0]
        span = max(last - first, 1)

        def at(turn: int, level: float) -> QPointF:
            share = 0.5 if last == first else (turn - first) / span
            return QPointF(plot.left() + share * plot.width(),
                           plot.bottom() - max(0.0, min(level, 1.0)) * plot.height())

        plan = self._plan
        if plan is not None and plan.start_intensity is not None \
                and plan.end_intensity is not None:
            pen = QPen(colours.chart_plan, 1.5, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            start, end = at(first, plan.start_intensity), at(last, plan.end_intensity)
            painter.drawLine(start, end)
            painter.setBrush(colours.chart_plan)
            for point in (start, end):
                painter.drawRect(QRectF(point.x() - 3, point.y() - 3, 6, 6))
        path = QPainterPath(at(*self._points[0]))
        for turn, level in self._points[1:]:
            path.lineTo(at(turn, level))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(colours.chart_line, 2))
        painter.drawPath(path)
        painter.setBrush(colours.chart_line)
        for turn, level in self._points:
            point = at(turn, level)
            painter.drawEllipse(point, 3.5, 3.5)
        painter.setPen(colours.muted)
        for turn, _level in self._points:
            x = at(turn, 0).x()
            painter.drawText(QRectF(x - 20, plot.bottom() + 2, 40, line_height),
                             Qt.AlignmentFlag.AlignCenter, str(turn))
        painter.drawText(QRectF(PAD - 4, plot.bottom() + 2, AXIS_WIDTH, line_height),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "turn")
