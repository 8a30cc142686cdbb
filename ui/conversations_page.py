"""The Conversations page: filter bar, the checkable table and the reading panel."""

from __future__ import annotations

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
from app.library import Library
from ui.conversation_view import ConversationView
from ui.conversations_model import Column, ConversationsModel, Filter

ANY = "__any__"
WARNING_CHOICES = (("All", None), ("Without warnings", False), ("With warnings", True))


class ConversationsTable(QTableView):
    """The table; Space toggles the checks of the selected rows, and Ctrl+A checks the
    rows the filter shows (the same as Edit ▸ Select all) instead of highlighting them."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.model().check_all_shown()
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
    status = Signal(str)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.model = ConversationsModel(self)

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

    def _apply_search(self) -> None:
        self.model.update_filter(text=self.search.text().strip())

    def reload(self) -> None:
        """Re-read the summary rows (never the documents) and refresh the choosers."""
        self.model.set_rows(self.library.summaries())
        total = self.model.total
        self.batch_filter.set_choices(self.model.values("batch_id"), total)
        self.arc_filter.set_choices(self.model.values("emotional_arc_key"), total)
        self.topic_filter.set_choices(self.model.values("training_topic_key"), total)
        self.persona_filter.set_choices(self.model.values("persona_archetype"), total)
        self.model.set_filter(Filter(
            batch_id=self.batch_filter.value(), arc=self.arc_filter.value(),
            topic=self.topic_filter.value(), archetype=self.persona_filter.value(),
            warnings=self.warnings_filter.currentData(), text=self.search.text().strip()))

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
