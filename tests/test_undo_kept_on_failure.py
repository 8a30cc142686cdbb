"""A change that fails keeps what Edit ▸ Undo offered: Undo waits while the change runs
(greyed out), and offers the earlier change again when the new one was not made. Remove
from a training file, Move to batch and Remove from library forgot it as they started, so
one refused by a busy database (or cancelled) lost the undo of the change before it. Real
library, real window, a real second connection holding the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ids_of, open_window, settle
from PySide6.QtCore import Qt
from test_busy_database_actions import held

from app.library import Library
from app.trainingfiles import add_conversations, list_training_files

WAIT_MS = 60_000
EARLIER = "Undo delete of training file 'Gone first'"


@pytest.fixture
def window(qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path) -> Any:
    """The window with an earlier change Undo offers: a training file deleted."""
    ids = ids_of(filled_library)
    add_conversations(filled_library, "Gone first", ids[:2], create=True)
    add_conversations(filled_library, "Kept", ids[2:5], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file("Gone first")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert _undo(window).isEnabled() and _undo(window).text() == EARLIER
    return window


def _undo(window: Any) -> Any:
    return window.edit_menu.actions()[0]


def _check(window: Any, ids: list[str]) -> None:
    model = window.conversations.model
    model.set_checked_ids(ids)


def _undo_still_works(qtbot: Any, window: Any, library: Library) -> None:
    undo = _undo(window)
    assert undo.isEnabled() and undo.text() == EARLIER
    undo.trigger()
    qtbot.waitUntil(lambda: "Gone first" in [f.name for f in list_training_files(library)],
                    timeout=WAIT_MS)


def test_a_removal_from_a_file_that_fails_keeps_what_undo_offered(
        qtbot, window, filled_library: Library, dialogs) -> None:
    page = window.training_files
    assert page.select_file("Kept")
    qtbot.waitUntil(lambda: page.members.model().rowCount() == 3, timeout=WAIT_MS)
    page.members.selectRow(0)
    dialogs.confirms.append(True)
    with held(filled_library):
        page.remove_button.click()
        assert not _undo(window).isEnabled(), "greyed out while the removal runs"
        qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    assert [title for title, _text in dialogs.warnings] == ["Cannot remove"]
    assert [f.conversations for f in list_training_files(filled_library)] == [3]
    _undo_still_works(qtbot, window, filled_library)


def test_a_move_that_fails_keeps_what_undo_offered(
        qtbot, window, filled_library: Library, dialogs) -> None:
    window.pages.setCurrentWidget(window.conversations)
    _check(window, ids_of(filled_library)[:2])
    dialogs.texts.append("elsewhere")
    with held(filled_library):
        assert window.batches.move_checked()
        assert not _undo(window).isEnabled(), "greyed out while the move runs"
        qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    assert [title for title, _text in dialogs.warnings] == ["Move to batch"]
    assert "elsewhere" not in {row.batch_id for row in filled_library.summaries()}
    _undo_still_works(qtbot, window, filled_library)


def test_a_removal_from_the_library_that_fails_keeps_what_undo_offered(
        qtbot, window, filled_library: Library, dialogs) -> None:
    window.pages.setCurrentWidget(window.conversations)
    count = filled_library.count()
    _check(window, ids_of(filled_library)[-2:])
    dialogs.confirms.append(True)
    with held(filled_library):
        assert window.remover.remove_checked()
        assert not _undo(window).isEnabled(), "greyed out while the removal runs"
        qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    assert [title for title, _text in dialogs.warnings] == ["Conversations not removed"]
    assert filled_library.count() == count
    _undo_still_works(qtbot, window, filled_library)
