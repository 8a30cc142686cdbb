"""The Conversations table in a large library without re-reading or re-walking every row:
checked ids from the checks alone, and (below) rows patched in place after a batch rename, a
move or a training-file change. Each path must give exactly what a full pass gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import open_window
from hostile_corpus import conversation, dump
from PySide6.QtCore import Qt, QThreadPool
from recording_library import RecordingLibrary
from scripted_dialogs import ScriptedDialogs
from sqlalchemy import update

from app.importer import import_paths
from app.library import ConversationRow, Library
from app.models import Conversation
from app.token_counts import ensure_counts
from app.trainingfiles import add_conversations, remove_conversations
from ui import row_reader
from ui.conversations_model import Column, ConversationsModel, Filter, sort_key
from ui.main import MainWindow
from ui.row_index import FileFilter, FileRule, RowIndex
from ui.row_patch import BatchRenamed, IndexPatch
from ui.sort_rule import blanks_last

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def cloned_rows(rows: list[ConversationRow], n: int) -> list[ConversationRow]:
    """``n`` rows made from the real ones, in 5 batches, with ties in every column."""
    return [rows[k % len(rows)]._replace(pk=k + 1, conversation_id=f"clone-{k:04d}",
                                         batch_id=f"batch-{k * 7 % 5}")
            for k in range(n)]


def scanned_checked_ids(model: ConversationsModel) -> list[str]:
    """What ``checked_ids`` means, the long way: the checked rows in the view order of the
    table with the same sort and no filter (the filter of the moment never reorders
    them). The model's filter is put back."""
    wanted = model.current_filter
    model.set_filter(Filter())
    checked = set(model._checked)
    ids = [model.row_at(r).conversation_id for r in range(model.rowCount())
           if model.row_at(r).pk in checked]
    model.set_filter(wanted)
    return ids


@pytest.fixture
def big_model(qtbot, filled_library: Library) -> ConversationsModel:
    model = ConversationsModel()
    model.set_index(RowIndex(cloned_rows(filled_library.summaries(), 1000)))
    return model


@pytest.mark.parametrize("column", [-1, Column.BATCH, Column.CLIENT, Column.QUALITY,
                                    Column.TOKENS, Column.FILES])
@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
@pytest.mark.parametrize("wanted", [Filter(), Filter(batch_id="batch-2"),
                                    Filter(text="clone-01")])
def test_checked_ids_follow_the_sort_whatever_the_filter(big_model, column, order,
                                                              wanted) -> None:
    model = big_model
    model.set_filter(wanted)
    model.sort(column, order)
    picked = random.Random(column * 10 + int(order == Qt.SortOrder.DescendingOrder))
    ids = [row.conversation_id for row in picked.sample(model.index_.rows, 12)]
    model.set_checked_ids(ids)
    assert model.checked_count == 12
    assert model.checked_ids() == scanned_checked_ids(model)
    assert sorted(model.checked_ids()) == sorted(ids)


# --- patches instead of re-reads ---------------------------------------------------------


@pytest.fixture
def recording(recording: RecordingLibrary, tmp_path: Path) -> RecordingLibrary:
    more = tmp_path / "batch-other"
    more.mkdir()
    for index in range(6):
        (more / f"n{index}.json").write_bytes(dump(conversation(f"other_{index}")))
    import_paths(recording, [more])
    # counted already, as in a library opened before: no background count re-reads the rows
    ensure_counts(recording, [row.conversation_id for row in recording.summaries()])
    return recording


@pytest.fixture
def child_reads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every full re-read the page starts (in a child, as in a large library)."""
    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)
    started: list[object] = []
    real = row_reader.ChildRowRead

    class Counted(real):  # type: ignore[misc, valid-type]
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(row_reader, "ChildRowRead", Counted)
    return started


@pytest.fixture
def window(qtbot, recording, child_reads, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setattr("ui.row_index.ORDER_PART", 3)  # sorted and merged in many steps
    monkeypatch.setattr("ui.row_index.COUNT_PART", 4)
    monkeypatch.setattr("ui.row_patch.PART", 2)  # rows compared in parts
    made = open_window(qtbot, recording, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, made)  # the first read, in a child as in a large library
    assert len(child_reads) == 1
    child_reads.clear()
    return made


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.conversations.loading
                    and not window.token_counts.running
                    and QThreadPool.globalInstance().activeThreadCount() == 0, timeout=60000)


def assert_as_read(page, library: Library) -> None:
    """The table holds what a full read gives: rows, shown rows in view order, counts and
    chooser values."""
    model = page.model
    fresh = RowIndex(library.summaries())
    assert model.index_.rows == fresh.rows
    shown, _mask = fresh.select(model.current_filter)
    column, order = model._sort
    if column > Column.CHECK:
        keys = fresh.sort_keys(column, sort_key(Column(column)))
        descending = order == Qt.SortOrder.DescendingOrder
        shown = blanks_last(sorted(shown, key=keys.__getitem__, reverse=descending), keys,
                            descending)
    assert [model.row_at(r) for r in range(model.rowCount())] == [fresh.rows[n] for n in shown]
    assert model.facet_counts() == fresh.counts(model.current_filter)
    assert model.index_.choosable() == fresh.choosable()
    counts = fresh.counts(model.current_filter)
    for facet in ("batch_id", "arc", "topic", "archetype"):
        chooser = page.choosers[facet]
        offered = {chooser.itemData(i) for i in range(1, chooser.count())}
        expected = set(fresh.choosable()[facet])
        if not counts[facet].values.get("") and chooser.currentData() != "":
            expected.discard("")  # "not given" is offered only while it has rows to show
        assert offered == expected


def test_a_rename_patches_the_batch_keeps_checks_sort_and_filter(qtbot, window, recording,
                                                                 child_reads) -> None:
    page = window.conversations
    page.table.sortByColumn(Column.CLIENT, Qt.SortOrder.DescendingOrder)
    page.set_batch_filter("batch-other")
    page.model.update_filter(text="other")  # a text mask, patched too
    checked = [page.model.row_at(r).conversation_id for r in (0, 2)]
    page.model.set_checked_ids(checked)
    window.dialogs.texts.append("renamed-other")
    with qtbot.waitSignal(window.batches.status, timeout=60000):  # written in a child
        assert window.batches.rename_current()
    settle(qtbot, window)
    assert child_reads == [], "no row was re-read"
    assert page.batch_filter.value() == "renamed-other"  # the filter follows the batch
    assert page.model.rowCount() == 6
    assert {page.model.row_at(r).batch_id for r in range(6)} == {"renamed-other"}
    assert page.model.checked_ids() == checked
    assert_as_read(page, recording)


def test_a_move_patches_the_moved_rows_only(qtbot, window, recording, child_reads) -> None:
    page = window.conversations
    page.table.sortByColumn(Column.BATCH, Qt.SortOrder.AscendingOrder)
    moved = [row.conversation_id for row in recording.summaries()][3:6]
    page.model.set_checked_ids(moved)
    window.dialogs.texts.append("  moved   here ")
    with qtbot.waitSignal(window.batches.status, timeout=60000):
        assert window.batches.move_checked()
    settle(qtbot, window)
    assert child_reads == []
    assert {row.batch_id for row in page.model.index_.rows
            if row.conversation_id in moved} == {"moved here"}
    assert page.model.checked_ids() == [page.model.row_at(r).conversation_id
                                        for r in range(page.model.rowCount())
                                        if page.model.row_at(r).conversation_id in moved]
    assert_as_read(page, recording)


def test_a_training_file_change_patches_its_members(qtbot, window, recording,
                                                   child_reads) -> None:
    page = window.conversations
    page.table.sortByColumn(Column.FILES, Qt.SortOrder.DescendingOrder)
    ids = [row.conversation_id for row in recording.summaries()]
    add_conversations(recording, "first", ids[:4], create=True)
    window.changes.training_files_changed.emit()
    settle(qtbot, window)
    page.set_file_filter(FileFilter(FileRule.IN, "first"))
    assert page.model.rowCount() == 4
    add_conversations(recording, "second", ids[2:7], create=True)
    remove_conversations(recording, "first", ids[:1])
    window.changes.training_files_changed.emit()
    settle(qtbot, window)
    assert child_reads == []
    assert page.model.rowCount() == 3
    assert_as_read(page, recording)


def test_new_token_counts_patch_the_counts_only(qtbot, window, recording, child_reads,
                                               monkeypatch) -> None:
    """Counts forgotten (as a tokenizer change does) and counted again in the background
    reach the table as patches of those rows, not as a re-read of every row."""
    monkeypatch.setattr(row_reader, "TOKENS_PAUSE_MS", 0)
    page = window.conversations
    page.table.sortByColumn(Column.TOKENS, Qt.SortOrder.DescendingOrder)
    forgotten = [row.pk for row in recording.summaries()][2:5]
    assert all(row.token_count for row in page.model.index_.rows)
    with recording.engine.begin() as conn:
        conn.execute(update(Conversation).where(Conversation.pk.in_(forgotten))
                     .values(token_count=0))
    window.changes.tokens_changed.emit()
    settle(qtbot, window)
    assert [row.pk for row in page.model.index_.rows if not row.token_count] == forgotten
    assert_as_read(page, recording)
    window.token_counts.start()  # counts them again in a child, then says tokens_changed
    qtbot.waitUntil(lambda: window.token_counts.running, timeout=10000)
    settle(qtbot, window)
    assert all(row.token_count for row in page.model.index_.rows)
    assert_as_read(page, recording)
    assert child_reads == [], "no row was re-read"


def test_a_large_library_opens_with_the_table_reading_in_the_background(
        qtbot, recording, child_reads, settings) -> None:
    """The first read of a large library runs in a child; meanwhile the table says it is
    reading, and the filter and sort the window restores apply to the rows it shows."""
    settings.setValue("conversations/batch", "batch-other")
    recording.summary_threads.clear()
    made = MainWindow(recording, ScriptedDialogs(), settings)
    qtbot.addWidget(made)
    page = made.conversations
    assert recording.summary_threads == [], "nothing read on this thread"
    assert page.opening and page.loading and page.model.total == 0
    assert page.table_stack.currentWidget() is page.reading_panel
    assert made.conversations_stack.currentWidget() is page, "not the empty library's welcome"
    assert page.reading_label.text() == f"Reading {recording.count():,} conversations…"
    # Busy until the child says how far it is (a bar at 0 of 30,000 for seconds looked stuck)
    assert page.reading_bar.maximum() == 0
    page.table.sortByColumn(Column.CLIENT, Qt.SortOrder.DescendingOrder)
    settle(qtbot, made)
    assert len(child_reads) == 1
    assert not page.opening and page.table_stack.currentWidget() is page.table
    assert page.batch_filter.value() == "batch-other"
    assert page.model.rowCount() == 6
    assert page.reading_bar.value() == page.reading_bar.maximum() == recording.count()
    assert_as_read(page, recording)


def test_a_batch_remembered_but_gone_stops_filtering_after_the_first_read(
        qtbot, recording, child_reads, settings) -> None:
    settings.setValue("conversations/batch", "no-such-batch")
    made = MainWindow(recording, ScriptedDialogs(), settings)
    qtbot.addWidget(made)
    settle(qtbot, made)
    page = made.conversations
    assert page.batch_filter.value() is None
    assert page.model.rowCount() == recording.count()
    assert page.batch_filter.findData("no-such-batch") < 0


def test_an_unannounced_batch_change_is_read(qtbot, window, recording, child_reads) -> None:
    """batches_changed without saying what changed (a script, a removal) reads every row."""
    ids = [row.conversation_id for row in recording.summaries()][:2]
    recording.move_conversations(ids, "elsewhere")
    window.changes.batches_changed.emit()
    settle(qtbot, window)
    assert len(child_reads) == 1
    assert_as_read(window.conversations, recording)


def test_a_patch_during_a_read_waits_for_it_and_still_applies(qtbot, window, recording,
                                                             child_reads) -> None:
    page = window.conversations
    window.changes.conversations_changed.emit()
    page.row_loading._reload_timer.stop()
    page.row_loading._start_reload()  # a full read runs now
    assert len(child_reads) == 1
    window.dialogs.texts.append("during")
    page.set_batch_filter("batch-other")
    with qtbot.waitSignal(window.batches.status, timeout=60000):
        assert window.batches.rename_current()
    settle(qtbot, window)
    assert "during" in page.model.index_.choosable()["batch_id"]
    assert_as_read(page, recording)


def test_a_patched_index_is_the_index_of_the_patched_rows(filled_library: Library,
                                                          monkeypatch) -> None:
    """Masks, sort keys and search texts are redone at the changed positions only, and
    come out as an index built from scratch makes them; counts in parts add up."""
    monkeypatch.setattr("ui.row_index.COUNT_PART", 7)
    rows = cloned_rows(filled_library.summaries(), 60)
    index = RowIndex(rows)
    wanted = Filter(batch_id="batch-2", text="batch-2", training_file=FileFilter(
        FileRule.NOT_IN, "x"))
    index.select(wanted)
    index.sort_keys(Column.BATCH, sort_key(Column.BATCH))
    index.sort_keys(Column.FILES, sort_key(Column.FILES))
    changed = {n: rows[n]._replace(batch_id="batch-2", training_files=("x",))
               for n in (0, 5, 17, 59)}
    patched = index.patched(changed)
    fresh = RowIndex([changed.get(n, row) for n, row in enumerate(rows)])
    assert patched.rows == fresh.rows
    assert patched.keys == fresh.keys and patched.files == fresh.files
    assert patched.keys["arc"] is index.keys["arc"], "what did not change is shared"
    assert set(patched._masks) == set(index._masks), "every mask kept, redone in place"
    assert patched.masks(wanted) == fresh.masks(wanted)
    assert patched.select(wanted) == fresh.select(wanted)
    for column in (Column.BATCH, Column.FILES):
        assert patched._sort_keys[column] == fresh.sort_keys(column, sort_key(column))
    assert patched.haystacks() == fresh.haystacks()
    assert patched.counts(wanted) == fresh.counts(wanted) == RowIndex(fresh.rows).counts(wanted)
    assert patched.choosable() == fresh.choosable()
    assert index.rows == rows, "the old index is left as it was"
    with pytest.raises(ValueError):
        index.patched({1: rows[2]})


def test_a_patch_in_steps_gives_the_patch_made_at_once(filled_library: Library) -> None:
    """Between the steps of a patch the window goes on using the old index (a filter typed,
    a column sorted fill its caches): the patch neither trips over that nor changes."""
    rows = cloned_rows(filled_library.summaries(), 60)
    index = RowIndex(rows)
    wanted = Filter(batch_id="batch-2", text="clone-00")
    index.select(wanted)
    index.sort_keys(Column.BATCH, sort_key(Column.BATCH))
    changed = {n: rows[n]._replace(batch_id="batch-2", training_files=("x",))
               for n in (0, 5, 17, 59)}
    made: list[RowIndex] = []
    steps = 0
    for _ in index.patch_steps(changed, made):
        steps += 1
        index.select(Filter(archetype=rows[steps % 60].persona_archetype or "",
                            text=f"clone-{steps:02d}"))
        index.sort_keys(Column.QUALITY, sort_key(Column.QUALITY))
    assert steps > 10, "one list a step"
    fresh = RowIndex([changed.get(n, row) for n, row in enumerate(rows)])
    (patched,) = made
    assert patched.rows == fresh.rows
    assert patched.keys == fresh.keys and patched.files == fresh.files
    assert patched.select(wanted) == fresh.select(wanted)
    for column in patched._sort_keys:
        assert patched._sort_keys[column] == fresh.sort_keys(column, sort_key(column))
    assert patched.haystacks() == fresh.haystacks()
    assert patched.counts(wanted) == fresh.counts(wanted)


@pytest.mark.parametrize("column", [Column.BATCH, Column.CLIENT, Column.QUALITY])
@pytest.mark.parametrize("descending", [False, True])
def test_sorting_in_steps_gives_the_order_of_one_sort(filled_library: Library, monkeypatch,
                                                      column, descending) -> None:
    monkeypatch.setattr("ui.row_index.ORDER_PART", 7)
    index = RowIndex(cloned_rows(filled_library.summaries(), 100))
    wanted = Filter(text="clone-0")
    shown, _mask = index.select(wanted)
    keys = index.sort_keys(column, sort_key(column))
    steps = sum(1 for _ in index.order_steps(wanted, shown, column, descending))
    assert steps > 10
    assert index.take_order(Filter(), column, descending) is None  # another filter
    for _ in index.order_steps(wanted, shown, column, descending):
        pass
    ordered = index.take_order(wanted, column, descending)
    assert ordered == sorted(shown, key=keys.__getitem__, reverse=descending)
    assert len(set(map(keys.__getitem__, ordered))) < len(ordered), "ties were ordered too"
    assert index.take_order(wanted, column, descending) is None, "handed over once"


def test_a_rename_refused_in_the_child_is_explained_and_changes_nothing(
        qtbot, window, recording, child_reads) -> None:
    page = window.conversations
    page.set_batch_filter("batch-other")
    recording.rename_batch("batch-other", "renamed-elsewhere")  # behind the window's back
    window.dialogs.texts.append("mine")
    with qtbot.waitSignal(window.batches.failed, timeout=60000):
        assert window.batches.rename_current()
    assert window.dialogs.warnings[-1] == ("Rename batch", "there is no batch 'batch-other'")
    assert {b.batch_id for b in recording.batches()} == {"batch-2025-12", "renamed-elsewhere"}


@pytest.mark.parametrize("files", [False, True])
def test_a_cancelled_patch_ends_without_showing_anything(qtbot, recording, files) -> None:
    """The window moving to another library stops a patch at once or after its read."""
    index = RowIndex(recording.summaries())
    patch = IndexPatch(recording, index, [BatchRenamed("batch-other", "x")], files, Filter(),
                       -1, None)
    finished: list[object] = []
    patch.finished.connect(finished.append)
    with qtbot.waitSignal(patch.done, timeout=30000):
        patch.start()
        patch.cancel()
    qtbot.wait(50)
    assert finished == []


# --- an import's rows appended instead of a re-read ------------------------------------


def write_conversations(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.json").write_bytes(dump(conversation(name)))
    return folder


def test_an_appended_index_is_the_index_of_all_the_rows(filled_library: Library,
                                                        monkeypatch) -> None:
    """Masks, sort keys and search texts get the new rows' values only, and come out as an
    index built from scratch makes them."""
    monkeypatch.setattr("ui.row_index.COUNT_PART", 7)
    rows = cloned_rows(filled_library.summaries(), 80)
    index = RowIndex(rows[:60])
    wanted = Filter(batch_id="batch-2", text="clone-00", training_file=FileFilter(
        FileRule.IN_NONE))
    index.select(wanted)
    index.sort_keys(Column.CLIENT, sort_key(Column.CLIENT))
    index.sort_keys(Column.QUALITY, sort_key(Column.QUALITY))
    new = [row._replace(training_files=("x",) if row.pk % 3 else ()) for row in rows[60:]]
    appended = index.appended(new)
    fresh = RowIndex(rows[:60] + new)
    assert appended.rows == fresh.rows and appended.count == 80
    assert appended.keys == fresh.keys and appended.files == fresh.files
    assert appended.position == fresh.position and appended.by_id == fresh.by_id
    assert set(appended._masks) == set(index._masks), "every mask kept, extended"
    assert appended.masks(wanted) == fresh.masks(wanted)
    assert appended.select(wanted) == fresh.select(wanted)
    for column in (Column.CLIENT, Column.QUALITY):
        assert appended._sort_keys[column] == fresh.sort_keys(column, sort_key(column))
    assert appended.haystacks() == fresh.haystacks()
    assert appended.counts(wanted) == fresh.counts(wanted)
    assert appended.choosable() == fresh.choosable()
    assert index.rows == rows[:60] and len(index.keys["arc"]) == 60, "the old index stays"
    with pytest.raises(ValueError):
        index.appended([rows[3]])  # a pk the index has


def test_an_import_appends_its_rows_without_a_read(qtbot, window, recording, child_reads,
                                                   tmp_path: Path, monkeypatch) -> None:
    """The table learns an import's rows from the ids it stored: no child read, no read of
    every summary row, and the table equals a full read under its sort and filter."""
    monkeypatch.setattr(row_reader, "TOKENS_PAUSE_MS", 0)  # the new rows' counts follow
    page = window.conversations
    page.table.sortByColumn(Column.CLIENT, Qt.SortOrder.DescendingOrder)
    page.search.setText("other")  # a text mask the new rows extend
    qtbot.waitUntil(lambda: page.model.current_filter.text == "other", timeout=10000)
    shown_before = page.model.rowCount()
    checked = [page.model.row_at(0).conversation_id]
    page.model.set_checked_ids(checked)
    folder = write_conversations(tmp_path / "incoming", [f"other_new_{n}" for n in range(5)])
    recording.summary_threads.clear()
    window.dialogs.texts.append("fresh batch")
    with qtbot.waitSignal(window.importer.finished, timeout=60000):
        assert window.importer.start([folder])
    settle(qtbot, window)
    assert child_reads == [], "no child read"
    assert recording.summary_threads == [], "no read of every summary row"
    assert page.model.rowCount() == shown_before + 5
    assert "fresh batch" in page.model.index_.choosable()["batch_id"]
    assert page.model.checked_ids() == checked
    assert_as_read(page, recording)


def test_replaced_and_new_rows_patch_the_index(qtbot, recording, tmp_path: Path) -> None:
    """Rows an import replaced take their old places; new ones come at the end."""
    base = RowIndex(recording.summaries())
    wanted = Filter(text="other")
    base.select(wanted)
    edited = conversation("other_0")
    pair = next(p for p in edited["training_pairs"] if p.get("target_response"))
    pair["target_response"] += " (Corrected.)"
    folder = tmp_path / "edited"
    folder.mkdir()
    (folder / "other_0.json").write_bytes(dump(edited))
    replaced = import_paths(recording, [folder], replace=True)
    added = import_paths(recording, [write_conversations(tmp_path / "more", ["other_late"])])
    stored = replaced.stored_ids + added.stored_ids
    assert len(replaced.replaced_ids) == 1 and added.imported == 1
    recording.summary_threads.clear()
    patch = IndexPatch(recording, base, [], False, wanted, Column.BATCH,
                       sort_key(Column.BATCH), stored=stored)
    with qtbot.waitSignal(patch.finished, timeout=30000) as blocker:
        patch.start()
    index = blocker.args[0]
    assert recording.summary_threads == []
    fresh = RowIndex(recording.summaries())
    assert index.rows == fresh.rows
    assert index.select(wanted) == fresh.select(wanted)
    assert index.counts(wanted) == fresh.counts(wanted)
    assert index.rows[:-1] != base.rows, "the replaced row changed in place"


def test_checked_ones_the_filter_hides_keep_their_place_in_the_sort(big_model) -> None:
    """Audit S4: batch-0 checked, then batch-2 shown and checked, sorted by Batch ID: the
    file got batch-2 before batch-0 (shown ones first, then hidden ones)."""
    model = big_model
    model.sort(Column.BATCH, Qt.SortOrder.AscendingOrder)
    rows = model.index_.rows
    first = [row.conversation_id for row in rows if row.batch_id == "batch-0"][:3]
    later = [row.conversation_id for row in rows if row.batch_id == "batch-2"][:3]
    model.set_filter(Filter(batch_id="batch-0"))
    model.set_checked_ids(first)
    model.set_filter(Filter(batch_id="batch-2"))
    model.set_checked_ids(first + later)
    assert model.checked_ids() == first + later
    model.sort(Column.BATCH, Qt.SortOrder.DescendingOrder)
    assert model.checked_ids() == later + first
