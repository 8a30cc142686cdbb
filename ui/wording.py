"""Counts in words: "1 conversation", "2 conversations", never "conversation(s)"."""

from __future__ import annotations

import re
from functools import lru_cache

DIGITS = re.compile(r"(\d+)")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` with the noun that agrees with it (``nouns`` when adding an s is wrong)."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {nouns or noun + 's'}"


def and_list(parts: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@lru_cache(maxsize=4096)  # batch ids repeat over thousands of rows
def natural_key(text: str) -> tuple[str | int, ...]:
    """Sorts names as people count: "batch-2" before "batch-10", case ignored. The parts
    alternate text and number, so two keys always compare."""
    parts = DIGITS.split(text.casefold())
    return tuple(int(part) if n % 2 else part for n, part in enumerate(parts))
