"""One rule for the order of a sorted column, in the Conversations table and in a training
file's conversation list: the values in the direction asked, and what is missing (a value
the file does not give, a count not made yet) after them in either direction, as
spreadsheets do. A sort key that may be missing is a tuple whose first item says so
(``with_blank``), so an ascending sort puts it last by itself; a descending sort turns it
to the front, and ``blanks_last`` moves it back to the end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

Value = TypeVar("Value")


def with_blank(value: Value | None) -> tuple[bool, Value | None]:
    """The sort key of a value that may be missing (None)."""
    return value is None, value


def is_blank(key: Any) -> bool:
    return type(key) is tuple and bool(key) and key[0] is True


def blanks_last(order: list[int], keys: Sequence[Any], descending: bool) -> list[int]:
    """``order`` (positions sorted by ``keys`` in the direction asked), with the blank
    keys a descending sort put first moved to the end, in the order they had."""
    if not descending:
        return order
    blank = 0
    for position in order:
        if not is_blank(keys[position]):
            break
        blank += 1
    return order[blank:] + order[:blank] if blank else order
