"""Review marks: a person says "I read this conversation", and the library remembers who and
when (``conversations.reviewed_by`` / ``reviewed_at``).

The mark lives in the library, never in the imported file (a full JSON of ours writes it
out, and importing that file brings it back as a mark: ``carried_mark``). It reaches the
training files by one rule, applied wherever a record or digest leaves the library
(``with_review`` and ``is_reviewed``): a conversation counts as human-reviewed when the
source file says every reply was reviewed, or when a person marked it here. Undoing a mark
falls back to what the source file says. Setting and clearing marks is
``app.review_marks``.

A mark certifies the text a person read: a replace whose new version says other things
(``reviewed_text`` differs) takes the library's mark away (``app.importer``); one that only
changes scores, scaffolding or other details keeps it.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from typing import Any

from app.errors import LibraryError
from app.quality import source_says_reviewed

MAX_REVIEWER = 80


def default_reviewer() -> str:
    """The login name, as a first guess at who is reviewing."""
    try:
        return getpass.getuser() or "reviewer"
    except (OSError, KeyError):  # no login name (some containers, services)
        return "reviewer"


def clean_reviewer(name: str) -> str:
    text = " ".join(str(name).split())
    if not text:
        raise LibraryError("say who reviewed: the reviewer's name cannot be empty")
    if len(text) > MAX_REVIEWER:
        raise LibraryError(f"a reviewer's name can have at most {MAX_REVIEWER} characters")
    return text


def is_reviewed(source_says: bool, reviewed_by: str | None) -> bool:
    """The one rule: reviewed in the source file, or marked reviewed in the library."""
    return bool(source_says) or reviewed_by is not None


def with_review(
    record: dict[str, Any], reviewed_by: str | None, reviewed_at: str | None
) -> dict[str, Any]:
    """The record as the training files and the reader see it, the library's mark applied.

    Unmarked records are returned unchanged, so files built before marks existed keep
    their exact shape.
    """
    if reviewed_by is None:
        return record
    quality = dict(record.get("quality") or {})
    quality["human_reviewed"] = True
    quality["reviewed_by"] = reviewed_by
    quality["reviewed_at"] = reviewed_at
    record["quality"] = quality
    return record


def carried_mark(record: dict[str, Any]) -> tuple[str, str | None] | None:
    """The library's mark that a full training file of ours carries in ``record`` (written
    by ``with_review``), taken off it: the record is left as its source file says (its
    ``human_reviewed`` from the replies' own flags again), and the import keeps the mark as
    the library's. Left on the record it counted as the source's word: the files built from
    it said reviewed while the window and the command line said not, and nothing could
    take it away."""
    quality = record.get("quality")
    if not isinstance(quality, dict) or not quality.get("reviewed_by"):
        return None
    by, at = quality.pop("reviewed_by"), quality.pop("reviewed_at", None)
    replies = [m for m in record.get("messages") or () if m.get("role") == "assistant"]
    quality["human_reviewed"] = source_says_reviewed(replies)
    return str(by), (str(at) if at else None)


def review_mark(record: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(who, when) when the library holds a mark for this record, else None."""
    quality = record.get("quality") or {}
    by = quality.get("reviewed_by")
    return (str(by), quality.get("reviewed_at")) if by else None


def reviewed_text(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of each message the client and the consultant say (no system prompt):
    what a reviewer reads, and what ``app.replace_checks.what_differs`` calls changed."""
    return [(str(m.get("role")), str(m.get("content")))
            for m in messages if m.get("role") != "system"]
