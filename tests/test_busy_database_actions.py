"""Actions the window runs on its own thread while another program holds the library's
database (the audit's case: a second process in ``BEGIN EXCLUSIVE``): each says so in a
sentence with what to do; none fails with nothing but a traceback on stderr. Real
library, real window, a real second connection holding the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ids_of, open_window
from PySide6.QtCore import Qt

from app.library import Library
from app.trainingfiles import add_conversations, list_training_files

WAIT_MS = 60000  # a delete runs as a job
BUSY = "is busy: another program is writing to it. Wait a moment and try again"


@contextmanager
def held(library: Library) -> Iterator[None]:
    """Another program holds the library's database for writing (SQLite waits 5 s)."""
    holder = sqlite3.connect(library.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.close()


def test_delete_of_a_training_file_says_the_database_is_busy(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    add_conversations(filled_library, "Kept", ids_of(filled_library)[:3], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file("Kept")
    dialogs.confirms.append(True)
    with held(filled_library):
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    ((title, text),) = dialogs.warnings
    assert title == "Cannot delete" and BUSY in text
    assert "Kept" in [f.name for f in list_training_files(filled_library)]


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_mark_reviewed_says_the_database_is_busy(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    model = window.conversations.model
    wanted = set(ids_of(filled_library)[:2])
    for row in range(model.rowCount()):
        if model.row_at(row).conversation_id in wanted:
            model.setData(model.index(row, 0), Qt.CheckState.Checked,
                          Qt.ItemDataRole.CheckStateRole)
    dialogs.texts.append("Lee")
    with held(filled_library):
        window.mark_reviewed_action.trigger()
    ((title, text),) = dialogs.warnings
    assert title == "Review" and BUSY in text
    assert not [r for r in filled_library.summaries() if r.reviewed_by]


def test_a_delete_that_fails_keeps_what_undo_offered(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    """A delete refused by a busy database changed nothing, so Undo still offers the last
    change (here an earlier delete); it used to be forgotten before the delete was tried."""
    ids = ids_of(filled_library)
    add_conversations(filled_library, "Gone first", ids[:2], create=True)
    add_conversations(filled_library, "Kept", ids[2:4], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    undo = window.edit_menu.actions()[0]
    assert page.select_file("Gone first")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.training_files.status, timeout=WAIT_MS):
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert undo.isEnabled() and undo.text() == "Undo delete of training file 'Gone first'"
    assert page.select_file("Kept")
    dialogs.confirms.append(True)
    with held(filled_library):
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    assert [title for title, _text in dialogs.warnings] == ["Cannot delete"]
    assert undo.isEnabled() and undo.text() == "Undo delete of training file 'Gone first'"
