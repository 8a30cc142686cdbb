"""As trained… opens on the settings of a training file that holds the conversation: on
the defaults ('Trim') a conversation of a weight-0 file showed a line its file never
writes. While open, the person's own choice stays."""

from __future__ import annotations

from pathlib import Path

from conftest import open_window, settle

from app.cutoff import CutOffPolicy
from app.library import Library
from app.trainingfiles import add_conversations


def test_as_trained_opens_on_the_file_that_holds_the_conversation(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "November review", ids[:2], create=True,
                      cut_off_policy=CutOffPolicy.WEIGHT0)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    window.show_as_trained(ids[0])
    preview = window.as_trained_window
    assert preview.file_combo.currentData() == "November review"
    assert preview.file_combo.currentText() == (
        "November review (4,096 tokens; Keep as context, weight 0)")

    preview.select_training_file(None)  # the person's choice, kept while it is open
    window.show_as_trained(ids[1])
    assert preview.file_combo.currentData() == ""
    preview.close()
    window.show_as_trained(ids[-1])  # in no training file: the defaults
    assert preview.file_combo.currentData() == ""
