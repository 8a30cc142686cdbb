"""Counts in words agree with their number, in the window and on the command line alike:
one definition (``app.wording``), which ``ui.wording`` re-uses."""

from __future__ import annotations

from app import wording as core
from ui import wording


def test_the_window_and_the_core_word_counts_with_the_same_functions() -> None:
    assert wording.plural is core.plural
    assert wording.agreeing is core.agreeing


def test_a_count_agrees_with_its_number() -> None:
    assert [core.plural(n, "file") for n in (0, 1, 2, 1200)] == [
        "0 files", "1 file", "2 files", "1,200 files"]
    assert core.plural(2, "reply", "replies") == "2 replies"
    assert [core.agreeing(n, "is", "are") for n in (0, 1, 2)] == ["are", "is", "are"]


def test_a_count_for_a_script_is_written_plain() -> None:
    assert core.plural(1234, "file", grouped=False) == "1234 files"
    assert core.plural(1, "reply", "replies", grouped=False) == "1 reply"
