"""The reading panel across a swap of new rows (``ConversationsPage._show_rows``): the
conversation being read is left as it is when nothing of it changed (token counts made in
the background swap rows in every few seconds), and shown again when it did. Real window,
real library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import open_window, settle
from sqlalchemy import update

from app.library import Library
from app.models import Conversation

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def reading(qtbot: Any, library: Library, dialogs: Any,
            tmp_path: Path) -> tuple[Any, str, list[Any]]:
    """A window reading its second conversation, and what its reader shows from now on."""
    window = open_window(qtbot, library, dialogs, tmp_path)
    counts = window.token_counts  # (its own pass, if any, is over: it writes counts too)
    qtbot.waitUntil(lambda: not counts.running and not counts._timer.isActive(),
                    timeout=60000)
    settle(qtbot, window)
    page = window.conversations
    conversation_id = page.model.row_at(1).conversation_id
    assert page.select_conversation(conversation_id)
    assert page.reader.record["conversation_id"] == conversation_id
    shown: list[Any] = []
    page.reader.record_shown.connect(shown.append)
    return window, conversation_id, shown


def test_new_token_counts_leave_the_conversation_being_read_as_it_is(
    qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path
) -> None:
    window, conversation_id, shown = reading(qtbot, filled_library, dialogs, tmp_path)
    page = window.conversations
    with filled_library.engine.begin() as conn:
        conn.execute(update(Conversation).where(
            Conversation.conversation_id == conversation_id).values(
                token_count=4321, token_basis=filled_library.counts_key()))
    window.changes.tokens_changed.emit()
    qtbot.waitUntil(lambda: page.model.row_at(page.model.row_of_id(conversation_id))
                    .token_count == 4321, timeout=30000)  # the new rows are in
    settle(qtbot, window)
    assert shown == [], "the reader was not built again (nor emptied)"
    assert page.reader.record["conversation_id"] == conversation_id
    assert page.reader_conversation_id() == conversation_id


def test_a_change_to_the_conversation_being_read_shows_in_the_reader(
    qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path
) -> None:
    window, conversation_id, shown = reading(qtbot, filled_library, dialogs, tmp_path)
    with filled_library.engine.begin() as conn:
        conn.execute(update(Conversation).where(
            Conversation.conversation_id == conversation_id).values(
                reviewed_by="Ana", reviewed_at="2026-11-27T13:00:00Z"))
    window.changes.conversations_changed.emit()
    qtbot.waitUntil(lambda: bool(shown), timeout=30000)
    settle(qtbot, window)
    assert shown == [filled_library.record(conversation_id)], "shown once, as stored now"
    assert window.conversations.reader.record == filled_library.record(conversation_id)
