"""The Conversations page: filter bar, the checkable table and the reading panel. The
filter bar (``ui.conversation_filters``), the table and its columns
(``ui.conversations_table``) and the background re-reads (``ui.row_loading``) each have
their own module; the page puts them together and swaps new rows in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import LibraryError
from app.library import ConversationRow, Library
from ui import row_reader
from ui.changes import LibraryChanges
from ui.conversation_filters import FilterBar, gone_batch_text, gone_file_text
from ui.conversation_view import ConversationView
from ui.conversations_model import Column, ConversationsModel
from ui.conversations_table import ConversationsTable
from ui.filter_chooser import ANY
from ui.following_read import FollowingRead
from ui.reader_splitter import ReaderSplitter
from ui.row_index import FileFilter, Filter, RowIndex
from ui.row_loading import ROWS, RowLoading, followed

NO_MATCH_TEXT = "No conversations match the filters."


def no_match_text(wanted: Filter) -> str:
    """What the empty table says, naming a search that found nothing (a search alone:
    the filters all say "All")."""
    text = wanted.text.strip()
    if not text:
        return NO_MATCH_TEXT
    searched = f"“{text if len(text) <= 60 else text[:59] + '…'}”"
    if replace(wanted, text="") == Filter():
        return f"No conversation matches the search {searched}."
    return f"No conversation matches the search {searched} with these filters."


class ConversationsPage(QWidget):
    """Listens to the library's changes and reloads its rows in the background: the
    100,000-row read happens on a worker, only the swap into the model on the GUI thread."""

    status = Signal(str)
    notice = Signal(str)  # a filter the library's change cleared: said beside the change
    reloaded = Signal()  # new rows are in the model (after a background reload)

    def __init__(self, library: Library, changes: LibraryChanges | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.changes = changes or LibraryChanges(self)
        self.model = ConversationsModel(self)
        self._opening = False  # the first read of a large library runs (``open_rows``)
        self._reading_total = 0  # the conversations that read is of
        self._swapping = False  # new rows are going in: the reader waits for the end

        self.filter_bar = FilterBar(self.model)
        bar = self.filter_bar
        self.batch_filter, self.arc_filter = bar.batch_filter, bar.arc_filter
        self.topic_filter, self.persona_filter = bar.topic_filter, bar.persona_filter
        self.warnings_filter, self.review_filter = bar.warnings_filter, bar.review_filter
        self.files_filter, self.choosers, self.search = bar.files_filter, bar.choosers, bar.search

        self.table = ConversationsTable(self.model)
        self.table.setAccessibleName("Conversations")  # what a screen reader calls the table
        self.no_match = self._build_no_match()
        self.reading_panel = self._build_reading_panel()
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.no_match)
        self.table_stack.addWidget(self.reading_panel)

        self.reader = ConversationView()
        self.reader.setMinimumWidth(260)
        # The table has the width first; the reader gets what its columns leave.
        self.splitter = ReaderSplitter(self.table_stack, self.reader, self.table.full_width)
        splitter = self.splitter
        # Columns shown, hidden or fitted to new rows change what the table wants: fit the
        # reader beside it again, as a change of the window's size does.
        self.table.wanted_width_changed.connect(splitter.fit)
        self.toggle_reader_action = QAction("Show reading panel", self, checkable=True,
                                            checked=True)
        self.toggle_reader_action.setShortcut(QKeySequence("Ctrl+R"))
        self.toggle_reader_action.setStatusTip("Show or hide the panel that shows the "
                                               "selected conversation")
        self.toggle_reader_action.toggled.connect(self.set_reader_visible)
        splitter.splitterMoved.connect(self._splitter_moved)
        # The reader opens when a conversation is read, and Esc or its Close button give
        # the room back to the table until the next; Enter or a double-click on a row
        # opens it again on the row.
        self.reader.record_shown.connect(self._reading_changed)
        self.reader.close_requested.connect(self.close_reader)
        for widget, context in ((self.table, Qt.ShortcutContext.WidgetShortcut),
                                (self.reader, Qt.ShortcutContext.WidgetWithChildrenShortcut)):
            close = QShortcut(QKeySequence(Qt.Key.Key_Escape), widget, context=context)
            close.activated.connect(self.close_reader)
        self.table.activated.connect(self.open_reader)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.filter_bar)
        layout.addWidget(splitter, 1)

        # Enter or Down in the search field goes on to the rows it found.
        self.search.returnPressed.connect(self.go_to_results)
        down = QShortcut(QKeySequence(Qt.Key.Key_Down), self.search,
                         context=Qt.ShortcutContext.WidgetShortcut)
        down.activated.connect(self.go_to_results)
        self.table.hint.connect(self.status)
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.model.modelReset.connect(self._reader_after_reset)
        self.model.shown_changed.connect(self._shown_changed)
        self.row_loading = RowLoading(library, self.model, self.changes,
                                      self.filter_bar.wanted, self)
        self.row_loading.loaded.connect(self._show_rows)
        self.row_loading.failed.connect(self._load_failed)
        self.row_loading.indexed.connect(self._read_so_far)
        self._following: FollowingRead | None = None  # the samples banner's count

    # --- construction ------------------------------------------------------------------

    def _build_no_match(self) -> QWidget:
        panel = QWidget()
        label = QLabel(NO_MATCH_TEXT)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clear_filters_button = QPushButton("Clear filters")
        self.clear_filters_button.clicked.connect(self.clear_filters)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.clear_filters_button)
        row.addStretch(1)
        layout = QVBoxLayout(panel)
        layout.addStretch(1)
        layout.addWidget(label)
        layout.addLayout(row)
        layout.addStretch(2)
        self.no_match_label = label
        return panel

    def _build_reading_panel(self) -> QWidget:
        """What the table shows while a large library's rows are first read."""
        panel = QWidget()
        self.reading_label = QLabel("Reading the library…")
        self.reading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reading_bar = QProgressBar()
        self.reading_bar.setMinimumWidth(240)
        self.reading_bar.setMaximumWidth(320)
        self.reading_bar.setTextVisible(False)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reading_bar)
        row.addStretch(1)
        layout = QVBoxLayout(panel)
        layout.addStretch(1)
        layout.addWidget(self.reading_label)
        layout.addLayout(row)
        layout.addStretch(2)
        return panel

    # --- filters -----------------------------------------------------------------------

    def go_to_results(self) -> None:
        """The keyboard from the search field to the table, on the first row found unless a
        row shown is being read already: Enter and the arrows stayed in the field, so the
        keyboard could not reach what it had found."""
        self.filter_bar.apply_search_now()
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if self.model.rowCount() and not self.table.currentIndex().isValid():
            self.select_conversation(self.model.row_at(0).conversation_id)

    def clear_filters(self) -> None:
        """Every chooser back to "All", the search emptied: every conversation shows."""
        self.filter_bar.clear()

    def _shown_changed(self) -> None:
        self.filter_bar.refresh_choices()
        if self._opening:
            return
        empty = self.model.shown_count == 0 and self.model.total > 0
        if empty:
            self.no_match_label.setText(no_match_text(self.model.current_filter))
        self.table_stack.setCurrentWidget(self.no_match if empty else self.table)

    # --- columns -----------------------------------------------------------------------

    def visible_columns(self) -> list[str]:
        return self.table.visible_columns()

    def set_visible_columns(self, keys: Iterable[str]) -> None:
        self.table.set_visible_columns(keys)

    def fill_column_menu(self, menu: QMenu) -> None:
        """Which columns show: one checkable entry per column (the check column stays)."""
        self.table.fill_column_menu(menu)

    def restore_columns(self, visible: Iterable[str], hidden: Iterable[str]) -> None:
        """Apply remembered choices by column name (``ConversationsTable``)."""
        self.table.restore_columns(visible, hidden)

    # --- reading panel ---------------------------------------------------------------

    def reader_visible(self) -> bool:
        return not self.splitter.reader_hidden

    def set_reader_visible(self, visible: bool) -> None:
        """Collapse the reading panel (the table takes the width) or bring it back."""
        if visible != self.reader_visible():
            self.splitter.show_reader(visible)
        if self.toggle_reader_action.isChecked() != visible:
            self.toggle_reader_action.setChecked(visible)

    def reader_open(self) -> bool:
        """The reader has width: it is shown and has a conversation to read (or the person
        opened it without one)."""
        return self.splitter.sizes()[1] > 0

    def close_reader(self) -> None:
        """Give the reader's width back to the table until another conversation is read
        (Esc, the reader's Close button); the keyboard goes on in the table."""
        if not self.reader_open():
            return
        focus = QApplication.focusWidget()
        had_keyboard = focus is not None and self.reader.isAncestorOf(focus)
        self.splitter.close_reading()
        if had_keyboard:
            self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def open_reader(self) -> None:
        """The reader at its width on the row being read (Enter or a double-click on a
        row), turned on again if it was off."""
        self.splitter.show_reader(True)
        if not self.toggle_reader_action.isChecked():
            self.toggle_reader_action.setChecked(True)

    def _reading_changed(self, record: Mapping[str, Any] | None) -> None:
        self.splitter.set_reading(
            None if record is None else str(record["conversation_id"]))

    def _splitter_moved(self, _pos: int, _index: int) -> None:
        visible = self.reader_visible()
        if self.toggle_reader_action.isChecked() != visible:
            self.toggle_reader_action.blockSignals(True)
            self.toggle_reader_action.setChecked(visible)
            self.toggle_reader_action.blockSignals(False)

    # --- loading ---------------------------------------------------------------------

    def open_rows(self) -> None:
        """The first read, when the window is made. A small library is read at once on this
        thread, before the window shows; a larger one in the background like any re-read
        (a thread, or from ``READ_IN_CHILD_FROM`` rows a child process: ``ui.row_reader``),
        while the table says it is reading (and, from a child, how far it has come):
        reading 100,000 rows here held the GUI thread for a second or more
        (docs/PERFORMANCE.md). Filters and the sort chosen meanwhile (the window restores
        them) apply to it."""
        try:
            total = self.library.count()
        except Exception:  # the read itself reports what is wrong
            total = 0
        if total < min(row_reader.READ_AT_START_FROM, row_reader.READ_IN_CHILD_FROM):
            self.load_now()
            return
        self._opening = True
        self._reading_total = total
        self.reading_label.setText(f"Reading {total:,} conversations…")
        # Busy until the read says how far it is: a thread's says nothing until it ends, and
        # a child's first count comes after it started and read its first part (a second
        # or more), a bar at 0 for that long looked stuck.
        self.reading_bar.setRange(0, 0)
        self.table_stack.setCurrentWidget(self.reading_panel)
        self.filter_bar.setEnabled(False)  # nothing to filter yet
        self.request_reload(ROWS)

    def _read_so_far(self, rows: int) -> None:
        """The read's count (a child's): the bar counts from the first one."""
        if self.reading_bar.maximum() == 0:
            self.reading_bar.setRange(0, max(self._reading_total, rows, 1))
        self.reading_bar.setValue(rows)

    @property
    def opening(self) -> bool:
        """The first read of a large library has not reached the table yet."""
        return self._opening

    def load_now(self) -> None:
        """Read the rows on this thread (a small library, when the window is made)."""
        self._show_rows(RowIndex(self.library.summaries()))
        self.row_loading.search_text.follow()

    def request_reload(self, what: str = ROWS) -> None:
        """Re-read in the background what changed (``RowLoading.request_reload``)."""
        self.row_loading.request_reload(what)

    def follow_reloads(self, read: Callable[[Library], Any]) -> FollowingRead:
        """A small read of the library after each reload of the rows (the samples banner's
        count), on a worker thread (``ui.following_read``): ``loading`` lasts until it has
        answered, and ``stop_reading`` stops it with the rows' reads."""
        following = FollowingRead(self.library, read, self)
        self.reloaded.connect(following.request)
        self._following = following
        return following

    def stop_reading(self, timeout: float = 30.0) -> None:
        """Read the library no more: it is about to close (``RowLoading.stop``)."""
        self.row_loading.stop(timeout)
        if self._following is not None:
            self._following.stop(timeout)

    @property
    def loading(self) -> bool:
        return self.row_loading.loading or (self._following is not None
                                            and self._following.busy)

    def _load_failed(self, message: str) -> None:
        if self._opening:
            self.reading_label.setText(f"Could not read the library: {message}")
            self.reading_bar.hide()
            self.status.emit(f"Could not read the library: {message}")
            return
        self.status.emit(f"Could not re-read the library: {message}")

    def _show_rows(self, index: RowIndex) -> None:
        """Swap rows in (GUI thread) and refresh the choosers; keep the row being read."""
        reading = self.reader_conversation_id()
        reading_row = self.table.currentIndex().row()
        after_it = self.model.ids_after(reading_row)  # (read below, before this returns)
        self.filter_bar.learn_values(index)
        loading = self.row_loading
        # Rows read before a rename lack a file's new name, or still hold the batch's old
        # one: the rename is followed by the read after them.
        follow_file = loading.file_rename.for_rows(
            lambda rename: self.filter_bar.knows_file(rename[1]))
        follow_batch = loading.batch_rename.for_rows(
            lambda rename: not self.filter_bar.knows_batch(rename[0]))
        wanted = followed(self.filter_bar.wanted(), follow_batch, follow_file)
        known = self.filter_bar.still_known(wanted)
        gone = [rule for rule, kept in ((wanted.training_file, known.training_file),
                                        (wanted.and_file, known.and_file))
                if rule is not None and kept is None]
        gone_batch = wanted.batch_id if known.batch_id != wanted.batch_id else None
        wanted = known
        self.filter_bar.show_filter(wanted)
        self._opening = False
        self.filter_bar.setEnabled(True)
        self._swapping = True
        try:
            # Token counts alone changed in place: the view kept its selection and
            # scroll, and re-selecting would scroll the row being read back into view.
            # (a filter cleared for a gone batch or file shows other rows: no neighbour)
            if (self.model.set_index(index, wanted) and reading is not None
                    and not self.select_conversation(reading)
                    and not gone and gone_batch is None):
                self._read_the_row_in_its_place(reading_row, after_it)
        finally:
            self._swapping = False
        self._show_current(self.table.currentIndex(), QModelIndex())
        for rule in gone:  # said, never a silent widening of what Check all shown checks
            self.notice.emit(gone_file_text(rule, self.model.rowCount()))
        if gone_batch is not None:
            self.notice.emit(gone_batch_text(gone_batch, self.model.rowCount()))
        if index.count >= row_reader.READ_IN_CHILD_FROM:
            row_reader.spare_the_collector(young=False)
        self.reloaded.emit()

    def _read_the_row_in_its_place(self, row: int, after_it: Iterable[str]) -> None:
        """The conversation being read left the rows shown (removed, or moved out of the
        filter): read the one that followed it and is still shown (the new last one, when
        none is), as a mail client does, so the keyboard goes on from there instead of from
        nowhere. (Its old row number would skip a row for every one removed above it.)"""
        if row < 0 or not self.model.rowCount():
            return
        for conversation_id in after_it:
            if self.select_conversation(conversation_id):
                return
        self.select_conversation(
            self.model.row_at(self.model.rowCount() - 1).conversation_id)

    def reader_conversation_id(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()).conversation_id if index.isValid() else None

    # --- questions the controllers ask -----------------------------------------------

    def current_batch(self) -> str | None:
        """The batch the user is looking at: the filter's, else the selected row's."""
        chosen = self.batch_filter.value()
        if chosen is not None:
            return chosen
        index = self.table.currentIndex()
        return self.model.row_at(index.row()).batch_id if index.isValid() else None

    def checked_ids(self) -> list[str]:
        return self.model.checked_ids()

    def batch_ids(self) -> list[str]:
        """Every batch the library has, in the Batch ID filter's order (natural: batch-2
        before batch-10), read from the filter rather than the database."""
        chooser = self.batch_filter
        values = (chooser.itemData(i) for i in range(chooser.count()))
        return [value for value in values if isinstance(value, str) and value and value != ANY]

    def hidden_checked_count(self) -> int:
        """Checked conversations the filter hides (the review before an add says so)."""
        return self.model.hidden_checked_count

    def set_batch_filter(self, batch_id: str | None) -> bool:
        """Show one batch (None: all). While the first read runs the chooser knows no
        batch yet: the choice is kept for the read (dropped there if no such batch)."""
        return self.filter_bar.set_batch(batch_id, self._opening)

    def set_file_filter(self, rule: FileFilter | None) -> bool:
        return self.filter_bar.set_file(rule)

    def restore_filter(self, saved: Mapping[str, object]) -> None:
        """The filter a previous run closed with (``FilterBar.state``)."""
        self.filter_bar.restore(saved, self._opening)

    def show_only(self, ids: Iterable[str], what: str) -> None:
        """Only these conversations, the keyboard on the table and the reader on the first
        (``FilterBar.show_only``: the bar says which they are and the way back)."""
        self.filter_bar.show_only(ids, what)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if self.model.rowCount():
            self.table.selectRow(0)

    def _reader_after_reset(self) -> None:
        if not self._swapping:
            self.reader.show_record(None)

    def _show_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Read the current row's conversation. One the reader already shows exactly as
        stored is left as it is (a swap of new rows re-selects it): building its messages
        again took 0.1-0.2 s of the GUI thread on every swap, while token counts were made
        every two seconds, and put the person reading it back at its top."""
        if self._swapping:
            return
        if not current.isValid():
            self.reader.show_record(None)
            return
        row = self.model.row_at(current.row())
        try:
            record = self.library.record(row.conversation_id)
        except LibraryError as exc:
            self.status.emit(str(exc))
            return
        if record != self.reader.record:
            self.reader.show_record(record)

    def select_conversation(self, conversation_id: str) -> bool:
        """Select (and read) a conversation if the current filter shows it."""
        row = self.model.row_of_id(conversation_id)
        if row is None:
            return False
        index = self.model.index(row, Column.CLIENT)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def rows(self) -> list[ConversationRow]:
        """The rows shown, in table order (for tests and exports of the view)."""
        return [self.model.row_at(r) for r in range(self.model.rowCount())]
