"""What a person reads for a code: ``confusion_to_clarity`` → "Confusion → Clarity".

The data speaks in snake_case codes (emotional arcs, training topics, persona archetypes,
quality warnings). Every label in the window goes through ``display_name`` so a code reads
the same in the table, the filters, the charts and the warnings; files written for
trainers and the CLI's machine output keep the codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
ARROW = " → "
# Words that read as capitals, not as title case.
UPPER = frozenset({"ai", "fp", "hsa", "id", "ira", "json", "jsonl", "llc", "lora", "rmd",
                   "rsu", "rsus", "ssn", "tsp", "us", "usd"})
SMALL = frozenset({"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to",
                   "vs"})


def _word(word: str, first: bool) -> str:
    lowered = word.casefold()
    if lowered in UPPER:
        return "RSUs" if lowered == "rsus" else lowered.upper()
    if lowered in SMALL and not first:
        return lowered
    return word[:1].upper() + word[1:]


def _phrase(part: str) -> str:
    return " ".join(_word(w, i == 0) for i, w in enumerate(part.split("_")))


@lru_cache(maxsize=4096)
def display_name(code: str | None) -> str:
    """A readable name for a lower-case snake_case code; anything else (a name already,
    a batch id such as "batch-2025-12") comes back as it is.

    "X_to_Y" codes (emotional arcs) read as "X → Y"; an empty or missing code is "".
    Remembered: a library repeats a few dozen codes over 100,000 rows, and the table's
    search text names each row's three (1.8 s of the GUI thread, made anew each time).
    """
    if not code:
        return ""
    if CODE.fullmatch(code) is None:
        return code
    return ARROW.join(_phrase(part) for part in code.split("_to_"))


def topic_display(code: str | None) -> str:
    """``display_name`` for a training topic: a topic code such as ``cash_to_investing``
    is a subject, not a journey, so it never reads with an arrow."""
    if not code:
        return ""
    if CODE.fullmatch(code) is None:
        return code
    return _phrase(code)


@dataclass(frozen=True)
class OwnNames:
    """The names the conversation files themselves give their arc and topic codes.

    A file says "Accelerated Mortgage Payoff" for ``mortgage_payoff_strategy``; the window
    shows the file's words, and makes a name up from the code only for a code no file
    names. Where files disagree, the first name met wins, so one code reads one way.
    """

    arcs: Mapping[str, str] = field(default_factory=dict)
    topics: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def gather(cls, rows: Iterable[tuple[str | None, str | None, str | None, str | None]]
               ) -> OwnNames:
        """From (arc code, arc name, topic code, topic name) of each conversation."""
        arcs: dict[str, str] = {}
        topics: dict[str, str] = {}
        # Conversations repeat a few pairs: keep one of each, in order, before the loop.
        for arc_code, arc_name, topic_code, topic_name in dict.fromkeys(rows):
            if arc_code and arc_name and arc_code not in arcs:
                arcs[arc_code] = arc_name
            if topic_code and topic_name and topic_code not in topics:
                topics[topic_code] = topic_name
        return cls(arcs, topics)

    def arc(self, code: str | None) -> str:
        return (self.arcs.get(code) if code else None) or display_name(code)

    def topic(self, code: str | None) -> str:
        return (self.topics.get(code) if code else None) or topic_display(code)
