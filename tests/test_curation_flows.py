"""Curation from the window: remove from the library (checked rows, a batch, the samples),
replace changed conversations after an import, folders as batches in the summary."""

from __future__ import annotations

import functools
import json
import shutil
import threading
import time
from pathlib import Path

from conftest import ENRICHED, LEGACY, addable, ids_of, open_window, settle
from PySide6.QtWidgets import QMessageBox
from stored import stored_files

from app.importer import import_paths
from app.samples import sample_ids
from app.trainingfiles import add_conversations, get_training_file, member_ids, remove_member_pks
from ui import remove_flow
from ui.dialogs import destructive_box
from ui.tasks import in_child, jobs_of

# --- 2. remove from the library ---------------------------------------------------------


def test_remove_checked_names_the_training_files_and_rebuilds_them(qtbot, two_batches,
                                                                   dialogs, tmp_path):
    legacy = ids_of(two_batches, "legacy-batch")
    add_conversations(two_batches, "holder", legacy[:4], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids([legacy[1], legacy[6]])
    assert window.remove_checked_action.isEnabled()
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.removed, timeout=30000) as blocker:
        window.remove_checked_action.trigger()
    kind, title, question = dialogs.asked[-1]
    assert kind == "confirm_destructive" and title == "Remove from library"
    assert "the 2 conversations you checked" in question
    assert "• holder" in question and "rebuilt without them" in question
    assert blocker.args[0].rebuilt == ("holder",)
    assert member_ids(two_batches, "holder") == [legacy[0], legacy[2], legacy[3]]
    settle(qtbot, window)
    assert window.conversations.model.total == len(ENRICHED) + len(LEGACY) - 2
    assert window.conversations.model.checked_count == 0
    assert "Removed 2 conversations from the library" in window.statusBar().currentMessage()


def test_cancel_removes_nothing(qtbot, two_batches, dialogs, tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.select_all_action.trigger()
    dialogs.confirms.append(False)
    assert not window.remover.remove_checked()
    assert two_batches.count() == len(ENRICHED) + len(LEGACY)
    assert "No training file holds them." in dialogs.asked[-1][2]


def test_remove_a_whole_batch(qtbot, two_batches, dialogs, tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    shown: list[str] = []  # (read as shown: the bar forgets a message after 8 s)
    window.statusBar().messageChanged.connect(shown.append)
    window.conversations.set_batch_filter("enriched-batch")
    assert window.remove_batch_action.isEnabled()
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.removed, timeout=30000) as blocker:
        window.remove_batch_action.trigger()
    assert f"the batch 'enriched-batch' and its {len(ENRICHED)} conversations" in \
        dialogs.asked[-1][2]
    assert blocker.args[0].batches_removed == ("enriched-batch",)
    assert [b.batch_id for b in two_batches.batches()] == ["legacy-batch"]
    settle(qtbot, window)
    assert window.conversations.model.total == len(LEGACY)
    # The filter on the removed batch is cleared, and said (Check all shown now checks more)
    # after what the removal did, which stays in view.
    assert window.conversations.filter_bar.wanted().batch_id is None
    assert [text for text in shown if text][-1] == (
        f"Removed {len(ENRICHED)} conversations from the library. Filter on batch "
        "'enriched-batch' cleared: the batch has no conversations any more. "
        f"{len(LEGACY):,} conversations shown.")


def test_a_removal_that_empties_the_filtered_batch_says_what_it_rebuilt_and_the_filter(
        qtbot, two_batches, dialogs, tmp_path):
    """The batch filter's notice replaced the removal's own line ("Removed N
    conversations…; rebuilt …"): both show, whichever is said first."""
    held = addable([row.conversation_id for row in two_batches.summaries("legacy-batch")])
    add_conversations(two_batches, "Legacy picks", held[:2], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    shown: list[str] = []  # (read as shown: the bar forgets a message after 8 s)
    window.statusBar().messageChanged.connect(shown.append)
    page = window.conversations
    page.set_batch_filter("legacy-batch")
    window.select_all_action.trigger()
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.removed, timeout=30000):
        window.remover.remove_checked()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: page.filter_bar.wanted().batch_id is None, timeout=30000)
    assert [text for text in shown if text][-1] == (
        f"Removed {len(LEGACY)} conversations from the library; rebuilt 'Legacy picks'. "
        "Filter on batch 'legacy-batch' cleared: the batch has no conversations any more. "
        f"{len(ENRICHED)} conversations shown.")


def rebuild_the_first_then_ignore_cancel(library, plan, progress=None, cancelled=None, *,
                                         marker: str, keep: bool = True):
    """A removal (run in the window's child) that rebuilds the first file holding the
    conversations, then never looks at Cancel: it is killed after its grace."""
    remove_member_pks(library, plan.training_files[0], plan.pks, progress=progress)
    Path(marker).write_text("rebuilt")
    while True:
        time.sleep(0.02)


def test_a_removal_killed_after_cancel_says_files_may_be_rebuilt(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    """Not "Cancelled: nothing was changed": 'First' was rebuilt before the kill."""
    legacy = ids_of(two_batches, "legacy-batch")
    add_conversations(two_batches, "First", legacy[:3], create=True)
    add_conversations(two_batches, "Second", legacy[1:4], create=True)
    marker = tmp_path / "rebuilt"
    monkeypatch.setattr(remove_flow, "remove_recorded", functools.partial(
        rebuild_the_first_then_ignore_cancel, marker=str(marker)))
    monkeypatch.setattr(remove_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(legacy[1:3])
    dialogs.confirms.append(True)
    window.remove_checked_action.trigger()
    qtbot.waitUntil(marker.exists, timeout=60000)
    (task,) = jobs_of(window)
    task.cancel()
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=60000)
    assert dialogs.warnings == [("Conversations not removed", (
        "Stopped: the removal did not stop in time after Cancel, so it was ended. All 2 "
        "conversations are still in the library. The training files 'First' and 'Second', "
        "which held them, may already have been rebuilt without them. That is harmless: "
        "remove them again to finish, or add them back to those files."))]
    assert two_batches.count() == len(ENRICHED) + len(LEGACY)
    assert member_ids(two_batches, "First") == [legacy[0]]  # what the message allows for
    settle(qtbot, window)


def test_a_notice_follows_the_message_before_it_and_stays_beside_the_next(qtbot):
    """A batch move's line comes after its rebuild, so after the filter's notice: the
    notice stays beside it; a second notice replaces the first, never repeats it."""
    from PySide6.QtWidgets import QStatusBar

    from ui.status_line import StatusLine

    bar = QStatusBar()
    qtbot.addWidget(bar)
    line = StatusLine(bar)
    line.say("Removed 2 conversations from the library; rebuilt 'Picks'")
    line.notice("Filter on batch 'b' cleared: the batch has no conversations any more.")
    assert bar.currentMessage() == (
        "Removed 2 conversations from the library; rebuilt 'Picks'. Filter on batch 'b' "
        "cleared: the batch has no conversations any more.")
    line.say("Moved 3 conversations to batch 'c'; rebuilt 'Picks'")
    assert bar.currentMessage() == (
        "Moved 3 conversations to batch 'c'; rebuilt 'Picks'. Filter on batch 'b' "
        "cleared: the batch has no conversations any more.")
    line.notice("Filter on batch 'c' cleared: the batch has no conversations any more.")
    assert bar.currentMessage() == (
        "Moved 3 conversations to batch 'c'; rebuilt 'Picks'. Filter on batch 'c' "
        "cleared: the batch has no conversations any more.")


def test_the_question_defaults_to_cancel(qtbot):
    box, go = destructive_box("Remove from library", "Remove 3?", "Remove 3", None)
    qtbot.addWidget(box)
    default = box.defaultButton()
    assert default is not None and default is not go
    assert box.standardButton(default) == QMessageBox.StandardButton.Cancel
    assert box.escapeButton() is default
    assert go.text() == "Remove 3"


# --- 5. samples -------------------------------------------------------------------------


def test_samples_load_show_a_banner_and_go_in_one_click(qtbot, library, dialogs, tmp_path):
    window = open_window(qtbot, library, dialogs, tmp_path)
    assert not window.samples_banner.isVisible()
    assert not window.remove_samples_action.isEnabled()
    with qtbot.waitSignal(window.importer.finished, timeout=30000):
        window.welcome.samples_button.click()
    settle(qtbot, window)
    assert window.samples_banner.isVisible()
    assert "8 conversations that came with the app" in window.samples_banner.label.text()
    # Real data beside the samples: the banner stays until they are gone.
    import_paths(library, [ENRICHED[0]])
    window.changes.conversations_changed.emit()
    settle(qtbot, window)
    assert window.samples_banner.isVisible()
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.removed, timeout=30000):
        window.samples_banner.remove_button.click()
    assert "the 8 conversations that came with the app" in dialogs.asked[-1][2]
    settle(qtbot, window)
    assert sample_ids(library) == []
    assert not window.samples_banner.isVisible()
    assert [r.source_file for r in library.summaries()] == [ENRICHED[0].name]
    assert library.batches()[0].conversations == 1 and len(library.batches()) == 1



def test_the_samples_are_counted_off_the_gui_thread(qtbot, library, dialogs, tmp_path,
                                                     monkeypatch):
    """The banner's count runs after every reload of the table: in a large library, on the
    GUI thread, each one was a stall."""
    from app.samples import samples_dir
    from ui import remove_flow

    import_paths(library, [samples_dir()])
    threads: list[int] = []

    def counted(lib):
        threads.append(threading.get_ident())
        return sample_ids(lib)

    monkeypatch.setattr(remove_flow, "sample_ids", counted)
    window = open_window(qtbot, library, dialogs, tmp_path)
    settle(qtbot, window)
    window.changes.conversations_changed.emit()  # a reload counts again
    settle(qtbot, window)
    assert len(threads) >= 2
    assert threading.get_ident() not in threads
    assert window.samples_banner.isVisible() and window.remove_samples_action.isEnabled()
    assert "8 conversations that came with the app" in window.samples_banner.label.text()


def test_a_count_overtaken_by_a_reload_is_never_shown(qtbot, library, dialogs, tmp_path,
                                                      monkeypatch):
    """Two reloads in quick succession: the first count (8 samples) is still running when
    the samples are removed and the table reloads; only the newer count (none) is shown."""
    from app.removal import apply_removal, plan_removal
    from app.samples import samples_dir
    from ui import remove_flow

    import_paths(library, [samples_dir()])
    window = open_window(qtbot, library, dialogs, tmp_path)
    settle(qtbot, window)
    assert window.samples_banner.isVisible()
    counting, go_on = threading.Event(), threading.Event()

    def held_count(lib):
        ids = sample_ids(lib)
        if not counting.is_set():  # the first count: answer late, with what it read
            counting.set()
            assert go_on.wait(60)
        return ids

    monkeypatch.setattr(remove_flow, "sample_ids", held_count)
    shown: list[int] = []
    original_show = window.samples_banner.show_count
    monkeypatch.setattr(window.samples_banner, "show_count",
                        lambda count: (shown.append(count), original_show(count)))
    window.changes.conversations_changed.emit()
    qtbot.waitUntil(counting.is_set, timeout=30000)  # read 8, held
    apply_removal(library, plan_removal(library, sample_ids(library)))
    window.changes.conversations_changed.emit()
    qtbot.waitUntil(lambda: not window.conversations.row_loading.loading, timeout=30000)
    go_on.set()
    settle(qtbot, window)
    assert shown == [0]
    assert not window.samples_banner.isVisible()
    assert not window.remove_samples_action.isEnabled()


# --- 3. replace after an import ---------------------------------------------------------


def test_a_changed_conversation_is_replaced_once_asked_and_its_file_rebuilt(
    qtbot, library, dialogs, tmp_path
):
    original = next(p for p in ENRICHED if p.name == "enriched-1.json")
    import_paths(library, [original])
    cid = json.loads(original.read_text(encoding="utf-8"))["dataset_metadata"]["dataset_name"]
    add_conversations(library, "holder", [cid], create=True)
    document = json.loads(original.read_text(encoding="utf-8"))
    pair = next(p for p in document["training_pairs"] if p.get("target_response"))
    pair["target_response"] += " (Corrected.)"
    fixed = tmp_path / "fixed" / "enriched-1-fixed.json"
    fixed.parent.mkdir()
    fixed.write_text(json.dumps(document), encoding="utf-8")

    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append([fixed])
    dialogs.texts.append("")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.importer.replacer.replaced, timeout=30000) as blocker:
        window.import_files_action.trigger()
    kind, title, question = dialogs.asked[-1]
    assert (kind, title) == ("confirm_destructive", "Replace changed conversations")
    assert "  • Jennifer Martinez · batch 'enriched' · enriched-1-fixed.json" in question
    assert "Replacing rebuilds 'holder'." in question
    summary = window.importer.last_summary  # still open: it now says what was done
    assert summary is not None and "1 conversation replaced the stored version" in \
        summary.text()
    assert "different content" not in summary.text()
    assert summary.headline.text() == "0 conversations imported, 1 conversation replaced."
    result = blocker.args[0]
    assert result.report.replaced_ids == [cid] and result.rebuilt == ["holder"]
    info = get_training_file(library, "holder")
    assert "(Corrected.)" in stored_files(library, info.name).json_path.read_text(encoding="utf-8")
    assert "(Corrected.)" in stored_files(library, info.name).jsonl_path.read_text(encoding="utf-8")
    assert library.count() == 1


def test_keeping_the_stored_version_changes_nothing(qtbot, library, dialogs, tmp_path):
    original = LEGACY[0]
    import_paths(library, [original])
    document = json.loads(original.read_text(encoding="utf-8"))
    pair = next(p for p in document["training_pairs"] if p.get("target_response"))
    pair["target_response"] += " (Corrected.)"
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(document), encoding="utf-8")
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.texts.append("")
    dialogs.confirms.append(False)
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        window.importer.start([fixed])
    assert [v.verdict.value for v in blocker.args[0].verdicts] == ["changed"]
    assert dialogs.asked[-1][0] == "confirm_destructive"
    record = library.record(library.summaries()[0].conversation_id)
    assert "(Corrected.)" not in json.dumps(record)


# --- 5. folders become batches ----------------------------------------------------------


def test_a_dropped_parent_folder_gives_a_batch_per_subfolder(qtbot, library, dialogs,
                                                            tmp_path):
    parent = tmp_path / "december"
    for n, path in enumerate(LEGACY[:4]):
        folder = parent / f"batch-{n % 2 + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.texts.append("")  # no single batch for the drop
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        window.importer.start([parent])
    assert sorted(blocker.args[0].batches_created) == ["batch-01", "batch-02"]
    text = window.importer.last_summary.text()
    assert "\n\n2 batches created\n  batch-01\n  batch-02\n\n" in text
    assert {b.batch_id: b.conversations for b in library.batches()} == {"batch-01": 2,
                                                                         "batch-02": 2}


def test_a_batch_name_refused_at_import_is_asked_again_not_dropped(qtbot, library, dialogs,
                                                                   tmp_path):
    """A name too long was an "Import failed" box and the files had to be chosen again:
    it is asked again as typed, with the reason, as Move and Rename do."""
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.texts.extend(["x" * 300, "  december   set "])
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        assert window.importer.start([LEGACY[0]])
    assert [a for a in dialogs.asked if a[0] == "text"] == [
        ("text", "Import", ""), ("text", "Import", "x" * 300)]
    assert "at most 200 characters (this one has 300)" in dialogs.labels[-1]
    assert blocker.args[0].imported == 1
    assert [b.batch_id for b in library.batches()] == ["december set"]
    assert dialogs.warnings == []


def test_delete_in_the_table_asks_to_remove_the_checked_rows(qtbot, two_batches, dialogs,
                                                             tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids_of(two_batches, "legacy-batch")[:1])
    table = window.conversations.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=5000)
    dialogs.confirms.append(False)  # Cancel: nothing happens
    QTest.keyClick(table, Qt.Key.Key_Delete)
    assert dialogs.asked[-1][:2] == ("confirm_destructive", "Remove from library")
    assert "Remove the conversation you checked from" in dialogs.asked[-1][2]
    assert two_batches.count() == len(ENRICHED) + len(LEGACY)
