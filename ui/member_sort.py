"""The order of a training file's conversation list when a heading is clicked: sorted on
the values (token counts as numbers, batch-2 before batch-10), with what is missing (a
dash, a count not made yet) last in either direction, so the longest or most flagged lines
come to the top."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.trainingfiles import MemberRow
from ui.wording import MISSING, natural_key

MEMBER_CLIENT, MEMBER_ARC, MEMBER_TOPIC, MEMBER_BATCH, MEMBER_TOKENS, MEMBER_WARNINGS = range(6)
FILE_ORDER = -1  # no heading chosen: the file's own order

Key = Callable[[MemberRow], Any]


def _text_key(text: Callable[[MemberRow], str | None]) -> Key:
    return lambda row: (text(row) or "").casefold() or None


def _tokens(row: MemberRow) -> int | None:
    return row.tokens if row.tokens > 0 else None  # 0: not counted; NO_LINE: no line


def _warnings(row: MemberRow) -> tuple[int, tuple[str, ...]]:
    return len(row.warning_codes), row.warning_codes


def sort_key(column: int, text: Callable[[MemberRow, int], str]) -> Key:
    """A row's value in ``column``, None when missing; ``text`` is what the cell shows
    (the key of names)."""
    if column == MEMBER_TOKENS:
        return _tokens
    if column == MEMBER_WARNINGS:
        return _warnings
    if column == MEMBER_BATCH:
        return lambda row: natural_key(row.batch_id) or None
    return _text_key(lambda row: text(row, column).replace(MISSING, ""))


def sorted_positions(rows: list[MemberRow], column: int, descending: bool,
                     text: Callable[[MemberRow, int], str]) -> list[int]:
    """The rows' file positions in the order ``column`` sorts them (stable: equal values
    keep file order); missing values last."""
    if column == FILE_ORDER:
        return list(range(len(rows)))
    key = sort_key(column, text)
    keys = [key(row) for row in rows]
    present = [n for n, value in enumerate(keys) if value is not None]
    missing = [n for n, value in enumerate(keys) if value is None]
    present.sort(key=keys.__getitem__, reverse=descending)
    return present + missing
