"""Review marks end to end in the window: a click in the reader (or Edit ▸ Mark checked
reviewed) → the library → the rebuilt training file's header and JSONL metadata."""

from __future__ import annotations

import orjson
import pytest
from conftest import ENRICHED, settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle
from stored import stored_files

from app.trainingfiles import add_conversations, header
from ui.main import MainWindow
from ui.members_model import MEMBER_CLIENT

WAIT_MS = 60_000  # a job in a child process: a new Python that imports the app, slow when loaded


@pytest.fixture
def window(qtbot, filled_library, dialogs, settings) -> MainWindow:
    widget = MainWindow(filled_library, dialogs, settings)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    return widget


@pytest.fixture
def enriched_ids(filled_library) -> list[str]:
    """Conversations whose source files do not say they were reviewed."""
    names = {path.name for path in ENRICHED}
    return [row.conversation_id for row in filled_library.summaries()
            if row.source_file in names and row.trainable_replies]


def jsonl_reviewed(library, name: str) -> dict[str, bool]:
    path = stored_files(library, name).jsonl_path
    lines = [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]
    return {line["metadata"]["conversation_id"]: line["metadata"]["human_reviewed"]
            for line in lines}


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_mark_in_the_reader_reaches_the_header_and_the_jsonl(qtbot, window, dialogs,
                                                             filled_library, enriched_ids):
    first, second = enriched_ids[:2]
    add_conversations(filled_library, "Reviewed set", [first, second], create=True)
    window.changes.everything()
    settle(qtbot, window)
    assert header(filled_library, "Reviewed set")["quality_summary"][
        "human_reviewed_conversations"] == 0

    page = window.conversations
    assert page.select_conversation(first)
    reader = page.reader
    assert reader.conversation_id() == first
    dialogs.texts.append("Dana Reviewer")  # asked once: who is reviewing
    with qtbot.waitSignal(window.changes.training_files_changed, timeout=WAIT_MS):
        qtbot.mouseClick(reader.review_button, Qt.MouseButton.LeftButton)

    head = header(filled_library, "Reviewed set")
    assert head["quality_summary"]["human_reviewed_conversations"] == 1
    assert jsonl_reviewed(filled_library, "Reviewed set") == {first: True, second: False}
    full = orjson.loads(stored_files(filled_library, "Reviewed set").json_path.read_bytes())
    quality = {c["conversation_id"]: c["quality"] for c in full["conversations"]}
    assert quality[first]["reviewed_by"] == "Dana Reviewer"
    assert full["training_file_metadata"] == head
    # The window follows: the reader, the page's header text, the remembered name.
    settle(qtbot, window)
    qtbot.waitUntil(lambda: reader.review_label.text().startswith("✓ Reviewed by Dana"))
    assert reader.conversation_id() == first
    # The files page, behind its tab, reads the rebuilt file's details once it is shown.
    window.pages.setCurrentWidget(window.training_files)
    qtbot.waitUntil(lambda: "1 human-reviewed" in window.training_files.quality_label.text(),
                    timeout=WAIT_MS)
    window.pages.setCurrentWidget(window.conversations_stack)
    assert dialogs.texts == type(dialogs.texts)()  # the scripted name was used

    # Taking the mark away (no name asked) rebuilds the file back.
    with qtbot.waitSignal(window.changes.training_files_changed, timeout=WAIT_MS):
        qtbot.mouseClick(reader.review_button, Qt.MouseButton.LeftButton)
    assert jsonl_reviewed(filled_library, "Reviewed set") == {first: False, second: False}
    assert header(filled_library, "Reviewed set")["quality_summary"][
        "human_reviewed_conversations"] == 0


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_mark_checked_then_filter_by_review(qtbot, window, dialogs, filled_library,
                                            enriched_ids):
    page = window.conversations
    model = page.model
    wanted = set(enriched_ids[:3])
    for row in range(model.rowCount()):
        if model.row_at(row).conversation_id in wanted:
            model.setData(model.index(row, 0), Qt.CheckState.Checked,
                          Qt.ItemDataRole.CheckStateRole)
    assert set(model.checked_ids()) == wanted
    dialogs.texts.append("Lee")
    with qtbot.waitSignal(window.reviews.status, timeout=WAIT_MS) as done:
        window.mark_reviewed_action.trigger()
    assert done.args[0] == "Marked 3 conversations reviewed by Lee"  # in no file: no rebuild
    settle(qtbot, window)

    page.review_filter.setCurrentIndex(page.review_filter.findData("reviewed"))
    shown = {model.row_at(r).conversation_id for r in range(model.rowCount())}
    assert shown == wanted
    page.review_filter.setCurrentIndex(page.review_filter.findData("not"))
    shown = {model.row_at(r).conversation_id for r in range(model.rowCount())}
    assert shown and not shown & wanted
    assert {r.conversation_id for r in filled_library.summaries() if r.reviewed_by} == wanted


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_enter_on_a_member_reads_it_and_delete_asks_to_remove_the_selected_ones(
        qtbot, window, dialogs, filled_library, enriched_ids):
    """The files page's list of members answered only the mouse: Enter did not open a
    conversation and Delete did nothing, where the Conversations table has both keys."""
    add_conversations(filled_library, "Members", enriched_ids[:3], create=True)
    window.changes.everything()
    settle(qtbot, window)
    files = window.training_files
    window.pages.setCurrentWidget(files)
    assert files.select_file("Members")
    members = files.members
    members.setFocus()
    members.setCurrentIndex(files.members_model.index(1, MEMBER_CLIENT))
    QTest.keyClick(members, Qt.Key.Key_Return)
    assert window.pages.currentIndex() == 0
    assert window.conversations.reader.conversation_id() == enriched_ids[1]

    window.pages.setCurrentWidget(files)
    members.setFocus()
    members.selectRow(0)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.changes.training_files_changed, timeout=WAIT_MS):
        QTest.keyClick(members, Qt.Key.Key_Delete)
    assert dialogs.asked[-1][:2] == ("confirm_destructive", "Remove from training file")
    assert header(filled_library, "Members")["totals"]["conversations"] == 2


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_double_click_on_a_member_opens_it_in_the_reader(qtbot, window, filled_library,
                                                        enriched_ids):
    target = enriched_ids[1]
    add_conversations(filled_library, "Members", enriched_ids[:3], create=True)
    window.changes.everything()
    settle(qtbot, window)
    files = window.training_files
    window.pages.setCurrentWidget(files)
    assert files.select_file("Members")
    members = files.members
    index = files.members_model.index(1, MEMBER_CLIENT)
    qtbot.waitUntil(lambda: members.isVisible() and not members.visualRect(index).isEmpty())
    point = members.visualRect(index).center()
    # A double click is a click, then a second press that Qt reports as a double click.
    QTest.mouseClick(members.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, point)
    with qtbot.waitSignal(members.doubleClicked, timeout=WAIT_MS):
        QTest.mouseDClick(members.viewport(), Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier, point)
    assert window.pages.currentIndex() == 0
    assert window.conversations.reader.conversation_id() == target


class SingleClickActivates(QProxyStyle):
    """A desktop set to open items with one click (KDE's setting; the platform's style
    says so): Qt then reports a plain click on an item as ``activated``."""

    def styleHint(self, hint, option=None, widget=None, returnData=None):
        if hint == QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick:
            return 1
        return super().styleHint(hint, option, widget, returnData)


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_a_click_on_a_member_selects_it_where_one_click_activates(
        qtbot, window, filled_library, enriched_ids):
    """Where the desktop activates items with one click, a click on a member selects it
    (to remove it, say) and stays on the page; only Enter or a double click reads it."""
    add_conversations(filled_library, "Members", enriched_ids[:3], create=True)
    window.changes.everything()
    settle(qtbot, window)
    files = window.training_files
    window.pages.setCurrentWidget(files)
    files_page = window.pages.currentIndex()
    assert files_page != 0 and files.select_file("Members")
    members = files.members
    style = SingleClickActivates()
    members.setStyle(style)
    index = files.members_model.index(1, MEMBER_CLIENT)
    qtbot.waitUntil(lambda: members.isVisible() and not members.visualRect(index).isEmpty())
    QTest.mouseClick(members.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, members.visualRect(index).center())
    assert window.pages.currentIndex() == files_page
    assert files.selected_member_ids() == [enriched_ids[1]]
    QTest.keyClick(members, Qt.Key.Key_Return)
    assert window.pages.currentIndex() == 0
    assert window.conversations.reader.conversation_id() == enriched_ids[1]


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_a_conversation_in_the_reader_alone_shows_its_new_mark(qtbot, window, dialogs,
                                                               enriched_ids):
    """Opened where the filter hides it (the reader alone, no table row re-reads it), a
    conversation marked reviewed from the reader is read again there."""
    first = enriched_ids[0]
    settle(qtbot, window)
    page = window.conversations
    page.search.setText("no conversation says this")
    qtbot.waitUntil(lambda: page.model.rowCount() == 0)
    window.open_conversation(first)
    reader = page.reader
    assert reader.conversation_id() == first and page.reader_conversation_id() is None
    assert not reader.review_label.text().startswith("✓")
    dialogs.texts.append("Dana Reviewer")
    qtbot.mouseClick(reader.review_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: reader.review_label.text().startswith("✓ Reviewed by Dana"))
    assert reader.conversation_id() == first


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_ctrl_z_gives_marked_conversations_their_marks_from_before(qtbot, window, dialogs,
                                                                   filled_library,
                                                                   enriched_ids):
    """A mark made by mistake on a set checked with Check all shown is one Ctrl+Z away:
    each conversation gets its own mark back (one reviewed by Sam keeps Sam's), the
    training file holding them is rebuilt, and it is one step."""
    from app.review_marks import mark_reviewed
    from ui.undo_slot import NOTHING_TO_UNDO
    first, second = enriched_ids[:2]
    mark_reviewed(filled_library, [first], "Sam")
    add_conversations(filled_library, "Reviewed set", [first, second], create=True)
    window.changes.everything()
    settle(qtbot, window)
    before = jsonl_reviewed(filled_library, "Reviewed set")
    assert before == {first: True, second: False}
    by_before = {r.conversation_id: r.reviewed_by for r in filled_library.summaries()}
    undo = window.edit_menu.actions()[0]

    window.conversations.model.set_checked_ids([first, second])
    dialogs.texts.append("Dana")
    with qtbot.waitSignal(window.reviews.status, timeout=WAIT_MS):
        window.mark_reviewed_action.trigger()
    assert jsonl_reviewed(filled_library, "Reviewed set") == {first: True, second: True}
    assert undo.isEnabled() and undo.text() == "Undo review mark on 2 conversations"
    assert undo.toolTip() == ("Give the 2 conversations the review marks they had before; "
                              "the training files holding them are rebuilt")

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.conversations.table.setFocus()
    with qtbot.waitSignal(window.review_undo.status, timeout=WAIT_MS) as said:
        qtbot.keyClick(window.conversations.table, Qt.Key.Key_Z,
                       Qt.KeyboardModifier.ControlModifier)
    assert said.args == ["Undone: 2 conversations have the review marks from before again; "
                         "rebuilt 'Reviewed set'"]
    assert {r.conversation_id: r.reviewed_by for r in filled_library.summaries()} == by_before
    assert jsonl_reviewed(filled_library, "Reviewed set") == before
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"
    settle(qtbot, window)
    model = window.conversations.model
    shown = {model.row_at(n).conversation_id: model.row_at(n).reviewed_by
             for n in range(model.rowCount())}
    assert (shown[first], shown[second]) == ("Sam", None), "the table follows"
    assert dialogs.warnings == []


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_undo_of_a_mark_is_greyed_out_once_they_were_marked_again(qtbot, window, dialogs,
                                                                  filled_library,
                                                                  enriched_ids):
    from app.review_marks import mark_reviewed
    first, second = enriched_ids[:2]
    settle(qtbot, window)
    window.conversations.model.set_checked_ids([first, second])
    dialogs.texts.append("Dana")
    with qtbot.waitSignal(window.reviews.status, timeout=WAIT_MS):
        window.mark_reviewed_action.trigger()
    undo = window.edit_menu.actions()[0]
    assert undo.isEnabled()
    mark_reviewed(filled_library, [second], "Lee")  # the command line, say
    window.changes.conversations_changed.emit()
    assert not undo.isEnabled()
    assert undo.toolTip() == ("Marking reviewed 2 conversations cannot be undone exactly: "
                              f"the review mark of '{second}' changed since. Nothing was "
                              "changed.")
