"""Filters that help, a table and window that fit, keyboard and menus (issue 11, 6–8),
driven through the real window on a real library."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY, settle
from PySide6.QtCore import QPoint, QSettings, QSize, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QMenu,
    QMessageBox,
    QStyle,
    QStyleOptionComboBox,
)
from scripted_dialogs import ScriptedDialogs
from stored import stored_bytes

from app.coverage import Axis
from app.importer import import_paths
from app.labels import OwnNames, display_name, topic_display
from app.library import Library
from app.trainingfiles import add_conversations, member_rows
from ui.conversation_filters import NO_FILE, file_filter_of
from ui.conversations_model import MISSING, Column
from ui.conversations_table import DEFAULT_VISIBLE
from ui.dialogs import message_box, plain_and_details
from ui.main import MainWindow, first_window_size
from ui.members_model import MEMBER_TOPIC
from ui.remove_flow import SamplesBanner
from ui.row_index import FileFilter, FileRule, Filter, RowIndex


@pytest.fixture
def curated(library: Library, tmp_path: Path) -> Library:
    """Enriched fixtures in 'enriched-batch', legacy ones in 'legacy-batch', and a training
    file 'pilot' holding the first three enriched conversations."""
    for name, files in (("enriched-batch", ENRICHED), ("legacy-batch", LEGACY)):
        folder = tmp_path / name
        folder.mkdir()
        for path in files:
            shutil.copy(path, folder / path.name)
        import_paths(library, [folder])
    ids = [row.conversation_id for row in library.summaries("enriched-batch")][:3]
    add_conversations(library, "pilot", ids, create=True)
    return library


def open_window(qtbot, library: Library, dialogs: ScriptedDialogs, settings: QSettings,
                size: tuple[int, int] = (1300, 800)) -> MainWindow:
    window = MainWindow(library, dialogs, settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    QApplication.processEvents()
    return window


def item_texts(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


# --- 6. filters that help --------------------------------------------------------------


def test_counts_respect_the_other_filters(curated):
    rows = curated.summaries()
    index = RowIndex(rows)
    only_enriched = Filter(batch_id="enriched-batch")
    counts = index.counts(only_enriched)
    enriched = [r for r in rows if r.batch_id == "enriched-batch"]
    # The arc chooser counts only what the batch filter lets through...
    assert counts["arc"].total == len(enriched)
    assert sum(counts["arc"].values.values()) == len(enriched)
    assert counts["arc"].values.get("", 0) == sum(1 for r in enriched
                                                  if not r.emotional_arc_key)
    # ...while the batch chooser ignores its own filter (all batches stay choosable).
    assert counts["batch_id"].values == {"enriched-batch": len(ENRICHED),
                                         "legacy-batch": len(LEGACY)}
    arc = next(r.emotional_arc_key for r in enriched if r.emotional_arc_key)
    both = index.counts(Filter(batch_id="enriched-batch", arc=arc))
    assert both["batch_id"].values == {"enriched-batch": sum(
        1 for r in rows if r.emotional_arc_key == arc)}
    with_warnings = index.counts(Filter(warnings=True))
    assert with_warnings["warnings"].values == {
        True: sum(1 for r in rows if r.warning_codes),
        False: sum(1 for r in rows if not r.warning_codes)}
    assert with_warnings["batch_id"].total == sum(1 for r in rows if r.warning_codes)


def test_training_file_filter_in_none_in_and_not_in(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    labels = item_texts(page.files_filter)
    assert labels == ["Any training file (15)", "In no training file (12)", "In pilot (3)",
                      "Not in pilot (12)"]
    assert page.set_file_filter(FileFilter(FileRule.IN, "pilot"))
    assert {r.training_files for r in page.rows()} == {("pilot",)}
    assert page.set_file_filter(FileFilter(FileRule.NOT_IN, "pilot"))
    assert len(page.rows()) == 12 and all("pilot" not in r.training_files
                                          for r in page.rows())
    assert page.set_file_filter(FileFilter(FileRule.IN_NONE))
    assert all(r.training_files == () for r in page.rows())
    # The other choosers now count only conversations in no training file.
    assert item_texts(page.batch_filter)[1:] == ["enriched-batch (3)", "legacy-batch (9)"]
    assert file_filter_of(NO_FILE) == FileFilter(FileRule.IN_NONE)


def test_chooser_counts_follow_the_other_filters_in_the_window(qtbot, curated, dialogs,
                                                              settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    assert item_texts(page.batch_filter) == ["All batches (15)", "enriched-batch (6)",
                                             "legacy-batch (9)"]
    page.set_batch_filter("legacy-batch")
    arcs = item_texts(page.arc_filter)
    assert arcs[0] == "All arcs (9)"
    # The missing value is listed last, as the table sorts it, with the table's mark
    # said in words.
    assert arcs[1:] == [
        f"{display_name(code)} (0)" for code in sorted(
            {r.emotional_arc_key for r in curated.summaries() if r.emotional_arc_key},
            key=lambda c: display_name(c).casefold())] + [f"{MISSING} not given (9)"]
    # A value that would show nothing is listed but cannot be chosen.
    model = page.arc_filter.model()
    assert not model.item(1).isEnabled() and model.item(len(arcs) - 1).isEnabled()


def test_a_search_that_finds_nothing_names_what_was_searched(qtbot, curated, dialogs,
                                                            settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    page.search.setText("zzzz-nothing")
    page.filter_bar.apply_search_now()
    qtbot.waitUntil(lambda: page.model.shown_count == 0)
    assert page.no_match_label.text() == "No conversation matches the search “zzzz-nothing”."
    page.set_batch_filter("legacy-batch")
    assert page.no_match_label.text() == (
        "No conversation matches the search “zzzz-nothing” with these filters.")


def test_a_filter_that_matches_nothing_says_so_and_clears(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    page.set_batch_filter("legacy-batch")
    page.set_file_filter(FileFilter(FileRule.IN, "pilot"))  # pilot holds enriched ones only
    assert page.model.shown_count == 0
    assert page.table_stack.currentWidget() is page.no_match
    assert page.no_match.isVisible() and not page.table.isVisible()
    assert page.no_match_label.text() == "No conversations match the filters."
    assert window.clear_filters_action.isEnabled()
    QTest.mouseClick(page.clear_filters_button, Qt.MouseButton.LeftButton)
    assert page.model.shown_count == 15
    assert page.table_stack.currentWidget() is page.table
    assert page.batch_filter.value() is None and page.files_filter.value() is None
    assert page.model.current_filter == Filter()
    assert not window.clear_filters_action.isEnabled()


def test_checked_rows_hidden_by_the_filter_are_counted(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    page.set_batch_filter("enriched-batch")
    window.select_all_action.trigger()
    assert page.hidden_checked_count() == 0
    assert "hidden" not in window.counts.text()
    page.set_batch_filter("legacy-batch")
    assert page.hidden_checked_count() == len(ENRICHED)
    assert page.model.hidden_checked_ids() == [
        r.conversation_id for r in curated.summaries("enriched-batch")]
    assert window.counts.text() == (f"Shown {len(LEGACY)} · Checked {len(ENRICHED)} "
                                    f"({len(ENRICHED)} hidden by the filter) · Total 15")
    page.set_batch_filter(None)
    assert page.hidden_checked_count() == 0


def test_a_deleted_training_file_stops_filtering(qtbot, curated, dialogs, settings):
    from app.trainingfiles import delete_training_file

    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    page.set_file_filter(FileFilter(FileRule.IN, "pilot"))
    delete_training_file(curated, "pilot")
    window.changes.training_files_changed.emit()
    qtbot.waitUntil(lambda: not page.loading, timeout=30000)
    assert page.files_filter.value() is None
    assert page.model.shown_count == 15
    assert item_texts(page.files_filter) == ["Any training file (15)",
                                             "In no training file (15)"]


# --- 7. a table and window that fit ------------------------------------------------------


def test_default_columns_and_the_column_chooser(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    expected = [c.name.lower() for c in Column if c.name.lower() in DEFAULT_VISIBLE]
    assert page.visible_columns() == expected
    assert "source" not in expected and "tokens" in DEFAULT_VISIBLE
    menu = QMenu()
    page.fill_column_menu(menu)
    entries = {a.text(): a for a in menu.actions() if a.isCheckable()}
    assert entries["Source file"].isChecked() is False
    assert entries["Emotional arc"].isChecked() is True
    entries["Source file"].setChecked(True)
    entries["Emotional arc"].setChecked(False)
    assert not page.table.isColumnHidden(Column.SOURCE)
    assert page.table.isColumnHidden(Column.ARC)
    window.close()  # remembered by column name
    again = open_window(qtbot, curated, dialogs, settings)
    assert again.conversations.table.isColumnHidden(Column.ARC)
    assert not again.conversations.table.isColumnHidden(Column.SOURCE)
    reset = next(a for a in menu.actions() if a.text() == "Default columns")
    assert reset is not None
    again.conversations.set_visible_columns(DEFAULT_VISIBLE)
    assert again.conversations.visible_columns() == expected


def test_a_column_the_settings_never_heard_of_keeps_its_default(qtbot, curated, dialogs,
                                                                settings):
    settings.setValue("conversations/visible_columns", ["batch", "client"])
    settings.setValue("conversations/hidden_columns", ["arc"])
    window = open_window(qtbot, curated, dialogs, settings)
    table = window.conversations.table
    assert table.isColumnHidden(Column.ARC)
    assert not table.isColumnHidden(Column.BATCH)
    assert not table.isColumnHidden(Column.TOPIC)  # default, not named in the settings
    assert table.isColumnHidden(Column.SOURCE)


# A real popup: the offscreen platform cannot raise it or grab the keyboard for it.
@pytest.mark.qt_log_ignore("^This plugin does not support (raise|grabbing)")
def test_the_header_menu_opens_on_right_click(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    header = window.conversations.table.horizontalHeader()
    before = set(window.conversations.findChildren(QMenu))
    header.customContextMenuRequested.emit(QPoint(10, 5))
    opened = [m for m in window.conversations.findChildren(QMenu) if m not in before]
    assert len(opened) == 1
    assert "Source file" in [a.text() for a in opened[0].actions()]
    opened[0].close()


def test_cells_elide_at_the_end_and_show_the_full_text_on_hover(qtbot, curated, dialogs,
                                                                settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    assert page.table.textElideMode() == Qt.TextElideMode.ElideRight
    model = page.model
    row = next(r for r in range(model.rowCount()) if model.row_at(r).training_topic_key)
    data = model.row_at(row)
    tip = model.data(model.index(row, Column.TOPIC), Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[0] == data.training_topic  # the file's own name
    assert f"code: {data.training_topic_key}" in tip
    source = model.data(model.index(row, Column.SOURCE), Qt.ItemDataRole.ToolTipRole)
    assert source == data.source_file


def test_codes_read_as_names_in_the_table_filters_and_charts(qtbot, curated, dialogs,
                                                            settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    model = page.model
    arcs_in_table = {model.data(model.index(r, Column.ARC)) for r in range(model.rowCount())}
    codes = {r.emotional_arc_key for r in curated.summaries() if r.emotional_arc_key}
    assert arcs_in_table - {MISSING} == {display_name(c) for c in codes}
    assert not any("_" in text for text in arcs_in_table)
    chooser = item_texts(page.arc_filter)
    assert all("_" not in text for text in chooser)
    assert f"{display_name('confusion_to_clarity')} (1)" in chooser
    window.pages.setCurrentWidget(window.training_files)
    window.training_files.select_file("pilot")
    chart = window.training_files.charts["emotional_arc"]
    assert chart.rows() and all("_" not in label for label, _count in chart.rows())
    batch_chart = window.training_files.charts["batch"]
    assert [label for label, _count in batch_chart.rows()] == ["enriched-batch"]


def test_topics_read_as_their_files_name_them_everywhere(qtbot, curated, dialogs, settings):
    """A file names ``mortgage_payoff_strategy`` "Accelerated Mortgage Payoff": the table,
    the chooser, the members, the chart and the coverage grid all say so, not a name made
    up from the code."""
    own = {r.training_topic_key: r.training_topic for r in curated.summaries()
           if r.training_topic_key and r.training_topic}
    assert own["mortgage_payoff_strategy"] == "Accelerated Mortgage Payoff"  # the fixture
    made_up = {key: display_name(key) for key in own}
    assert made_up["mortgage_payoff_strategy"] == "Mortgage Payoff Strategy"
    window = open_window(qtbot, curated, dialogs, settings)
    settle(qtbot, window)
    page = window.conversations
    model = page.model
    for r in range(model.rowCount()):
        row = model.row_at(r)
        if row.training_topic_key in own:
            assert model.data(model.index(r, Column.TOPIC)) == row.training_topic
    chooser = " | ".join(item_texts(page.topic_filter))
    for key, name in own.items():
        assert name in chooser
        if made_up[key] not in name:
            assert made_up[key] not in chooser
    window.pages.setCurrentWidget(window.training_files)
    files = window.training_files
    files.select_file("pilot")
    settle(qtbot, window)
    members = files.members.model()
    topics_listed = {members.data(members.index(r, MEMBER_TOPIC))
                     for r in range(members.rowCount())}
    pilot_keys = {m.training_topic_key for m in member_rows(curated, "pilot")}
    assert topics_listed == {own[key] for key in pilot_keys}
    charted = {label for label, _count in files.charts["training_topic"].rows()}
    assert charted == {own[key] for key in pilot_keys}
    files.coverage.columns_chooser.setCurrentIndex(
        files.coverage.columns_chooser.findData(Axis.TOPIC.value))
    grid = files.coverage.model
    headers = {grid.headerData(c, Qt.Orientation.Horizontal)
               for c in range(grid.columnCount())}
    assert {own[key] for key in own} <= headers


def test_a_topic_code_is_a_subject_not_a_journey():
    assert topic_display("cash_to_investing") == "Cash to Investing"
    assert display_name("fear_to_confidence") == "Fear → Confidence"
    names = OwnNames.gather([(None, None, "cash_to_investing", None),
                             (None, None, "eldercare_costs", "Planning for Eldercare Expenses"),
                             (None, None, "eldercare_costs", "Another Name")])
    assert names.topic("cash_to_investing") == "Cash to Investing"
    assert names.topic("eldercare_costs") == "Planning for Eldercare Expenses"  # first wins
    assert names.topic(None) == "" and names.arc("") == ""


def test_the_first_window_fits_the_screen(qtbot, curated, dialogs, settings):
    laptop = first_window_size(QSize(1093, 614))
    assert laptop.width() <= 1093 and laptop.height() <= 614
    assert first_window_size(QSize(2560, 1400)) == QSize(1400, 860)
    window = MainWindow(curated, dialogs, settings)  # no saved geometry
    qtbot.addWidget(window)
    available = window.screen().availableGeometry()
    assert window.width() <= available.width() and window.height() <= available.height()


def test_a_window_remembered_from_a_bigger_screen_shrinks_to_this_one(qtbot, curated,
                                                                     dialogs, settings):
    big = open_window(qtbot, curated, dialogs, settings, size=(3000, 2000))
    big.move(4000, 3000)  # where a second monitor used to be
    big.close()
    again = MainWindow(curated, dialogs, settings)
    qtbot.addWidget(again)
    available = again.screen().availableGeometry()
    assert again.width() <= available.width() and again.height() <= available.height()
    assert available.contains(again.frameGeometry().topLeft())


def test_the_samples_banner_wraps_instead_of_widening_the_window(qtbot, library, dialogs,
                                                                settings):
    from app.samples import samples_dir

    import_paths(library, [samples_dir()])
    window = open_window(qtbot, library, dialogs, settings, size=(1000, 600))
    settle(qtbot, window)  # the samples are counted off the GUI thread
    banners = window.findChildren(SamplesBanner)
    assert banners and banners[0].isVisible()
    assert window.minimumSizeHint().width() <= 1000
    assert window.size() == QSize(1000, 600)


@pytest.mark.parametrize("size", [(1000, 600), (1093, 614)])
def test_everything_is_reachable_on_a_small_screen(qtbot, curated, dialogs, settings, size):
    window = open_window(qtbot, curated, dialogs, settings, size=size)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1000 and hint.height() <= 600
    assert window.size() == QSize(*size)
    page = window.conversations
    # (with nothing to read the reader is shut: the table wants the width)
    page.select_conversation(page.model.row_at(0).conversation_id)
    QApplication.processEvents()
    inside = window.rect()
    for widget in (page.search, page.files_filter, page.batch_filter, window.counts,
                   page.reader.verticalScrollBar() if page.reader.verticalScrollBar()
                   .isVisible() else page.reader):
        top_left = widget.mapTo(window, QPoint(0, 0))
        bottom_right = widget.mapTo(window, QPoint(widget.width() - 1, widget.height() - 1))
        assert widget.isVisible(), widget
        assert inside.contains(top_left) and inside.contains(bottom_right), widget
    # The filter bar wrapped onto more than one line rather than pushing the search off.
    assert page.search.mapTo(page, QPoint(0, 0)).y() > page.batch_filter.mapTo(
        page, QPoint(0, 0)).y()


def whole_text_shows(combo: QComboBox) -> bool:
    """The combo's current text fits where the style draws it (the edit field, less the
    pixel the label keeps from each side)."""
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    return combo.fontMetrics().horizontalAdvance(combo.currentText()) <= field.width() - 2


@pytest.mark.parametrize("size", [(1000, 600), (1093, 614), (1400, 860)])
def test_each_filter_chooser_shows_its_whole_text(qtbot, curated, dialogs, settings, size):
    add_conversations(curated, "Emotional support - second round",
                      [row.conversation_id for row in curated.summaries()][:2], create=True)
    window = open_window(qtbot, curated, dialogs, settings, size=size)
    page = window.conversations
    assert page.files_filter.currentText() == "Any training file (15)"
    for chooser in page.choosers.values():
        assert whole_text_shows(chooser), chooser.currentText()
    # A longer choice widens its chooser (the filter bar wraps if it must).
    assert page.set_file_filter(FileFilter(FileRule.NOT_IN, "Emotional support - second round"))
    assert page.files_filter.currentText() == "Not in Emotional support - second round (13)"
    qtbot.waitUntil(lambda: whole_text_shows(page.files_filter))  # (laid out anew)
    assert window.size() == QSize(*size)


def test_the_reader_collapses_and_comes_back(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    page = window.conversations
    page.select_conversation(page.model.row_at(0).conversation_id)  # opens the reader
    width = page.splitter.sizes()[1]
    assert width > 0 and page.toggle_reader_action.isChecked()
    assert page.splitter.isCollapsible(1) and not page.splitter.isCollapsible(0)
    QTest.keySequence(window, QKeySequence("Ctrl+R"))
    assert page.splitter.sizes()[1] == 0 and not page.reader_visible()
    assert not page.toggle_reader_action.isChecked()
    assert page.table_stack.width() > window.width() - 40  # the table took the width
    window.toggle_reader_action.trigger()
    assert page.splitter.sizes()[1] == width
    page.splitter.moveSplitter(page.splitter.width(), 1)  # dragged shut by hand
    assert not page.toggle_reader_action.isChecked()


# --- 8. keyboard and menus -----------------------------------------------------------------


def test_ctrl_f_goes_to_the_search_box(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    window.pages.setCurrentWidget(window.training_files)
    window.activateWindow()
    QTest.keySequence(window, QKeySequence.StandardKey.Find)
    assert window.pages.currentIndex() == 0
    assert window.conversations.search.hasFocus()


def test_create_and_download_are_in_menus_with_shortcuts(qtbot, curated, dialogs, settings):
    window = open_window(qtbot, curated, dialogs, settings)
    menu_actions = window.training_menu.actions()
    assert window.new_file_action in menu_actions
    assert window.new_file_action.shortcut() == QKeySequence(QKeySequence.StandardKey.New)
    assert window.download_jsonl_action.shortcut() == QKeySequence(
        QKeySequence.StandardKey.Save)
    assert window.download_jsonl_action in menu_actions
    assert not window.new_file_action.isEnabled()  # nothing checked yet
    window.add_to_menu.aboutToShow.emit()
    assert any(a.text().startswith("pilot  (") for a in window.add_to_menu.actions())
    window.conversations.set_batch_filter("legacy-batch")
    window.select_all_action.trigger()
    assert window.new_file_action.isEnabled() and window.create_button.isEnabled()
    dialogs.texts.append("from the menu")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        QTest.keySequence(window, QKeySequence.StandardKey.New)
    review = window.creator.review  # review, then add
    assert review is not None and review.isVisible()
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        review.add_button.click()
    assert window.training_files.selected_file().name == "from the menu"
    assert window.download_jsonl_action.isEnabled()


def test_download_shortcut_saves_the_selected_file(qtbot, curated, dialogs, settings,
                                                   tmp_path):
    window = open_window(qtbot, curated, dialogs, settings)
    window.pages.setCurrentWidget(window.training_files)
    window.training_files.select_file("pilot")
    target = tmp_path / "copy.jsonl"
    dialogs.save_paths.append(target)
    with qtbot.waitSignal(window.training_files.status, timeout=30000):
        window.download_jsonl_action.trigger()
    assert target.read_bytes() == stored_bytes(curated, "pilot")[1]


def test_actions_that_cannot_apply_are_disabled(qtbot, library, dialogs, settings):
    window = open_window(qtbot, library, dialogs, settings)  # an empty library
    for action in (window.select_all_action, window.select_none_action, window.invert_action,
                   window.move_action, window.rename_batch_action, window.new_file_action,
                   window.download_jsonl_action, window.download_json_action,
                   window.find_action, window.clear_filters_action):
        assert not action.isEnabled(), action.text()
    assert not window.create_button.isEnabled()
    assert window.import_files_action.isEnabled()


def test_messages_keep_json_paths_in_the_details(qtbot):
    message = ("broken.json: $.training_pairs[2].target_response: must be text; "
               "broken.json: $: not valid JSON")
    plain, details = plain_and_details(message)
    assert plain == "broken.json: must be text; broken.json: not valid JSON"
    assert "$.training_pairs[2].target_response" in details
    box = message_box(QMessageBox.Icon.Warning, "Import failed", message, None)
    qtbot.addWidget(box)
    assert "$" not in box.text()
    assert "$.training_pairs[2]" in box.detailedText()
    simple = message_box(QMessageBox.Icon.Warning, "Saved", "It costs $5: fine", None)
    qtbot.addWidget(simple)
    assert simple.detailedText() == "" and simple.text() == "It costs $5: fine"
