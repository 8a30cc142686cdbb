"""The coverage grid: persona archetypes down, emotional arcs (or training topics) across,
how many of the file's conversations fall in each cell, and the empty cells marked as gaps.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.coverage import NONE, TITLES, Axis, Coverage
from app.labels import display_name as display
from ui.reader_colours import WARNING_HUE, blend, readable
from ui.wording import MISSING, agreeing, plural

Index = QModelIndex | QPersistentModelIndex
COUNT_ROLE = Qt.ItemDataRole.UserRole
# A gap is a combination with no conversation: its count, on a shaded cell. Not a dash,
# which beside MISSING ("—", a value the files do not give) could not be told from it.
GAP_MARK = "0"
GAP_LEGEND = f"{GAP_MARK}, shaded"


def axis_label(key: str) -> str:
    return MISSING if key == NONE else display(key)


class CoverageModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.coverage = Coverage([], [], Counter())
        self.row_title = TITLES[Axis.PERSONA]
        self.column_title = TITLES[Axis.ARC]
        self._palette = QPalette()

    def set_coverage(self, coverage: Coverage, row_title: str, column_title: str,
                     palette: QPalette) -> None:
        self.beginResetModel()
        self.coverage, self.row_title, self.column_title = coverage, row_title, column_title
        self._palette = palette
        self.endResetModel()

    def set_palette(self, palette: QPalette) -> None:
        """Cell colours are worked out from the palette: a new one recolours every cell."""
        self._palette = palette
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(self.rowCount() - 1, self.columnCount() - 1),
                                  [Qt.ItemDataRole.BackgroundRole,
                                   Qt.ItemDataRole.ForegroundRole])

    def _label(self, key: str) -> str:
        """The files' own name of a code where they give one (``Coverage.labels``)."""
        return axis_label(key) if key == NONE else self.coverage.label(key)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.coverage.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.coverage.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        keys = (self.coverage.columns if orientation == Qt.Orientation.Horizontal
                else self.coverage.rows)
        if not 0 <= section < len(keys):
            return None
        key = keys[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._label(key)
        if role == Qt.ItemDataRole.ToolTipRole:
            total = (self.coverage.column_total(key) if orientation == Qt.Orientation.Horizontal
                     else self.coverage.row_total(key))
            return f"{self._label(key)} ({key or 'not given'}): {total:,} in this file"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row_key = self.coverage.rows[index.row()]
        column_key = self.coverage.columns[index.column()]
        count = self.coverage.count(row_key, column_key)
        if role == Qt.ItemDataRole.DisplayRole:
            return str(count) if count else GAP_MARK
        if role == COUNT_ROLE:
            return count
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        base = self._palette.color(QPalette.ColorRole.Base)
        gap = blend(base, WARNING_HUE, 0.22)
        if role == Qt.ItemDataRole.BackgroundRole and not count:
            return gap
        if role == Qt.ItemDataRole.ForegroundRole:
            text = self._palette.color(QPalette.ColorRole.Text)
            return readable(text, gap if not count else base)
        if role == Qt.ItemDataRole.ToolTipRole:
            what = f"{self._label(row_key)} × {self._label(column_key)}"
            return (f"{what}: {plural(count, 'conversation')}" if count
                    else f"{what}: no conversations in this file, a gap ({GAP_LEGEND})")
        return None


class CoverageGrid(QWidget):
    """The grid with a chooser for its columns (arc or topic) and a line naming the gaps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns_chooser = QComboBox()
        self.columns_chooser.addItem("Persona × emotional arc", Axis.ARC.value)
        self.columns_chooser.addItem("Persona × training topic", Axis.TOPIC.value)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.model = CoverageModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableView.SelectionMode.NoSelection)
        heading = self.table.horizontalHeader()
        heading.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        heading.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        heading.setDefaultSectionSize(96)
        heading.setMinimumHeight(3 * self.fontMetrics().height() + 8)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        top = QHBoxLayout()
        top.addWidget(self.columns_chooser)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.model.set_palette(self.palette())

    def column_axis(self) -> Axis:
        return Axis(self.columns_chooser.currentData())

    def show_coverage(self, coverage: Coverage | None) -> None:
        if coverage is None:
            coverage = Coverage([], [], Counter())
        axis = self.column_axis()
        self.model.set_coverage(coverage, TITLES[Axis.PERSONA], TITLES[axis], self.palette())
        cells = len(coverage.rows) * len(coverage.columns)
        gaps = len(coverage.gaps())
        noun = "arc" if axis is Axis.ARC else "topic"
        missing = NONE in coverage.rows or NONE in coverage.columns
        self.summary.setText(
            f"{cells - gaps:,} of {cells:,} persona × {noun} combinations "
            f"{agreeing(cells - gaps, 'has', 'have')} conversations; "
            f"{gaps:,} {'is a gap' if gaps == 1 else 'are gaps'} ({GAP_LEGEND})."
            + (f" {MISSING} stands for a value the files do not give." if missing else "")
            if cells else "No conversations to count.")
