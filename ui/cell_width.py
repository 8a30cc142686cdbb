"""How wide a table's text cell must be to show a text whole, measured as Qt's item
delegate sizes it: the Conversations table and a training file's members table fit their
columns with it, without asking the view for every row (``ui.column_fit``,
``ui.training_files_page``); and how wide a column must be for its heading to show whole.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QHeaderView, QStyle, QStyleOptionHeader, QTableView, QWidget


def text_margin(widget: QWidget) -> int:
    """What Qt's item delegate keeps on each side of a cell's text: the style's
    focus-frame margin and a pixel."""
    return widget.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1


def cell_margin(table: QTableView) -> int:
    """What a text cell adds to its text: ``text_margin`` each side, and a pixel for the
    table's grid."""
    return 2 * text_margin(table) + int(table.showGrid())


def widest_cell(table: QTableView, texts: Iterable[str]) -> int:
    """The width of a cell of ``table`` that shows the widest of ``texts`` whole (its
    margin alone when there are none). Fractional widths are rounded up, as Qt's delegate
    does: one rounded down leaves the text a fraction of a pixel short, drawn cut with "…"."""
    metrics = QFontMetricsF(table.font())
    widest = max((math.ceil(metrics.horizontalAdvance(text)) for text in texts), default=0)
    return widest + cell_margin(table)


def heading_width(header: QHeaderView, section: int) -> int:
    """The narrowest ``section`` that shows its heading whole with the sort arrow beside
    it, as the style lays the label out. Qt's own ``sectionSizeFromContents`` keeps room
    for an arrow as wide as the header is high: some 10 px more than the style draws,
    which a table short of room cannot spare."""
    option = QStyleOptionHeader()
    option.initFrom(header)
    option.text = str(header.model().headerData(section, header.orientation()) or "")
    option.sortIndicator = QStyleOptionHeader.SortIndicator.SortDown
    option.orientation = Qt.Orientation.Horizontal
    option.state |= QStyle.StateFlag.State_Horizontal
    option.rect = QRect(0, 0, 1000, max(header.height(), 1))
    label = header.style().subElementRect(QStyle.SubElement.SE_HeaderLabel, option, header)
    text = math.ceil(QFontMetricsF(header.font()).horizontalAdvance(option.text))
    return text + option.rect.width() - label.width()
