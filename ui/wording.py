"""Counts in words: "1 conversation", "2 conversations", never "conversation(s)".

``plural``, ``agreeing``, ``and_list`` and ``the_count`` live in ``app.wording`` (the
command line and the core's messages word counts and lists too); the order of names and
the mark of a missing value are the window's own."""

from __future__ import annotations

import re
from functools import lru_cache

from app.wording import LENGTH_LIMIT as LENGTH_LIMIT
from app.wording import agreeing as agreeing
from app.wording import and_list as and_list
from app.wording import plural as plural
from app.wording import the_count as the_count

DIGITS = re.compile(r"\d+")
# What the window shows for a value a conversation's file does not give: the same mark in
# the table's cells, the filter choosers, the charts and the coverage grid.
MISSING = "—"


def _counted(run: re.Match[str]) -> str:
    """A run of digits written so that text order is number order: its length first."""
    digits = run.group().lstrip("0") or "0"
    return f"{len(digits):03d}{digits}"


@lru_cache(maxsize=4096)  # batch ids repeat over thousands of rows
def natural_key(text: str) -> str:
    """Sorts names as people count: "batch-2" before "batch-10", case ignored. A text,
    not a tuple of parts, because a table sorts 100,000 of them and texts compare
    fastest ("batch-2" becomes "batch-0012", "batch-10" "batch-00210")."""
    return DIGITS.sub(_counted, text.casefold())
