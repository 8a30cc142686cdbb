"""A passing message too long for the status bar beside its permanent widgets is cut
mid-word; pointing at the bar shows all of it."""

from __future__ import annotations

from pathlib import Path

from conftest import open_window

from app.library import Library

LONG = ("Removed 5 conversations from the library; rebuilt 'curated-v1'. Filter on batch "
        "'rejects' cleared: the batch has no conversations any more. 5,995 conversations "
        "shown.")


def test_a_message_cut_on_a_laptop_is_whole_in_the_status_bars_tooltip(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    window.resize(1093, 614)
    bar = window.statusBar()
    room = bar.width() - window.where.width() - window.counts.width()
    assert bar.fontMetrics().horizontalAdvance(LONG) > room, "the message does not fit"
    window.show_message(LONG)
    assert bar.currentMessage() == LONG
    assert bar.toolTip() == LONG
    bar.clearMessage()
    assert bar.toolTip() == "", "no tooltip of a message gone"


def test_the_counts_never_show_the_passing_message_as_their_own_tooltip(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    """A widget without a tooltip shows its parent's: the counts, with nothing hidden by
    the filter, showed the status bar's (the passing message) as if it were theirs."""
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    window.show_message(LONG)
    assert window.counts.toolTip(), "the counts have a tooltip of their own"
    assert window.counts.toolTip() != LONG


def test_a_long_message_stays_as_long_as_it_takes_to_read() -> None:
    """A settings change's 900 characters were gone in 8 s: about 15 characters a second,
    up to 45 s; a short message keeps its 8 s."""
    from ui.status_line import shown_ms
    assert shown_ms("Saved.") == 8000
    assert shown_ms("x" * 300) == 21_000
    assert shown_ms("x" * 900) == 45_000
