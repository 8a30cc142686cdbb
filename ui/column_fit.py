"""How wide the Conversations table's text columns are. Each fitted column is as wide as
the widest value the library holds for it, within limits (one very long topic must not
take the screen); when the table has less room than they want, they give it up in
proportion to what they have over their narrowest, and a cell still cut shows its full
text on hover. A column the person dragged keeps the width they gave it. The arithmetic
and the texts are here; ``ui.conversations_table`` applies them."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from typing import TypeVar

from app.labels import display_name
from ui.conversations_model import MISSING, Column
from ui.row_index import RowIndex

# (narrowest, widest) in px, text and cell margins included.
FITTED_LIMITS: dict[Column, tuple[int, int]] = {
    Column.BATCH: (80, 200),
    Column.CLIENT: (90, 200),
    Column.ARCHETYPE: (100, 220),
    Column.ARC: (110, 260),
    Column.TOPIC: (120, 320),
    Column.FILES: (70, 240),
}
# Fitted but never narrowed for room: a batch id's end tells batches apart (sample-batch-a,
# sample-batch-b), and a cut one reads the same for both.
KEPT_WHOLE = frozenset({Column.BATCH})
# Given up first when the table is short of room: a training file's name is also on the
# LoRA Training JSON Files page and in the filter, the arc and topic are what is curated.
GIVES_FIRST = (Column.FILES, Column.ARCHETYPE)
# Given up last, after every other text column and the counts: a client's name is what a
# row is known by (the reader's title), while the arc, topic and batch of the conversation
# being read are in the reader's head beside the table. At 1093 px with the reader open it
# was cut to "Jennife…" and at 1000 px to "David …" while Arc and Topic kept more.
GIVES_LAST = frozenset({Column.CLIENT})
# Narrower still, when the table has too little room for every shown column at its
# narrowest above (a 1093 px laptop screen with the reader beside the table): a cell cut
# with "…" and read whole on hover is better than the short numeric columns at the right
# (Tokens, Warnings) out of sight behind a sideways scroll. The table never takes one
# narrower than its heading.
LAST_RESORT: dict[Column, int] = {
    Column.CLIENT: 64,
    Column.ARCHETYPE: 64,
    Column.ARC: 64,
    Column.TOPIC: 64,
    Column.FILES: 56,
}
# Narrower only when the text columns at their last resort still leave the table short
# (a 1000 px window with the reader beside the table): a count column down to its heading
# (``ui.cell_width.heading_width``) or the widest number it must show whole, whichever is
# wider. A conversation has nowhere near 10,000 trained replies, and a million tokens is
# beyond any trainer's sequence length.
WHOLE_NUMBERS: dict[Column, str] = {
    Column.REPLIES: "9,999",
    Column.TOKENS: "999,999",
}
MEASURED = 24  # the longest texts (in characters) of a column that are measured in pixels

Key = TypeVar("Key")


def longest(texts: Iterable[str], count: int = MEASURED) -> list[str]:
    """The texts worth measuring: a proportional font makes the widest one almost always
    one of the longest in characters, and measuring 100,000 client names would hold the
    window up."""
    return heapq.nlargest(count, set(texts), key=len)


def column_texts(index: RowIndex) -> dict[Column, list[str]]:
    """The values each fitted column shows for the library's rows (the longest of them),
    read from what the index already gathered for the filter choosers."""
    choosable = index.choosable()
    names = index.own_names()
    shown = index.shown_sets()
    clients = {name or MISSING for name in shown.clients}
    files = {", ".join(combination) for combination in shown.file_combinations}
    return {
        Column.BATCH: longest(choosable["batch_id"]),
        Column.CLIENT: longest(clients),
        Column.ARCHETYPE: longest(display_name(code) or MISSING
                                  for code in choosable["archetype"]),
        Column.ARC: longest([*(names.arc(code) or MISSING for code in choosable["arc"]),
                             *names.arcs.values()]),
        Column.TOPIC: longest([*(names.topic(code) or MISSING
                                 for code in choosable["topic"]), *names.topics.values()]),
        Column.FILES: longest(files),
    }


def within_limits(column: Column, width: int) -> int:
    narrowest, widest = FITTED_LIMITS[column]
    return min(max(width, narrowest), widest)


def squeezed(wants: Mapping[Key, int], floors: Mapping[Key, int], room: int,
             first: Iterable[Key] = ()) -> dict[Key, int]:
    """``wants`` (column: width) made to fit ``room``: the columns in ``first`` give up
    the excess first, in turn, down to their floor; then the others in ``floors``, in
    proportion to what they have over their floor, never going under it. Columns without
    a floor keep their width. Returns every column's width."""
    widths = dict(wants)
    excess = sum(wants.values()) - room
    for key in first:
        if excess <= 0:
            return widths
        if key in floors:
            taken = min(excess, max(0, widths[key] - floors[key]))
            widths[key] -= taken
            excess -= taken
    spare = {key: widths[key] - floor for key, floor in floors.items() if widths[key] > floor}
    total_spare = sum(spare.values())
    if excess <= 0 or not total_spare:
        return widths
    share = min(1.0, excess / total_spare)
    for key, over in spare.items():
        widths[key] -= min(over, math.ceil(over * share))
    return widths
