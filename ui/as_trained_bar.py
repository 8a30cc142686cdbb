"""The line's tokens as a bar against the length limit: one segment per turn
(its trained part in the highlight colour, its context in grey), a mark where the budget
cuts, and what lies past it hatched. Clicking a segment asks to show that turn."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QHelpEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.trained_preview import ROLE_LABELS, Preview
from app.wording import LENGTH_LIMIT
from ui.as_trained_colours import AsTrainedColours


class BudgetBar(QWidget):
    turn_clicked = Signal(int)  # row of the turn in the preview

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview: Preview | None = None
        self.colours: AsTrainedColours | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:
        return QSize(400, 18)

    def set_preview(self, preview: Preview | None, colours: AsTrainedColours) -> None:
        self.preview, self.colours = preview, colours
        self.update()

    def _scale(self) -> float:
        preview = self.preview
        if preview is None:
            return 0.0
        span = max(preview.total, preview.settings.max_seq_len, 1)
        return (self.width() - 2) / span

    def segments(self) -> list[tuple[int, QRectF]]:
        """(row, rectangle) of each turn in the line."""
        if self.preview is None:
            return []
        scale = self._scale()
        found = []
        for row, turn in enumerate(self.preview.rows):
            if not turn.tokens:
                continue
            left = 1 + turn.first_token * scale
            found.append((row, QRectF(left, 2, turn.tokens * scale, self.height() - 4)))
        return found

    def paintEvent(self, _event: QPaintEvent) -> None:
        preview, colours = self.preview, self.colours
        if preview is None or colours is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(self.rect(), colours.page)
        scale = self._scale()
        for row, rect in self.segments():
            turn = preview.rows[row]
            painter.fillRect(rect, colours.bar_context)
            if turn.trained_tokens:
                trained = QRectF(rect)
                trained.setWidth(turn.trained_tokens * scale)
                trained.moveRight(rect.right())  # a reply's trained text ends its turn
                painter.fillRect(trained, colours.bar_trained)
            painter.fillRect(QRectF(rect.right() - 0.5, rect.top(), 1, rect.height()),
                             colours.page)  # a hairline between turns
        cut = 1 + preview.settings.max_seq_len * scale
        if preview.cut_token is not None:
            lost = QRectF(cut, 1, self.width() - cut, self.height() - 2)
            painter.fillRect(lost, QBrush(colours.lost_bg, Qt.BrushStyle.SolidPattern))
            painter.fillRect(lost, QBrush(colours.budget_line, Qt.BrushStyle.BDiagPattern))
        painter.fillRect(QRectF(cut - 1, 0, 2, self.height()), QColor(colours.budget_line))
        painter.end()

    def _row_at(self, x: float) -> int | None:
        for row, rect in self.segments():
            if rect.left() <= x <= rect.right():
                return row
        return None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            row = self._row_at(event.pos().x())
            if row is None or self.preview is None:
                QToolTip.hideText()
            else:
                turn = self.preview.rows[row]
                text = (f"{'Message ' + turn.number if turn.number else 'System prompt'} · "
                        f"{ROLE_LABELS.get(turn.role, turn.role)}\n{turn.tokens:,} tokens, "
                        f"{turn.trained_tokens:,} trained")
                if turn.lost_tokens:
                    text += f"\n{turn.lost_tokens:,} past the {LENGTH_LIMIT}"
                QToolTip.showText(event.globalPos(), text, self)
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        row = self._row_at(event.position().x())
        if row is not None:
            self.turn_clicked.emit(row)
