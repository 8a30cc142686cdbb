"""A status-bar notice that states a count never shows once that count is wrong: "Filter
on batch … cleared … 4 conversations shown" after an Undo brought the batch back, or "3
checked, as you left them." after a fourth check. Real window, real library, real checks
file. Each notice is given the whole time it may show (``SHOWN_MS``) so a slow machine
cannot let it go by itself before the change that makes it false."""

from __future__ import annotations

import pytest
from conftest import ENRICHED, LEGACY, open_window, settle
from test_kept_checks import check_rows, window_on
from test_library_undo_window import quiet

from ui import status_line

WAIT_MS = 60000


@pytest.fixture(autouse=True)
def notices_stay(monkeypatch):
    monkeypatch.setattr(status_line, "SHOWN_MS", 600_000)


def test_a_filter_notice_goes_when_an_undo_brings_the_batch_back(qtbot, two_batches,
                                                                 dialogs, tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    quiet(qtbot, window)
    bar = window.statusBar()
    shown: list[str] = []
    bar.messageChanged.connect(shown.append)
    assert window.conversations.set_batch_filter("legacy-batch")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.status, timeout=WAIT_MS):
        window.remove_batch_action.trigger()
    quiet(qtbot, window)
    stale = f"{len(ENRICHED)} conversations shown."
    assert bar.currentMessage().endswith(stale)  # true now

    with qtbot.waitSignal(window.library_undo.status, timeout=WAIT_MS):
        window.edit_menu.actions()[0].trigger()
    quiet(qtbot, window)
    model = window.conversations.model
    assert model.shown_count == len(ENRICHED) + len(LEGACY)
    assert f"Shown {len(ENRICHED) + len(LEGACY)}" in window.counts.text()
    assert bar.currentMessage().startswith(f"Undone: {len(LEGACY)} conversations back")
    assert stale not in bar.currentMessage()
    # (said with the Undo's line while the table still showed those rows, and dropped
    # when they changed)
    assert [text for text in shown if text.startswith("Undone")][-1] == bar.currentMessage()


def test_a_notice_stays_beside_the_next_message_while_it_holds(qtbot, two_batches,
                                                               dialogs, tmp_path):
    """A filter's notice said before the change's own line stays beside it: what
    tests/test_curation_flows.py holds, with the count still true."""
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    quiet(qtbot, window)
    assert window.conversations.set_batch_filter("legacy-batch")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.remover.status, timeout=WAIT_MS):
        window.remove_batch_action.trigger()
    quiet(qtbot, window)
    window.show_message("Saved 'x.jsonl'")
    assert window.statusBar().currentMessage() == (
        "Saved 'x.jsonl'. Filter on batch 'legacy-batch' cleared: the batch has no "
        f"conversations any more. {len(ENRICHED)} conversations shown.")


def test_checks_back_goes_at_the_next_check(qtbot, filled_library, tmp_path):
    window = window_on(qtbot, filled_library, tmp_path)
    check_rows(window, [0, 2, 3])
    window.close()

    again = window_on(qtbot, filled_library, tmp_path)
    bar = again.statusBar()
    assert bar.currentMessage() == "3 checked, as you left them."
    check_rows(again, [1])
    assert "Checked 4" in again.counts.text()
    assert "3 checked" not in bar.currentMessage()
    again.show_message("Saved 'x.jsonl'")
    assert bar.currentMessage() == "Saved 'x.jsonl'"
    settle(qtbot, again)
