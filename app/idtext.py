"""What an id may hold: printable text of bounded length.

Batch and conversation ids appear in tables, file headers, command output and terminals;
a control character there can rewrite a terminal line or hide text, and an id of a
megabyte makes every list unreadable.
"""

from __future__ import annotations

import unicodedata

MAX_ID_CHARS = 200
# Characters that reorder the text around them (bidirectional overrides and isolates).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def id_problem(text: str, what: str) -> str | None:
    """Why ``text`` cannot be an id, in words; None when it can."""
    if len(text) > MAX_ID_CHARS:
        return f"{what} can have at most {MAX_ID_CHARS} characters (this one has {len(text)})"
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs") or char in BIDI_CONTROLS:
            return (f"{what} cannot contain control characters (it holds U+{ord(char):04X}); "
                    "use printable text")
    return None
