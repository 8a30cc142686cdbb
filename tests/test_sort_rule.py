"""One rule for a sorted column in both tables, the Conversations table and a training
file's conversation list: what is missing comes after every value, in either direction
(as spreadsheets do). The Conversations table put it first in a descending sort."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_window
from PySide6.QtCore import Qt

from app.library import Library
from app.trainingfiles import add_conversations, create_training_file
from ui.conversations_model import DISPLAY, MISSING, Column, sort_key
from ui.members_model import MEMBER_ARC, MEMBER_TOPIC, MembersModel
from ui.row_index import Filter, RowIndex
from ui.sort_rule import blanks_last

ORDERS = [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder]


def blanks_after_values(texts: list[str], descending: bool) -> None:
    given = [text for text in texts if text != MISSING]
    assert texts == given + [MISSING] * (len(texts) - len(given))
    assert given == sorted(given, key=str.casefold, reverse=descending)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("column", [Column.ARC, Column.TOPIC, Column.ARCHETYPE])
def test_the_conversations_table_puts_missing_values_last_either_way(
        qtbot, two_batches: Library, dialogs, tmp_path: Path, column: Column,
        order: Qt.SortOrder) -> None:
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    page.table.sortByColumn(column, order)
    texts = [DISPLAY[column](row) for row in page.rows()]
    assert MISSING in texts and set(texts) != {MISSING}
    blanks_after_values(texts, order == Qt.SortOrder.DescendingOrder)
    # the checked rows come in the table's order too (they are listed without a walk)
    page.model.set_checked_ids([row.conversation_id for row in page.rows()][::4])
    assert page.model.checked_ids() == [row.conversation_id for row in page.rows()][::4]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("column", [MEMBER_ARC, MEMBER_TOPIC])
def test_a_training_files_list_puts_missing_values_last_either_way(
        qtbot, two_batches: Library, dialogs, tmp_path: Path, column: int,
        order: Qt.SortOrder) -> None:
    ids = [row.conversation_id for row in two_batches.summaries()]
    create_training_file(two_batches, "Everything", cut_off_policy="keep")
    add_conversations(two_batches, "Everything", ids)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    files = window.training_files
    files.refresh()
    assert files.select_file("Everything")
    model = files.members_model
    qtbot.waitUntil(lambda: model.rowCount() == len(ids), timeout=15_000)
    files.members.sortByColumn(column, order)
    texts = [MembersModel.text(model.row_at(r), column) for r in range(model.rowCount())]
    assert MISSING in texts and set(texts) != {MISSING}
    blanks_after_values(texts, order == Qt.SortOrder.DescendingOrder)


def test_an_order_made_in_steps_for_a_large_library_follows_the_rule(
        two_batches: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large library's order is sorted a part at a time and merged before the swap."""
    from ui import row_index

    monkeypatch.setattr(row_index, "ORDER_PART", 4)  # several parts, merged
    index = RowIndex(two_batches.summaries())
    index.sort_keys(Column.ARC, sort_key(Column.ARC))
    shown, _mask = index.select(Filter())
    for _step in index.order_steps(Filter(), shown, Column.ARC, True):
        pass
    made = index.take_order(Filter(), Column.ARC, True)
    assert made is not None
    blanks_after_values([DISPLAY[Column.ARC](index.rows[n]) for n in made], True)


def test_blanks_keep_their_order_at_the_end() -> None:
    keys = [(False, "b"), (True, ""), (False, "a"), (True, "")]
    descending = sorted(range(4), key=keys.__getitem__, reverse=True)
    assert blanks_last(descending, keys, True) == [0, 2, 1, 3]
    assert blanks_last([2, 0, 1, 3], keys, False) == [2, 0, 1, 3]
