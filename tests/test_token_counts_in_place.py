"""New token counts in the Conversations table (``ConversationsModel.set_index``): when the
counts alone changed and the table shows the same rows in the same order, the Tokens column
changes in place (no model reset: the view keeps its selection and scroll, and repaints one
column, not every visible cell); when they re-order the table (sorted by Tokens), the rows
are swapped in whole as before. Real window, real library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import open_window, settle
from hostile_corpus import conversation, dump
from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import update

from app.importer import import_paths
from app.library import Library
from app.models import Conversation
from app.token_counts import ensure_counts
from ui.conversations_model import Column, ConversationsModel
from ui.conversations_table import ConversationsTable
from ui.row_index import RowIndex, counts_alone_changed

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

SHOWN_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
               Qt.ItemDataRole.CheckStateRole)


@pytest.fixture
def counted_library(filled_library: Library, tmp_path: Path) -> Library:
    """Enough conversations to scroll the table, every one counted already (no background
    count of its own runs while a test changes counts)."""
    folder = tmp_path / "batch-more"
    folder.mkdir()
    for number in range(60):
        (folder / f"m{number}.json").write_bytes(dump(conversation(f"more_{number:02d}")))
    import_paths(filled_library, [folder])
    ensure_counts(filled_library, [row.conversation_id for row in filled_library.summaries()])
    return filled_library


def opened(qtbot: Any, library: Library, dialogs: Any, tmp_path: Path) -> Any:
    window = open_window(qtbot, library, dialogs, tmp_path)
    counts = window.token_counts
    qtbot.waitUntil(lambda: not counts.running and not counts._timer.isActive(),
                    timeout=60000)
    settle(qtbot, window)
    return window


def set_counts(library: Library, counts: dict[str, int]) -> None:
    """Store new token counts, as a background count does."""
    basis = library.counts_key()
    with library.engine.begin() as conn:
        for conversation_id, count in counts.items():
            conn.execute(update(Conversation).where(
                Conversation.conversation_id == conversation_id).values(
                    token_count=count, token_basis=basis))


def fresh_model(library: Library, like: ConversationsModel) -> ConversationsModel:
    """A model that read the library anew, with ``like``'s filter, sort and checks."""
    model = ConversationsModel()
    model.set_index(RowIndex(library.summaries()), like.current_filter)
    if like.sort_column >= 0:
        model.sort(like.sort_column, Qt.SortOrder.DescendingOrder if like.sort_descending
                   else Qt.SortOrder.AscendingOrder)
    model.set_checked_ids(like.checked_ids())
    return model


def cells(model: ConversationsModel) -> list[list[Any]]:
    return [[model.data(model.index(row, column), role)
             for column in range(model.columnCount()) for role in SHOWN_ROLES]
            for row in range(model.rowCount())]


def wait_for_count(qtbot: Any, window: Any, conversation_id: str, count: int) -> None:
    model = window.conversations.model
    qtbot.waitUntil(lambda: model.row_at(model.row_of_id(conversation_id)).token_count
                    == count, timeout=30000)
    settle(qtbot, window)


def test_new_counts_change_the_tokens_column_in_place(
    qtbot: Any, counted_library: Library, dialogs: Any, tmp_path: Path
) -> None:
    window = opened(qtbot, counted_library, dialogs, tmp_path)
    page = window.conversations
    model, table = page.model, page.table
    ids = [model.row_at(row).conversation_id for row in range(model.rowCount())]
    checked = [ids[2], ids[5], ids[40]]
    model.set_checked_ids(checked)
    assert page.select_conversation(ids[3])
    scroll = table.verticalScrollBar()
    assert scroll.maximum() > 0, "the table scrolls"
    scroll.setValue(scroll.maximum())  # the row being read is out of view
    bottom = scroll.value()
    resets: list[None] = []
    changed: list[tuple[QModelIndex, QModelIndex]] = []
    model.modelReset.connect(lambda: resets.append(None))
    model.dataChanged.connect(lambda first, last, _roles: changed.append((first, last)))

    new = {ids[3]: 12_345, ids[-1]: 7, ids[-2]: 99_999}  # the last over every budget
    set_counts(counted_library, new)
    window.changes.tokens_changed.emit()
    wait_for_count(qtbot, window, ids[-2], 99_999)

    assert resets == [], "token counts alone: no model reset"
    assert [(first.row(), last.row()) for first, last in changed
            if first.column() <= Column.TOKENS <= last.column()] \
        == [(0, model.rowCount() - 1)], "the Tokens column said to change"
    assert page.reader_conversation_id() == ids[3]
    assert [model.row_at(index.row()).conversation_id
            for index in table.selectionModel().selectedRows()] == [ids[3]]
    assert scroll.value() == bottom, "the table was not scrolled back to the row being read"
    assert sorted(model.checked_ids()) == sorted(checked)
    for conversation_id, count in new.items():
        assert model.row_at(model.row_of_id(conversation_id)).token_count == count
    fresh = fresh_model(counted_library, model)
    assert cells(model) == cells(fresh), "what the table shows is what a fresh read shows"
    over = model.index(model.row_of_id(ids[-2]), Column.TOKENS)
    assert model.data(over, Qt.ItemDataRole.DecorationRole) is not None, "over budget"


def test_new_counts_in_a_table_sorted_by_tokens_re_order_it(
    qtbot: Any, counted_library: Library, dialogs: Any, tmp_path: Path
) -> None:
    window = opened(qtbot, counted_library, dialogs, tmp_path)
    page = window.conversations
    model, table = page.model, page.table
    table.sortByColumn(Column.TOKENS, Qt.SortOrder.AscendingOrder)
    first, second = model.row_at(0).conversation_id, model.row_at(1).conversation_id
    checked = [first]
    model.set_checked_ids(checked)
    resets: list[None] = []
    model.modelReset.connect(lambda: resets.append(None))

    set_counts(counted_library, {first: 5_000_000})  # from the top to the last counted
    window.changes.tokens_changed.emit()
    wait_for_count(qtbot, window, first, 5_000_000)

    assert resets, "a new order is a swap of the rows"
    assert model.row_at(0).conversation_id == second
    assert model.row_of_id(first) > 1
    assert model.checked_ids() == checked
    fresh = fresh_model(counted_library, model)
    assert [model.row_at(row) for row in range(model.rowCount())] \
        == [fresh.row_at(row) for row in range(fresh.rowCount())]
    assert cells(model) == cells(fresh)


class Paints(QObject):
    """The rectangles a widget is asked to paint."""

    def __init__(self) -> None:
        super().__init__()
        self.rects: list[QRect] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.rect())  # type: ignore[attr-defined]
        return False


def test_new_counts_repaint_the_tokens_cells_on_screen_alone(
    qtbot: Any, filled_library: Library
) -> None:
    """Qt repaints the whole table for a change over a few hundred rows or more; the
    Tokens column of every row is clipped to the rows on screen."""
    seeds = filled_library.summaries()
    rows = [seeds[k % len(seeds)]._replace(pk=k + 1, conversation_id=f"clone-{k:04d}")
            for k in range(2000)]
    model = ConversationsModel()
    table = ConversationsTable(model)
    qtbot.addWidget(table)
    table.resize(1200, 600)
    model.set_index(RowIndex(rows))
    table.show()
    qtbot.waitExposed(table)
    table.scrollTo(model.index(1000, Column.CLIENT))  # rows above and below the screen
    QApplication.processEvents()
    paints = Paints()
    table.viewport().installEventFilter(paints)
    counts = {row.pk: (1000 + row.pk, row.token_budget) for row in rows[::3]}
    assert not model.set_index(model.index_.with_changes(tokens=counts)), "in place"
    QApplication.processEvents()
    header = table.horizontalHeader()
    left = header.sectionViewportPosition(Column.TOKENS)
    # the column and the grid line at its right
    tokens = QRect(left, 0, header.sectionSize(Column.TOKENS) + 1, table.viewport().height())
    assert paints.rects, "the new counts are painted"
    assert all(tokens.contains(rect) for rect in paints.rects), \
        f"{paints.rects} outside the Tokens column {tokens}"


def test_a_read_of_every_row_is_not_compared_row_by_row(filled_library: Library) -> None:
    """A full read makes every row anew (a child's read of a large library after a review):
    comparing each row's fields would hold the GUI thread 0.1 s at 100,000 rows, so it is
    a swap, whatever changed; a patch of some counts keeps the other rows as they were."""
    rows = filled_library.summaries()
    index = RowIndex(rows)
    assert counts_alone_changed(index, RowIndex([row._replace() for row in rows])) is None
    counted = index.with_changes(tokens={rows[1].pk: (4321, rows[1].token_budget)})
    assert counts_alone_changed(index, counted) == [1]
    moved = index.with_changes(batches={rows[1].pk: "elsewhere"})
    assert counts_alone_changed(index, moved) is None
