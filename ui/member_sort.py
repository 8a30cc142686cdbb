"""The order of a training file's conversation list when a heading is clicked: sorted on
the values (token counts as numbers, each of its line in this file: ``file_tokens``;
batch-2 before batch-10), with what is missing (a dash, a count not made yet) last in
either direction (``ui.sort_rule``, the Conversations table's rule too), so the longest or
most flagged lines come to the top. A member that nearly repeats an earlier one of the
file (``app.near_in_file.near_members``) sorts by Warnings ahead of the rest, so that a
descending sort brings those repeats together."""

from __future__ import annotations

from collections.abc import Callable, Collection
from operator import attrgetter
from typing import Any

from app.similar import own_warnings
from app.trainingfiles import MemberRow
from ui.sort_rule import blanks_last, with_blank
from ui.wording import MISSING, natural_key

MEMBER_CLIENT, MEMBER_ARC, MEMBER_TOPIC, MEMBER_BATCH, MEMBER_TOKENS, MEMBER_WARNINGS = range(6)
FILE_ORDER = -1  # no heading chosen: the file's own order

Key = Callable[[MemberRow], Any]


# What the arc and topic texts are made from (few codes): each text is made
# (``display_name``, about 10 µs) once per code, not once a row (an arc sort of 10,000 rows
# took 0.12 s). Client names differ row by row: made per row, as cheaply.
MADE_FROM: dict[int, Callable[[MemberRow], Any]] = {
    MEMBER_ARC: attrgetter("emotional_arc", "emotional_arc_key"),
    MEMBER_TOPIC: attrgetter("training_topic", "training_topic_key"),
}


def _text_key(column: int, text: Callable[[MemberRow, int], str]) -> Key:
    made_from = MADE_FROM[column]
    made: dict[Any, tuple[bool, str | None]] = {}

    def key(row: MemberRow) -> tuple[bool, str | None]:
        value = made_from(row)
        if value not in made:
            made[value] = with_blank(text(row, column).replace(MISSING, "").casefold() or None)
        return made[value]

    return key


def file_tokens(row: MemberRow) -> int:
    """What the Tokens column holds: the tokens of the member's line in this file, as its
    cut-off policy, length limit and fit wrote it (``NO_LINE``: the file writes none for
    it), which decides what a trainer cuts or leaves out; the library's count only where
    the file's build records none (a build made before the counts were stored)."""
    return row.line_tokens or row.tokens


def _tokens(row: MemberRow) -> tuple[bool, int | None]:
    count = file_tokens(row)
    return with_blank(count if count > 0 else None)  # 0: not counted; NO_LINE: no line


def _warnings(near: Collection[str]) -> Key:
    def key(row: MemberRow) -> tuple[int, int, tuple[str, ...]]:
        own = own_warnings(row.warning_codes)
        # 1 or 0, not True: a key opening with True is a blank one (``ui.sort_rule``)
        return int(row.conversation_id in near), len(own), own

    return key


def sort_key(column: int, text: Callable[[MemberRow, int], str],
             near: Collection[str] = frozenset()) -> Key:
    """A row's value in ``column`` (``with_blank``: it may be missing); ``text`` is what
    the cell shows (the key of names); ``near``: the members that nearly repeat an earlier
    one of the file."""
    if column == MEMBER_TOKENS:
        return _tokens
    if column == MEMBER_WARNINGS:
        return _warnings(near)
    if column == MEMBER_BATCH:
        return lambda row: with_blank(natural_key(row.batch_id) or None)
    if column in MADE_FROM:
        return _text_key(column, text)
    return lambda row: with_blank(text(row, column).replace(MISSING, "").casefold() or None)


def sorted_positions(rows: list[MemberRow], column: int, descending: bool,
                     text: Callable[[MemberRow, int], str],
                     near: Collection[str] = frozenset()) -> list[int]:
    """The rows' file positions in the order ``column`` sorts them (stable: equal values
    keep file order); missing values last."""
    if column == FILE_ORDER:
        return list(range(len(rows)))
    keys = list(map(sort_key(column, text, near), rows))
    order = sorted(range(len(rows)), key=keys.__getitem__, reverse=descending)
    return blanks_last(order, keys, descending)
