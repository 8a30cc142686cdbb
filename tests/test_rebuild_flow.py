"""The one background rebuild that review marks, batch changes and a tokenizer change
share: success reports the names rebuilt, failure warns with the reason and what stays
stale, and the training files page is told either way."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from conftest import ids_of, open_window
from held_jobs import held_rebuild

from app.recovery import needs_recovery
from app.trainingfiles import add_conversations
from ui import rebuild_flow
from ui.rebuild_flow import quoted, rebuild_in_background
from ui.tasks import jobs_of


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


def test_a_cancelled_rebuild_says_so_not_that_nothing_was_changed(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    """The change before it (a batch move here) is saved: only the rebuild stopped, and
    the library still owes it (``app.recovery`` finishes it at the next open)."""
    ids = ids_of(filled_library)
    add_conversations(filled_library, "seed", ids[:2], create=True)
    filled_library.move_conversations([ids[0]], "moved")
    gate = hold_the_window_rebuilds(monkeypatch, tmp_path)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    with qtbot.waitSignal(window.changes.training_files_changed, timeout=60000):
        rebuild_in_background(
            window, window.library, window.changes, window.dialogs, ["seed"],
            title="Updating training files", on_done=lambda _names: None,
            failure_title="Training files not updated",
            failure_consequence="The batch change is saved.")
        qtbot.waitUntil(Path(f"{gate}.held").exists, timeout=60000)  # the child is in
        (task,) = jobs_of(window)
        task.cancel()
    assert dialogs.warnings == [("Training files not updated",
                                 "The rebuild was cancelled.\nThe batch change is saved.")]
    assert needs_recovery(filled_library)


def hold_the_window_rebuilds(monkeypatch, tmp_path: Path) -> Path:
    """The window's background rebuilds are held before their first file (in their child)
    until the returned gate exists or they are cancelled."""
    gate = tmp_path / "gate"
    monkeypatch.setattr(rebuild_flow, "rebuild_training_files",
                        functools.partial(held_rebuild, gate=str(gate)))
    return gate


def cancel_the_held_rebuild(qtbot, window, dialogs, gate: Path) -> str:
    """Cancel the rebuild once its child is held; what the person is then told."""
    qtbot.waitUntil(Path(f"{gate}.held").exists, timeout=60000)
    Path(f"{gate}.held").unlink()  # (for the next rebuild the test holds)
    (task,) = [task for task, title in jobs_of(window).items()
               if title == "Updating training files"]
    told = len(dialogs.warnings)
    task.cancel()
    qtbot.waitUntil(lambda: len(dialogs.warnings) > told, timeout=60000)
    title, message = dialogs.warnings[-1]
    assert title == "Training files not updated"
    return message


def window_with_held_rebuilds(qtbot, library, dialogs, tmp_path: Path, monkeypatch
                              ) -> tuple[Any, Path, list[str]]:
    """The window on a library with two files: 'seed' holding the first two conversations
    and 'other' the first; its rebuilds held (``hold_the_window_rebuilds``). Returns the
    window, the gate and the library's conversation ids."""
    ids = ids_of(library)
    add_conversations(library, "seed", ids[:2], create=True)
    add_conversations(library, "other", ids[:1], create=True)
    gate = hold_the_window_rebuilds(monkeypatch, tmp_path)
    return open_window(qtbot, library, dialogs, tmp_path), gate, ids


def test_a_cancelled_rebuild_after_a_batch_move_or_rename_says_the_change_is_saved(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    window, gate, ids = window_with_held_rebuilds(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch)
    page = window.conversations
    page.model.set_checked_ids(ids[1:2])  # held by 'seed' only
    dialogs.texts.append("moved")
    assert window.batches.move_checked()
    assert cancel_the_held_rebuild(qtbot, window, dialogs, gate) == (
        "The rebuild was cancelled.\nThe batch change is saved; 'seed' shows the old batch "
        "until it is rebuilt, at the latest the next time LoRA Studio opens this library.")
    assert needs_recovery(filled_library)  # what that next open finishes
    page.set_batch_filter("batch-2025-12")  # holds ids[0], in both files
    dialogs.texts.append("renamed")
    assert window.batches.rename_current()
    assert cancel_the_held_rebuild(qtbot, window, dialogs, gate) == (
        "The rebuild was cancelled.\nThe batch change is saved; 'other', 'seed' show the old "
        "batch until they are rebuilt, at the latest the next time LoRA Studio opens this "
        "library.")


def test_a_cancelled_rebuild_after_a_review_mark_says_the_marks_are_saved(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    window, gate, ids = window_with_held_rebuilds(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch)
    dialogs.texts.append("Ann")  # the reviewer, asked once
    assert window.reviews.review(ids[1:2])
    assert cancel_the_held_rebuild(qtbot, window, dialogs, gate) == (
        "The rebuild was cancelled.\nThe review marks are saved; 'seed' may still show the "
        "old review state until it is rebuilt, at the latest the next time LoRA Studio "
        "opens this library (mark the conversations again to retry now).")
    assert needs_recovery(filled_library)
    assert window.reviews.review(ids[:1], mark=True)
    assert cancel_the_held_rebuild(qtbot, window, dialogs, gate) == (
        "The rebuild was cancelled.\nThe review marks are saved; 'other', 'seed' may still "
        "show the old review state until they are rebuilt, at the latest the next time "
        "LoRA Studio opens this library (mark the conversations again to retry now).")


def test_names_are_quoted_for_the_status_bar():
    assert quoted(["a", "b c"]) == "'a', 'b c'"
