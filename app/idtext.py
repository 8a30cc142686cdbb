"""What an id may hold: printable text of bounded length.

Batch and conversation ids appear in tables, file headers, command output and terminals;
a control character there can rewrite a terminal line or hide text, and an id of a
megabyte makes every list unreadable.
"""

from __future__ import annotations

import os
import re

from app.errors import LibraryError

MAX_ID_CHARS = 200
# Control characters (Unicode category Cc), lone surrogates (Cs) and the characters that
# reorder the text around them (bidirectional overrides and isolates).
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def id_problem(text: str, what: str) -> str | None:
    """Why ``text`` cannot be an id, in words; None when it can."""
    if len(text) > MAX_ID_CHARS:
        return f"{what} can have at most {MAX_ID_CHARS} characters (this one has {len(text)})"
    found = UNPRINTABLE.search(text)
    if found:
        return (f"{what} cannot contain control characters (it holds "
                f"U+{ord(found.group()):04X}); use printable text")
    return None


def clean_batch_id(value: str) -> str:
    """Batch ids are free text, trimmed; empty ones and control characters are refused."""
    text = " ".join(str(value).split())
    if not text:
        raise LibraryError("a batch ID cannot be empty")
    problem = id_problem(text, "a batch ID")
    if problem:
        raise LibraryError(problem)
    return text


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def readable_name(name: str) -> str:
    """A file or folder name as storable text. Python keeps the bytes of a name that are
    not UTF-8 (a Latin-1 "café" made on another system) as lone surrogates, which no
    database or JSON holds: such bytes become U+FFFD, as a file browser shows them."""
    if not LONE_SURROGATE.search(name):
        return name
    try:
        return os.fsencode(name).decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate no file name gives (text from elsewhere)
        return LONE_SURROGATE.sub("\ufffd", name)
