"""One thing has one name on both pages: a training file's member table heads its columns
as the Conversations page does, and the Create menu names a file as the LoRA Training JSON
Files page lists it."""

from __future__ import annotations

from pathlib import Path

from conftest import open_window, settle
from PySide6.QtCore import Qt

from app.library import Library
from app.trainingfiles import add_conversations
from ui.conversations_model import Column

WAIT_MS = 30000


def headings(model) -> list[str]:
    return [model.headerData(n, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
            for n in range(model.columnCount())]


def test_the_files_page_names_columns_and_files_as_the_other_places_do(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "November review", ids[:3], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    qtbot.waitUntil(lambda: page.select_file("November review"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.members_model.rowCount() == 3, timeout=WAIT_MS)

    members = headings(page.members_model)
    conversations = headings(window.conversations.model)
    assert members == ["Client", "Arc", "Topic", "Batch ID", "Tokens", "Warnings"]
    assert set(members) <= set(conversations)
    horizontal, tip = Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    assert page.members_model.headerData(1, horizontal, tip) == \
        window.conversations.model.headerData(Column.ARC, horizontal, tip)

    listed = [page.model.data(page.model.index(row, 0))
              for row in range(page.model.rowCount())]
    window.create_button.menu_.aboutToShow.emit()
    entries = [action.text() for action in window.create_button.entries()
               if action.data() is not None]
    assert listed == ["November review"]
    assert entries == ["November review  (3 conversations)"]
