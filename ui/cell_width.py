"""How wide a table's text cell must be to show a text whole, measured as Qt's item
delegate sizes it: the Conversations table and a training file's members table fit their
columns with it, without asking the view for every row (``ui.column_fit``,
``ui.training_files_page``)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QStyle, QTableView


def cell_margin(table: QTableView) -> int:
    """What a text cell adds to its text: a focus-frame margin and a pixel each side (as
    Qt's item delegate sizes it), and one for the table's grid."""
    frame = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table)
    return 2 * (frame + 1) + int(table.showGrid())


def widest_cell(table: QTableView, texts: Iterable[str]) -> int:
    """The width of a cell of ``table`` that shows the widest of ``texts`` whole (its
    margin alone when there are none). Fractional widths are rounded up, as Qt's delegate
    does: one rounded down leaves the text a fraction of a pixel short, drawn cut with "…"."""
    metrics = QFontMetricsF(table.font())
    widest = max((math.ceil(metrics.horizontalAdvance(text)) for text in texts), default=0)
    return widest + cell_margin(table)
