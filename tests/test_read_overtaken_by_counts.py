"""A read of every row that new token counts overtake is shown, and the counts patched onto
it next: the read was dropped and every row read again, and a background count announcing
counts every few seconds kept a large library's table re-reading (and stuttering) for as
long as it ran. Real window, real library, a read held at a gate while counts arrive."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from test_token_counts_in_place import opened

from app.library import Library
from ui.row_loading import FILES, ROWS, TOKENS

WAIT_MS = 30_000


@pytest.fixture
def window(qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path) -> Any:
    return opened(qtbot, filled_library, dialogs, tmp_path)  # counted, settled


def held_reads(library: Library, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str],
                                                                           threading.Event]:
    """Every read of every row (``summaries``) and of the counts (``token_facts``) noted;
    the first read of every row held until the returned gate opens."""
    gate = threading.Event()
    reads: list[str] = []
    summaries, token_facts = library.summaries, library.token_facts

    def summaries_held(*args: Any, **kwargs: Any) -> Any:
        reads.append(ROWS)
        if reads.count(ROWS) == 1:
            gate.wait(15)
        return summaries(*args, **kwargs)

    def token_facts_noted() -> Any:
        reads.append(TOKENS)
        return token_facts()

    monkeypatch.setattr(library, "summaries", summaries_held)
    monkeypatch.setattr(library, "token_facts", token_facts_noted)
    return reads, gate


@pytest.mark.parametrize("meanwhile", [TOKENS, FILES])
def test_a_read_overtaken_by_new_counts_is_shown_and_patched_not_read_again(
        qtbot, window, filled_library: Library, monkeypatch, meanwhile: str) -> None:
    loading = window.conversations.row_loading
    reads, gate = held_reads(filled_library, monkeypatch)
    shown: list[int] = []
    loading.loaded.connect(lambda index: shown.append(index.count))

    loading.request_reload(ROWS)
    qtbot.waitUntil(lambda: reads == [ROWS], timeout=WAIT_MS)  # the read is under way
    loading.request_reload(meanwhile)  # as the background count announces new counts
    loading.request_reload(meanwhile)
    gate.set()
    qtbot.waitUntil(lambda: not loading.loading, timeout=WAIT_MS)

    assert reads == [ROWS, TOKENS], "every row read once, then the counts patched on"
    assert shown == [filled_library.count()] * 2, "the read shown, then its patch"


def test_a_read_overtaken_by_a_change_of_every_row_is_read_again(
        qtbot, window, filled_library: Library, monkeypatch) -> None:
    loading = window.conversations.row_loading
    reads, gate = held_reads(filled_library, monkeypatch)
    shown: list[int] = []
    loading.loaded.connect(lambda index: shown.append(index.count))

    loading.request_reload(ROWS)
    qtbot.waitUntil(lambda: reads == [ROWS], timeout=WAIT_MS)
    loading.request_reload(TOKENS)
    loading.request_reload(ROWS)  # a removal: the read under way may lack it
    gate.set()
    qtbot.waitUntil(lambda: not loading.loading, timeout=WAIT_MS)

    assert reads == [ROWS, ROWS], "read again, counts and all"
    assert shown == [filled_library.count()], "only the newer read is shown"


def test_the_last_counts_are_read_once_the_count_has_finished(
        qtbot, window, monkeypatch) -> None:
    """In a large library new counts wait a while to be read together (a running count
    announces them every few seconds); once the count has finished, its last ones are read
    at once: they reached the table up to 10 s after it had ended."""
    from ui import row_reader

    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)  # the fixtures are "large"
    monkeypatch.setattr(row_reader, "TOKENS_PAUSE_MS", 600_000)
    loading = window.conversations.row_loading
    loading.request_reload(TOKENS)
    assert loading.loading and loading._reload_timer.interval() == 600_000  # gathering
    window.token_counts.finished.emit(3)
    qtbot.waitUntil(lambda: not loading.loading, timeout=WAIT_MS)
