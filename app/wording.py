"""Counts in words: "1 conversation", "2 conversations", never "conversation(s)".

Here in ``app`` so that the command line and the core's messages agree with their numbers
as the window does (``ui.wording`` re-uses these: one definition).

The rule for numbers: a sentence writes them with thousands separators ("1,234 files"),
every number in it alike; output a script reads (the command line's tab-separated lists)
writes them plain ("1234 files"), with ``grouped=False``."""

from __future__ import annotations

# The one name the person reads for a training file's longest line in tokens (the trainer's
# ``max_seq_len``, ``max_length`` or ``sequence_len``, named so only where a trainer's
# key is meant): four names for one number left a first-time user unsure they were one.
LENGTH_LIMIT = "length limit"


def plural(count: int, noun: str, nouns: str | None = None, *, grouped: bool = True) -> str:
    """``count`` with the noun that agrees with it (``nouns`` when adding an s is wrong);
    ``grouped=False`` writes the number plain, for output a script reads."""
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {noun}" if count == 1 else f"{number} {nouns or noun + 's'}"


def agreeing(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``: ``agreeing(1, "is", "are")`` is "is"."""
    return one if count == 1 else many


def the_count(count: int, noun: str = "conversation") -> str:
    """"the conversation" for one, "the 1,234 conversations" for more: how a tip or a
    status names the rows a change touches."""
    return f"the {noun}" if count == 1 else f"the {plural(count, noun)}"


def and_list(parts: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def first_few(items: list[str], limit: int) -> str:
    """The first ``limit`` of ``items``, then how many more: "a, b, c and 1,234 more"."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")
