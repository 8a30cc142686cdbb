"""Words a person reads that agree with what they are about: one checked conversation is
"it", not "they"; a column heading's or a filter chooser's tooltip says what it does not
show already, or nothing."""

from __future__ import annotations

from conftest import ENRICHED, ids_of, open_window, settle
from PySide6.QtCore import Qt

from app.importer import import_paths
from app.trainingfiles import add_conversations
from ui.conversations_model import HEADERS, Column


def test_removing_one_checked_conversation_is_asked_in_the_singular(
        qtbot, two_batches, dialogs, tmp_path) -> None:
    legacy = ids_of(two_batches, "legacy-batch")
    add_conversations(two_batches, "holder", legacy[:2], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids([legacy[0]])
    dialogs.confirms.append(False)
    assert not window.remover.remove_checked()
    question = dialogs.asked[-1][2]
    assert question.startswith("Remove the conversation you checked from the library?\n\n"
                               "It is in 1 training file, which will be rebuilt without it "
                               "(JSON and JSONL):\n  • holder"), question
    assert "the file it was imported from is not touched" in question
    assert "They" not in question and " them" not in question

    window.conversations.model.set_checked_ids([legacy[3]])  # in no training file
    dialogs.confirms.append(False)
    assert not window.remover.remove_checked()
    assert "No training file holds it." in dialogs.asked[-1][2]


def test_heading_tooltips_say_more_than_the_heading_and_no_policy_code(
        qtbot, two_batches, dialogs, tmp_path) -> None:
    model = open_window(qtbot, two_batches, dialogs, tmp_path).conversations.model
    horizontal = Qt.Orientation.Horizontal
    for column in Column:
        tip = model.headerData(column, horizontal, Qt.ItemDataRole.ToolTipRole)
        heading = model.headerData(column, horizontal, Qt.ItemDataRole.DisplayRole)
        assert heading == HEADERS[column]
        assert tip is None or (tip != heading and len(tip) > len(heading) + 10), (heading, tip)
        assert tip is None or ("trim" not in tip and "weight0" not in tip), tip
    replies = model.headerData(Column.REPLIES, horizontal, Qt.ItemDataRole.ToolTipRole)
    assert replies.startswith("Consultant replies a new training file trains: a reply cut "
                              "off mid-sentence, and any after it, are left out")


def test_a_filter_chooser_tip_holds_what_it_does_not_show(
        qtbot, library, dialogs, tmp_path) -> None:
    long_name = "november-delivery-from-the-generator-run-with-the-longest-name-yet"
    import_paths(library, [ENRICHED[0]], batch=long_name)
    import_paths(library, [ENRICHED[1]], batch="short")
    window = open_window(qtbot, library, dialogs, tmp_path)
    settle(qtbot, window)
    chooser = window.conversations.filter_bar.batch_filter
    assert chooser.currentText() == "All batches (2)"
    assert chooser.toolTip() == "", "no tip that repeats the chooser's text"
    assert chooser.select_value("short")
    assert chooser.toolTip() == ""
    assert chooser.select_value(long_name)
    assert chooser.toolTip() == f"{long_name} (1)", "the whole of a name cut short"
