"""A large library's rows are read in a child process and indexed on the GUI thread a part
at a time (ui/row_reader.py): the table ends up exactly as a read in this process makes
it, with its filter, sort order and counts, and the window's process never reads the rows
itself. The size from which a child reads is lowered so the real fixtures take that path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_window
from hostile_corpus import conversation, dump
from PySide6.QtCore import Qt
from recording_library import RecordingLibrary
from scripted_dialogs import ScriptedDialogs

from app.library import Library
from app.token_counts import ensure_counts
from app.trainingfiles import add_conversations
from ui import row_reader
from ui.conversations_model import Column, sort_key
from ui.main import MainWindow
from ui.row_index import FILE_FACET, Filter, RowIndex, row_parts, rows_of_part

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def test_an_index_built_in_parts_is_the_index_of_all_rows(filled_library: Library) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()][:4]
    add_conversations(filled_library, "some", ids, create=True)
    rows = filled_library.summaries()
    whole = RowIndex(rows)
    parts = RowIndex([])
    for start in range(0, len(rows), 4):
        parts.extend(rows[start : start + 4])
    assert parts.rows == whole.rows and parts.count == whole.count
    assert parts.keys == whole.keys and parts.files == whole.files
    assert parts.position == whole.position and parts.by_id == whole.by_id
    wanted = Filter(training_file=None, warnings=False)
    assert parts.select(wanted) == whole.select(wanted)
    assert parts.counts(wanted) == whole.counts(wanted)
    assert parts.choosable() == whole.choosable() and whole.choosable()[FILE_FACET] == ["some"]
    key = sort_key(Column.CLIENT)
    stops = [parts.extend_sort_keys(Column.CLIENT, key, stop) for stop in (5, 10, 100)]
    assert stops == [False, False, True]
    assert parts.sort_keys(Column.CLIENT, key) == whole.sort_keys(Column.CLIENT, key)


def test_the_parts_a_child_sends_hold_every_row(filled_library: Library,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ui.row_index.PART_ROWS", 4)
    parts = list(row_parts(filled_library))
    assert len(parts) == -(-filled_library.count() // 4)
    assert [row for part in parts for row in rows_of_part(part)] == filled_library.summaries()


@pytest.fixture
def recording(recording: RecordingLibrary) -> RecordingLibrary:
    # Counted now: a count filling in behind the window would change rows between the
    # table's read and the read the tests compare it with.
    ensure_counts(recording)
    return recording


@pytest.fixture
def window(qtbot, recording: RecordingLibrary, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)
    made = open_window(qtbot, recording, ScriptedDialogs(), tmp_path, show=False)
    # As in a large library, the first read too runs in a child.
    qtbot.waitUntil(lambda: not made.conversations.loading, timeout=60000)
    assert made.conversations.model.total == recording.count()
    return made


def shown(window: MainWindow) -> list[tuple[object, ...]]:
    model = window.conversations.model
    return [tuple(model.row_at(r)) for r in range(model.rowCount())]


def test_a_reload_in_a_child_gives_the_table_a_read_here_gives(
        qtbot, window: MainWindow, recording: RecordingLibrary, tmp_path: Path) -> None:
    page = window.conversations
    batch = recording.summaries()[0].batch_id
    page.set_batch_filter(batch)
    page.table.sortByColumn(Column.CLIENT, Qt.SortOrder.DescendingOrder)
    before, counts = shown(window), page.model.facet_counts()
    ids = [row.conversation_id for row in recording.summaries()][:3]
    add_conversations(recording, "picked", ids, create=True)
    reads = len(recording.summary_threads)
    # every row is read (a training-file change alone is patched: tests/test_table_patches)
    with qtbot.waitSignal(page.reloaded, timeout=60000):
        window.changes.conversations_changed.emit()
    assert len(recording.summary_threads) == reads, "this process did not read the rows"
    assert page.model.current_filter.batch_id == batch
    here = RowIndex(recording.summaries())
    rows, _mask = here.select(page.model.current_filter)
    key = here.sort_keys(Column.CLIENT, sort_key(Column.CLIENT))
    expected = [tuple(here.rows[n]) for n in sorted(rows, key=key.__getitem__, reverse=True)]
    assert shown(window) == expected
    assert [row[0] for row in expected] == [row[0] for row in before]  # same rows, same order
    assert page.model.facet_counts() == here.counts(page.model.current_filter)
    assert page.model.facet_counts()[FILE_FACET].values != counts[FILE_FACET].values
    assert page.model.facet_counts()[FILE_FACET].values.get("picked", 0) == sum(
        1 for row in expected if "picked" in row[here.rows[0]._fields.index("training_files")])


def test_an_import_through_the_window_reaches_the_table_from_a_child(
        qtbot, window: MainWindow, recording: RecordingLibrary, tmp_path: Path) -> None:
    legacy = tmp_path / "new-batch"
    legacy.mkdir()
    for index in range(3):
        (legacy / f"n{index}.json").write_bytes(dump(conversation(f"reader_{index}")))
    count = recording.count()
    reads = len(recording.summary_threads)
    with qtbot.waitSignal(window.importer.finished, timeout=60000) as blocker:
        window.importer.start([legacy], ask_batch=False)
    assert blocker.args[0].imported == 3, blocker.args[0].summary()
    qtbot.waitUntil(lambda: not window.conversations.loading, timeout=60000)
    assert len(recording.summary_threads) == reads, "this process did not read the rows"
    assert window.conversations.model.total == recording.count() > count
    assert {row[0] for row in shown(window)} == {row.pk for row in recording.summaries()}


def test_a_library_below_the_large_size_is_read_again_in_a_child_from_a_few_thousand(
        qtbot, recording: RecordingLibrary, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a large library (its token counts are read as they come), but one of 10,000
    conversations: after Remove batch its rows are read again in a child, not in a thread
    of the window's process, whose hold on the interpreter lock froze the window's paint."""
    assert recording.count() < row_reader.READ_IN_CHILD_FROM
    monkeypatch.setattr(row_reader, "THREAD_READS_BELOW", recording.count())
    made = open_window(qtbot, recording, ScriptedDialogs(), tmp_path, show=False)
    qtbot.waitUntil(lambda: not made.conversations.loading, timeout=60000)
    page = made.conversations
    reads = len(recording.summary_threads)
    with qtbot.waitSignal(page.reloaded, timeout=60000):
        made.changes.conversations_changed.emit()
    assert len(recording.summary_threads) == reads, "this process did not read the rows"
    assert {row[0] for row in shown(made)} == {row.pk for row in recording.summaries()}
