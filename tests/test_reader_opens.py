"""The reading panel takes width only when there is something to read: at 1000×600 its
"Select a conversation" took 400 px while the table's columns were cut to 7 characters.
It opens when a conversation is read (at the width the person chose, remembered from one
start to the next), Esc or its Close button give the room back to the table, and on a
wide screen nothing moves. Driven through the real window on a real library of the
fixtures, with its settings in a real ini file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyle

from app.library import Library
from ui.conversations_model import Column
from ui.main import MainWindow
from ui.reader_splitter import READER_MIN

SMALLEST = (1000, 600)  # the smallest window the app is laid out for
READER_NARROWEST = 360  # px: the reader on the smallest window (its messages whole from 340)


def window_at(qtbot, library: Library, dialogs, tmp_path: Path,
              size: tuple[int, int]) -> MainWindow:
    """The window as it opens at ``size`` (its settings in ``tmp_path``)."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(library, dialogs, settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    QApplication.processEvents()
    return window


def reader_width(window: MainWindow) -> int:
    return window.conversations.splitter.sizes()[1]


def cut(table, column: Column, text: str) -> bool:
    """``text`` would not show whole in ``column``'s cells (Qt's delegate: a focus-frame
    margin and a pixel each side, one for the grid)."""
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None,
                                            table) + 1) + 1
    return table.fontMetrics().horizontalAdvance(text) + margin > table.columnWidth(column)


def cells(window: MainWindow, column: Column) -> list[str]:
    model = window.conversations.model
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


def read_row(window: MainWindow, row: int) -> None:
    page = window.conversations
    page.select_conversation(page.model.row_at(row).conversation_id)
    QApplication.processEvents()


def test_at_1000x600_the_reader_stays_shut_until_a_conversation_is_read(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = window_at(qtbot, two_batches, dialogs, tmp_path, SMALLEST)
    page = window.conversations
    table = page.table
    assert page.reader.record is None and reader_width(window) == 0
    assert page.reader_visible() and page.toggle_reader_action.isChecked()  # (on, empty)
    assert page.table_stack.width() > window.width() - 40  # the table has the width
    for column in (Column.BATCH, Column.CLIENT, Column.ARC, Column.TOPIC, Column.TOKENS):
        for text in cells(window, column):
            assert not cut(table, column, text), (column.name, text)
    assert table.horizontalScrollBar().maximum() == 0
    read_row(window, 0)
    assert page.reader.record is not None
    assert reader_width(window) >= READER_NARROWEST  # opened at its width (3/8 of the window)
    assert page.reader.isVisible() and page.reader.bubbles
    assert table.horizontalScrollBar().maximum() == 0  # every column still beside it


def test_esc_and_the_close_button_give_the_room_back_until_another_is_read(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = window_at(qtbot, two_batches, dialogs, tmp_path, SMALLEST)
    page = window.conversations
    table = page.table
    table.setFocus()
    read_row(window, 0)
    opened = reader_width(window)
    assert opened >= READER_NARROWEST
    QTest.keyClick(table, Qt.Key.Key_Escape)
    assert reader_width(window) == 0
    assert page.reader.record is not None  # still the row being read, the room given back
    assert page.toggle_reader_action.isChecked()  # closed for this one, not turned off
    QTest.keyClick(table, Qt.Key.Key_Down)  # the next one read opens it again
    assert page.reader.conversation_id() == page.model.row_at(1).conversation_id
    assert reader_width(window) == opened
    page.reader.close_button.click()
    assert reader_width(window) == 0
    QTest.keyClick(table, Qt.Key.Key_Return)  # Enter on the row: read it again
    assert reader_width(window) == opened
    QTest.keyClick(page.reader.as_trained_button, Qt.Key.Key_Escape)  # (keyboard in it)
    assert reader_width(window) == 0


def test_a_width_the_person_dragged_comes_back_when_reading_after_a_restart(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = window_at(qtbot, two_batches, dialogs, tmp_path, SMALLEST)
    read_row(window, 0)
    splitter = window.conversations.splitter
    splitter.moveSplitter(splitter.width() - 450, 1)  # the person widens the reader
    chosen = reader_width(window)
    assert 440 <= chosen <= 460
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert int(settings.value("conversations/reader_width")) == chosen
    again = window_at(qtbot, two_batches, dialogs, tmp_path, SMALLEST)
    assert reader_width(again) == 0  # nothing read yet: the table has the width
    read_row(again, 2)
    assert reader_width(again) == chosen


def test_on_a_full_hd_screen_the_empty_reader_shows_and_reading_moves_nothing(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """Where the columns leave the reader its width anyway, it shows with nothing to read
    (shut, the table's last column would stretch over 1,000 px) and reading moves no
    column and no splitter."""
    window = window_at(qtbot, two_batches, dialogs, tmp_path, (1920, 1080))
    page = window.conversations
    table = page.table
    split = page.splitter.sizes()
    assert split[1] > 0.4 * sum(split)
    widths = [table.columnWidth(c) for c in Column]
    read_row(window, 0)
    assert page.splitter.sizes() == split
    assert [table.columnWidth(c) for c in Column] == widths


def test_reading_on_a_small_window_the_client_column_gives_way_last(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """With the reader open a row's client (the reader's title) was cut to "Jennife…" at
    1093 px and "David …" at 1000 px while Arc and Topic kept more: the arc, topic and
    batch of the conversation read are in the reader's head. Client gives way last now,
    after the other text columns and the counts; Batch and Tokens stay whole."""
    window = window_at(qtbot, two_batches, dialogs, tmp_path, (1093, 614))
    read_row(window, 0)
    page = window.conversations
    table = page.table
    assert reader_width(window) >= READER_MIN
    assert table.horizontalScrollBar().maximum() == 0
    for column in (Column.CLIENT, Column.BATCH, Column.TOKENS):
        for text in cells(window, column):
            assert not cut(table, column, text), (column.name, text)
    window.resize(*SMALLEST)
    QApplication.processEvents()
    assert READER_NARROWEST <= reader_width(window) < READER_MIN
    assert table.horizontalScrollBar().maximum() == 0
    names = set(cells(window, Column.CLIENT))
    for name in ("David Chen", "Marcus Chen", "Jennifer Park"):  # ("Marcus Th…" on hover)
        assert name in names and not cut(table, Column.CLIENT, name), name
    for column in (Column.BATCH, Column.TOKENS):
        for text in cells(window, column):
            assert not cut(table, column, text), (column.name, text)
