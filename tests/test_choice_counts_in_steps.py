"""In a large library the filter choosers' counts follow a filter change a part at a time
between events, after the table shows its rows (counted in one go they held the window 0.1 s
at 100,000 rows on an idle machine, up to 0.84 s on a busy one); a change made while they
are counted has its own counts shown, never the earlier one's. Real window, real library;
the size from which counts go in steps lowered so the fixtures' library is "large"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import open_window, settle

from app.library import Library
from ui import choice_counts, row_index

WAIT_MS = 30_000


@pytest.fixture
def window(qtbot: Any, two_batches: Library, dialogs: Any, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(choice_counts, "COUNT_IN_STEPS_FROM", 0)
    monkeypatch.setattr(row_index, "COUNT_PART", 1)  # a step a row: many steps
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not window.conversations.filter_bar.choice_counts.counting,
                    timeout=WAIT_MS)
    return window


def _all_arcs(window: Any) -> str:
    return window.conversations.filter_bar.arc_filter.itemText(0)


def _in_batch(library: Library, batch: str) -> int:
    return sum(1 for row in library.summaries() if row.batch_id == batch)


def test_the_table_changes_first_and_the_counts_follow(qtbot, window, two_batches) -> None:
    bar = window.conversations.filter_bar
    total = two_batches.count()
    enriched = _in_batch(two_batches, "enriched-batch")
    assert _all_arcs(window) == f"All arcs ({total:,})"

    bar.batch_filter.select_value("enriched-batch")

    assert window.conversations.model.rowCount() == enriched  # the table at once
    assert bar.choice_counts.counting
    assert _all_arcs(window) == f"All arcs ({total:,})"  # not counted yet
    qtbot.waitUntil(lambda: not bar.choice_counts.counting, timeout=WAIT_MS)
    assert _all_arcs(window) == f"All arcs ({enriched:,})"


def test_a_change_while_counting_shows_its_own_counts(qtbot, window, two_batches) -> None:
    bar = window.conversations.filter_bar
    shown: list[int] = []  # the arc chooser's total at each showing of counts
    show = bar.choice_counts._show
    bar.choice_counts._show = lambda counts: (shown.append(counts["arc"].total), show(counts))
    legacy = _in_batch(two_batches, "legacy-batch")

    bar.batch_filter.select_value("enriched-batch")
    assert bar.choice_counts.counting
    bar.batch_filter.select_value("legacy-batch")
    qtbot.waitUntil(lambda: not bar.choice_counts.counting, timeout=WAIT_MS)

    assert window.conversations.model.rowCount() == legacy
    assert _all_arcs(window) == f"All arcs ({legacy:,})"
    assert shown == [legacy], "the first change's counts were never shown"
