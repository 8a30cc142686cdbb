"""Counts in words: "1 conversation", "2 conversations", never "conversation(s)".

Here in ``app`` so that the command line and the core's messages agree with their numbers
as the window does (``ui.wording`` re-uses these: one definition)."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` with the noun that agrees with it (``nouns`` when adding an s is wrong)."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {nouns or noun + 's'}"


def agreeing(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``: ``agreeing(1, "is", "are")`` is "is"."""
    return one if count == 1 else many
