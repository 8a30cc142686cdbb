"""The Conversations table's Replies column counts what a training file of the default
cut-off policy trains, so it never contradicts the Tokens column ("no training line") or
the add that skips such a conversation. Real window, real library, the real fixtures: two
of them are cut off in their first reply."""

from __future__ import annotations

import pytest
from conftest import FIRST_REPLY_CUT, open_window
from PySide6.QtCore import Qt

from app.token_counts import ensure_counts
from app.trainingfiles import add_conversations, header
from ui.conversations_model import HEADER_NAMES, Column, tokens_tooltip

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

TIP = Qt.ItemDataRole.ToolTipRole


def shown(model, column: Column) -> dict[str, tuple[str, str]]:
    """Per conversation id: the cell's text and tooltip in ``column``."""
    return {model.row_at(r).conversation_id:
            (str(model.index(r, column).data()), model.index(r, column).data(TIP))
            for r in range(model.rowCount())}


def test_replies_show_what_the_default_policy_trains_and_say_why_the_rest_are_not(
        qtbot, filled_library, dialogs, tmp_path):
    ensure_counts(filled_library)  # the Tokens column's counts, as the window makes them
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    model = window.conversations.model
    rows = {row.conversation_id: row for row in filled_library.summaries()}
    replies = shown(model, Column.REPLIES)
    for cid in FIRST_REPLY_CUT:
        every = rows[cid].trainable_replies
        assert every > 0 and replies[cid][0] == "0"
        assert replies[cid][1] == (
            f"0 of {every} consultant replies trained under the default cut-off policy "
            "(Trim): the others are cut off or come after a cut-off turn. A training file "
            "set to train every reply (Settings… on the LoRA Training JSON Files page) "
            f"trains all {every}.")
        assert tokens_tooltip(rows[cid]).startswith(
            "No training line under the default cut-off policy (Trim): a cut-off turn comes "
            "before its first clean reply")
    clean = [cid for cid in rows if cid not in FIRST_REPLY_CUT]
    for cid in clean:
        count = rows[cid].trainable_replies
        assert replies[cid] == (str(count), f"{count} consultant replies, all trained")
    assert HEADER_NAMES[Column.REPLIES] == "Trained replies"

    # What the column shows adds up to what a file of the default policy trains (its lines
    # written whole: the column counts whole conversations, not a token budget's ends).
    add_conversations(filled_library, "Everything", list(rows), create=True,
                      over_budget="keep")
    trained = header(filled_library, "Everything")["totals"]["trainable_replies"]
    assert trained == sum(int(text) for text, _ in replies.values())


def test_sorting_by_replies_puts_the_conversations_that_train_nothing_first(
        qtbot, filled_library, dialogs, tmp_path):
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.conversations
    page.table.sortByColumn(Column.REPLIES, Qt.SortOrder.AscendingOrder)
    first = {page.model.row_at(r).conversation_id for r in range(len(FIRST_REPLY_CUT))}
    assert first == FIRST_REPLY_CUT


def test_the_tokens_tooltip_of_a_longer_conversation_says_what_each_file_setting_does(
        filled_library):
    """New files end a line over the budget at its last whole reply that fits
    (``app.budget_fit``): "a trainer would cut this conversation" is true only of a file
    that writes its lines whole, so the tooltip names both."""
    row = filled_library.summaries()[0]._replace(token_count=5252, token_budget=4096)
    assert tokens_tooltip(row) == (
        "5,252 tokens in its training line under the default cut-off policy (trim), chat "
        "template included.\nLonger than 4,096 tokens, the default length limit of a new "
        "training file. A file set to end longer lines at their last whole reply that fits "
        "leaves out the replies after it; one set to write lines whole has the trainer cut "
        "it.")
