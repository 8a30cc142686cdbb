"""What a person reads for a code: ``confusion_to_clarity`` → "Confusion → Clarity".

The data speaks in snake_case codes (emotional arcs, training topics, persona archetypes,
quality warnings). Every label in the window goes through ``display_name`` so a code reads
the same in the table, the filters, the charts and the warnings; files written for
trainers and the CLI's machine output keep the codes.
"""

from __future__ import annotations

import re

CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
ARROW = " → "
# Words that read as capitals, not as title case.
UPPER = frozenset({"ai", "fp", "hsa", "id", "ira", "json", "jsonl", "llc", "lora", "rmd",
                   "rsu", "rsus", "ssn", "tsp", "us", "usd"})
SMALL = frozenset({"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "vs"})


def _word(word: str, first: bool) -> str:
    lowered = word.casefold()
    if lowered in UPPER:
        return "RSUs" if lowered == "rsus" else lowered.upper()
    if lowered in SMALL and not first:
        return lowered
    return word[:1].upper() + word[1:]


def _phrase(part: str) -> str:
    return " ".join(_word(w, i == 0) for i, w in enumerate(part.split("_")))


def display_name(code: str | None) -> str:
    """A readable name for a lower-case snake_case code; anything else (a name already,
    a batch id such as "batch-2025-12") comes back as it is.

    "X_to_Y" codes (emotional arcs) read as "X → Y"; an empty or missing code is "".
    """
    if not code:
        return ""
    if CODE.fullmatch(code) is None:
        return code
    return ARROW.join(_phrase(part) for part in code.split("_to_"))
