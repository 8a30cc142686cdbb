"""Mark reviewed reads back only the rows it marked, in their place, in a large library: it
led to a read of every row (2,500 marked at 100,000 rows: 14.5 s and 425 → 843 MB at a load
of 8), and the status bar says what was marked. Real window, real library; the size from
which a library counts as large lowered so the fixtures' library does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import open_window, settle

from app.library import Library
from ui import row_reader
from ui.row_index import Filter
from ui.row_patch import IndexPatch

WAIT_MS = 30_000


@pytest.fixture
def window(qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    window.settings.setValue("review/name", "Ana Reviewer")
    return window


def _loaders(window: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kind of every read the table starts from now on."""
    loading = window.conversations.row_loading
    kinds: list[str] = []
    run = loading._run

    def noted(loader: Any, what: set[str]) -> None:
        kinds.append(type(loader).__name__)
        run(loader, what)

    monkeypatch.setattr(loading, "_run", noted)
    return kinds


@pytest.mark.parametrize("mark", [True, False])
def test_marking_reviewed_patches_the_rows_it_marked(
        qtbot, window, filled_library: Library, monkeypatch, mark: bool) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()]
    if not mark:  # taking marks away: they must be there first
        assert window.reviews.review(ids)
        settle(qtbot, window)
    kinds = _loaders(window, monkeypatch)
    marked = ids[1:3]

    assert window.reviews.review(marked, mark=mark)
    settle(qtbot, window)

    assert kinds and set(kinds) == {IndexPatch.__name__}, "no read of every row"
    model = window.conversations.model
    reviewed = {row.conversation_id for row in model.index_.rows if row.reviewed_by}
    expected = set(marked) if mark else set(ids) - set(marked)
    assert reviewed == expected
    model.set_filter(Filter(reviewed=True))
    assert {model.row_at(n).conversation_id for n in range(model.rowCount())} == expected
    said = window.statusBar().currentMessage()
    assert said.startswith("Marked 2 conversations reviewed by Ana Reviewer" if mark
                           else "Took the review mark from 2 conversations"), said
