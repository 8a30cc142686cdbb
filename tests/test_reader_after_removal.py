"""The conversation being read is removed (or moved out of the filter): the reader goes on
with the one now in its place, as a mail client does, instead of leaving the table with no
current row (the next arrow key started again from the top of thousands of rows)."""

from __future__ import annotations

from pathlib import Path

from conftest import open_window, settle

from app.library import Library


def remove_checked_with_delete(qtbot, window, dialogs, ids: list[str]) -> None:
    page = window.conversations
    page.model.set_checked_ids(ids)
    dialogs.confirms.append(True)
    total = page.model.total
    window.remove_checked_action.trigger()  # (Delete in the table)
    qtbot.waitUntil(lambda: page.model.total == total - len(ids), timeout=30000)
    settle(qtbot, window)


def test_removing_the_row_being_read_reads_the_next_one(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.conversations
    before = [row.conversation_id for row in page.rows()]
    page.table.setFocus()
    assert page.select_conversation(before[2])
    remove_checked_with_delete(qtbot, window, dialogs, before[2:4])
    assert page.table.currentIndex().row() == 2
    assert page.reader_conversation_id() == before[4]
    assert page.reader.conversation_id() == before[4]


def test_removing_the_last_row_being_read_reads_the_new_last_one(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.conversations
    before = [row.conversation_id for row in page.rows()]
    page.table.setFocus()
    assert page.select_conversation(before[-1])
    remove_checked_with_delete(qtbot, window, dialogs, before[-1:])
    assert page.reader_conversation_id() == before[-2]


def test_removing_a_whole_filtered_batch_reads_nothing_in_the_rows_the_cleared_filter_shows(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """The filter's batch is gone, so the filter is cleared and every batch shows: the row
    now at that place is no neighbour of the one being read, and is not read."""
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    assert page.set_batch_filter("legacy-batch")
    ids = [row.conversation_id for row in page.rows()]
    page.table.setFocus()
    assert page.select_conversation(ids[1])
    remove_checked_with_delete(qtbot, window, dialogs, ids)
    assert page.batch_filter.value() is None
    assert page.reader_conversation_id() is None


def test_removing_rows_above_and_the_one_being_read_reads_its_next_neighbour(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    """Rows removed above the one being read move its neighbour up: the next row read is
    the one that followed it, not the one at its old row number (which skipped rows)."""
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.conversations
    before = [row.conversation_id for row in page.rows()]
    assert len(before) >= 6
    page.table.setFocus()
    assert page.select_conversation(before[3])
    remove_checked_with_delete(qtbot, window, dialogs, before[1:4])
    assert page.reader_conversation_id() == before[4]
