"""Every table of the window has a name a screen reader says (a table without one is read
as "table", whichever it is). Real window, real library."""

from __future__ import annotations

from pathlib import Path

from conftest import ids_of, open_window, settle
from PySide6.QtWidgets import QTableView

from app.library import Library
from app.trainingfiles import add_conversations


def test_every_table_is_named(qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    add_conversations(filled_library, "Pilot", ids_of(filled_library)[:2], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    names = {table.accessibleName() for table in window.findChildren(QTableView)}
    assert "" not in names
    assert {"Conversations", "Training files",
            "Conversations in the chosen training file"} <= names
