"""The Conversations page: filter bar, the checkable table and the reading panel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, cast

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import LibraryError
from app.labels import display_name
from app.library import ConversationRow, Library
from ui import row_reader
from ui.changes import LibraryChanges
from ui.conversation_view import ConversationView
from ui.conversations_model import HEADER_NAMES, Column, ConversationsModel, sort_key
from ui.filter_chooser import ANY, FilterChooser
from ui.flow_layout import FlowLayout
from ui.row_index import FILE_FACET, FacetCounts, FileFilter, FileRule, Filter, RowIndex
from ui.row_patch import BatchPatch, BatchRenamed, ConversationsMoved, IndexPatch
from ui.row_reader import ChildRowRead
from ui.tasks import Task, start

ROWS, BATCHES, FILES, TOKENS = "rows", "batches", "files", "tokens"  # what a reload re-reads
PATCH = "patch"  # renames and moves that said what they changed (``ConversationsPage._patches``)
STORED_PATCH_UPTO = 5_000  # stored rows read on a worker thread; more are read in a child
NO_FILE = "__in_no_file__"
NO_MATCH_TEXT = "No conversations match the filters."
# Shown unless the user chose otherwise; by column name, so a column added later (Tokens)
# is shown as soon as it exists.
DEFAULT_VISIBLE = ("check", "batch", "client", "arc", "topic", "replies", "tokens",
                   "warnings", "files")


def column_key(column: Column) -> str:
    return column.name.lower()


class ConversationsTable(QTableView):
    """The table; Space toggles the checks of the selected rows, and Ctrl+A checks the
    rows the filter shows (the same as Edit ▸ Select all) instead of highlighting them."""

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


def _file_data(rule: FileFilter) -> str:
    return NO_FILE if rule.rule is FileRule.IN_NONE else f"{rule.rule.value}\x1f{rule.name}"


def file_filter_of(data: str | None) -> FileFilter | None:
    """The chooser's item data back as a filter (None: any training file)."""
    if data is None or data == ANY:
        return None
    if data == NO_FILE:
        return FileFilter(FileRule.IN_NONE)
    rule, _, name = data.partition("\x1f")
    return FileFilter(FileRule(rule), name)


def file_choices(names: Iterable[str], counts: FacetCounts) -> list[tuple[str, str, int]]:
    """"In no training file", then "In X" and "Not in X" for each file."""
    choices = [(NO_FILE, "In no training file", counts.in_none)]
    for name in sorted(names, key=str.casefold):
        inside = counts.values.get(name, 0)
        choices.append((_file_data(FileFilter(FileRule.IN, name)), f"In {name}", inside))
        choices.append((_file_data(FileFilter(FileRule.NOT_IN, name)), f"Not in {name}",
                        counts.total - inside))
    return choices


def warning_choices(counts: FacetCounts) -> list[tuple[str, str, int]]:
    return [("without", "Without warnings", counts.values.get(False, 0)),
            ("with", "With warnings", counts.values.get(True, 0))]


WARNING_VALUES: Mapping[str | None, bool | None] = {None: None, "without": False, "with": True}


def review_choices(counts: FacetCounts) -> list[tuple[str, str, int]]:
    return [("not", "Not reviewed", counts.values.get(False, 0)),
            ("reviewed", "Reviewed", counts.values.get(True, 0))]


REVIEW_VALUES: Mapping[str | None, bool | None] = {None: None, "not": False, "reviewed": True}


class ConversationsPage(QWidget):
    """Listens to the library's changes and reloads its rows in the background: the
    100,000-row read happens on a worker, only the swap into the model on the GUI thread."""

    status = Signal(str)
    reloaded = Signal()  # new rows are in the model (after a background reload)

    def __init__(self, library: Library, changes: LibraryChanges | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.changes = changes or LibraryChanges(self)
        self.model = ConversationsModel(self)
        self._loader: Task | ChildRowRead | IndexPatch | None = None
        # Renames and moves said exactly what they changed: the next batches_changed is
        # applied as a patch instead of a read (``ui.row_patch``).
        self._told: list[BatchPatch] = []
        self._patches: list[BatchPatch] = []
        # An import said which conversations it stored: the next conversations_changed and
        # batches_changed read just those rows (``ui.row_patch.read_stored``).
        self._told_stored: list[str] | None = None
        self._stored: list[str] = []
        self._loading_stored: list[str] = []
        self._reload_wanted = False
        self._stopped = False  # the window moved to another library: read this one no more
        self._pending: set[str] = set()  # what changed since the last read: rows, batches, files
        self._loading_what: set[str] = set()
        self._loading_patches: list[BatchPatch] = []
        self._opening = False  # the first read of a large library runs (``open_rows``)
        self._follow_batch: tuple[str, str] | None = None
        self._reload_timer = QTimer(self, singleShot=True, interval=0)
        self._reload_timer.timeout.connect(self._start_reload)
        self._all_values: dict[str, list[str]] = {}
        self._file_names: list[str] = []

        self.batch_filter = FilterChooser("All batches")
        self.arc_filter = FilterChooser("All arcs", display_name)
        self.topic_filter = FilterChooser("All topics", display_name)
        self.persona_filter = FilterChooser("All personas", display_name)
        self.warnings_filter = FilterChooser("Any quality")
        self.warnings_filter.setMinimumContentsLength(12)
        self.review_filter = FilterChooser("Any review")
        self.review_filter.setMinimumContentsLength(10)
        self.review_filter.setToolTip("Conversations marked reviewed in LoRA Studio (Edit ▸ "
                                      "Mark checked reviewed, or Mark reviewed in the reader)")
        self.files_filter = FilterChooser("Any training file")
        self.choosers: dict[str, FilterChooser] = {
            "batch_id": self.batch_filter, "arc": self.arc_filter, "topic": self.topic_filter,
            "archetype": self.persona_filter, "warnings": self.warnings_filter,
            "reviewed": self.review_filter,
            "training_file": self.files_filter,
        }
        self.search = QLineEdit(placeholderText="Search (Ctrl+F)…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(200)
        self.search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(self._apply_search)

        self.filter_bar = QWidget()
        bar = FlowLayout(self.filter_bar)
        for label, widget in (("Batch", self.batch_filter), ("Arc", self.arc_filter),
                              ("Topic", self.topic_filter), ("Persona", self.persona_filter),
                              ("Quality", self.warnings_filter),
                              ("Review", self.review_filter),
                              ("Training file", self.files_filter)):
            bar.addWidget(_labelled(label, widget))
        bar.addWidget(self.search)

        self.table = ConversationsTable()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)  # the full text on hover
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        for column, width in DEFAULT_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        self.set_visible_columns(DEFAULT_VISIBLE)

        self.no_match = self._build_no_match()
        self.reading_panel = self._build_reading_panel()
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.no_match)
        self.table_stack.addWidget(self.reading_panel)
        header.moveSection(header.visualIndex(Column.TOKENS),
                           header.visualIndex(Column.REPLIES) + 1)

        self.reader = ConversationView()
        self.reader.setMinimumWidth(260)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table_stack)
        splitter.addWidget(self.reader)
        splitter.setStretchFactor(0, 2)  # the table needs the width more than the reader
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(0, False)
        splitter.setCollapsible(1, True)
        self.splitter = splitter
        self._reader_width = 0
        self.toggle_reader_action = QAction("Show reading panel", self, checkable=True,
                                            checked=True)
        self.toggle_reader_action.setShortcut(QKeySequence("Ctrl+R"))
        self.toggle_reader_action.setStatusTip("Show or hide the panel that shows the "
                                               "selected conversation")
        self.toggle_reader_action.toggled.connect(self.set_reader_visible)
        splitter.splitterMoved.connect(self._splitter_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.filter_bar)
        layout.addWidget(splitter, 1)

        for facet, chooser in self.choosers.items():
            chooser.currentIndexChanged.connect(
                lambda _i, f=facet, c=chooser: self._chooser_changed(f, c))
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.model.modelReset.connect(lambda: self.reader.show_record(None))
        self.model.shown_changed.connect(self._shown_changed)
        # Every kind of change shows in the table; each reads only what it changed.
        self.changes.conversations_stored.connect(self._conversations_stored)
        self.changes.conversations_changed.connect(self._conversations_changed)
        self.changes.batches_changed.connect(self._batches_changed)
        self.changes.training_files_changed.connect(lambda: self.request_reload(FILES))
        self.changes.batch_renamed.connect(self._batch_renamed)
        self.changes.conversations_moved.connect(self._conversations_moved)
        self.changes.tokens_changed.connect(lambda: self.request_reload(TOKENS))

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

    def _chooser_changed(self, facet: str, chooser: FilterChooser) -> None:
        data = chooser.value()
        value: Any
        if facet == "warnings":
            value = WARNING_VALUES[data]
        elif facet == "reviewed":
            value = REVIEW_VALUES[data]
        elif facet == "training_file":
            value = file_filter_of(data)
        else:
            value = data
        chooser.setToolTip(chooser.currentText())
        self.model.update_filter(**{facet: value})

    def _apply_search(self) -> None:
        self.model.update_filter(text=self.search.text().strip())

    def _wanted_filter(self) -> Filter:
        """The filter the widgets describe."""
        return Filter(
            batch_id=self.batch_filter.value(), arc=self.arc_filter.value(),
            topic=self.topic_filter.value(), archetype=self.persona_filter.value(),
            warnings=WARNING_VALUES[self.warnings_filter.value()],
            reviewed=REVIEW_VALUES[self.review_filter.value()],
            training_file=file_filter_of(self.files_filter.value()),
            text=self.search.text().strip())

    def clear_filters(self) -> None:
        """Every chooser back to "All", the search emptied: every conversation shows."""
        for chooser in self.choosers.values():
            chooser.blockSignals(True)
            chooser.setCurrentIndex(0)
            chooser.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._search_timer.stop()
        self.model.set_filter(Filter())

    def _shown_changed(self) -> None:
        self.refresh_choices()
        if self._opening:
            return
        empty = self.model.shown_count == 0 and self.model.total > 0
        self.table_stack.setCurrentWidget(self.no_match if empty else self.table)

    def refresh_choices(self) -> None:
        """Each chooser's counts, given the other filters."""
        counts = self.model.facet_counts()
        for facet in ("batch_id", "arc", "topic", "archetype"):
            self.choosers[facet].set_counts(self._all_values.get(facet, []), counts[facet])
        self.warnings_filter.set_choices(warning_choices(counts["warnings"]),
                                         counts["warnings"].total)
        self.review_filter.set_choices(review_choices(counts["reviewed"]),
                                       counts["reviewed"].total)
        self.files_filter.set_choices(file_choices(self._file_names, counts["training_file"]),
                                      counts["training_file"].total)

    def _learn_values(self, index: RowIndex) -> None:
        """Every value each chooser can offer (whatever the other filters say)."""
        values = dict(index.choosable())
        self._file_names = values.pop(FILE_FACET)
        self._all_values = values

    # --- columns -----------------------------------------------------------------------

    def visible_columns(self) -> list[str]:
        header = self.table.horizontalHeader()
        return [column_key(c) for c in Column if not header.isSectionHidden(c)]

    def set_visible_columns(self, keys: Iterable[str]) -> None:
        wanted = set(keys) | {"check"}
        for column in Column:
            self.table.setColumnHidden(column, column_key(column) not in wanted)

    def _header_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.fill_column_menu(menu)
        menu.popup(self.table.horizontalHeader().mapToGlobal(position))

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
                lambda on, c=column: self.table.setColumnHidden(c, not on))
        menu.addSeparator()
        menu.addAction("Default columns", lambda: self.set_visible_columns(DEFAULT_VISIBLE))

    def restore_columns(self, visible: Iterable[str], hidden: Iterable[str]) -> None:
        """Apply remembered choices by column name; a column named in neither list (one
        added since) keeps its default."""
        shown, gone = set(visible), set(hidden)
        for column in Column:
            key = column_key(column)
            if key in shown or key in gone:
                self.table.setColumnHidden(column, key in gone and column is not Column.CHECK)

    # --- reading panel ---------------------------------------------------------------

    def reader_visible(self) -> bool:
        return self.splitter.sizes()[1] > 0

    def set_reader_visible(self, visible: bool) -> None:
        """Collapse the reading panel (the table takes the width) or bring it back."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if visible and sizes[1] == 0:
            width = self._reader_width or total * 2 // 5
            self.splitter.setSizes([max(total - width, 1), width])
        elif not visible and sizes[1] > 0:
            self._reader_width = sizes[1]
            self.splitter.setSizes([total, 0])
        if self.toggle_reader_action.isChecked() != visible:
            self.toggle_reader_action.setChecked(visible)

    def _splitter_moved(self, _pos: int, _index: int) -> None:
        visible = self.reader_visible()
        if self.toggle_reader_action.isChecked() != visible:
            self.toggle_reader_action.blockSignals(True)
            self.toggle_reader_action.setChecked(visible)
            self.toggle_reader_action.blockSignals(False)

    # --- loading ---------------------------------------------------------------------

    def open_rows(self) -> None:
        """The first read, when the window is made. A small library is read at once on this
        thread, before the window shows; a large one in a child process like any re-read
        (``ui.row_reader``), while the table says how far the reading has come: reading
        100,000 rows here held the GUI thread for a second or more (docs/PERFORMANCE.md).
        Filters and the sort chosen meanwhile (the window restores them) apply to it."""
        try:
            total = self.library.count()
        except Exception:  # the read itself reports what is wrong
            total = 0
        if total < row_reader.READ_IN_CHILD_FROM:
            self.load_now()
            return
        self._opening = True
        self.reading_label.setText(f"Reading {total:,} conversations…")
        self.reading_bar.setRange(0, total)
        self.reading_bar.setValue(0)
        self.table_stack.setCurrentWidget(self.reading_panel)
        self.filter_bar.setEnabled(False)  # nothing to filter yet
        self.request_reload(ROWS)

    @property
    def opening(self) -> bool:
        """The first read of a large library has not reached the table yet."""
        return self._opening

    def load_now(self) -> None:
        """Read the rows on this thread (a small library, when the window is made)."""
        self._show_rows(RowIndex(self.library.summaries()))

    def request_reload(self, what: str = ROWS) -> None:
        """Re-read in the background what changed (ROWS: every summary row; BATCHES: each
        row's batch; FILES: each row's training files and token budget; TOKENS: each row's
        token count and budget); requests in a row make one read."""
        if self._stopped:
            return
        self._pending.add(what)
        if self._loader is not None:
            self._reload_wanted = True  # read again when the running read ends
            return
        self._start_reload_timer()

    def _start_reload_timer(self) -> None:
        """Read at once, but in a large library let token counts gather for a while: a
        background count announces new counts every few seconds, and each patch of a large
        library compares every row's count on a worker thread."""
        if self._pending == {TOKENS} and self.model.index_.count >= row_reader.READ_IN_CHILD_FROM:
            if not self._reload_timer.isActive():
                self._reload_timer.start(row_reader.TOKENS_PAUSE_MS)
            return
        self._reload_timer.start(0)

    def stop_reading(self, timeout: float = 30.0) -> None:
        """Read the library no more (it is about to close): no new read starts, and a
        running one is cancelled and waited for, so the library never closes under it (a
        read on a closed library would open a new connection and leave it open). What such
        a read hands over after this is dropped: swapped in, it would set off reads of the
        closed library (the samples banner's count on ``reloaded``)."""
        self._stopped = True
        self._reload_timer.stop()
        self._reload_wanted = False
        self._pending = set()
        loader = self._loader
        if loader is not None:
            loader.cancel()
            task = loader if isinstance(loader, Task) else loader.task
            if task is not None:
                task.ended.wait(timeout)

    @property
    def loading(self) -> bool:
        return self._loader is not None or self._reload_timer.isActive()

    def _read_in_child(self) -> bool:
        """A large library is read in a child process (``ui.row_reader``)."""
        if self.model.index_.count >= row_reader.READ_IN_CHILD_FROM:
            return True
        try:
            return self.library.count() >= row_reader.READ_IN_CHILD_FROM
        except Exception:  # the read itself reports what is wrong
            return False

    def _start_reload(self) -> None:
        library = self.library
        wanted = self._wanted_filter()
        follow = self._follow_batch
        if follow is not None and wanted.batch_id == follow[0]:  # as _show_rows will
            wanted = replace(wanted, batch_id=follow[1])
        sort_column = self.model.sort_column
        what, self._pending = self._pending, set()
        patches, self._patches = self._patches, []
        stored, self._stored = self._stored, []
        base = self.model.index_
        large = self._read_in_child()
        if large and what <= {PATCH, FILES, TOKENS} and len(stored) <= STORED_PATCH_UPTO:
            patch = IndexPatch(  # no full read: patch what changed
                library, base, patches, FILES in what, wanted, sort_column,
                sort_key(Column(sort_column)) if sort_column > Column.CHECK else None, self,
                descending=self.model.sort_descending, tokens=TOKENS in what, stored=stored)
            patch.finished.connect(self._loaded)
            patch.failed.connect(self._load_failed)
            patch.done.connect(self._load_done)
            patch.done.connect(patch.deleteLater)
            self._loader = patch
            self._loading_what = what
            self._loading_patches = patches
            self._loading_stored = stored
            self._reload_wanted = False
            patch.start()
            return
        self._loading_patches = []
        self._loading_stored = []
        if stored:  # a read of every row takes in the stored ones
            what = (what - {PATCH}) | {ROWS}
        if PATCH in what:  # a read takes in whatever the patches would have changed
            what = (what - {PATCH}) | {BATCHES}
        if large:
            reader = row_reader.ChildRowRead(
                library, wanted, sort_column,
                sort_key(Column(sort_column)) if sort_column > Column.CHECK else None, self,
                descending=self.model.sort_descending)
            reader.finished.connect(self._loaded)
            reader.failed.connect(self._load_failed)
            reader.indexed.connect(self.reading_bar.setValue)
            reader.done.connect(self._load_done)
            reader.done.connect(reader.deleteLater)
            self._loader = reader
            self._loading_what = what
            self._reload_wanted = False
            reader.start()
            return

        def read(library: Library) -> RowIndex:
            if ROWS in what or not what:
                return RowIndex(library.summaries())
            return base.with_changes(
                batches=library.batch_assignments() if BATCHES in what else None,
                files=library.membership() if FILES in what else None,
                tokens=library.token_facts() if what & {FILES, TOKENS} else None)

        def work(_progress: object, _cancelled: object) -> RowIndex:
            """Read and index what changed, and do now what the swap would otherwise do on
            the GUI thread: the masks of the current filter, its counts, the sort keys."""
            index = read(library)
            shown, _mask = index.select(wanted)
            index.counts(wanted, shown)
            index.choosable()
            if sort_column > Column.CHECK:  # the check column's order is never cached
                index.sort_keys(sort_column, sort_key(Column(sort_column)))
            return index

        task = Task(work)
        task.signals.succeeded.connect(self._loaded)
        task.signals.failed.connect(self._load_failed)
        task.signals.done.connect(self._load_done)
        self._loader = task
        self._loading_what = what
        self._reload_wanted = False
        start(task)

    def _loaded(self, index: RowIndex) -> None:
        if self._stopped:  # read before the stop, handed over after: the library is closing
            return
        if self._reload_wanted:  # a newer read is coming: it reads this one's changes too
            self._pending |= self._loading_what
            self._patches[:0] = self._loading_patches
            self._stored[:0] = self._loading_stored
        else:
            self._show_rows(index)

    def _load_failed(self, message: str) -> None:
        if self._stopped:
            return
        if self._opening:
            self.reading_label.setText(f"Could not read the library: {message}")
            self.reading_bar.hide()
            self.status.emit(f"Could not read the library: {message}")
            return
        self.status.emit(f"Could not re-read the library: {message}")

    def _load_done(self) -> None:
        self._loader = None
        if self._reload_wanted:
            self._start_reload_timer()

    def _conversations_stored(self, conversation_ids: list[str]) -> None:
        self._told_stored = list(conversation_ids)

    def _conversations_changed(self) -> None:
        """An import said just before which rows it stored: read those rows. Anything
        else that changed conversations (a removal, a review) is read in full."""
        if self._told_stored is None:
            self.request_reload(ROWS)
            return
        self._stored += self._told_stored
        self.request_reload(PATCH)

    def _batch_renamed(self, old: str, new: str) -> None:
        self._follow_batch = (old, new)
        self._told.append(BatchRenamed(old, new))

    def _conversations_moved(self, conversation_ids: list[str], batch: str) -> None:
        self._told.append(ConversationsMoved(tuple(conversation_ids), batch))

    def _batches_changed(self) -> None:
        """A rename or a move announced itself just before: patch the rows it names.
        Anything else that changed batches is read."""
        told, self._told = self._told, []
        if self._told_stored is not None:  # the import's batches: its rows carry them
            self._told_stored = None
            self._patches += told
            self.request_reload(PATCH)
            return
        if told:
            self._patches += told
            self.request_reload(PATCH)
        else:
            self.request_reload(BATCHES)

    def _show_rows(self, index: RowIndex) -> None:
        """Swap rows in (GUI thread) and refresh the choosers; keep the row being read."""
        reading = self.reader_conversation_id()
        self._learn_values(index)
        follow, self._follow_batch = self._follow_batch, None
        wanted = self._wanted_filter()
        if follow is not None and wanted.batch_id == follow[0]:
            wanted = replace(wanted, batch_id=follow[1])
        # A chosen value the library no longer has (a deleted file) stops filtering.
        for facet, known in self._all_values.items():
            if getattr(wanted, facet) not in (None, *known):
                cleared: dict[str, Any] = {facet: None}
                wanted = replace(wanted, **cleared)
        rule = wanted.training_file
        if rule is not None and rule.rule is not FileRule.IN_NONE \
                and rule.name not in self._file_names:
            wanted = replace(wanted, training_file=None)
        self._select_in_choosers(wanted)
        self._opening = False
        self.filter_bar.setEnabled(True)
        self.model.set_index(index, wanted)
        if index.count >= row_reader.READ_IN_CHILD_FROM:
            row_reader.spare_the_collector(young=False)
        if reading is not None:
            self.select_conversation(reading)
        self.reloaded.emit()

    def _select_in_choosers(self, wanted: Filter) -> None:
        """Make the choosers show ``wanted`` before their counts are refreshed."""
        values = {"batch_id": wanted.batch_id,
                  "training_file": None if wanted.training_file is None
                  else _file_data(wanted.training_file)}
        for facet, value in values.items():
            chooser = self.choosers[facet]
            if chooser.value() != value:
                chooser.blockSignals(True)
                if value is not None and chooser.findData(value) < 0:
                    chooser.addItem(value, value)
                chooser.select_value(value)
                chooser.blockSignals(False)

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

    def hidden_checked_count(self) -> int:
        """Checked conversations the filter hides (the review before an add says so)."""
        return self.model.hidden_checked_count

    def set_batch_filter(self, batch_id: str | None) -> bool:
        """Show one batch (None: all). While the first read runs the chooser knows no
        batch yet: the choice is kept for the read (dropped there if no such batch)."""
        if self._opening and batch_id is not None and self.batch_filter.findData(batch_id) < 0:
            self.batch_filter.blockSignals(True)
            self.batch_filter.addItem(batch_id, batch_id)
            self.batch_filter.blockSignals(False)
        return self.batch_filter.select_value(batch_id)

    def set_file_filter(self, rule: FileFilter | None) -> bool:
        return self.files_filter.select_value(None if rule is None else _file_data(rule))

    def _show_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.reader.show_record(None)
            return
        row = self.model.row_at(current.row())
        try:
            self.reader.show_record(self.library.record(row.conversation_id))
        except LibraryError as exc:
            self.status.emit(str(exc))

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


def _labelled(text: str, widget: QWidget) -> QWidget:
    """A label and its chooser, kept together when the filter bar wraps."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    label = QLabel(text)
    label.setBuddy(widget)
    layout.addWidget(label)
    layout.addWidget(widget)
    return box


DEFAULT_WIDTHS = {
    Column.CHECK: 28, Column.BATCH: 120, Column.CLIENT: 130, Column.ARCHETYPE: 130,
    Column.ARC: 150, Column.TOPIC: 170, Column.TURNS: 50, Column.REPLIES: 64,
    Column.QUALITY: 60, Column.TIER: 90, Column.CREATED: 90, Column.IMPORTED: 140,
    Column.SOURCE: 220, Column.FILES: 120, Column.WARNINGS: 76,
    Column.TOKENS: 70,
}
