"""The one change signal: whoever changes the library announces it; every view follows,
and the table re-reads its rows on a worker thread, never on the GUI thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import open_window, settle
from recording_library import RecordingLibrary
from scripted_dialogs import ScriptedDialogs

from app.trainingfiles import add_conversations, rename_training_file
from ui.main import MainWindow

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def window(qtbot, recording: RecordingLibrary, tmp_path: Path) -> MainWindow:
    # not shown: the offscreen plugin warns when a window shows
    return open_window(qtbot, recording, ScriptedDialogs(), tmp_path, show=False)


def test_the_first_read_is_before_the_window_shows_and_later_ones_are_off_thread(
        qtbot, window, recording):
    assert recording.summary_threads == [threading.main_thread()]
    with qtbot.waitSignal(window.conversations.reloaded, timeout=30000):
        window.changes.conversations_changed.emit()
    assert len(recording.summary_threads) == 2
    assert recording.summary_threads[1] is not threading.main_thread()


def test_several_changes_at_once_make_one_read(qtbot, window, recording):
    window.changes.everything()
    window.changes.batches_changed.emit()
    settle(qtbot, window)
    assert len(recording.summary_threads) == 2  # the first read, then one for all four


def test_a_file_built_elsewhere_reaches_every_view(qtbot, window, recording):
    """A build announced once shows in the files page, the Create menu and the table."""
    ids = [row.conversation_id for row in recording.summaries()][:3]
    add_conversations(recording, "made-by-script", ids, create=True)
    window.changes.training_files_changed.emit()
    assert window.training_files.model.row_of("made-by-script") is not None
    labels = [a.text() for a in window.create_button.entries()]
    assert any(label.startswith("made-by-script  (") for label in labels)
    settle(qtbot, window)
    model = window.conversations.model
    holding = {model.row_at(r).conversation_id for r in range(model.rowCount())
               if model.row_at(r).training_files == ("made-by-script",)}
    assert holding == set(ids)


def test_checks_and_the_row_being_read_survive_a_reload(qtbot, window, recording):
    page = window.conversations
    model = page.model
    reading = model.row_at(4).conversation_id
    assert page.select_conversation(reading)
    model.set_checked_ids([model.row_at(r).conversation_id for r in (1, 2)])
    checked = model.checked_ids()
    window.changes.conversations_changed.emit()
    settle(qtbot, window)
    assert model.checked_ids() == checked
    assert page.reader_conversation_id() == reading
    assert page.reader.toPlainText()  # the reader still shows it


def test_a_rename_on_the_files_page_reaches_the_table(qtbot, window, recording):
    ids = [row.conversation_id for row in recording.summaries()][:2]
    add_conversations(recording, "old-name", ids, create=True)
    window.changes.training_files_changed.emit()
    settle(qtbot, window)
    rename_training_file(recording, "old-name", "new-name")
    window.changes.training_files_changed.emit()
    settle(qtbot, window)
    model = window.conversations.model
    names = {model.row_at(r).training_files for r in range(model.rowCount())}
    assert names == {(), ("new-name",)}


def test_a_batch_change_reads_only_the_batches(qtbot, window, recording):
    """A rename or a move re-reads one column, not every summary row, and the result is
    the same table a full read gives."""
    page = window.conversations
    ids = [row.conversation_id for row in recording.summaries()][:3]
    reads = len(recording.summary_threads)
    recording.move_conversations(ids, "moved")
    window.changes.batches_changed.emit()
    settle(qtbot, window)
    assert len(recording.summary_threads) == reads  # no full read
    assert page.model.index_.rows == recording.summaries()
    assert "moved" in [page.batch_filter.itemData(i) for i in range(page.batch_filter.count())]


def test_a_training_file_change_reads_only_the_membership(qtbot, window, recording):
    page = window.conversations
    ids = [row.conversation_id for row in recording.summaries()][:4]
    reads = len(recording.summary_threads)
    add_conversations(recording, "four", ids, create=True)
    window.changes.training_files_changed.emit()
    settle(qtbot, window)
    assert len(recording.summary_threads) == reads
    assert page.model.index_.rows == recording.summaries()


def test_changes_during_a_read_are_not_lost(qtbot, window, recording):
    """A batch move announced while a membership read runs is read right after it."""
    ids = [row.conversation_id for row in recording.summaries()][:2]
    add_conversations(recording, "two", ids, create=True)
    page = window.conversations
    window.changes.training_files_changed.emit()
    page.row_loading._reload_timer.stop()
    page.row_loading._start_reload()  # the read starts now, before the move below is announced
    assert page.loading and page.row_loading._loader is not None
    recording.move_conversations(ids, "late")
    window.changes.batches_changed.emit()
    settle(qtbot, window)
    assert window.conversations.model.index_.rows == recording.summaries()


def test_an_index_with_changes_shares_what_did_not_change(recording):
    from ui.row_index import RowIndex

    index = RowIndex(recording.summaries())
    assert index.with_changes(batches=recording.batch_assignments()) is index  # nothing new
    ids = [row.conversation_id for row in index.rows][:2]
    recording.move_conversations(ids, "elsewhere")
    moved = index.with_changes(batches=recording.batch_assignments())
    assert moved.rows == recording.summaries()
    assert moved.keys["arc"] is index.keys["arc"] and moved.files is index.files
    assert moved.keys["batch_id"].count("elsewhere") == 2
