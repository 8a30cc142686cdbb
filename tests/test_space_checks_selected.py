"""Space checks the selected rows of the Conversations table, or unchecks them when the
first is checked: the way to check a run picked with Shift+click. It set one check at a
time, each a change the window answered (its menus' words and greyed actions): 10,000
selected rows froze the window for 11 s, then 21 s to uncheck them. One change now,
whatever the number of rows."""

from __future__ import annotations

from pathlib import Path

from conftest import open_window, settle
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtTest import QTest

from app.library import Library

ROWS = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows


def select(table, first: int, last: int) -> None:
    model = table.model()
    table.selectionModel().select(QItemSelection(
        model.index(first, 0), model.index(last, model.columnCount() - 1)), ROWS)


def checked_rows(model) -> list[int]:
    return [row for row in range(model.rowCount())
            if model.row_at(row).conversation_id in set(model.checked_ids())]


def test_space_checks_the_selected_rows_in_one_change_and_unchecks_them_again(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.conversations
    model, table = page.model, page.table
    assert model.rowCount() >= 6
    changes: list[int] = []
    model.checks_changed.connect(lambda: changes.append(model.checked_count))
    table.setFocus()

    select(table, 1, 4)
    QTest.keyClick(table, Qt.Key.Key_Space)
    assert checked_rows(model) == [1, 2, 3, 4]
    assert changes == [4], "one change for the four rows"

    # The first selected row checked: Space unchecks them all, the unselected row stays.
    model.setData(model.index(5, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    select(table, 2, 5)
    changes.clear()
    QTest.keyClick(table, Qt.Key.Key_Space)
    assert checked_rows(model) == [1]
    assert changes == [1]

    # The first selected row unchecked (row 0), some after it checked (row 1): all checked.
    select(table, 0, 2)
    QTest.keyClick(table, Qt.Key.Key_Space)
    assert checked_rows(model) == [0, 1, 2]
