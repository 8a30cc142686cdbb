"""Selecting many members of a training file (Select near-duplicates: 5,764 of 6,667 in
the audit's library) froze the window: Qt's ``selectedRows()`` and every paint of the
list's heading asked the model's ``flags()``, in Python, for every selected cell. Real
library, real page, real list: the cells asked about must not grow with the selection,
and the heading must draw as Qt's own selection draws it."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from app.trainingfiles import add_conversations, create_training_file
from ui import training_files_page
from ui.members_model import MEMBER_BATCH, MembersModel
from ui.training_files_page import TrainingFilesPage

pytestmark = pytest.mark.qt_log_level_fail("WARNING")
ROWS = QItemSelectionModel.SelectionFlag.Rows


class CountingMembers(MembersModel):
    """The page's member model, counting the cells Qt asks ``flags()`` of, and how often it
    asks the row count (each index Qt makes of a cell asks it)."""

    asked = 0
    counted = 0

    def flags(self, index: QModelIndex | Any) -> Qt.ItemFlag:
        CountingMembers.asked += 1
        return super().flags(index)

    def rowCount(self, parent: QModelIndex | Any = QModelIndex()) -> int:  # noqa: B008
        CountingMembers.counted += 1
        return super().rowCount(parent)


@pytest.fixture
def counted_page(qtbot, monkeypatch, filled_library, dialogs):
    monkeypatch.setattr(training_files_page, "MembersModel", CountingMembers)
    ids = [row.conversation_id for row in filled_library.summaries()]
    create_training_file(filled_library, "Everyone", cut_off_policy="keep")
    add_conversations(filled_library, "Everyone", ids)
    page = TrainingFilesPage(filled_library, dialogs)
    qtbot.addWidget(page)
    page.resize(1200, 750)
    page.show()
    page.refresh(select_name="Everyone")
    qtbot.waitUntil(lambda: page.members_model.rowCount() == len(ids))
    return page


def select(page, rows: list[int], flag=QItemSelectionModel.SelectionFlag.ClearAndSelect) -> None:
    model = page.members_model
    selection = QItemSelection()
    for row in rows:
        selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
    page.members.selectionModel().select(selection, flag | ROWS)


def cells_asked(page, rows: list[int]) -> int:
    """Select ``rows``, read them as Remove from file does, paint the heading: how many
    cells' flags that asked for."""
    QApplication.processEvents()  # (paints owed from before)
    CountingMembers.asked = 0
    select(page, rows)
    page.selected_member_ids()
    QApplication.processEvents()  # the list's own paint: its shown rows only
    page.members.horizontalHeader().viewport().repaint()
    return CountingMembers.asked


def heading_image(page) -> Any:
    return page.members.horizontalHeader().grab().toImage()


def drawn_by_qt(page) -> Any:
    """The heading as Qt draws it from the list's own selection."""
    heading = page.members.horizontalHeader()
    own = heading.selectionModel()
    heading.setSelectionModel(page.members.selectionModel())
    try:
        heading.viewport().repaint()
        return heading_image(page)
    finally:
        heading.setSelectionModel(own)


def test_cells_asked_do_not_grow_with_the_selection(counted_page, qtbot):
    """The list shows its first few rows; 5 selected or all but the last, the same cells
    are painted and the same number are asked about (Qt's own answers asked about each
    selected one: 30 more cells, twice, and 60 more for the heading's paint)."""
    page = counted_page
    page.members.setFixedHeight(90)
    qtbot.waitUntil(lambda: 0 <= page.members.rowAt(page.members.viewport().height() - 1) < 4)
    rows = page.members_model.rowCount()
    assert rows >= 12
    # From one selection to the other only rows out of sight change: the list paints
    # the same shown rows each time (a first selection repaints all it shows).
    cells_asked(page, list(range(rows - 1)))
    few, most = cells_asked(page, list(range(5))), cells_asked(page, list(range(rows - 1)))
    assert most == few, "every selected member was asked about, in Python"
    assert page.remove_button.isEnabled()


def test_the_heading_draws_as_before_with_none_some_or_all_selected(counted_page):
    rows = counted_page.members_model.rowCount()
    for chosen in ([], [3], list(range(rows - 1)), list(range(rows))):
        select(counted_page, chosen)
        counted_page.members.horizontalHeader().viewport().repaint()
        assert heading_image(counted_page) == drawn_by_qt(counted_page), chosen
    assert heading_image(counted_page) != heading_image_of_nothing(counted_page)


def test_selecting_every_member_costs_the_heading_no_walk_of_the_rows(counted_page):
    """Ctrl+A on 8,666 members froze the window for 190 ms (11 ms with some selected): the
    heading's selection then held every row, and each paint asked whether each column was
    selected, which made an index of every row's cell of it. Painting the heading with all
    rows selected asks the model no more than with one selected."""
    page = counted_page
    rows = page.members_model.rowCount()

    def heading_asks(chosen: list[int]) -> int:
        select(page, chosen)
        QApplication.processEvents()
        CountingMembers.counted = 0
        page.members.horizontalHeader().viewport().repaint()
        return CountingMembers.counted

    one = heading_asks([3])
    assert heading_asks(list(range(rows))) <= one, "the heading walked every selected row"
    page.members.selectAll()
    assert page.remove_button.isEnabled()
    assert len(page.selected_member_ids()) == rows


def heading_image_of_nothing(page) -> Any:
    page.members.selectionModel().clearSelection()
    page.members.horizontalHeader().viewport().repaint()
    return heading_image(page)


def test_the_selected_members_are_the_selected_rows_in_file_order(counted_page):
    """Sorted by batch, rows picked with gaps and added to (as Ctrl+click does): the ids
    read from the selection are Qt's selected rows, in file order."""
    page = counted_page
    page.members.sortByColumn(MEMBER_BATCH, Qt.SortOrder.DescendingOrder)
    select(page, [0, 2, 3])
    select(page, [7, 9], QItemSelectionModel.SelectionFlag.Select)
    select(page, [2], QItemSelectionModel.SelectionFlag.Deselect)
    model = page.members_model
    qt_rows = sorted({index.row() for index in page.members.selectionModel().selectedRows()},
                     key=model.file_position)
    assert len(qt_rows) == 4
    assert page.selected_member_ids() == [model.row_at(row).conversation_id for row in qt_rows]
    page.members.selectionModel().clearSelection()
    assert page.selected_member_ids() == []
    assert not page.remove_button.isEnabled()
