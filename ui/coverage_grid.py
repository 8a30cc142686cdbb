"""The coverage grid: persona archetypes down, emotional arcs (or training topics) across,
how many of the file's conversations fall in each cell, and the empty combinations marked as
gaps. MISSING's row and column (conversations whose files do not give the value) are no
combinations: their cells show counts, blank when none, never as gaps.
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
        gap = self.coverage.is_gap(row_key, column_key)
        if role == Qt.ItemDataRole.DisplayRole:
            # A cell of MISSING's row or column is no combination: blank when empty.
            return str(count) if count else GAP_MARK if gap else ""
        if role == COUNT_ROLE:
            return count
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        base = self._palette.color(QPalette.ColorRole.Base)
        shade = blend(base, WARNING_HUE, 0.22)
        if role == Qt.ItemDataRole.BackgroundRole and gap:
            return shade
        if role == Qt.ItemDataRole.ForegroundRole:
            text = self._palette.color(QPalette.ColorRole.Text)
            return readable(text, shade if gap else base)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(row_key, column_key, count, gap)
        return None

    def _tip(self, row_key: str, column_key: str, count: int, gap: bool) -> str:
        what = f"{self._label(row_key)} × {self._label(column_key)}"
        if gap:
            return f"{what}: no conversations in this file, a gap ({GAP_LEGEND})"
        held = plural(count, "conversation") if count else "no conversations"
        if NONE in (row_key, column_key):
            return (f"{what}: {held} in this file ({MISSING}: a value the files do not give, "
                    "not a combination to fill)")
        return f"{what}: {held}"


def summary_text(coverage: Coverage, noun: str) -> str:
    """How many combinations the file fills and how many are gaps; MISSING's row and
    column count conversations, not combinations to fill, and the line says how many."""
    combinations = len(coverage.combinations())
    gaps = len(coverage.gaps())
    lacking = coverage.without_value()
    missing = (f" {MISSING} stands for a value the files do not give "
               f"({plural(lacking, 'conversation')} here), not a combination to fill."
               if lacking else "")
    if not combinations:
        article = "an" if noun[0] in "aeiou" else "a"
        return (f"No persona × {noun} combinations to fill: the library's conversations "
                f"do not give both a persona and {article} {noun}.{missing}"
                if lacking else "No conversations to count.")
    filled = combinations - gaps
    return (f"{filled:,} of {combinations:,} persona × {noun} "
            f"{agreeing(combinations, 'combination', 'combinations')} "
            f"{agreeing(filled, 'has', 'have')} conversations; "
            + (f"{gaps:,} {agreeing(gaps, 'is a gap', 'are gaps')} ({GAP_LEGEND})."
               if gaps else "none is a gap.")
            + missing)


class CoverageGrid(QWidget):
    """The grid with a chooser for its columns (arc or topic) and a line naming the gaps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns_chooser = QComboBox()
        # (no label on screen, its choices say what they are; a screen reader hears this)
        self.columns_chooser.setAccessibleDescription("What the coverage grid's columns show")
        self.columns_chooser.addItem("Persona × emotional arc", Axis.ARC.value)
        self.columns_chooser.addItem("Persona × training topic", Axis.TOPIC.value)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.model = CoverageModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Coverage: conversations per persona and column")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableView.SelectionMode.NoSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the grid, not cell by cell
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
        self.summary.setText(summary_text(coverage, "arc" if axis is Axis.ARC else "topic"))
