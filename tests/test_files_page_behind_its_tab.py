"""The Training files page behind its tab reads a changed file's details only when it is
shown: after a rename or a move on the Conversations page, a 10,000-member read there took
the GIL from the window's own update, for a page nobody was looking at."""

from __future__ import annotations

import pytest
from conftest import settle

from app.trainingfiles import add_conversations
from ui.main import MainWindow


@pytest.fixture
def window(window_with_a_set: MainWindow) -> MainWindow:
    return window_with_a_set


def _members_tab(window: MainWindow) -> str:
    return window.training_files.tabs.tabText(0)


@pytest.mark.qt_log_ignore("propagateSizeHints")
@pytest.mark.parametrize("shown", [True, False])
def test_details_are_read_when_the_page_shows(qtbot, window, filled_library, details_reads,
                                              shown) -> None:
    if not shown:  # the same in a window not on screen: the tab's choice is enough
        window.hide()
    page = window.training_files
    assert window.pages.currentWidget() is not page
    reads = details_reads
    reads.clear()
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Set", ids[2:5])
    window.changes.training_files_changed.emit()
    settle(qtbot, window)
    assert page.selected_file().conversations == 5  # the list itself is up to date ...
    assert reads == []  # ... but no details were read behind the tab

    window.pages.setCurrentWidget(page)
    qtbot.waitUntil(lambda: _members_tab(window) == "Conversations (5)", timeout=10_000)
    assert reads == ["Set"]

    # Shown, a change is read at once, as before.
    add_conversations(filled_library, "Set", ids[5:6])
    window.changes.training_files_changed.emit()
    qtbot.waitUntil(lambda: _members_tab(window) == "Conversations (6)", timeout=10_000)
    assert reads == ["Set", "Set"]
