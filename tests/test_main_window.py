"""The main window and the Conversations page, driven through real widgets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import BAD, ENRICHED, FIRST_REPLY_CUT, LEGACY, addable, settle
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from scripted_dialogs import ScriptedDialogs
from stored import stored_bytes

from app.library import Library
from app.similar import own_warnings
from app.trainingfiles import (
    add_conversations,
    create_training_file,
    get_training_file,
    header,
    member_ids,
)
from ui.conversations_model import Column
from ui.create_flow import NEW_FILE_LABEL
from ui.main import MainWindow
from ui.name_prompt import refused_label


def make_window(qtbot, library: Library, dialogs: ScriptedDialogs,
                settings: QSettings) -> MainWindow:
    window = MainWindow(library, dialogs, settings)
    qtbot.addWidget(window)
    window.resize(1300, 800)
    window.show()
    return window


@pytest.fixture
def two_batch_library(library: Library, tmp_path: Path) -> Library:
    """The enriched fixtures in batch 'enriched-batch', the legacy ones in 'legacy-batch'."""
    from app.importer import import_paths

    for name, files in (("enriched-batch", ENRICHED), ("legacy-batch", LEGACY)):
        folder = tmp_path / name
        folder.mkdir()
        for path in files:
            shutil.copy(path, folder / path.name)
        import_paths(library, [folder])
    return library


def shown_batches(window: MainWindow) -> set[str]:
    model = window.conversations.model
    return {model.row_at(r).batch_id for r in range(model.rowCount())}


def test_empty_library_shows_welcome(qtbot, library, dialogs, settings):
    window = make_window(qtbot, library, dialogs, settings)
    assert window.conversations_stack.currentWidget() is window.welcome
    assert window.counts.text() == "Shown 0 · Checked 0 · Total 0"
    assert [window.pages.tabText(i) for i in range(2)] == ["Conversations",
                                                           "LoRA Training JSON Files"]


def test_filter_by_batch_and_select_all_of_filter(qtbot, two_batch_library, dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    assert window.conversations_stack.currentWidget() is page
    assert page.model.rowCount() == len(ENRICHED) + len(LEGACY)
    labels = [page.batch_filter.itemText(i) for i in range(page.batch_filter.count())]
    assert labels == ["All batches (15)", "enriched-batch (6)", "legacy-batch (9)"]

    assert page.set_batch_filter("legacy-batch")
    assert shown_batches(window) == {"legacy-batch"}
    window.select_all_action.trigger()
    assert page.model.checked_count == len(LEGACY)
    assert window.counts.text() == f"Shown {len(LEGACY)} · Checked {len(LEGACY)} · Total 15"

    # Checks survive re-filtering: the enriched rows are not checked, the legacy ones still are.
    page.set_batch_filter(None)
    model = page.model
    checked = {model.row_at(r).batch_id for r in range(model.rowCount())
               if model.data(model.index(r, Column.CHECK), Qt.ItemDataRole.CheckStateRole)
               == Qt.CheckState.Checked}
    assert checked == {"legacy-batch"}

    window.invert_action.trigger()
    assert model.checked_count == len(ENRICHED)
    window.select_none_action.trigger()
    assert model.checked_count == 0


def test_ctrl_a_in_the_table_checks_the_filtered_rows(qtbot, two_batch_library, dialogs,
                                                      settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    page.set_batch_filter("enriched-batch")
    page.table.setFocus()
    QTest.keyClick(page.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert page.model.checked_count == len(ENRICHED)


def test_every_column_sorts_and_checks_survive(qtbot, two_batch_library, dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page, model = window.conversations, window.conversations.model
    first = model.row_at(0).conversation_id
    model.setData(model.index(0, Column.CHECK), Qt.CheckState.Checked,
                  Qt.ItemDataRole.CheckStateRole)
    for column in Column:
        page.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        page.table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
    page.table.sortByColumn(Column.TURNS, Qt.SortOrder.AscendingOrder)
    turns = [model.row_at(r).turns for r in range(model.rowCount())]
    assert turns == sorted(turns)
    page.table.sortByColumn(Column.QUALITY, Qt.SortOrder.DescendingOrder)
    scores = [model.row_at(r).quality_score for r in range(model.rowCount())]
    assert scores == sorted(scores, reverse=True)
    assert model.checked_ids() == [first]


def test_model_passes_qt_model_tester(qtbot, qtmodeltester, two_batch_library, dialogs,
                                      settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    qtmodeltester.check(window.conversations.model)


def test_text_search_and_reading_panel(qtbot, two_batch_library, dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    page.search.setText("mortgage")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    row = page.model.row_at(0)
    assert row.training_topic_key == "mortgage_payoff_strategy"
    assert page.select_conversation(row.conversation_id)
    text = page.reader.toPlainText()
    assert "rabbit hole on mortgage payoff strategies" in text
    assert "(consultant) · turn 2" in text
    assert "⚠ the last client message never got a reply" in text


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent.*deprecated:DeprecationWarning")
def test_drop_of_files_and_folders_imports_them(qtbot, library, dialogs, settings, tmp_path):
    folder = tmp_path / "dropped-folder"
    folder.mkdir()
    for path in LEGACY[:3]:
        shutil.copy(path, folder / path.name)
    window = make_window(qtbot, library, dialogs, settings)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder)), QUrl.fromLocalFile(str(ENRICHED[0])),
                  QUrl.fromLocalFile(str(BAD[0]))])
    dialogs.texts.append("")  # keep the automatic batch names
    point, action = QPointF(50, 50), Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), action, mime, buttons, modifiers)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()
    drop = QDropEvent(point, action, mime, buttons, modifiers)
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        QApplication.sendEvent(window, drop)
    report = blocker.args[0]
    assert (report.imported, report.rejected) == (4, 1)
    settle(qtbot, window)
    assert dialogs.asked[0][2] == ""  # several items: no single folder name to suggest
    assert window.conversations.model.total == 4
    assert "dropped-folder" in {b.batch_id for b in library.batches()}
    summary = window.importer.last_summary
    assert summary is not None and summary.isVisible()
    assert BAD[0].name in summary.text()
    assert "4 conversations imported, 1 file could not be imported." in summary.headline.text()
    assert window.conversations_stack.currentWidget() is window.conversations


def test_import_folder_from_menu_uses_typed_batch(qtbot, library, dialogs, settings, tmp_path):
    folder = tmp_path / "some-folder"
    folder.mkdir()
    shutil.copy(ENRICHED[1], folder / ENRICHED[1].name)
    window = make_window(qtbot, library, dialogs, settings)
    dialogs.folders.append(folder)
    dialogs.texts.append("client-batch-7")
    with qtbot.waitSignal(window.importer.finished, timeout=30000):
        window.import_folder_action.trigger()
    assert dialogs.asked[-1] == ("text", "Import", "")  # empty: every folder its own batch
    assert [b.batch_id for b in library.batches()] == ["client-batch-7"]


def test_create_menu_lists_json_files_only(qtbot, two_batch_library, dialogs, settings):
    create_training_file(two_batch_library, "alpha")
    create_training_file(two_batch_library, "beta")
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    window.create_button.menu_.aboutToShow.emit()
    labels = [a.text() for a in window.create_button.entries() if not a.isSeparator()]
    assert labels == ["Add checked conversations to:", "alpha  (0 conversations)",
                      "beta  (0 conversations)", NEW_FILE_LABEL]
    assert not any("jsonl" in label for label in labels)


def test_new_training_file_from_checked_rows(qtbot, two_batch_library, dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    page.set_batch_filter("enriched-batch")
    window.select_all_action.trigger()
    dialogs.texts.append("December enriched")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    review = window.creator.review
    assert review is not None and review.isVisible()
    # two of them are cut off in their first reply: the new file (trim) skips them
    assert review.add_button.text() == f"Add {len(ENRICHED) - 2}"
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        review.add_button.click()
    settle(qtbot, window)
    info = get_training_file(two_batch_library, "December enriched")
    assert info.conversations == len(ENRICHED) - 2
    assert member_ids(two_batch_library, "December enriched") == addable(
        page.model.checked_ids())
    assert window.pages.currentWidget() is window.training_files
    files_page = window.training_files
    assert files_page.stack.currentWidget() is files_page.content
    assert files_page.model.rowCount() == 1
    assert files_page.selected_file().name == "December enriched"
    assert f"{len(ENRICHED) - 2} conversations" in files_page.totals_label.text()
    window.create_button.menu_.aboutToShow.emit()
    entries = window.create_button.entries()
    assert any(a.text().startswith("December enriched  (") for a in entries)
    # The table now shows which training file each conversation is in.
    model = page.model
    files = {model.row_at(r).conversation_id: model.row_at(r).training_files
             for r in range(model.rowCount())}
    assert {cid: held for cid, held in files.items() if cid not in FIRST_REPLY_CUT} == {
        cid: ("December enriched",) for cid in addable(list(files))}


def test_a_built_file_is_shown_without_reading_the_one_shown_before(
        qtbot, two_batch_library, dialogs, settings, details_reads):
    """After a build the files page reads the new file's details only: re-reading the file
    it showed first (a large one is read on a worker) only competed with the new one."""
    ids = [row.conversation_id for row in two_batch_library.summaries()]
    add_conversations(two_batch_library, "Shown before", ids[:2], create=True)
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    assert window.training_files.selected_file().name == "Shown before"
    details_reads.clear()
    window.select_all_action.trigger()
    dialogs.texts.append("Fresh")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        window.creator.review.add_button.click()
    settle(qtbot, window)
    assert details_reads == ["Fresh"]
    assert window.training_files.selected_file().name == "Fresh"
    assert window.training_files.members_model.rowCount() == len(addable(ids))


def test_nothing_checked_is_refused(qtbot, two_batch_library, dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    assert not window.creator.add_checked(None)
    assert "No conversations are checked" in dialogs.warnings[-1][1]
    assert dialogs.texts == type(dialogs.texts)()  # the name was never asked for


@pytest.mark.parametrize("bad_name", ["../x", "", "a/b", "notes.jsonl"])
def test_unsafe_or_empty_names_are_refused(qtbot, two_batch_library, dialogs, settings,
                                           bad_name):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    window.select_all_action.trigger()
    dialogs.texts.extend([bad_name, None])  # refused, then asked again: Cancel
    assert not window.creator.add_checked(None)
    asked = [(title, default) for kind, title, default in dialogs.asked if kind == "text"]
    assert asked == [("New training file", ""), ("New training file", bad_name)], \
        "a refused name is offered again as typed"
    reason, question = dialogs.labels[1].split("\n\n")
    assert reason.endswith("."), "the reason is shown as a sentence"
    assert question == dialogs.labels[0]
    assert dialogs.warnings == [], "the reason is in the question, not a box that ends it"
    assert list(two_batch_library.files_dir.glob("*")) == []


def test_duplicate_name_is_refused(qtbot, two_batch_library, dialogs, settings):
    create_training_file(two_batch_library, "Existing")
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    window.select_all_action.trigger()
    dialogs.texts.extend(["existing", "Fresh – set"])  # taken; then a new name, en dash
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked(None)
    assert "already exists" in dialogs.labels[1]
    assert dialogs.asked[1] == ("text", "New training file", "existing")
    assert window.creator.review.plan.name == "Fresh – set"


def test_settings_remember_batch_filter_and_columns(qtbot, two_batch_library, dialogs,
                                                    settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    window.conversations.set_batch_filter("legacy-batch")
    window.conversations.table.setColumnWidth(Column.TOPIC, 333)
    window.conversations.table.sortByColumn(Column.TURNS, Qt.SortOrder.DescendingOrder)
    window.close()
    again = make_window(qtbot, two_batch_library, dialogs, settings)
    assert again.conversations.batch_filter.value() == "legacy-batch"
    assert shown_batches(again) == {"legacy-batch"}
    assert again.conversations.table.columnWidth(Column.TOPIC) == 333
    model = again.conversations.model
    turns = [model.row_at(r).turns for r in range(model.rowCount())]
    assert turns == sorted(turns, reverse=True) and len(set(turns)) > 1


def test_move_checked_conversations_to_another_batch(qtbot, two_batch_library, dialogs,
                                                     settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    page.set_batch_filter("legacy-batch")
    moving = [page.model.row_at(r).conversation_id for r in range(2)]
    page.model.set_checked_ids(moving)
    dialogs.texts.append("  reviewed  ")
    with qtbot.waitSignal(window.batches.status, timeout=60000):  # written in a child
        window.move_action.trigger()
    settle(qtbot, window)
    assert dialogs.asked[-1] == ("text", "Move to batch", "legacy-batch")
    # the batches there are, to pick from; a typed name that is none of them is said new
    assert dialogs.choices[-1] == ["enriched-batch", "legacy-batch"]
    assert "pick one, or type a new batch ID" in dialogs.labels[-1]
    assert window.statusBar().currentMessage().startswith(
        "Moved 2 conversations to a new batch, 'reviewed'")
    assert sorted(r.conversation_id for r in two_batch_library.summaries("reviewed")) == \
        sorted(moving)
    assert page.model.checked_ids() == moving  # checks survive the reload
    labels = [page.batch_filter.itemText(i) for i in range(page.batch_filter.count())]
    assert "reviewed (2)" in labels and f"legacy-batch ({len(LEGACY) - 2})" in labels


def test_rename_the_filtered_batch(qtbot, two_batch_library, dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    page.set_batch_filter("enriched-batch")
    dialogs.texts.append("december-enriched")
    with qtbot.waitSignal(window.batches.status, timeout=60000):
        window.rename_batch_action.trigger()
    settle(qtbot, window)
    assert page.batch_filter.value() == "december-enriched"
    assert shown_batches(window) == {"december-enriched"}
    assert {b.batch_id for b in two_batch_library.batches()} == {"december-enriched",
                                                                 "legacy-batch"}


def test_batch_actions_wait_for_what_they_need(qtbot, two_batch_library, dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    assert not window.move_action.isEnabled()  # nothing checked
    assert not window.rename_batch_action.isEnabled()  # no batch chosen or row selected
    assert window.batches.move_checked() is False  # called anyway: it explains
    assert "No conversations are checked" in dialogs.warnings[-1][1]
    assert window.batches.rename_current() is False
    assert "Choose a batch" in dialogs.warnings[-1][1]
    window.conversations.set_batch_filter("legacy-batch")
    assert window.rename_batch_action.isEnabled()
    window.select_all_action.trigger()
    assert window.move_action.isEnabled()
    dialogs.texts.extend(["   ", None])  # refused, asked again: cancelled
    warned = len(dialogs.warnings)
    window.move_action.trigger()
    assert dialogs.labels[-1].startswith("A batch ID cannot be empty.\n\n")
    assert len(dialogs.warnings) == warned  # said in the question, not in a box after it


@pytest.mark.parametrize("action", ["move", "rename"])
def test_a_refused_batch_name_is_asked_again_as_typed_with_the_reason_above(
        qtbot, two_batch_library, dialogs, settings, action):
    """The batch dialogs ended at a refused name (the typed text lost); they ask again as
    the training file's name prompt does."""
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    page.set_batch_filter("legacy-batch")
    window.select_all_action.trigger()
    typed = "legacy\x07batch"  # a control character (a bell pasted with the name)
    dialogs.texts.extend([typed, "legacy, checked"])
    trigger = window.move_action if action == "move" else window.rename_batch_action
    with qtbot.waitSignal(window.batches.status, timeout=60000):
        trigger.trigger()
    settle(qtbot, window)
    title = "Move to batch" if action == "move" else "Rename batch"
    first, again = dialogs.labels[-2:]
    assert dialogs.asked[-1] == ("text", title, typed)  # the text as typed, to correct
    assert again == refused_label(first, "a batch ID cannot contain control characters (it "
                                         "holds U+0007); use printable text")
    assert again.startswith("A batch ID cannot contain control characters")
    assert "batch ID" in first and " name" not in first  # the prompt's word is the refusal's
    assert dialogs.warnings == []
    assert len(two_batch_library.summaries("legacy, checked")) == len(LEGACY)
    assert not two_batch_library.summaries("legacy-batch")


def test_sorting_by_the_check_column_groups_checked_rows(qtbot, two_batch_library, dialogs,
                                                         settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page, model = window.conversations, window.conversations.model
    chosen = [model.row_at(r).conversation_id for r in (3, 7, 11)]
    model.set_checked_ids(chosen)
    page.table.sortByColumn(Column.CHECK, Qt.SortOrder.DescendingOrder)
    assert sorted(model.row_at(r).conversation_id for r in range(3)) == sorted(chosen)
    page.table.sortByColumn(Column.CHECK, Qt.SortOrder.AscendingOrder)
    last = model.rowCount() - 3
    assert sorted(model.row_at(r).conversation_id for r in range(last, last + 3)) == \
        sorted(chosen)


def test_renaming_a_batch_rebuilds_the_training_files_that_hold_it(
        qtbot, two_batch_library, dialogs, settings):
    from app.trainingfiles import header

    ids = [row.conversation_id for row in two_batch_library.summaries("legacy-batch")]
    info = add_conversations(two_batch_library, "seed", ids[:3], create=True)
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    window.conversations.set_batch_filter("legacy-batch")
    dialogs.texts.append("seed-conversations")
    with qtbot.waitSignal(window.batches.status, timeout=30000) as blocker:
        window.rename_batch_action.trigger()
    assert "rebuilt 'seed'" in blocker.args[0]
    assert header(two_batch_library, "seed")["scaffolding_distribution"]["batch"] == {
        "seed-conversations": 3}
    lines = stored_bytes(two_batch_library, "seed")[1].decode("utf-8").splitlines()
    assert len(lines) == 3
    assert all('"batch_id":"seed-conversations"' in line for line in lines)
    assert get_training_file(two_batch_library, "seed").conversations == info.conversations


def test_load_sample_conversations_from_the_welcome_panel(qtbot, library, dialogs, settings):
    window = make_window(qtbot, library, dialogs, settings)
    with qtbot.waitSignal(window.importer.finished, timeout=60000) as blocker:
        window.welcome.samples_button.click()
    assert blocker.args[0].summary() == "8 conversations imported."
    assert dialogs.asked == []  # no questions: each sample folder is its own batch
    assert [(b.batch_id, b.conversations) for b in library.batches()] == [
        ("sample-batch-a", 4), ("sample-batch-b", 4)]
    settle(qtbot, window)
    assert window.conversations_stack.currentWidget() is window.conversations
    window.pages.setCurrentWidget(window.training_files)
    assert not window.counts.isVisible()


def test_quality_filter_leaves_out_conversations_with_warnings(qtbot, two_batch_library,
                                                               dialogs, settings):
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    page = window.conversations
    model = page.model
    page.warnings_filter.select_value("without")
    clean = [model.row_at(r) for r in range(model.rowCount())]
    page.warnings_filter.select_value("with")
    flagged = [model.row_at(r) for r in range(model.rowCount())]
    assert clean and flagged and len(clean) + len(flagged) == model.total
    assert not any(own_warnings(row.warning_codes) for row in clean)
    assert all(own_warnings(row.warning_codes) for row in flagged)


def test_the_page_counts_the_warnings_a_training_file_counts(qtbot, filled_library, dialogs,
                                                             settings, tmp_path):
    """"With warnings" and the Warnings column count the quality warnings of the records,
    as the header of a file built from the same conversations does; a near-duplicate (the
    library's flag) shows "≈" apart, with its line in the tooltip, and is no warning."""
    from test_add_review import _near_twin

    twin, original = _near_twin(filled_library, tmp_path / "in")
    window = make_window(qtbot, filled_library, dialogs, settings)
    page = window.conversations
    model = page.model
    page.warnings_filter.select_value("with")
    flagged = {model.row_at(r).conversation_id for r in range(model.rowCount())}
    every = [r.conversation_id for r in filled_library.summaries()]
    info = add_conversations(filled_library, "Everything", every, create=True)
    quality = header(filled_library, info.name)["quality_summary"]
    in_file = set(member_ids(filled_library, info.name))
    assert twin in in_file
    assert len(flagged & in_file) == quality["conversations_with_warnings"]
    assert twin not in flagged

    page.warnings_filter.select_value("without")
    row = model.row_of_id(twin)
    assert row is not None
    cell = model.index(row, Column.WARNINGS)
    assert cell.data() == "≈"
    assert cell.data(Qt.ItemDataRole.DecorationRole) is None
    tip = cell.data(Qt.ItemDataRole.ToolTipRole).splitlines()
    assert tip[0] == ("≈ Near-duplicate: the library's flag, not a warning of the "
                      "conversation's file")
    assert tip[1].startswith(f"very similar to conversation {original} (about ")
    assert len(tip) == 2

    page.warnings_filter.select_value("with")
    warned = model.row_at(0)
    cell = model.index(0, Column.WARNINGS)
    assert cell.data() == str(len(warned.warning_codes))
    assert cell.data(Qt.ItemDataRole.DecorationRole) is not None


def test_the_quality_filter_shows_the_near_duplicates_for_review(qtbot, filled_library,
                                                                dialogs, settings, tmp_path):
    """"Near-duplicates" in the Warnings chooser shows the conversations the library flagged
    (≈), counted like the other choices, so they can be looked at together; Check all shown then
    checks exactly them."""
    from test_add_review import _near_twin

    twin, original = _near_twin(filled_library, tmp_path / "in")
    window = make_window(qtbot, filled_library, dialogs, settings)
    page = window.conversations
    chooser = page.warnings_filter
    total = filled_library.count()
    texts = [chooser.itemText(i) for i in range(chooser.count())]
    assert texts[0] == f"With or without ({total})"
    assert texts[-1] == "Near-duplicates (1)"
    near = chooser.findData("near")
    tip = chooser.itemData(near, Qt.ItemDataRole.ToolTipRole)
    assert "very similar to another conversation imported earlier" in tip
    assert "≈" in tip

    assert chooser.select_value("near")
    model = page.model
    assert [model.row_at(r).conversation_id for r in range(model.rowCount())] == [twin]
    assert original != twin
    # The other choices keep their counts under this one, as every chooser does.
    assert [chooser.itemText(i) for i in range(chooser.count())] == texts
    window.select_all_action.trigger()
    assert model.checked_ids() == [twin]
    assert window.counts.text() == f"Shown 1 · Checked 1 · Total {total}"

    chooser.select_value(None)
    assert model.rowCount() == total
    assert model.checked_ids() == [twin]


def test_download_jsonl_is_greyed_out_while_the_file_has_no_line(qtbot, two_batch_library,
                                                                 dialogs, settings):
    """Ctrl+S would only be refused after the save dialog: it is greyed out, saying why."""
    create_training_file(two_batch_library, "Empty")
    window = make_window(qtbot, two_batch_library, dialogs, settings)
    window.pages.setCurrentWidget(window.training_files)
    assert window.training_files.select_file("Empty")
    assert window.download_json_action.isEnabled()
    assert not window.download_jsonl_action.isEnabled()
    assert window.download_jsonl_action.toolTip().startswith(
        "The training file 'Empty' has no line to train on: it holds no conversations")


def test_the_quality_filter_offers_clean_conversations_that_train_well(
        qtbot, filled_library, dialogs, settings, tmp_path):
    """"Ready to add" in the Warnings chooser leaves out what the add review flags: harmful
    warnings and near-duplicates (≈), which "Without warnings" still shows; informational
    warnings (the JSONL handles them) stay. Its count is beside it, as the others' are."""
    from test_add_review import _near_twin

    from app.quality import harmful_warnings

    twin, _original = _near_twin(filled_library, tmp_path / "in")
    window = make_window(qtbot, filled_library, dialogs, settings)
    page = window.conversations
    model = page.model
    chooser = page.warnings_filter
    every = [model.row_at(r) for r in range(model.rowCount())]
    expected = {row.conversation_id for row in every if not harmful_warnings(row.warning_codes)}
    assert twin not in expected and expected
    texts = [chooser.itemText(i) for i in range(chooser.count())]
    assert f"Ready to add: no harmful warning, not a near-duplicate ({len(expected)})" in texts
    # each has a reply to train: a cut-off first reply is a harmful warning
    assert all(row.replies_trained for row in every if row.conversation_id in expected)
    clean = chooser.findData("clean")
    tip = chooser.itemData(clean, Qt.ItemDataRole.ToolTipRole)
    assert "near-duplicate" in tip and "Unanswered Last Turn" in tip

    assert chooser.select_value("clean")
    shown = {model.row_at(r).conversation_id for r in range(model.rowCount())}
    assert shown == expected
    chooser.select_value("without")
    assert twin in {model.row_at(r).conversation_id for r in range(model.rowCount())}
