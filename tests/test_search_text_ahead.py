"""The table's search text is made ahead, in steps while nothing is read, so the first key
typed in the search does not make it for every row at once (0.5-1.8 s at 100,000 rows). A
search typed before it is done finds what it would have found. Real window, real library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import open_window, settle

from app.library import Library
from ui import row_index
from ui.row_index import haystack

WAIT_MS = 30_000


def _ids_shown(window: Any) -> set[str]:
    model = window.conversations.model
    return {model.row_at(n).conversation_id for n in range(model.rowCount())}


def test_the_search_text_is_made_before_anything_is_searched(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    index = window.conversations.model.index_
    qtbot.waitUntil(lambda: index._haystacks is not None, timeout=WAIT_MS)
    assert index._haystacks == [haystack(row) for row in index.rows]


def test_a_search_typed_while_it_is_made_finds_the_same(
        qtbot, filled_library: Library, dialogs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_index, "HAYSTACK_PART", 1)  # a step a row
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    ahead = window.conversations.row_loading.search_text
    model = window.conversations.model
    wanted = {row.conversation_id for row in model.index_.rows if "david" in haystack(row)}
    assert wanted and len(wanted) < model.total
    window.conversations.filter_bar.search.setText("David")
    window.conversations.filter_bar.apply_search_now()
    assert _ids_shown(window) == wanted
    qtbot.waitUntil(lambda: not ahead.making, timeout=WAIT_MS)
    assert model.index_._haystacks == [haystack(row) for row in model.index_.rows]
    assert _ids_shown(window) == wanted


def test_it_is_made_while_token_counts_wait_to_be_read(
        qtbot, filled_library: Library, dialogs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In a large library new counts wait seconds before they are read together; the window
    is idle meanwhile, and a background count keeps such a wait going most of the time:
    the search text is made then too (it waited for no read at all, and was not made)."""
    from ui import row_reader
    from ui.row_loading import TOKENS

    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)  # the fixtures are "large"
    monkeypatch.setattr(row_reader, "TOKENS_PAUSE_MS", 600_000)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    loading = window.conversations.row_loading
    index = window.conversations.model.index_
    index._haystacks = None  # as a read swapped in just now leaves it
    loading.request_reload(TOKENS)
    loading.search_text.follow()
    assert loading.loading  # the counts wait to be read
    qtbot.waitUntil(lambda: index._haystacks is not None, timeout=WAIT_MS)
    assert loading.loading


def test_each_step_makes_the_search_text_of_a_few_hundred_rows(
        filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step is the least the window's thread gives it between two events: 2,000 rows a
    step held the window 30-56 ms after each re-read of a 10,000-row library."""
    seeds = filled_library.summaries()
    rows = [seed._replace(conversation_id=f"{seed.conversation_id}-{n}")
            for n in range(200) for seed in seeds]
    made: list[str] = []
    monkeypatch.setattr(row_index, "haystack", lambda row: made.append(row.conversation_id)
                        or haystack(row))
    index = row_index.RowIndex(rows)
    per_step = []
    for _ in index.haystack_steps():
        per_step.append(len(made))
        made.clear()
    assert len(rows) >= 2_500
    assert sum(per_step) == len(rows) and max(per_step) <= 500
    assert index.haystacks() == [haystack(row) for row in rows]
