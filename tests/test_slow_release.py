"""A large old table index is freed a part at a time between events (ui/slow_release.py),
nothing it held is freed before the window has swapped in the new one, and what the new
index shares with the old one is left alone."""

from __future__ import annotations

import gc
import weakref

import pytest

from app.library import Library
from ui import conversations_model
from ui.conversations_model import ConversationsModel
from ui.row_index import RowIndex
from ui.slow_release import CHUNK, SlowRelease

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


class Item:
    """Something a weak reference can follow."""


def test_items_live_until_freed_between_events_and_then_go(qtbot) -> None:
    release = SlowRelease()
    items = [Item() for _ in range(CHUNK * 3 + 5)]
    watched = [weakref.ref(items[0]), weakref.ref(items[-1])]
    holder = {n: item for n, item in enumerate(items)}
    release.release([items, holder.values()])
    del items, holder
    gc.collect()
    assert all(ref() is not None for ref in watched), "kept until the event loop frees them"
    assert release.pending == 2 * (CHUNK * 3 + 5)
    qtbot.waitUntil(lambda: release.pending == 0, timeout=5000)
    gc.collect()
    assert all(ref() is None for ref in watched)


def test_the_containers_given_are_not_changed(qtbot) -> None:
    """``release``: a worker may still read what it is given; only copies are emptied."""
    release = SlowRelease()
    rows = list(range(10_000))
    release.release([rows])
    qtbot.waitUntil(lambda: release.pending == 0, timeout=5000)
    assert rows == list(range(10_000))


def test_a_swapped_model_shows_the_new_rows_and_frees_the_old_ones_later(
        qtbot, filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversations_model, "RELEASE_SLOWLY_FROM", 1)
    model = ConversationsModel()
    first = RowIndex(filled_library.summaries())
    model.set_index(first)
    model.set_checked_ids([first.rows[0].conversation_id, first.rows[3].conversation_id])
    second = RowIndex(filled_library.summaries())
    assert second.rows == first.rows and second.rows[0] is not first.rows[0]
    watched = weakref.ref(first)
    del first
    model.set_index(second)
    gc.collect()
    assert watched() is None, "the old index itself goes at once; its rows are freed later"
    assert model._release.pending > 0
    assert [model.row_at(r) for r in range(model.rowCount())] == second.rows
    assert model.checked_ids() == [second.rows[0].conversation_id,
                                   second.rows[3].conversation_id]
    qtbot.waitUntil(lambda: model._release.pending == 0, timeout=5000)
    assert [model.row_at(r) for r in range(model.rowCount())] == second.rows


def test_taken_containers_are_emptied_in_place_between_events(qtbot) -> None:
    """``take`` keeps no copy: the lists and dicts themselves are emptied a part at a time."""
    release = SlowRelease()
    items = [Item() for _ in range(CHUNK * 2 + 3)]
    by_number = {n: Item() for n in range(CHUNK + 7)}
    watched = [weakref.ref(items[0]), weakref.ref(items[-1]), weakref.ref(by_number[0])]
    release.take([items, by_number, []])
    assert release.pending == len(items) + len(by_number), "nothing freed before the events"
    qtbot.waitUntil(lambda: release.pending == 0, timeout=5000)
    assert items == [] and by_number == {}
    gc.collect()
    assert all(ref() is None for ref in watched)


def test_a_swap_to_a_patched_index_frees_only_what_the_new_one_does_not_share(
        qtbot, filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversations_model, "RELEASE_SLOWLY_FROM", 1)
    model = ConversationsModel()
    first = RowIndex(filled_library.summaries())
    model.set_index(first)
    rows = list(first.rows)
    changed = {0: rows[0]._replace(batch_id="elsewhere")}
    second = first.patched(changed)
    assert second.keys["arc"] is first.keys["arc"] and second.position is first.position
    model.set_index(second)
    qtbot.waitUntil(lambda: model._release.pending == 0, timeout=5000)
    expected = [changed.get(n, row) for n, row in enumerate(rows)]
    assert second.rows == expected and first.rows == [], "the old rows list was emptied"
    fresh = RowIndex(expected)
    assert second.keys == fresh.keys and second.files == fresh.files
    assert second.position == fresh.position and second.by_id == fresh.by_id
    assert [model.row_at(r) for r in range(model.rowCount())] == expected
