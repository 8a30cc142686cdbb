"""A count cell that keeps its number whole when its column is squeezed.

The Tokens column shows ⚠ before a count over the length limit. On a small window the
column is squeezed to the width of its numbers, and Qt then cut the number to make room
for the icon ("5,…"): the one thing the cell is for was lost to its decoration. Where the
cell is too narrow for both, this delegate leaves the icon out and writes the number in
the warning colour instead; the tooltip still says why the count is marked.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ui.cell_width import text_margin
from ui.reader_colours import WARNING_HUE, readable

Index = QModelIndex | QPersistentModelIndex


def room_for_icon_and_text(option: QStyleOptionViewItem, widget: QWidget | None) -> bool:
    """Whether the cell shows its icon and its whole text side by side, as the style lays
    them out (the text's own rectangle, after the icon and the margins)."""
    if widget is None:
        return True
    style = widget.style()
    text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, widget)
    return (option.fontMetrics.horizontalAdvance(option.text) + 2 * text_margin(widget)
            <= text_rect.width())


class WholeCountDelegate(QStyledItemDelegate):
    """Draws a count with its warning icon while both fit, else the count alone in the
    warning colour (never a cut number)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        features = option.features
        if not features & QStyleOptionViewItem.ViewItemFeature.HasDecoration:
            return
        if room_for_icon_and_text(option, option.widget):
            return
        option.features = features & ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
        option.icon = QIcon()
        warning = readable(WARNING_HUE, option.palette.color(QPalette.ColorRole.Base))
        option.palette.setColor(QPalette.ColorRole.Text, warning)
