"""The Conversations page's table: checks from the keyboard, which columns show (by
column name, so the choice survives columns added later) and how wide they are: the text
columns fitted to the library's values (``ui.column_fit``) unless the person dragged them."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import cast

from PySide6.QtCore import QByteArray, QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QStyle,
    QTableView,
    QWidget,
)

from ui.cell_width import heading_width, widest_cell
from ui.column_fit import (
    FITTED_LIMITS,
    GIVES_FIRST,
    GIVES_LAST,
    KEPT_WHOLE,
    LAST_RESORT,
    WHOLE_NUMBERS,
    column_texts,
    squeezed,
    within_limits,
)
from ui.conversations_model import HEADER_NAMES, Column, ConversationsModel
from ui.row_index import RowIndex
from ui.row_selection import selected_rows
from ui.whole_count_delegate import WholeCountDelegate

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
    rows the filter shows (the same as Edit ▸ Check all shown) instead of highlighting them.
    Its header's context menu chooses the columns."""

    # The width the table wants to show its columns whole (full_width) changed: columns
    # shown, hidden or restored, or fitted to new rows.
    wanted_width_changed = Signal()
    hint = Signal(str)  # a key that did nothing, and why (for the status bar)

    def __init__(self, model: ConversationsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._laying_out = False  # the table sizes its columns: no width the person chose
        self._content = {column: DEFAULT_WIDTHS[column] for column in FITTED_LIMITS}
        self.chosen: dict[Column, int] = {}  # widths the person dragged columns to
        self._fitted_for: weakref.ref[RowIndex] | None = None
        self.setModel(model)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setTabKeyNavigation(False)  # rows are chosen, not cells: Tab leaves the table
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)  # the full text on hover
        # A squeezed count drops its ⚠ for a warning colour rather than be cut ("5,…").
        self.setItemDelegateForColumn(Column.TOKENS, WholeCountDelegate(self))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        with self._sizing():
            for column, width in DEFAULT_WIDTHS.items():
                self.setColumnWidth(column, width)
        self.set_visible_columns(DEFAULT_VISIBLE)
        header.moveSection(header.visualIndex(Column.TOKENS),
                           header.visualIndex(Column.REPLIES) + 1)
        header.sectionResized.connect(self._section_resized)
        header.sectionHandleDoubleClicked.connect(self._fit_again)
        model.modelReset.connect(self._rows_changed)
        self._rows_changed()

    def dataChanged(self, top_left: QModelIndex | QPersistentModelIndex,
                    bottom_right: QModelIndex | QPersistentModelIndex,
                    roles: Sequence[int] = ()) -> None:
        """A change of one column over many rows (new token counts: the Tokens column of
        every row) repaints only that column's cells on screen: given the whole range, Qt
        repaints the whole table from a few hundred rows on (measured with Qt 6.11)."""
        if top_left.isValid() and top_left.column() == bottom_right.column():
            on_screen = self.rowAt(0)
            last_on_screen = self.rowAt(self.viewport().height() - 1)
            first = max(top_left.row(), on_screen)
            last = bottom_right.row() if last_on_screen < 0 \
                else min(bottom_right.row(), last_on_screen)
            if on_screen < 0 or first > last:
                return  # none of the changed cells is on screen
            model = self.model()
            top_left = model.index(first, top_left.column())
            bottom_right = model.index(last, bottom_right.column())
        super().dataChanged(top_left, bottom_right, list(roles))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.SelectAll):
            cast(ConversationsModel, self.model()).check_all_shown()
            return
        if event.key() == Qt.Key.Key_Space and self.selectionModel().hasSelection():
            cast(ConversationsModel, self.model()).toggle_rows(selected_rows(self))
            return
        if (event.key() == Qt.Key.Key_Delete
                and not cast(ConversationsModel, self.model()).checked_count):
            # (with rows checked, Edit ▸ Remove checked… takes the key before it gets here)
            self.hint.emit("Delete removes the checked conversations, and none is checked: "
                           "Space checks the selected rows.")
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

    # --- widths ----------------------------------------------------------------------

    @contextmanager
    def _sizing(self) -> Iterator[None]:
        """Column sizes the table sets itself (not the person's choice)."""
        was, self._laying_out = self._laying_out, True
        try:
            yield
        finally:
            self._laying_out = was

    def _shown(self) -> list[int]:
        """The shown columns, left to right."""
        header = self.horizontalHeader()
        return [header.logicalIndex(v) for v in range(header.count())
                if not header.isSectionHidden(header.logicalIndex(v))]

    def wanted_width(self, column: Column) -> int:
        """The person's width, else the content's (within limits), else the default."""
        if column in self.chosen:
            return self.chosen[column]
        return self._content.get(column, DEFAULT_WIDTHS.get(
            column, self.horizontalHeader().defaultSectionSize()))

    def _chrome(self) -> int:
        """What the table's frame and a long table's vertical scroll bar take."""
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent,
                                              None, self)
        return scroll_bar + 2 * self.frameWidth()

    def full_width(self) -> int:
        """How wide the table must be to show its shown columns without cutting or
        scrolling sideways (the last one, which stretches, at its wanted width), with room
        for the vertical scroll bar a long table has."""
        shown = self._shown()
        if not shown:
            return 0
        return sum(self.wanted_width(Column(c)) for c in shown) + self._chrome()

    def lay_out_columns(self) -> None:
        """Each shown column at its wanted width; where the table is narrower than that,
        the fitted columns the person did not size give up the difference (In files first,
        each down to its narrowest; then, if that is not enough, down to their last
        resort, no narrower than their heading; then Replies and Tokens, keeping their
        heading and numbers whole; then Client, the same way; beyond that the table
        scrolls sideways)."""
        shown = [Column(c) for c in self._shown()]
        if not shown:
            return
        *before, _last = shown  # the last one stretches over what is left
        wants = {column: self.wanted_width(column) for column in shown}
        giving = [column for column in before if column in FITTED_LIMITS
                  and column not in KEPT_WHOLE and column not in self.chosen]
        room = self.width() - self._chrome()
        widths = self._squeezed(before, giving, wants, room)
        header = self.horizontalHeader()
        with self._sizing():
            for column in before:
                if header.sectionSize(column) != widths[column]:
                    header.resizeSection(column, widths[column])

    def _squeezed(self, before: list[Column], giving: list[Column],
                  wants: dict[Column, int], room: int) -> dict[Column, int]:
        """``wants`` made to fit ``room``, in the order ``lay_out_columns`` says: each
        step only while the columns are still too wide for it."""
        header = self.horizontalHeader()
        others = [column for column in giving if column not in GIVES_LAST]
        last = [column for column in giving if column in GIVES_LAST]

        def counts() -> dict[Column, int]:
            return {column: max(heading_width(header, column),
                                widest_cell(self, [WHOLE_NUMBERS[column]]))
                    for column in before
                    if column in WHOLE_NUMBERS and column not in self.chosen}

        def narrowest(columns: list[Column]) -> dict[Column, int]:
            return {column: FITTED_LIMITS[column][0] for column in columns}

        def last_resort(columns: list[Column]) -> dict[Column, int]:
            return {column: max(LAST_RESORT[column], heading_width(header, column))
                    for column in columns}

        widths = dict(wants)
        for floors in (lambda: narrowest(others), lambda: last_resort(others),
                       counts, lambda: narrowest(last), lambda: last_resort(last)):
            if sum(widths.values()) <= room:
                break
            widths = squeezed(widths, floors(), room, GIVES_FIRST)
        return widths

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.lay_out_columns()

    def _rows_changed(self) -> None:
        """New rows (not a new filter): fit the text columns to what they now hold."""
        index = cast(ConversationsModel, self.model()).index_
        if self._fitted_for is not None and self._fitted_for() is index:
            return
        self._fitted_for = weakref.ref(index)
        self.fit_to_texts(column_texts(index))

    def fit_to_texts(self, texts: dict[Column, list[str]]) -> None:
        """Each fitted column as wide as its widest text or its heading, within limits."""
        header = self.horizontalHeader()
        content = {}
        for column, values in texts.items():
            heading = header.sectionSizeFromContents(column).width()
            content[column] = within_limits(column, max(widest_cell(self, values), heading))
        if content == self._content:
            return
        self._content.update(content)
        self.lay_out_columns()
        self.wanted_width_changed.emit()

    def _section_resized(self, column: int, old: int, new: int) -> None:
        """A width the table did not set: the person dragged the column's edge (hiding
        or showing a column, and stretching the last one, are not choices)."""
        shown = self._shown()
        if self._laying_out or not old or not new or not shown or column == shown[-1]:
            return
        self.chosen[Column(column)] = new

    def _fit_again(self, column: int) -> None:
        """A double-click on a fitted column's edge fits it to the library's values again."""
        if Column(column) in FITTED_LIMITS:
            self.chosen.pop(Column(column), None)
            self.lay_out_columns()
            self.wanted_width_changed.emit()

    def chosen_widths(self) -> list[str]:
        """The widths the person chose, as "column=width" for the settings."""
        return [f"{column_key(column)}={width}" for column, width in self.chosen.items()]

    def restore_widths(self, header_state: QByteArray | None, chosen: Iterable[str]) -> None:
        """The header as saved (order, sort, hidden columns) and the widths the person
        chose, by column name; every other column is fitted again."""
        if header_state is not None:
            with self._sizing():
                self.horizontalHeader().restoreState(header_state)
        keys = {column_key(column): column for column in Column}
        for item in chosen:
            key, _, width = item.partition("=")
            if key in keys and width.isdigit() and int(width) > 0:
                self.chosen[keys[key]] = int(width)
        self.lay_out_columns()
        self.wanted_width_changed.emit()

    def visible_columns(self) -> list[str]:
        header = self.horizontalHeader()
        return [column_key(c) for c in Column if not header.isSectionHidden(c)]

    def set_visible_columns(self, keys: Iterable[str]) -> None:
        wanted = set(keys) | {"check"}
        with self._sizing():
            for column in Column:
                self.setColumnHidden(column, column_key(column) not in wanted)
        self.lay_out_columns()
        self.wanted_width_changed.emit()

    def default_columns(self) -> None:
        """The columns shown at first, at their fitted widths (what the person chose,
        forgotten)."""
        self.chosen.clear()
        self.set_visible_columns(DEFAULT_VISIBLE)

    def show_column(self, column: Column, shown: bool) -> None:
        """Show or hide one column (the header menu's entries)."""
        with self._sizing():
            self.setColumnHidden(column, not shown)
        self.lay_out_columns()
        self.wanted_width_changed.emit()

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
        menu.addAction("Default columns", self.default_columns)

    def restore_columns(self, visible: Iterable[str], hidden: Iterable[str]) -> None:
        """Apply remembered choices by column name; a column named in neither list (one
        added since) keeps its default."""
        shown, gone = set(visible), set(hidden)
        with self._sizing():
            for column in Column:
                key = column_key(column)
                if key in shown or key in gone:
                    self.setColumnHidden(column, key in gone and column is not Column.CHECK)
        self.lay_out_columns()
        self.wanted_width_changed.emit()
