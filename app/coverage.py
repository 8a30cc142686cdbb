"""How well a training file covers the combinations the library knows: persona × arc, or
persona × topic, with a count per cell. An empty cell is a gap a person may want to fill.

The rows and columns are every value the library holds, not only the file's, so a persona
or arc the file lacks entirely shows up as a row or column of gaps. "No value" (``NONE``) is
no value to cover: it is a row or column only when some of the file's conversations lack
that value, to show where they are, and its cells are never gaps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select

from app.labels import OwnNames, display_name
from app.library import Library
from app.models import Conversation, Member
from app.trainingfiles import get_training_file

NONE = ""  # the key of conversations without a value (legacy files have no taxonomy)


class Axis(StrEnum):
    PERSONA = "persona"
    ARC = "arc"
    TOPIC = "topic"


COLUMNS = {
    Axis.PERSONA: Conversation.persona_archetype,
    Axis.ARC: Conversation.emotional_arc_key,
    Axis.TOPIC: Conversation.training_topic_key,
}
# The files' own name of each axis's codes (a persona archetype has only its code).
NAMES = {
    Axis.PERSONA: Conversation.persona_archetype,
    Axis.ARC: Conversation.emotional_arc,
    Axis.TOPIC: Conversation.training_topic,
}
TITLES = {Axis.PERSONA: "Persona archetype", Axis.ARC: "Emotional arc",
          Axis.TOPIC: "Training topic"}


@dataclass(frozen=True)
class Coverage:
    rows: list[str]
    columns: list[str]
    counts: Counter[tuple[str, str]]
    # What each row and column key reads as: the files' own name, else one made from the
    # code (``app.labels.OwnNames``); "no value" is the view's to word.
    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, key: str) -> str:
        return self.labels.get(key) or display_name(key)

    def count(self, row: str, column: str) -> int:
        return self.counts.get((row, column), 0)

    def combinations(self) -> list[tuple[str, str]]:
        """The cells a file can fill: a value on both axes, not "no value"."""
        return [(r, c) for r in self.rows if r != NONE for c in self.columns if c != NONE]

    def gaps(self) -> list[tuple[str, str]]:
        return [cell for cell in self.combinations() if not self.count(*cell)]

    def is_gap(self, row: str, column: str) -> bool:
        return NONE not in (row, column) and not self.count(row, column)

    def without_value(self) -> int:
        """How many of the file's conversations lack the row's or the column's value."""
        return sum(n for (row, column), n in self.counts.items() if NONE in (row, column))

    def row_total(self, row: str) -> int:
        return sum(self.count(row, c) for c in self.columns)

    def column_total(self, column: str) -> int:
        return sum(self.count(r, column) for r in self.rows)


def _order(values: set[str]) -> list[str]:
    """Alphabetical, with "no value" last."""
    return sorted(v for v in values if v) + ([NONE] if NONE in values else [])


def coverage(library: Library, name: str, rows: Axis = Axis.PERSONA,
             columns: Axis = Axis.ARC) -> Coverage:
    """Counts of the file's conversations per (row value, column value)."""
    row_column, column_column = COLUMNS[rows], COLUMNS[columns]
    file_id = get_training_file(library, name).file_id
    with library.session() as session:
        known = session.execute(select(row_column, column_column, NAMES[rows],
                                       NAMES[columns]).distinct()).all()
        members = session.execute(
            select(row_column, column_column)
            .join(Member, Member.conversation_pk == Conversation.pk)
            .where(Member.file_id == file_id)).all()
    counts = Counter((r or NONE, c or NONE) for r, c in members)
    labels = {**_labels(rows, [(r, rn) for r, _, rn, _ in known]),
              **_labels(columns, [(c, cn) for _, c, _, cn in known])}
    # The library's values, and "no value" only where a member lacks one: the library's
    # other conversations lacking it is no reason to show it (nor a combination to fill).
    return Coverage(_order({r for r, *_ in known if r} | {r for r, _ in counts}),
                    _order({c for _, c, *_ in known if c} | {c for _, c in counts}),
                    counts, labels)


def _labels(axis: Axis, named: list[tuple[str | None, str | None]]) -> dict[str, str]:
    """What each code of ``axis`` reads as, from (code, the file's name for it) pairs."""
    if axis is Axis.PERSONA:
        return {code: display_name(code) for code, _ in named if code}
    own = (OwnNames.gather((code, name, None, None) for code, name in named)
           if axis is Axis.ARC else
           OwnNames.gather((None, None, code, name) for code, name in named))
    name_of = own.arc if axis is Axis.ARC else own.topic
    return {code: name_of(code) for code, _ in named if code}
