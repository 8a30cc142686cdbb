"""A header click keeps the current row and the selection on the same conversations,
whether the view remembers few rows (each found by ``list.index``) or many (one pass)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_window
from PySide6.QtCore import QItemSelectionModel, Qt

from ui import conversations_model
from ui.conversations_model import Column


@pytest.mark.parametrize("few", [8, 0])  # 0: every remembered row through the one pass
def test_sorting_keeps_current_row_and_selection(qtbot, filled_library, dialogs,
                                                 tmp_path: Path, monkeypatch, few) -> None:
    monkeypatch.setattr(conversations_model, "FEW_REMEMBERED", few)
    window = open_window(qtbot, filled_library, dialogs, tmp_path, show=False)
    table = window.conversations.table
    model = window.conversations.model
    view_model = table.model()
    assert model.rowCount() >= 6
    selection = table.selectionModel()
    picked = [1, 3, 4]
    for row in picked:
        selection.select(view_model.index(row, Column.CLIENT),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    selection.setCurrentIndex(view_model.index(4, Column.CLIENT),
                              QItemSelectionModel.SelectionFlag.NoUpdate)
    chosen = {model.row_at(row).conversation_id for row in picked}
    current = model.row_at(4).conversation_id

    for column, order in [(Column.CLIENT, Qt.SortOrder.DescendingOrder),
                          (Column.TOKENS, Qt.SortOrder.AscendingOrder),
                          (Column.CLIENT, Qt.SortOrder.AscendingOrder)]:
        before = [model.row_at(r).conversation_id for r in range(model.rowCount())]
        table.sortByColumn(column, order)
        after = [model.row_at(r).conversation_id for r in range(model.rowCount())]
        selected = {model.row_at(index.row()).conversation_id
                    for index in selection.selectedRows()}
        assert selected == chosen, (column, order)
        assert model.row_at(selection.currentIndex().row()).conversation_id == current
        assert sorted(before) == sorted(after)
