"""What a person notices walking through the window: greyed-out actions that cannot
apply, tooltips that add something to the label, words that agree with their number,
labels that end in "…" rather than mid-letter. Real window, real library, real fixtures."""

from __future__ import annotations

import pytest
from conftest import addable, open_window, settle
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from ui.conversation_view import ConversationView

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def check_rows(model, count: int) -> None:
    for row in range(count):
        model.setData(model.index(row, 0), Qt.CheckState.Checked,
                      Qt.ItemDataRole.CheckStateRole)


def test_toolbar_tooltips_say_what_the_action_does_and_its_key(qtbot, two_batches, dialogs,
                                                              tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    assert window.import_files_action.toolTip() == "Import enriched conversation files (" + \
        QKeySequence(QKeySequence.StandardKey.Open).toString(
            QKeySequence.SequenceFormat.NativeText) + ")"
    for action in window.toolbar.actions():
        if action.isSeparator() or not action.text():
            continue
        label = action.text().rstrip("…")
        assert action.toolTip() != label, label  # not the button's own words again
        assert action.statusTip() in action.toolTip(), label
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        assert keys and keys in action.toolTip(), label


def test_review_marks_are_greyed_out_until_something_is_checked(qtbot, two_batches, dialogs,
                                                                 tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    model = window.conversations.model
    review_actions = (window.mark_reviewed_action, window.unmark_reviewed_action)
    assert not any(action.isEnabled() for action in review_actions)
    check_rows(model, 1)
    assert all(action.isEnabled() for action in review_actions)
    window.select_none_action.trigger()
    assert not any(action.isEnabled() for action in review_actions)
    assert dialogs.warnings == []  # nothing was refused after a click


def test_create_training_files_greyed_out_says_what_it_waits_for(qtbot, two_batches, dialogs,
                                                                tmp_path):
    """Greyed out with nothing checked, the toolbar button kept its usual tooltip, so a
    person pointing at it learnt nothing about why it would not open."""
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    button = window.create_button
    assert not button.isEnabled()
    assert "Check the conversations to add first" in button.toolTip()
    assert "Space" in button.toolTip() and "Ctrl+A" in button.toolTip()
    check_rows(window.conversations.model, 1)
    assert button.isEnabled()
    assert button.toolTip() == "Add the checked conversations to a training file"
    window.select_none_action.trigger()
    assert "Check the conversations to add first" in button.toolTip()


def test_the_add_review_counts_agree_with_their_words(qtbot, two_batches, dialogs, tmp_path):
    from app.trainingfiles import create_training_file

    # Lines written whole, so the long enriched fixture is over the budget (a file that
    # fits its lines ends it at its last whole reply under 4,096 tokens).
    create_training_file(two_batches, "Agreement", over_budget="keep")
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    window.conversations.set_batch_filter("enriched-batch")
    window.select_all_action.trigger()
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit("Agreement")
    review = window.creator.review
    singular = {key for key, number in review.counts.items() if number.text() == "1"}
    assert "over_budget" in singular  # one enriched fixture is longer than 4,096 tokens
    for key, label in review.texts.items():
        text = label.text()
        if key in singular:
            assert " are " not in text and not text.startswith("of the new ones lose "), text
        elif text.startswith("of the new ones"):
            assert " is " not in text and "loses" not in text, text
    assert review.texts["over_budget"].text() == \
        "of the new ones is over the file's length limit"
    review.reject()


def test_a_long_conversation_phase_ends_in_an_ellipsis_and_shows_whole_on_hover(
        qtbot, filled_library):
    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(560, 800)
    view.show()
    qtbot.waitExposed(view)
    row = next(r for r in filled_library.summaries()
               if r.source_file.startswith("single-convo-file-1"))
    view.show_record(filled_library.record(row.conversation_id))
    labels = [b.phase_label for b in view.bubbles if b.phase_label is not None]
    assert labels
    cut = [label for label in labels
           if label.fontMetrics().horizontalAdvance(label.full_text())
           > label.contentsRect().width()]
    assert cut  # the bubbles are too narrow for their phase: that is what is tested
    for label in cut:
        qtbot.waitUntil(lambda label=label: label.text().endswith("…"))
        shown = label.text()
        assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
        assert label.full_text().startswith(shown[:-1])
        assert label.toolTip() == f"Conversation phase: {label.full_text()}"


def test_a_message_box_starts_its_sentence_with_a_capital(qtbot, two_batches, tmp_path):
    """The library's refusals are written to follow a colon ("the name cannot be empty");
    shown alone in a box they read as sentences. Names and ids stay as they are."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ui.dialogs import QtDialogs, message_box

    for message, shown in (
            ("the name cannot be empty", "The name cannot be empty"),
            ("cannot write to /tmp/x.json: the disk is full", "Cannot write to /tmp/x.json: "
             "the disk is full"),
            ("fp_conversation_1 is already in 'December'", "fp_conversation_1 is already in "
             "'December'"),
            ("broken.json: not valid JSON", "broken.json: not valid JSON"),
            ("lora-studio rebuild fixes it", "lora-studio rebuild fixes it"),
            ("'../x' is not allowed", "'../x' is not allowed")):
        box = message_box(QMessageBox.Icon.Warning, "Title", message, None)
        qtbot.addWidget(box)
        assert box.text() == shown

    # The real flow: renaming a training file to nothing, with the real message box.
    from app.trainingfiles import add_conversations

    first = two_batches.summaries()[0].conversation_id
    add_conversations(two_batches, "December", [first], create=True)
    dialogs = QtDialogs()
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    window.pages.setCurrentWidget(window.training_files)
    seen: list[str] = []

    def answer() -> None:
        modal = QApplication.activeModalWidget()
        if modal is None:
            QTimer.singleShot(20, answer)
            return
        if isinstance(modal, QMessageBox):
            seen.append(modal.text())
            modal.close()
        elif not asked:  # the name asked for: leave it empty and press OK
            asked.append(modal.labelText())  # type: ignore[attr-defined]
            modal.setTextValue("")  # type: ignore[attr-defined]
            modal.accept()
            QTimer.singleShot(20, answer)
        else:  # asked again, saying why: cancel
            seen.append(modal.labelText())  # type: ignore[attr-defined]
            modal.reject()

    asked: list[str] = []
    QTimer.singleShot(20, answer)
    window.training_files.rename_button.click()
    qtbot.waitUntil(lambda: bool(seen), timeout=10000)
    assert seen == ["The name cannot be empty.\n\nNew name:"]


def test_ctrl_a_on_the_files_page_selects_the_files_rows_not_hidden_checks(
        qtbot, two_batches, dialogs, tmp_path):
    """Check all shown / Uncheck all / Invert checks act on the Conversations page; on the
    files page they are greyed out (they would change checks out of sight) and Ctrl+A in
    the list of a file's conversations selects those rows, ready for Remove from file."""
    from PySide6.QtTest import QTest

    from app.trainingfiles import add_conversations

    ids = [row.conversation_id for row in two_batches.summaries()]
    held = addable(ids)[:4]  # four the file takes (trim)
    add_conversations(two_batches, "December", held, create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    window.pages.setCurrentWidget(window.training_files)
    actions = (window.select_all_action, window.select_none_action, window.invert_action)
    assert not any(action.isEnabled() for action in actions)
    files = window.training_files
    qtbot.waitUntil(lambda: files.members_model.rowCount() == 4)
    files.members.setFocus()
    QTest.keySequence(files.members, QKeySequence(QKeySequence.StandardKey.SelectAll))
    assert window.conversations.model.checked_count == 0
    assert sorted(files.selected_member_ids()) == sorted(held)
    assert files.remove_button.isEnabled()

    window.pages.setCurrentWidget(window.conversations_stack)
    assert window.select_all_action.isEnabled() and window.invert_action.isEnabled()
    window.select_all_action.trigger()
    assert window.conversations.model.checked_count == len(ids)


def test_tab_on_the_files_page_goes_from_the_list_to_the_files_actions(
        qtbot, two_batches, dialogs, tmp_path):
    """From the list of files, Tab reaches Download, Rename and Delete, then the file's
    contents (the buttons were made first, so by creation they came last)."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.trainingfiles import add_conversations

    add_conversations(two_batches, "December",
                      [two_batches.summaries()[0].conversation_id], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    window.activateWindow()
    window.pages.setCurrentWidget(window.training_files)
    files = window.training_files
    files.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is files.table)
    reached = []
    for _ in range(5):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached.append(QApplication.focusWidget())
    assert reached == [files.download_button, files.rename_button, files.settings_button,
                       files.delete_button, files.tabs.tabBar()]


def test_counts_in_menus_and_questions_agree_with_their_number(qtbot, two_batches, dialogs,
                                                               tmp_path):
    """"1 conversation", "2 conversations", "1 folder and 1 file": never "(s)"."""
    import shutil

    from conftest import ENRICHED
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from app.trainingfiles import add_conversations

    ids = [row.conversation_id for row in two_batches.summaries()]
    add_conversations(two_batches, "Solo", ids[:1], create=True)
    add_conversations(two_batches, "Pair", ids[1:3], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    window.create_button.menu_.aboutToShow.emit()
    labels = [action.text() for action in window.create_button.entries()]
    assert "Solo  (1 conversation)" in labels
    assert "Pair  (2 conversations)" in labels

    check_rows(window.conversations.model, 1)
    dialogs.texts.append(None)  # the name is asked, then cancelled
    assert not window.creator.add_checked(None)
    assert dialogs.labels[-1] == "Name of the new training file for 1 checked conversation:"

    folder = tmp_path / "one-folder"
    folder.mkdir()
    shutil.copy(ENRICHED[0], folder / ENRICHED[0].name)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder)), QUrl.fromLocalFile(str(ENRICHED[1]))])
    point, action = QPointF(30, 30), Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), action, mime, buttons, modifiers)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()
    dialogs.texts.append(None)  # the batch is asked, then cancelled: nothing imported
    asked_before = len(dialogs.labels)
    QApplication.sendEvent(window, QDropEvent(point, action, mime, buttons, modifiers))
    # The drop returns first (the program the files came from waits for it), then asks.
    assert len(dialogs.labels) == asked_before
    qtbot.waitUntil(lambda: len(dialogs.labels) > asked_before, timeout=30000)
    assert dialogs.labels[-1].startswith("Importing 1 folder and 1 file.\n")
    assert all("(s)" not in label for label in dialogs.labels)


def test_the_status_bar_says_how_many_a_new_file_got_and_an_addition_added(
        qtbot, two_batches, dialogs, tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    model = window.conversations.model
    check_rows(model, 1)
    dialogs.texts.append("Fresh")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        window.creator.review.add_button.click()
    assert window.statusBar().currentMessage() == (
        "Training file 'Fresh' created with 1 conversation: its full JSON and JSONL are "
        "ready to download")

    window.pages.setCurrentWidget(window.conversations_stack)
    settle(qtbot, window)
    check_rows(model, 2)
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit("Fresh")
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        window.creator.review.add_button.click()
    # Two checked, one of them in the file already: the review said so and closed; the
    # status bar says what went in and what the file holds now (it said only "updated").
    assert window.statusBar().currentMessage() == (
        "Added 1 of the 2 checked conversations to training file 'Fresh' (now 2; 1 skipped: "
        "already in the file): its full JSON and JSONL were built again")
    assert window.training_files.selected_file().conversations == 2


def test_the_status_after_an_add_says_how_many_of_the_checked_went_in_and_why_not_the_rest(
        qtbot, two_batches, dialogs, tmp_path):
    """The review said some checked ones are skipped (here the fixtures whose first reply
    is cut off: the default policy trains none of their replies); once it closed, the
    status said only "created with 13 conversations" (audit55 S3)."""
    from conftest import FIRST_REPLY_CUT, ids_of

    from app.trainingfiles import add_conversations

    every = ids_of(two_batches)
    add_conversations(two_batches, "Part", addable(every)[:3], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    model = window.conversations.model
    assert model.rowCount() == len(every) and len(FIRST_REPLY_CUT & set(every)) == 2
    check_rows(model, model.rowCount())
    dialogs.texts.append("Every one")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    review = window.creator.review
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        review.add_button.click()
    made = len(every) - 2
    assert window.statusBar().currentMessage() == (
        f"Training file 'Every one' created with {made} of the {len(every)} checked "
        "conversations (2 skipped: no reply to train under the file's cut-off policy): its "
        "full JSON and JSONL are ready to download")

    # Several reasons: each with its count, the largest first (the tooltip holds it all).
    window.pages.setCurrentWidget(window.conversations_stack)
    settle(qtbot, window)
    check_rows(model, model.rowCount())
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit("Part")
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        window.creator.review.add_button.click()
    message = window.statusBar().currentMessage()
    assert message == (
        f"Added {made - 3} of the {len(every)} checked conversations to training file 'Part' "
        f"(now {made}; 5 skipped: 3 already in the file, 2 with no reply to train under the "
        "file's cut-off policy): its full JSON and JSONL were built again")
    assert window.statusBar().toolTip() == message


def test_batches_sort_and_list_as_people_count(qtbot, library, dialogs, tmp_path):
    """A drop of numbered batch folders: batch-2 comes before batch-10, in the table's
    Batch column and in the batch filter."""
    import shutil

    from conftest import ENRICHED

    from app.importer import import_paths
    from ui.conversations_model import Column

    folders = []
    for number, fixture in zip((10, 2, 1), ENRICHED, strict=False):
        folder = tmp_path / f"batch-{number}"
        folder.mkdir()
        shutil.copy(fixture, folder / fixture.name)
        folders.append(folder)
    import_paths(library, folders)
    window = open_window(qtbot, library, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.conversations
    page.table.sortByColumn(Column.BATCH, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: [page.model.row_at(r).batch_id for r in range(3)] ==
                    ["batch-1", "batch-2", "batch-10"])
    page.table.sortByColumn(Column.BATCH, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: [page.model.row_at(r).batch_id for r in range(3)] ==
                    ["batch-10", "batch-2", "batch-1"])
    chooser = page.batch_filter
    listed = [chooser.itemData(i) for i in range(1, chooser.count())]
    assert listed == ["batch-1", "batch-2", "batch-10"]


def test_the_replace_question_counts_in_words(two_batches, tmp_path):
    import json

    from conftest import ENRICHED

    from app.importer import import_paths
    from ui.replace_flow import replace_question

    edited = tmp_path / "edited"
    edited.mkdir()
    document = json.loads(ENRICHED[1].read_text(encoding="utf-8"))
    pair = next(p for p in document["training_pairs"] if p.get("target_response"))
    pair["target_response"] += " Edited by hand."
    (edited / ENRICHED[1].name).write_text(json.dumps(document), encoding="utf-8")
    report = import_paths(two_batches, [edited])
    assert len(report.changed) == 1
    question = replace_question(report, {}, [], 1)
    assert question.startswith(
        "1 conversation in this import is already in the library with different content:")
    assert "No training file holds it: replacing rebuilds none." in question
    assert "It keeps its batch" in question


def test_tab_leaves_the_conversations_table(qtbot, two_batches, dialogs, tmp_path):
    """Rows are chosen, not cells: Tab from the table goes on to the reading panel's
    buttons (Mark reviewed, As trained…) instead of walking the row's cells, and
    Shift+Tab goes back to the table, then to the search field."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    window.activateWindow()
    table = window.conversations.table
    table.setCurrentIndex(window.conversations.model.index(0, 1))
    table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is table)
    QTest.keyClick(table, Qt.Key.Key_Tab)
    reached = QApplication.focusWidget()
    assert reached is not table
    assert window.conversations.reader.isAncestorOf(reached), reached
    QTest.keyClick(reached, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is table
    QTest.keyClick(table, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is window.conversations.search


def test_the_batch_column_and_its_filter_are_called_batch_id(qtbot, two_batches, dialogs,
                                                             tmp_path):
    """The user's own name for the column ("a table … with a Batch ID column")."""
    from PySide6.QtWidgets import QLabel

    from ui.conversations_model import Column

    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.conversations
    heading = page.model.headerData(Column.BATCH, Qt.Orientation.Horizontal,
                                    Qt.ItemDataRole.DisplayRole)
    assert heading == "Batch ID"
    labels = [label.text().replace("&", "") for label in page.findChildren(QLabel)]  # (Alt keys)
    assert "Batch ID" in labels and "Batch" not in labels


def test_escape_in_the_search_field_empties_it_and_shows_every_row_again(
        qtbot, two_batches, dialogs, tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.conversations
    total = page.model.rowCount()
    search = page.filter_bar.search
    search.setFocus()
    qtbot.keyClicks(search, "legacy-batch")
    qtbot.waitUntil(lambda: 0 < page.model.rowCount() < total)
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == ""
    assert page.model.rowCount() == total


def test_the_status_bar_counts_only_what_this_addition_put_in(
        qtbot, two_batches, dialogs, tmp_path):
    """Another window (or team member) adds to the same file while this addition's build
    starts: the status bar's "Added N" is what this addition put in, not the file's growth
    (it was the file's count after the build less its count when Add was clicked)."""
    from conftest import ids_of

    from app.trainingfiles import add_conversations

    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    check_rows(window.conversations.model, 1)
    checked = window.creator.checked_ids()
    other = next(cid for cid in addable(ids_of(two_batches)) if cid not in checked)
    add_conversations(two_batches, "Shared", [other], create=True)
    window.training_files.refresh()
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit("Shared")
    another = next(cid for cid in addable(ids_of(two_batches))
                   if cid not in checked and cid != other)
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        window.creator.review.add_button.click()  # the build starts in a child process
        add_conversations(two_batches, "Shared", [another])  # meanwhile, from elsewhere
    assert window.statusBar().currentMessage().startswith(
        "Added 1 conversation to training file 'Shared' (now ")


def test_an_import_whose_look_is_cancelled_says_nothing_was_imported(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    """Cancel on "Looking for training files made by LoRA Studio…" gives the import up:
    it said nothing, and the person could not tell whether the files were imported."""
    import shutil

    from conftest import ENRICHED

    from ui import import_flow

    monkeypatch.setattr(import_flow, "wait_behind_progress",
                        lambda *_args, **_kwargs: (None, None, True))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    folder = tmp_path / "some-folder"
    folder.mkdir()
    shutil.copy(ENRICHED[0], folder / ENRICHED[0].name)
    count = two_batches.count()
    with qtbot.waitSignal(window.importer.status, timeout=30000) as said:
        assert not window.importer.start([folder])
    assert said.args[0] == ("Import cancelled while it looked through the files: nothing "
                            "was imported; import them again to go on")
    assert two_batches.count() == count
