"""The Conversations table's Tokens column says what its warning measures: the library's
count (the line of the default cut-off policy) against the smallest maximum sequence length
of the training files holding the conversation, or a new file's default, and nothing about
any one file's settings it does not know. Real window, real library, the real fixtures."""

from __future__ import annotations

import pytest
from conftest import open_window
from PySide6.QtCore import Qt

from app.token_counts import ensure_counts
from app.trainingfiles import add_conversations, change_settings
from ui.conversations_model import HEADER_NAMES, Column

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

TIP, ICON = Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.DecorationRole


def _cells(model) -> dict[str, tuple[str, bool]]:
    """Per conversation id: the Tokens cell's tooltip and whether it has the warning."""
    return {model.row_at(r).conversation_id: (model.index(r, Column.TOKENS).data(TIP),
                                              model.index(r, Column.TOKENS).data(ICON)
                                              is not None)
            for r in range(model.rowCount())}


def test_the_tokens_warning_names_the_budget_it_compares_with(
        qtbot, filled_library, dialogs, tmp_path):
    counts = ensure_counts(filled_library)
    longest = max(counts, key=counts.__getitem__)  # enriched-1: 5,252 tokens
    assert counts[longest] == 5252
    middle = next(cid for cid, n in counts.items() if 2048 < n < 4096)
    small = next(cid for cid, n in counts.items() if 0 < n < 2048)
    add_conversations(filled_library, "Small", [middle, small], create=True)
    # written whole: a file that ends a longer line early to fit has no line over its limit
    change_settings(filled_library, "Small", max_seq_len=2048, over_budget="keep")
    add_conversations(filled_library, "Wide", [small], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    cells = _cells(window.conversations.model)

    tip, warned = cells[longest]  # in no file: the default a new file gets
    assert warned and tip == (
        "5,252 tokens in its training line under the default cut-off policy (trim), chat "
        "template included.\nLonger than 4,096 tokens, the default length limit of a new "
        "training file. A file set to end longer lines at their last whole reply that "
        "fits leaves out the replies after it; one set to write lines whole has the "
        "trainer cut it.")
    tip, warned = cells[middle]  # in one file: that file's budget, named
    assert warned and (f"{counts[middle]:,} tokens in its training line under the default "
                       "cut-off policy (trim)") in tip
    assert "\nLonger than 2,048 tokens, the length limit of 'Small', the training file " \
           "holding it." in tip
    tip, warned = cells[small]  # in two files: the smaller of their budgets
    assert not warned and tip.endswith(
        "; within 2,048 tokens, the smallest length limit of the training files holding it "
        "that write its line whole.")
    assert HEADER_NAMES[Column.TOKENS].startswith("Tokens (")
    assert "4,096" in HEADER_NAMES[Column.TOKENS]
