"""The Conversations page: filter bar, the checkable table and the reading panel."""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import LibraryError
from app.library import ConversationRow, Library
from ui.changes import LibraryChanges
from ui.conversation_view import ConversationView
from ui.conversations_model import Column, ConversationsModel, Filter
from ui.tasks import Task, start

ANY = "__any__"
WARNING_CHOICES = (("All", None), ("Without warnings", False), ("With warnings", True))


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


class FilterChooser(QComboBox):
    """A combo box of "All …" plus each value with its count."""

    def __init__(self, all_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.all_label = all_label
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMinimumContentsLength(12)

    def set_choices(self, counts: dict[str, int], total: int) -> None:
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        self.addItem(f"{self.all_label} ({total})", ANY)
        for value, count in counts.items():
            self.addItem(f"{value or '(none)'} ({count})", value)
        index = self.findData(current) if current is not None else 0
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)

    def value(self) -> str | None:
        data = self.currentData()
        return None if data in (ANY, None) else str(data)

    def select_value(self, value: str | None) -> bool:
        index = self.findData(ANY if value is None else value)
        if index < 0:
            return False
        self.setCurrentIndex(index)
        return True


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
        self._loader: Task | None = None
        self._reload_wanted = False
        self._follow_batch: tuple[str, str] | None = None
        self._reload_timer = QTimer(self, singleShot=True, interval=0)
        self._reload_timer.timeout.connect(self._start_reload)

        self.batch_filter = FilterChooser("All batches")
        self.arc_filter = FilterChooser("All arcs")
        self.topic_filter = FilterChooser("All topics")
        self.persona_filter = FilterChooser("All personas")
        self.warnings_filter = QComboBox()
        for label, value in WARNING_CHOICES:
            self.warnings_filter.addItem(label, value)
        self.warnings_filter.setToolTip("Leave out conversations whose replies look cut off, "
                                        "that end unanswered, or whose history disagrees")
        self.search = QLineEdit(placeholderText="Search the visible columns…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(self._apply_search)

        bar = QHBoxLayout()
        for label, widget in (("Batch ID", self.batch_filter), ("Arc", self.arc_filter),
                              ("Topic", self.topic_filter), ("Persona", self.persona_filter)):
            bar.addWidget(QLabel(label))
            bar.addWidget(widget)
        bar.addWidget(QLabel("Quality"))
        bar.addWidget(self.warnings_filter)
        bar.addStretch(1)
        bar.addWidget(self.search)

        self.table = ConversationsTable()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # Long file names share their start ("c-alpha-build_v3.4-LoRA-FP-…"): keep both ends.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        for column, width in DEFAULT_WIDTHS.items():
            self.table.setColumnWidth(column, width)

        self.reader = ConversationView()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.reader)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

        self.batch_filter.currentIndexChanged.connect(
            lambda: self.model.update_filter(batch_id=self.batch_filter.value()))
        self.arc_filter.currentIndexChanged.connect(
            lambda: self.model.update_filter(arc=self.arc_filter.value()))
        self.topic_filter.currentIndexChanged.connect(
            lambda: self.model.update_filter(topic=self.topic_filter.value()))
        self.persona_filter.currentIndexChanged.connect(
            lambda: self.model.update_filter(archetype=self.persona_filter.value()))
        self.warnings_filter.currentIndexChanged.connect(
            lambda: self.model.update_filter(warnings=self.warnings_filter.currentData()))
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.model.modelReset.connect(lambda: self.reader.show_record(None))
        # Every kind of change shows in the table: rows, their batch, their training files.
        for signal in (self.changes.conversations_changed, self.changes.batches_changed,
                       self.changes.training_files_changed):
            signal.connect(self.request_reload)
        self.changes.batch_renamed.connect(self._batch_renamed)

    def _apply_search(self) -> None:
        self.model.update_filter(text=self.search.text().strip())

    # --- loading ---------------------------------------------------------------------

    def load_now(self) -> None:
        """Read the rows on this thread (when the window is made, before it is shown)."""
        self._show_rows(self.library.summaries())

    def request_reload(self) -> None:
        """Re-read the rows in the background; several requests in a row make one read."""
        if self._loader is not None:
            self._reload_wanted = True  # read again when the running read ends
            return
        self._reload_timer.start()

    @property
    def loading(self) -> bool:
        return self._loader is not None or self._reload_timer.isActive()

    def _start_reload(self) -> None:
        library = self.library
        task = Task(lambda _progress, _cancelled: library.summaries())
        task.signals.succeeded.connect(self._loaded)
        task.signals.failed.connect(self._load_failed)
        task.signals.done.connect(self._load_done)
        self._loader = task
        self._reload_wanted = False
        start(task)

    def _loaded(self, rows: list[ConversationRow]) -> None:
        if not self._reload_wanted:  # a newer read is coming: skip this one's swap
            self._show_rows(rows)

    def _load_failed(self, message: str) -> None:
        self.status.emit(f"Could not re-read the library: {message}")

    def _load_done(self) -> None:
        self._loader = None
        if self._reload_wanted:
            self._reload_timer.start()

    def _batch_renamed(self, old: str, new: str) -> None:
        self._follow_batch = (old, new)

    def _show_rows(self, rows: list[ConversationRow]) -> None:
        """Swap rows in (GUI thread) and refresh the choosers; keep the row being read."""
        reading = self.reader_conversation_id()
        follow, self._follow_batch = self._follow_batch, None
        if follow is not None and self.batch_filter.value() == follow[0]:
            self.batch_filter.set_choices({follow[1]: 0}, 0)  # the renamed batch stays chosen
            self.batch_filter.select_value(follow[1])
        self.model.set_rows(rows)
        total = self.model.total
        self.batch_filter.set_choices(self.model.values("batch_id"), total)
        self.arc_filter.set_choices(self.model.values("emotional_arc_key"), total)
        self.topic_filter.set_choices(self.model.values("training_topic_key"), total)
        self.persona_filter.set_choices(self.model.values("persona_archetype"), total)
        self.model.set_filter(Filter(
            batch_id=self.batch_filter.value(), arc=self.arc_filter.value(),
            topic=self.topic_filter.value(), archetype=self.persona_filter.value(),
            warnings=self.warnings_filter.currentData(), text=self.search.text().strip()))
        if reading is not None:
            self.select_conversation(reading)
        self.reloaded.emit()

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

    def set_batch_filter(self, batch_id: str | None) -> bool:
        return self.batch_filter.select_value(batch_id)

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
        for row in range(self.model.rowCount()):
            if self.model.row_at(row).conversation_id == conversation_id:
                index = self.model.index(row, Column.CLIENT)
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
                self.table.scrollTo(index)
                return True
        return False


DEFAULT_WIDTHS = {
    Column.CHECK: 28, Column.BATCH: 130, Column.CLIENT: 140, Column.ARCHETYPE: 140,
    Column.ARC: 170, Column.TOPIC: 190, Column.TURNS: 50, Column.REPLIES: 110,
    Column.QUALITY: 60, Column.TIER: 100, Column.CREATED: 90, Column.IMPORTED: 140,
    Column.SOURCE: 220, Column.FILES: 140, Column.WARNINGS: 80,
}
