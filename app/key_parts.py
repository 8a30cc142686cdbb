"""Keys a part at a time: SQLite takes at most so many variables in one statement, so a
query over thousands of keys asks ``IN (...)`` for each part in turn. One place decides
how many keys go in a part, for every module that reads or writes rows by key; the upkeep
passes (``app.upkeep.in_chunks``) also commit a part at a time, so this is their
transaction's size too. (``app.stored_repair`` walks records 200 at a time of its own:
each holds a whole conversation document.)"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

Key = TypeVar("Key")

CHUNK = 500  # keys per IN (...) list: well under SQLite's limit of variables


def in_parts(keys: Sequence[Key]) -> Iterator[list[Key]]:
    """``keys`` a ``CHUNK`` at a time, for IN (...) lists and many-row inserts."""
    for start in range(0, len(keys), CHUNK):
        yield list(keys[start:start + CHUNK])
