"""The per-file work of an import: read one file and turn it into ready-to-insert rows.

This is what the importer's worker processes run, so it imports only what that needs:
no SQLAlchemy, no library (a spawned worker starts in about a fifth of the time it took
when the workers imported ``app.importer``). ``app.importer`` stores the rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import orjson

from app import jsonio
from app.errors import InputError, LibraryError
from app.idtext import clean_batch_id, readable_name
from app.loader import load_file_lazily
from app.packing import pack_json
from app.records import ConversationRecord, digest_of, summarise
from app.review import carried_mark
from app.similar import fingerprint

Prepared = tuple[str, dict[str, Any] | None, str]  # where, row or None, reason
# Row keys that are no column of the conversations table: stored elsewhere, or only told
# to the import's report (the shape the file had: "legacy" for the older v3 format).
NOT_COLUMNS = ("profile_document", "document", "source_kind")

# The summary fields the conversations table has a column of its own for (the column keys
# of ``app.models.Conversation``; a test holds the two together).
STORED_SUMMARY = frozenset({
    "batch_id", "content_sha256", "conversation_id", "created", "dialogue_sha256",
    "dialogue_sketch", "digest", "emotional_arc", "emotional_arc_key", "estimated_tokens",
    "imported_at", "persona_archetype", "persona_name", "pk", "profile_hash",
    "quality_score", "quality_tier", "replies_trained", "reviewed_at", "reviewed_by",
    "source_file",
    "token_basis", "token_count", "trainable_replies", "training_topic", "training_topic_key",
    "turns", "warning_codes", "warnings_text",
})


def prepare(path: str, default_batch: str, named: bool = False,
            own_batches: bool = True) -> list[Prepared]:
    """Parse one file into ready-to-insert rows (runs in worker processes too).

    One entry per conversation: a full training file gives several, each named by the
    file's path and its place in the file.
    """
    return list(prepare_lazily(path, default_batch, named, own_batches=own_batches))


def unless_large(work: Callable[[str, str, bool, bool], list[Prepared]], path: str,
                 default_batch: str, named: bool = False,
                 own_batches: bool = True) -> list[Prepared]:
    """``work`` (``prepare``), except for a file too large to read whole: no rows at all
    (an empty list, which ``prepare`` never gives), so that the importer reads it itself
    with ``prepare_lazily``, storing and telling its progress a conversation at a time
    rather than holding every row of a file of thousands of conversations at once."""
    try:
        if os.stat(path).st_size > jsonio.MAX_INPUT_BYTES:
            return []
    except OSError:
        pass  # prepare says why it cannot be read
    return work(path, default_batch, named, own_batches)


def prepare_lazily(path: str, default_batch: str, named: bool = False,
                   stop: Callable[[], bool] | None = None,
                   own_batches: bool = True) -> Iterator[Prepared]:
    """``prepare``'s rows one at a time; a full training file too large to read whole is
    read a conversation at a time, and ``stop`` (a cancel) is looked at between them."""
    try:
        loaded = load_file_lazily(Path(path), default_batch, named, stop, own_batches)
    except InputError as exc:
        yield (path, None, exc.reason)
        return
    except Exception as exc:  # a bug or an unexpected shape must not stop the import
        yield (path, None, f"could not be read: {type(exc).__name__}: {exc}")
        return
    try:
        for part, record, error, dumped in loaded:
            yield _prepared_one(path, part, record, error, dumped, default_batch)
    except InputError as exc:  # a large full file that broke or changed while read
        yield (path, None, exc.reason)
    except Exception as exc:
        yield (path, None, f"could not be read: {type(exc).__name__}: {exc}")


def _prepared_one(path: str, part: str, record: ConversationRecord | None,
                  error: InputError | None, dumped: bytes | None,
                  default_batch: str) -> Prepared:
    """One conversation's row, or why it has none (named by the file and its part)."""
    where = path + part
    if record is None:
        return (where, None, error.reason if error else "could not be read")
    try:
        source = readable_name(Path(path).name) + part if part else None
        return (where, library_row(record, default_batch, source, dumped), "")
    except LibraryError as exc:
        return (where, None, str(exc))
    except Exception as exc:
        return (where, None, f"could not be read: {type(exc).__name__}: {exc}")


def _storable(value: Any) -> Any:
    """A summary value as both back ends store it: PostgreSQL's text holds no NUL
    character, so one shows as U+FFFD in the table (the stored record keeps it as it is)."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def library_row(
    record: ConversationRecord, default_batch: str, source_file: str | None = None,
    dumped: bytes | None = None,
) -> dict[str, Any]:
    """The library row of a record; ``source_file`` overrides the name the table shows
    (a full training file's name and the conversation's place in it). ``dumped``: the
    record as JSON already (``orjson.dumps``), made before its batch was settled here."""
    batch = record["batch_id"]
    record["batch_id"] = clean_batch_id(batch or default_batch)
    mark = carried_mark(cast(dict[str, Any], record))  # (only a full file of ours has one)
    if dumped is None or record["batch_id"] != batch or mark is not None:
        dumped = orjson.dumps(record)
    summary = summarise(record)
    dialogue = fingerprint(record)
    return {
        **{key: _storable(value) for key, value in summary.items() if key in STORED_SUMMARY},
        **({"source_file": source_file} if source_file else {}),
        **({"reviewed_by": mark[0], "reviewed_at": mark[1]} if mark else {}),
        "warning_codes": ",".join(summary["warning_codes"]),
        "profile_document": orjson.dumps(record.get("consultant_profile")),
        "digest": orjson.dumps(digest_of(summary)),
        "dialogue_sha256": dialogue.dialogue_sha256,
        "dialogue_sketch": dialogue.sketch,
        "document": pack_json(dumped),
        "source_kind": record["source"].get("kind"),
    }
