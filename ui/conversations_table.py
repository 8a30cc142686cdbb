"""The Conversations page's table: checks from the keyboard, and which columns show (by
column name, so the choice survives columns added later)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QStyle,
    QTableView,
    QWidget,
)

from ui.conversations_model import HEADER_NAMES, Column, ConversationsModel

# Shown unless the user chose otherwise; by column name, so a column added later (Tokens)
# is shown as soon as it exists.
DEFAULT_VISIBLE = ("check", "batch", "client", "arc", "topic", "replies", "tokens",
                   "warnings", "files")
DEFAULT_WIDTHS = {
    Column.CHECK: 28, Column.BATCH: 112, Column.CLIENT: 130, Column.ARCHETYPE: 130,
    Column.ARC: 150, Column.TOPIC: 170, Column.TURNS: 50, Column.REPLIES: 64,
    Column.QUALITY: 60, Column.TIER: 90, Column.CREATED: 90, Column.IMPORTED: 140,
    Column.SOURCE: 220, Column.FILES: 110, Column.WARNINGS: 76,
    Column.TOKENS: 70,
}


def column_key(column: Column) -> str:
    return column.name.lower()


class ConversationsTable(QTableView):
    """The table; Space toggles the checks of the selected rows, and Ctrl+A checks the
    rows the filter shows (the same as Edit ▸ Select all) instead of highlighting them.
    Its header's context menu chooses the columns."""

    # The shown columns changed (chosen, restored or reset): the width the table wants
    # to show them all (full_width) changed with them.
    shown_columns_changed = Signal()

    def __init__(self, model: ConversationsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setTabKeyNavigation(False)  # rows are chosen, not cells: Tab leaves the table
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)  # the full text on hover
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        for column, width in DEFAULT_WIDTHS.items():
            self.setColumnWidth(column, width)
        self.set_visible_columns(DEFAULT_VISIBLE)
        header.moveSection(header.visualIndex(Column.TOKENS),
                           header.visualIndex(Column.REPLIES) + 1)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.SelectAll):
            cast(ConversationsModel, self.model()).check_all_shown()
            return
        if event.key() == Qt.Key.Key_Space and self.selectionModel().hasSelection():
            model = self.model()
            rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
            first = model.index(rows[0], Column.CHECK)
            target = (Qt.CheckState.Unchecked
                      if model.data(first, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
                      else Qt.CheckState.Checked)
            for row in rows:
                model.setData(model.index(row, Column.CHECK), target,
                              Qt.ItemDataRole.CheckStateRole)
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        """Qt makes the first row current when a view without one gets the keyboard: the
        reader would then show a conversation nobody chose (and Move or Rename would take
        its batch). The first key (Down, Space) or click chooses a row instead. The
        selection model is silent meanwhile: a row made current and cleared again would
        have the reader read and lay out a whole conversation for nothing (0.3–0.4 s on
        the GUI thread as the window first shows)."""
        selection = self.selectionModel()
        if self.currentIndex().isValid() or selection.hasSelection():
            super().focusInEvent(event)
            return
        was_blocked = selection.blockSignals(True)
        try:
            super().focusInEvent(event)
            if not selection.hasSelection():
                selection.clearCurrentIndex()
        finally:
            selection.blockSignals(was_blocked)

    def full_width(self) -> int:
        """How wide the table must be to show its shown columns without scrolling
        sideways (the last one, which stretches, at its default width), with room for
        the vertical scroll bar a long table has."""
        header = self.horizontalHeader()
        shown = [header.logicalIndex(v) for v in range(header.count())
                 if not header.isSectionHidden(header.logicalIndex(v))]
        if not shown:
            return 0
        *before, last = shown
        columns = sum(header.sectionSize(c) for c in before) + DEFAULT_WIDTHS.get(
            Column(last), header.defaultSectionSize())
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent,
                                              None, self)
        return columns + scroll_bar + 2 * self.frameWidth()

    def visible_columns(self) -> list[str]:
        header = self.horizontalHeader()
        return [column_key(c) for c in Column if not header.isSectionHidden(c)]

    def set_visible_columns(self, keys: Iterable[str]) -> None:
        wanted = set(keys) | {"check"}
        for column in Column:
            self.setColumnHidden(column, column_key(column) not in wanted)
        self.shown_columns_changed.emit()

    def show_column(self, column: Column, shown: bool) -> None:
        """Show or hide one column (the header menu's entries)."""
        self.setColumnHidden(column, not shown)
        self.shown_columns_changed.emit()

    def _header_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.fill_column_menu(menu)
        menu.popup(self.horizontalHeader().mapToGlobal(position))

    def fill_column_menu(self, menu: QMenu) -> None:
        """Which columns show: one checkable entry per column (the check column stays)."""
        menu.clear()
        shown = set(self.visible_columns())
        for column in Column:
            if column is Column.CHECK:
                continue
            action = menu.addAction(HEADER_NAMES[column].split(" (")[0])
            action.setCheckable(True)
            action.setChecked(column_key(column) in shown)
            action.toggled.connect(
                lambda on, c=column: self.show_column(c, on))
        menu.addSeparator()
        menu.addAction("Default columns", lambda: self.set_visible_columns(DEFAULT_VISIBLE))

    def restore_columns(self, visible: Iterable[str], hidden: Iterable[str]) -> None:
        """Apply remembered choices by column name; a column named in neither list (one
        added since) keeps its default."""
        shown, gone = set(visible), set(hidden)
        for column in Column:
            key = column_key(column)
            if key in shown or key in gone:
                self.setColumnHidden(column, key in gone and column is not Column.CHECK)
        self.shown_columns_changed.emit()
