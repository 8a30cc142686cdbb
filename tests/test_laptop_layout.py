"""What a person meets on a common laptop screen: the Conversations table's columns beside
the reader at 1366 and 1440 px, values the file does not give shown as "—" like on the
LoRA Training JSON Files page, the as-trained window's reasons at 850 px, the keyboard
where a person starts; driven through the real window on a real library of the
fixtures, with its settings in a real ini file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import addable, open_window
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtWidgets import QApplication, QMenu, QStyle, QStyleOptionHeader

from app.coverage import coverage
from app.library import Library
from app.trainingfiles import add_conversations, header
from ui.as_trained_preview import WHY, AsTrainedWindow
from ui.column_fit import FITTED_LIMITS
from ui.conversations_model import MISSING, Column
from ui.coverage_grid import COUNT_ROLE, CoverageGrid
from ui.main import MainWindow
from ui.members_model import MEMBER_ARC, MEMBER_TOPIC, MembersModel
from ui.reader_splitter import READER_MIN

# 1350×728: the first window on a 1366×768 screen (``first_window_size``); 1350×480: the
# same width with a table too long for its height (a vertical scroll bar takes its part).
LAPTOPS = [(1350, 728), (1350, 480), (1366, 768), (1440, 900)]


def laptop_window(qtbot, library: Library, dialogs, tmp_path: Path,
                  size: tuple[int, int]) -> MainWindow:
    """The window as it opens on a laptop screen (settings in ``tmp_path``)."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(library, dialogs, settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    QApplication.processEvents()
    return window


def hidden_columns_sideways(window: MainWindow) -> list[str]:
    """The shown columns the table's viewport cuts (scrolled to the left)."""
    table = window.conversations.table
    table.horizontalScrollBar().setValue(0)
    width = table.viewport().width()
    return [Column(c).name for c in range(len(Column)) if not table.isColumnHidden(c)
            and table.columnViewportPosition(c) + table.columnWidth(c) > width]


def reader_width(window: MainWindow) -> int:
    return window.conversations.splitter.sizes()[1]


def read_first_row(window: MainWindow) -> None:
    page = window.conversations
    page.select_conversation(page.model.row_at(0).conversation_id)
    QApplication.processEvents()


@pytest.mark.parametrize("size", LAPTOPS)
def test_on_a_laptop_every_column_shows_beside_the_reader(qtbot, two_batches: Library,
                                                          dialogs, tmp_path: Path,
                                                          size: tuple[int, int]) -> None:
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, size)
    page = window.conversations
    if size[1] < 600:
        assert page.table.verticalScrollBar().isVisible()
    assert page.reader_visible() and reader_width(window) >= READER_MIN
    assert hidden_columns_sideways(window) == []
    assert page.table.horizontalScrollBar().maximum() == 0
    page.select_conversation(page.model.row_at(0).conversation_id)  # reading one
    QApplication.processEvents()
    assert page.reader.record is not None and reader_width(window) >= READER_MIN
    assert hidden_columns_sideways(window) == []


def test_on_a_full_hd_screen_the_spare_width_goes_to_the_reader(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """At 1920×1080 the reader was held to 40 % of the window and the table's last
    column, Warnings (a short count), stretched over the rest: the reader has it now,
    and every column keeps the width it wants."""
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1920, 1080))
    page = window.conversations
    table = page.table
    header = table.horizontalHeader()
    shown = [Column(header.logicalIndex(v)) for v in range(header.count())
             if not header.isSectionHidden(header.logicalIndex(v))]  # left to right
    assert shown[-1] is Column.WARNINGS
    assert hidden_columns_sideways(window) == []
    # (the last one also has the room kept for a long table's vertical scroll bar)
    bar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, table)
    for column in shown:
        assert table.columnWidth(column) - table.wanted_width(column) <= bar + 2, column.name
    assert reader_width(window) > 0.4 * sum(page.splitter.sizes())


def test_the_table_takes_what_the_window_gains_or_loses_once_the_person_chose(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1440, 900))
    window.resize(1366, 768)  # e.g. moved to the laptop's own screen
    QApplication.processEvents()
    assert hidden_columns_sideways(window) == []
    splitter = window.conversations.splitter
    splitter.moveSplitter(splitter.width() - 500, 1)  # the person wants a wider reader
    chosen = reader_width(window)
    assert 490 <= chosen <= 510
    table_before = splitter.sizes()[0]
    window.resize(1440, 900)
    QApplication.processEvents()
    assert reader_width(window) == chosen
    assert splitter.sizes()[0] > table_before


def test_a_column_shown_or_hidden_with_the_chooser_fits_the_reader_again(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """Showing a column leaves it beside the reader (no scrolling sideways until the window
    is resized); hiding one gives the reader the width it frees, up to its share."""
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1440, 900))
    page = window.conversations
    fitted = reader_width(window)
    menu = QMenu()
    page.fill_column_menu(menu)
    entries = {a.text(): a for a in menu.actions() if a.isCheckable()}
    entries["Turns"].setChecked(True)
    QApplication.processEvents()
    assert not page.table.isColumnHidden(Column.TURNS)
    assert hidden_columns_sideways(window) == []
    assert READER_MIN <= reader_width(window) < fitted
    entries["Turns"].setChecked(False)
    entries["Training topic"].setChecked(False)
    QApplication.processEvents()
    assert page.table.isColumnHidden(Column.TOPIC)
    assert reader_width(window) > fitted
    assert hidden_columns_sideways(window) == []


def test_the_width_the_person_chose_is_remembered_and_so_is_a_hidden_reader(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
    splitter = window.conversations.splitter
    splitter.moveSplitter(splitter.width() - 520, 1)
    chosen = reader_width(window)
    window.close()
    again = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
    read_first_row(again)  # (with nothing to read the reader is shut: the table wants it)
    assert reader_width(again) == chosen
    again.conversations.set_reader_visible(False)  # Ctrl+R
    again.close()
    third = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
    assert not third.conversations.reader_visible() and reader_width(third) == 0
    third.toggle_reader_action.trigger()
    assert reader_width(third) == chosen


def test_a_split_saved_before_is_fitted_anew_but_its_hidden_reader_stays_hidden(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """Settings saved every split, chosen or not: the 40 % reader of a first start came
    back each time and hid the table's columns on a laptop."""
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
    splitter = window.conversations.splitter
    splitter.setSizes([775, 571])  # the split the window opened with before
    old_split = splitter.saveState()
    splitter.setSizes([1346, 0])
    old_hidden = splitter.saveState()
    window.close()
    for state, shown in ((old_split, True), (old_hidden, False)):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        for key in ("conversations/reader_width", "conversations/reader_shown"):
            settings.remove(key)
        settings.setValue("conversations/splitter", state)
        settings.sync()
        again = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
        assert again.conversations.reader_visible() is shown
        if shown:
            assert READER_MIN <= reader_width(again) < 571
            assert hidden_columns_sideways(again) == []
        again.close()


def cut(table, column: Column, text: str) -> bool:
    """``text`` would not show whole in ``column``'s cells (Qt's delegate: a focus-frame
    margin and a pixel each side, one for the grid)."""
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None,
                                            table) + 1) + 1
    return table.fontMetrics().horizontalAdvance(text) + margin > table.columnWidth(column)


def widest_fixture_text(window: MainWindow, column: Column) -> str:
    model = window.conversations.model
    return max(_cells(model, column), key=window.conversations.table.fontMetrics()
               .horizontalAdvance)


def test_at_1440_the_arc_and_topic_show_their_longest_value_whole_beside_the_reader(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """The empty reader took 500 px while "Couple Conflict → Ali…" was cut: the text
    columns are as wide as their values, and the reader has what is left."""
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1440, 880))
    page = window.conversations
    table = page.table
    for column in (Column.ARC, Column.TOPIC, Column.CLIENT, Column.BATCH):
        longest = widest_fixture_text(window, column)
        assert not cut(table, column, longest), (column.name, longest)
    assert widest_fixture_text(window, Column.ARC) == "Couple Conflict → Alignment"
    assert hidden_columns_sideways(window) == []
    assert reader_width(window) >= READER_MIN
    # choosing the first row moves nothing: no column, no splitter
    widths = [table.columnWidth(c) for c in Column]
    split = page.splitter.sizes()
    page.select_conversation(page.model.row_at(0).conversation_id)
    QApplication.processEvents()
    assert page.reader.record is not None
    assert [table.columnWidth(c) for c in Column] == widths
    assert page.splitter.sizes() == split


def test_a_wider_reader_narrows_the_text_columns_shows_cut_text_on_hover_and_is_restored(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1440, 880))
    page = window.conversations
    splitter = page.splitter
    splitter.moveSplitter(splitter.width() - 620, 1)  # the person widens the reader
    QApplication.processEvents()
    chosen = reader_width(window)
    assert 610 <= chosen <= 630
    table = page.table
    assert hidden_columns_sideways(window) == []  # the text columns gave up the width
    arc = widest_fixture_text(window, Column.ARC)
    assert cut(table, Column.ARC, arc)  # narrower than its values, no narrower than its floor
    for column in (Column.ARC, Column.TOPIC):
        assert table.columnWidth(column) >= FITTED_LIMITS[column][0]
    assert not cut(table, Column.BATCH, "enriched-batch")  # its end tells batches apart
    row = next(r for r in range(page.model.rowCount()) if _cells(page.model, Column.ARC)[r]
               == arc)
    tip = page.model.data(page.model.index(row, Column.ARC), Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[0] == arc
    window.close()
    again = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1440, 880))
    read_first_row(again)  # (with nothing to read the reader is shut: the table wants it)
    assert reader_width(again) == chosen
    assert again.conversations.table.columnWidth(Column.ARC) == table.columnWidth(Column.ARC)
    again.conversations.splitter.setSizes([1, 1])  # (to be sure the restart set it back)
    again.close()


def test_a_column_the_person_sized_keeps_its_width_the_others_follow_the_library(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    from app.batch_jobs import rename_batch

    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1440, 880))
    page = window.conversations
    table = page.table
    table.horizontalHeader().resizeSection(Column.TOPIC, 150)  # dragged by the person
    batch_width = table.columnWidth(Column.BATCH)
    rename_batch(two_batches, "enriched-batch", "November enriched exports")
    window.changes.everything()
    qtbot.waitUntil(lambda: not page.loading, timeout=30_000)
    assert not cut(table, Column.BATCH, "November enriched exports")
    assert table.columnWidth(Column.BATCH) > batch_width
    assert table.columnWidth(Column.TOPIC) == 150
    window.close()
    again = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1440, 880))
    table = again.conversations.table
    assert table.columnWidth(Column.TOPIC) == 150
    # a double-click on its edge fits it to the library's topics again
    table.horizontalHeader().sectionHandleDoubleClicked.emit(Column.TOPIC)
    assert not cut(table, Column.TOPIC, widest_fixture_text(again, Column.TOPIC))
    assert Column.TOPIC not in table.chosen


def _cells(model, column: Column) -> list[str]:
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


SMALLEST = (1000, 600)  # the smallest window the app is laid out for


def heading_cut(table, column: Column) -> bool:
    """``column``'s heading would be drawn cut with "…", sorted by it (the arrow beside
    it): the style's label rect, as the header draws it, is narrower than its text."""
    header = table.horizontalHeader()
    option = QStyleOptionHeader()
    option.initFrom(header)
    option.text = str(table.model().headerData(column, Qt.Orientation.Horizontal) or "")
    option.sortIndicator = QStyleOptionHeader.SortIndicator.SortDown
    option.orientation = Qt.Orientation.Horizontal
    option.state |= QStyle.StateFlag.State_Horizontal
    option.rect = QRect(0, 0, table.columnWidth(column), header.height())
    label = header.style().subElementRect(QStyle.SubElement.SE_HeaderLabel, option, header)
    return header.fontMetrics().horizontalAdvance(option.text) > label.width()


SMALL_LAPTOP = (1093, 614)  # a 1366×768 screen at 125 %, as the window has it free


def test_on_a_small_laptop_the_text_columns_give_way_before_any_column_is_out_of_sight(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """At 1093×614 the columns after Tokens were reached only by scrolling sideways: the
    text columns, already at their narrowest, kept the width Warnings needed. They go
    narrower now (cut with "…", whole on hover), never narrower than their heading, and the
    short numeric columns keep their widths; a width the person chose is kept."""
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, SMALL_LAPTOP)
    read_first_row(window)  # (with nothing to read the reader is shut: the table wants it)
    page = window.conversations
    table = page.table
    assert page.reader_visible() and reader_width(window) >= READER_MIN
    assert hidden_columns_sideways(window) == []
    assert table.horizontalScrollBar().maximum() == 0
    for column in (Column.REPLIES, Column.TOKENS):
        assert table.columnWidth(column) == table.wanted_width(column), column.name
    for column in (Column.CLIENT, Column.ARC, Column.TOPIC, Column.FILES):
        assert not heading_cut(table, column), column.name
    arc = widest_fixture_text(window, Column.ARC)
    assert cut(table, Column.ARC, arc)  # given way: whole on hover
    row = _cells(page.model, Column.ARC).index(arc)
    tip = page.model.data(page.model.index(row, Column.ARC), Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[0] == arc
    table.horizontalHeader().resizeSection(Column.TOPIC, 180)  # dragged by the person
    window.resize(1100, 620)
    QApplication.processEvents()
    assert table.columnWidth(Column.TOPIC) == 180


def test_at_the_smallest_size_every_column_fits_beside_the_reader_with_its_heading_whole(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """At 1000×600 the table still scrolled sideways by about 20 px (Warnings half out of
    sight), with the text columns at their narrowest: In files stopped at Qt's size hint
    for its heading, wider than the heading needs. It gives way to what its heading needs
    as drawn, sorted or not; then Replies and Tokens give a little, never cutting their
    heading or a number (up to 9,999 replies and 999,999 tokens). Room is kept for the
    vertical scroll bar a long library has."""
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, SMALLEST)
    read_first_row(window)  # (with nothing to read the reader is shut: the table wants it)
    page = window.conversations
    table = page.table
    header = table.horizontalHeader()
    assert window.size().width() == SMALLEST[0]
    # (3/8 of the window there, 367 px: the messages show whole down to about 340 px)
    assert page.reader_visible() and reader_width(window) >= 360
    assert table.horizontalScrollBar().maximum() == 0
    assert hidden_columns_sideways(window) == []
    shown = [Column(header.logicalIndex(v)) for v in range(header.count())
             if not header.isSectionHidden(header.logicalIndex(v))]
    assert [c for c in shown if heading_cut(table, c)] == []
    assert not cut(table, Column.REPLIES, "9,999")
    assert not cut(table, Column.TOKENS, "999,999")
    bar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, table)
    *before, last = shown  # (the last one stretches over what is left)
    assert not table.verticalScrollBar().isVisible()
    assert sum(table.columnWidth(c) for c in before) + table.wanted_width(last) + bar \
        <= table.viewport().width()


def test_a_value_the_file_does_not_give_shows_as_a_dash_like_on_the_files_page(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    page.set_batch_filter("legacy-batch")  # older exports: no arc, topic or persona
    model = page.model
    assert model.rowCount() > 0
    for column in (Column.ARC, Column.TOPIC, Column.ARCHETYPE):
        assert set(_cells(model, column)) == {MISSING}, column.name
    tip = model.data(model.index(0, Column.ARC), Qt.ItemDataRole.ToolTipRole)
    assert "not given" in tip
    # the LoRA Training JSON Files page shows the same mark for the same rows
    row = model.row_at(0)
    assert MembersModel.text(row, MEMBER_ARC) == MISSING  # type: ignore[arg-type]
    assert MembersModel.text(row, MEMBER_TOPIC) == MISSING  # type: ignore[arg-type]


def test_the_files_page_charts_and_coverage_grid_mark_a_missing_value_as_the_table_does(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    legacy = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    add_conversations(two_batches, "Older exports", legacy, create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.training_files
    page.refresh()
    assert page.select_file("Older exports")
    qtbot.waitUntil(lambda: page.members_model.rowCount() == len(legacy), timeout=15_000)
    for key in ("persona_archetype", "emotional_arc", "training_topic"):
        assert page.charts[key].rows() == [(MISSING, len(legacy))], key
    grid = page.coverage.model  # every value the library knows, the missing one last
    for orientation, last in ((Qt.Orientation.Horizontal, grid.columnCount() - 1),
                              (Qt.Orientation.Vertical, grid.rowCount() - 1)):
        assert grid.headerData(last, orientation) == MISSING
        assert grid.headerData(last, orientation, Qt.ItemDataRole.ToolTipRole) == (
            f"{MISSING} (not given): {len(legacy)} in this file")
    # the file itself keeps its format's word for them
    distribution = header(two_batches, "Older exports")["scaffolding_distribution"]
    assert distribution["emotional_arc"] == {"(none)": len(legacy)}


def test_the_coverage_grids_gaps_cannot_be_taken_for_a_missing_value(
        qtbot, two_batches: Library) -> None:
    """A gap (no conversation for a combination) and a value the files do not give are
    different things: the gap shows its count on a shaded cell, never a dash beside "—"."""
    legacy = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    enriched = [r.conversation_id for r in two_batches.summaries("enriched-batch")]
    add_conversations(two_batches, "Mixed", legacy[:2] + enriched[:3], create=True)
    grid = CoverageGrid()
    qtbot.addWidget(grid)
    grid.show_coverage(coverage(two_batches, "Mixed"))
    model = grid.model
    cells = [model.index(row, column) for row in range(model.rowCount())
             for column in range(model.columnCount())]
    gaps = [cell for cell in cells if cell.data(Qt.ItemDataRole.BackgroundRole) is not None]
    assert gaps and len(gaps) < len(cells)
    assert all(cell.data(COUNT_ROLE) == 0 for cell in gaps)
    assert MISSING in {model.headerData(model.rowCount() - 1, Qt.Orientation.Vertical),
                       model.headerData(model.columnCount() - 1, Qt.Orientation.Horizontal)}
    assert {cell.data() for cell in gaps} == {"0"}  # not "–", not "—"
    assert not any(dash in cell.data() for cell in cells for dash in "–—-")
    assert all(cell.data(Qt.ItemDataRole.ToolTipRole).endswith(
        ": no conversations in this file, a gap (0, shaded)") for cell in gaps)
    assert f"are gaps (0, shaded). {MISSING} stands for a value the files do not give " \
        "(2 conversations here), not a combination to fill." in grid.summary.text()
    add_conversations(two_batches, "One", addable(enriched)[:1], create=True)
    grid.show_coverage(coverage(two_batches, "One"))
    assert grid.summary.text().startswith(
        f"1 of {model.rowCount() * model.columnCount()} persona × arc combinations has "
        "conversations; ")


def test_missing_values_sort_as_one_group_at_the_end_and_filter_as_none(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    model = page.model
    given = [r for r in two_batches.summaries() if r.emotional_arc_key]
    missing = [r for r in two_batches.summaries() if not r.emotional_arc_key]
    assert given and missing
    page.table.sortByColumn(Column.ARC, Qt.SortOrder.AscendingOrder)
    arcs = _cells(model, Column.ARC)
    assert arcs[len(given):] == [MISSING] * len(missing)  # after every named arc
    assert MISSING not in arcs[: len(given)]
    assert arcs[: len(given)] == sorted(arcs[: len(given)], key=str.casefold)
    page.table.sortByColumn(Column.ARC, Qt.SortOrder.DescendingOrder)
    arcs = _cells(model, Column.ARC)
    assert arcs[len(given):] == [MISSING] * len(missing)  # last either way, as spreadsheets
    assert arcs[: len(given)] == sorted(arcs[: len(given)], key=str.casefold, reverse=True)
    # the arc chooser's MISSING shows exactly the rows the table marks missing
    chooser = page.arc_filter
    chooser.setCurrentIndex(chooser.findData(""))
    assert chooser.currentText() == f"{MISSING} not given ({len(missing)})"
    assert "not given" in chooser.itemData(chooser.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    assert model.rowCount() == len(missing)
    assert set(_cells(model, Column.ARC)) == {MISSING}
    # the search reads the values, not the mark: a dash finds nothing
    page.clear_filters()
    page.search.setText(MISSING)
    qtbot.waitUntil(lambda: model.rowCount() != len(given) + len(missing))
    assert model.rowCount() == 0


def test_a_chooser_offers_no_value_that_would_show_nothing_and_names_the_missing_one(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """The Arc chooser listed "— (0)": the missing value, while the other filters left it
    no rows. It is offered only with rows to show, named in words with its count; named
    values that would show nothing stay listed, greyed out."""
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    missing = {facet: sum(1 for r in two_batches.summaries() if not key(r))
               for facet, key in (("arc", lambda r: r.emotional_arc_key),
                                  ("topic", lambda r: r.training_topic_key),
                                  ("archetype", lambda r: r.persona_archetype))}
    assert all(missing.values())
    page.set_batch_filter("enriched-batch")  # every one gives an arc, topic and persona
    for facet in missing:
        chooser = page.choosers[facet]
        entries = [chooser.itemText(i) for i in range(chooser.count())]
        assert chooser.findData("") < 0, (facet, entries)
        assert not any(text.startswith(MISSING) for text in entries), (facet, entries)
    for facet, chooser in page.choosers.items():  # no bare mark in any chooser
        entries = [chooser.itemText(i) for i in range(chooser.count())]
        assert not any(text.startswith(f"{MISSING} (") for text in entries), (facet, entries)
    page.set_batch_filter(None)
    for facet, count in missing.items():
        chooser = page.choosers[facet]
        assert chooser.itemText(chooser.findData("")) == f"{MISSING} not given ({count})"


def test_at_start_the_keyboard_is_on_the_table(qtbot, two_batches: Library, dialogs,
                                               tmp_path: Path) -> None:
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
    table = window.conversations.table
    qtbot.waitUntil(lambda: QApplication.focusWidget() is table)
    page = window.conversations
    assert page.reader.record is None  # nobody chose a row yet: nothing is read
    assert not table.currentIndex().isValid() and page.current_batch() is None
    qtbot.keyClick(table, Qt.Key.Key_Down)  # the first key chooses the first row
    assert page.reader.conversation_id() == page.model.row_at(0).conversation_id
    assert table.selectionModel().isRowSelected(0)


def test_the_table_taking_the_keyboard_reads_no_conversation(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """Qt's passing current row, cleared again at once, must not have the reader read and
    lay out a conversation (it did: a few hundred milliseconds as the window first showed)."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(two_batches, dialogs, settings)
    qtbot.addWidget(window)
    reader = window.conversations.reader
    shown: list[object] = []
    real_show = reader.show_record

    def show_record(record: object) -> None:
        shown.append(record)
        real_show(record)

    reader.show_record = show_record  # type: ignore[method-assign]
    window.resize(1366, 768)
    window.show()
    table = window.conversations.table
    qtbot.waitUntil(lambda: QApplication.focusWidget() is table)
    assert [record for record in shown if record is not None] == []
    assert not table.currentIndex().isValid()
    qtbot.keyClick(table, Qt.Key.Key_Down)  # a chosen row is read, once
    assert [r["conversation_id"] for r in shown if r is not None] == [  # type: ignore[index]
        window.conversations.model.row_at(0).conversation_id]


def test_in_an_empty_library_the_keyboard_is_on_import_then_on_the_table(
        qtbot, library: Library, dialogs, tmp_path: Path) -> None:
    from conftest import LEGACY

    from app.importer import import_paths

    window = laptop_window(qtbot, library, dialogs, tmp_path, (1366, 768))
    button = window.welcome.files_button
    qtbot.waitUntil(lambda: QApplication.focusWidget() is button)
    folder = tmp_path / "batch"
    folder.mkdir()
    for path in LEGACY:
        (folder / path.name).write_bytes(path.read_bytes())
    import_paths(library, [folder])
    window.changes.everything()  # (what an import through the window says)
    qtbot.waitUntil(lambda: window.conversations.model.total > 0, timeout=30000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.conversations.table)


def reason_cut(window: AsTrainedWindow, row: int) -> bool:
    """The row's "Why not trained" text does not show whole: its column runs past the
    table's edge, or its wrapped lines are taller than the row."""
    table = window.table
    text = table.item(row, WHY).text()
    if table.columnViewportPosition(WHY) + table.columnWidth(WHY) > table.viewport().width():
        return True
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None,
                                            table) + 1)
    lines = table.fontMetrics().boundingRect(
        QRect(0, 0, table.columnWidth(WHY) - margin, 10_000), Qt.TextFlag.TextWordWrap, text)
    return lines.width() > table.columnWidth(WHY) - margin or \
        lines.height() > table.rowHeight(row)


def test_at_850_px_the_reason_a_turn_is_not_trained_reads_in_full(
        qtbot, filled_library: Library) -> None:
    window = AsTrainedWindow(filled_library)
    qtbot.addWidget(window)
    window.show()  # (it fits itself to the screen it opens on, 800 px offscreen)
    window.resize(850, 650)
    longest = ""
    for row in filled_library.summaries():  # until one has a long reason
        with qtbot.waitSignal(window.rendered, timeout=20_000):
            window.show_record(filled_library.record(row.conversation_id))
        assert window.preview is not None
        longest = max((turn.why_not for turn in window.preview.rows), key=len)
        if len(longest) > 45:
            break
    assert len(longest) > 45, longest  # e.g. "left out: no trained reply follows it ..."
    assert window.width() == 850  # (its one-line legend kept it at 852 px or more)
    table = window.table
    reasons = [r for r in range(table.rowCount())
               if table.item(r, WHY) is not None and table.item(r, WHY).text()]
    assert reasons
    qtbot.waitUntil(lambda: not any(reason_cut(window, r) for r in reasons))
    assert table.horizontalScrollBar().maximum() == 0
    assert table.item(reasons[0], WHY).toolTip() == table.item(reasons[0], WHY).text()


def test_a_midsize_library_is_read_at_start_by_a_thread(
        qtbot, two_batches: Library, dialogs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """From READ_AT_START_FROM rows (10,000 held the window 0.3–0.6 s before it showed) the
    first read leaves the GUI thread; below READ_IN_CHILD_FROM a thread reads, whose bar can
    only say it is busy."""
    from ui import row_reader

    monkeypatch.setattr(row_reader, "READ_AT_START_FROM", 1)
    assert two_batches.count() < row_reader.READ_IN_CHILD_FROM
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
    page = window.conversations
    assert page.opening and page.model.rowCount() == 0
    assert page.table_stack.currentWidget() is page.reading_panel
    assert page.reading_bar.maximum() == 0  # busy, no count to show
    assert page.reading_label.text() == f"Reading {two_batches.count():,} conversations…"
    qtbot.waitUntil(lambda: not page.loading, timeout=60000)
    assert not page.opening and page.model.total == two_batches.count()
    assert page.table_stack.currentWidget() is not page.reading_panel


def test_a_large_library_read_at_start_leaves_the_keyboard_on_the_table(
        qtbot, two_batches: Library, dialogs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import row_reader

    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)  # read as a large library is
    window = laptop_window(qtbot, two_batches, dialogs, tmp_path, (1366, 768))
    assert window.conversations.opening
    qtbot.waitUntil(lambda: not window.conversations.loading, timeout=60000)
    assert window.conversations.model.total == two_batches.count()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.conversations.table)


def token_cells_as_painted(window: MainWindow) -> list[tuple[str, str, bool, bool]]:
    """Each over-limit Tokens cell as its delegate lays it out for painting: (the count,
    the text the cell's width leaves of it, whether the ⚠ icon is drawn, whether the text
    is drawn in another colour than the table's own)."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QStyleOptionViewItem

    table = window.conversations.table
    model = table.model()
    style = table.style()
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1
    cells = []
    for row in range(model.rowCount()):
        index = model.index(row, Column.TOKENS)
        if model.data(index, Qt.ItemDataRole.DecorationRole) is None:
            continue
        option = QStyleOptionViewItem()
        table.initViewItemOption(option)
        option.rect = table.visualRect(index)
        table.itemDelegateForIndex(index).initStyleOption(option, index)
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, table)
        shown = option.fontMetrics.elidedText(option.text, Qt.TextElideMode.ElideRight,
                                              text_rect.width() - 2 * margin)
        with_icon = bool(option.features & QStyleOptionViewItem.ViewItemFeature.HasDecoration)
        coloured = (option.palette.color(QPalette.ColorRole.Text)
                    != table.palette().color(QPalette.ColorRole.Text))
        cells.append((option.text, shown, with_icon, coloured))
    return cells


@pytest.fixture
def short_limit(two_batches: Library) -> Library:
    """Every conversation in a training file whose length limit (1,024 tokens) the
    longer ones are over, counted: their Tokens cells show ⚠."""
    from app.token_counts import ensure_counts
    from app.trainingfiles import change_settings

    ids = [row.conversation_id for row in two_batches.summaries()]
    ensure_counts(two_batches, ids)
    add_conversations(two_batches, "Short", ids, create=True)
    change_settings(two_batches, "Short", max_seq_len=1024, over_budget="keep")
    return two_batches


@pytest.mark.parametrize("size", [(1093, 614), *LAPTOPS])
def test_a_token_count_with_its_warning_is_never_cut(qtbot, short_limit: Library, dialogs,
                                                     tmp_path: Path,
                                                     size: tuple[int, int]) -> None:
    """A count over the length limit shows ⚠ before it; at 1093 px with the reader open
    the squeezed column cut the number for the icon ("5,…"). Where both do not fit, the
    number stays whole and the warning is its colour."""
    window = laptop_window(qtbot, short_limit, dialogs, tmp_path, size)
    read_first_row(window)
    cells = token_cells_as_painted(window)
    assert cells, "the fixtures hold a conversation over the length limit"
    for count, shown, with_icon, coloured in cells:
        assert shown == count
        assert with_icon or coloured


def test_a_roomy_token_column_keeps_the_warning_icon(qtbot, short_limit: Library, dialogs,
                                                     tmp_path: Path) -> None:
    """The colour stands in for the icon only where the column is too narrow for it."""
    window = laptop_window(qtbot, short_limit, dialogs, tmp_path, (1440, 900))
    table = window.conversations.table
    table.setColumnWidth(Column.TOKENS, 200)
    cells = token_cells_as_painted(window)
    assert cells and all(with_icon and not coloured for _c, _s, with_icon, coloured in cells)
    table.setColumnWidth(Column.TOKENS, table.fontMetrics().horizontalAdvance("99,999") + 12)
    cells = token_cells_as_painted(window)
    assert all(shown == count and coloured and not with_icon
               for count, shown, with_icon, coloured in cells)
