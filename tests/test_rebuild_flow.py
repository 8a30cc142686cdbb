"""The one background rebuild that review marks, batch changes and a tokenizer change
share: success reports the names rebuilt, failure warns with the reason and what stays
stale, and the training files page is told either way."""

from __future__ import annotations

from conftest import ids_of, open_window

from app.trainingfiles import add_conversations
from ui.rebuild_flow import quoted, rebuild_in_background


def _run(qtbot, window, names):
    reported: list[list[str]] = []
    with qtbot.waitSignal(window.changes.training_files_changed, timeout=60000):
        rebuild_in_background(
            window, window.library, window.changes, window.dialogs, names,
            title="Updating training files", on_done=reported.append,
            failure_title="Training files not updated",
            failure_consequence="The change is saved; 'gone' still shows the old state.")
    return reported


def test_a_rebuild_reports_the_files_it_rebuilt(qtbot, filled_library, dialogs, tmp_path):
    add_conversations(filled_library, "seed", ids_of(filled_library)[:2], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    assert _run(qtbot, window, ["seed"]) == [["seed"]]
    assert dialogs.warnings == []


def test_a_failed_rebuild_warns_with_the_reason_and_what_stays_stale(
        qtbot, filled_library, dialogs, tmp_path):
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    assert _run(qtbot, window, ["gone"]) == []
    title, message = dialogs.warnings[-1]
    assert title == "Training files not updated"
    assert "gone" in message.splitlines()[0]
    assert message.endswith("The change is saved; 'gone' still shows the old state.")


def test_names_are_quoted_for_the_status_bar():
    assert quoted(["a", "b c"]) == "'a', 'b c'"
