"""The Conversations table in a large library without re-reading or re-walking every row:
checked ids from the checks alone, and (below) rows patched in place after a batch rename, a
move or a training-file change. Each path must give exactly what a full pass gives."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import Qt

from app.library import ConversationRow, Library
from ui.conversations_model import Column, ConversationsModel, Filter
from ui.row_index import RowIndex

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def cloned_rows(rows: list[ConversationRow], n: int) -> list[ConversationRow]:
    """``n`` rows made from the real ones, in 5 batches, with ties in every column."""
    return [rows[k % len(rows)]._replace(pk=k + 1, conversation_id=f"clone-{k:04d}",
                                         batch_id=f"batch-{k * 7 % 5}")
            for k in range(n)]


def scanned_checked_ids(model: ConversationsModel) -> list[str]:
    """What ``checked_ids`` means, the long way: shown rows in view order, then hidden
    ones in library order."""
    shown = [model.row_at(r) for r in range(model.rowCount())]
    checked = set(model._checked)
    ids = [row.conversation_id for row in shown if row.pk in checked]
    seen = {row.pk for row in shown}
    return ids + [row.conversation_id for row in model.index_.rows
                  if row.pk in checked and row.pk not in seen]


@pytest.fixture
def big_model(qtbot, filled_library: Library) -> ConversationsModel:
    model = ConversationsModel()
    model.set_index(RowIndex(cloned_rows(filled_library.summaries(), 1000)))
    return model


@pytest.mark.parametrize("column", [-1, Column.BATCH, Column.CLIENT, Column.QUALITY,
                                    Column.TOKENS, Column.FILES])
@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
@pytest.mark.parametrize("wanted", [Filter(), Filter(batch_id="batch-2"),
                                    Filter(text="clone-01")])
def test_few_checks_give_the_ids_a_walk_over_every_row_gives(big_model, column, order,
                                                              wanted) -> None:
    model = big_model
    model.set_filter(wanted)
    model.sort(column, order)
    picked = random.Random(column * 10 + int(order == Qt.SortOrder.DescendingOrder))
    ids = [row.conversation_id for row in picked.sample(model.index_.rows, 12)]
    model.set_checked_ids(ids)
    assert model.checked_count == 12
    assert len(model._checked) * 8 < model.rowCount() or wanted.text, "the short path runs"
    assert model.checked_ids() == scanned_checked_ids(model)
    assert model._few_checked_ids() == scanned_checked_ids(model)
    assert sorted(model.checked_ids()) == sorted(ids)
