"""The one measure both fitted tables use (``ui.cell_width``): a cell as wide as Qt's own
ResizeToContents makes it, with the grid shown or not, so no fitted text is drawn cut."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView

from ui.cell_width import cell_margin, widest_cell

TEXTS = ["Marcus Thompson", "Ana", "Ximena Quintanilla-Ruiz", "batch-2025-12", "1,234"]


@pytest.mark.parametrize("grid", [True, False])
def test_the_widest_cell_is_as_wide_as_qt_fits_the_column(qtbot, grid: bool) -> None:
    model = QStandardItemModel()
    for text in TEXTS:
        model.appendRow(QStandardItem(text))
    table = QTableView()
    qtbot.addWidget(table)
    table.setModel(model)
    table.setShowGrid(grid)
    # Qt rounds each text's fractional width its own way: never short, at most a pixel over.
    assert 0 <= widest_cell(table, TEXTS) - table.sizeHintForColumn(0) <= 1
    assert widest_cell(table, []) == cell_margin(table)
