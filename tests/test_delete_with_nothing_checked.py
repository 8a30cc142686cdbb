"""Delete in the table removes the checked conversations; with rows selected but none
checked it did nothing at all, and a person who selected rows and pressed Delete could not
tell why. The status bar says it, and what to do."""

from __future__ import annotations

from pathlib import Path

from conftest import open_window, settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.library import Library


def test_delete_with_rows_selected_and_none_checked_says_space_checks_them(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.conversations
    total = page.model.total
    page.table.setFocus()
    page.table.selectRow(1)
    assert page.model.checked_count == 0
    QTest.keyClick(page.table, Qt.Key.Key_Delete)
    assert window.statusBar().currentMessage() == (
        "Delete removes the checked conversations, and none is checked: Space checks the "
        "selected rows.")
    assert page.model.total == total and not dialogs.asked, "nothing asked, nothing removed"
