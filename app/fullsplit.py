"""Split a full training file back into its conversations, so earlier training files can
be brought into the library.

Two full formats exist:

* the user's own (``training_file_metadata``, ``consultant_profile`` and ``conversations``
  each holding ``conversation_metadata`` and ``training_pairs``): every conversation is
  turned into the enriched document it was made from and then goes through the same check
  and normaliser as a single conversation file;
* ours (``conversations`` are canonical records with ``messages``): every record is
  checked field by field for what the library reads, and kept as it is.

A conversation that fails is reported on its own; the others of the file still import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import Any, cast

import orjson

from app.canonical import check_structure, normalise
from app.detect import SCAFFOLDING_KEYS, Kind, detect_kind, earlier_format_conversation
from app.errors import InputError, LibraryError, Problem
from app.idtext import clean_batch_id
from app.record_repair import repair_record
from app.records import ConversationRecord

PART_MARK = " [conversation "  # begins the part of a name that says where in the file
ItemResult = tuple[str, ConversationRecord | None, InputError | None]  # part, record, error


def is_full(document: Any) -> bool:
    return detect_kind(document) is Kind.FULL


def split_full(
    document: Mapping[str, Any], file_name: str, batch_id: str, own_batches: bool = True
) -> Iterator[ItemResult]:
    """Yield (part, record or None, error or None) per conversation of a full file; the
    part (" [conversation 2 of 40]") follows the file's name wherever it is shown.
    ``own_batches``: a record of ours keeps the batch it names (``batch_id``: the others')."""
    conversations = document.get("conversations")
    if not isinstance(conversations, list):
        raise InputError.single(file_name, "'conversations' must be an array",
                                "$.conversations")
    if not conversations:
        raise InputError.single(file_name, "the training file holds no conversations",
                                "$.conversations")
    shared = document.get("consultant_profile")
    for index, item in enumerate(conversations):
        yield split_item(item, index, len(conversations), shared, file_name, batch_id,
                         own_batches)


def split_item(item: Any, index: int, count: int, shared_profile: Any, file_name: str,
               batch_id: str, own_batches: bool = True) -> ItemResult:
    """One conversation of a full file (the ``index``-th of ``count``): its part, and its
    record or the error that names it (``app.fullstream`` reads them one at a time)."""
    part = f"{PART_MARK}{index + 1} of {count}]"
    label = file_name + part
    where = f"$.conversations[{index}]"
    try:
        if earlier_format_conversation(item):
            record = _from_user_format(item, shared_profile, label, batch_id)
        elif isinstance(item, dict) and "messages" in item:
            own = _own_batch(item) if own_batches else None
            record = _from_our_format(item, shared_profile, label, where, own or batch_id)
        else:
            raise InputError.single(label, "not a conversation: it has neither "
                                    "training_pairs nor messages", where)
        return part, record, None
    except InputError as exc:
        return part, None, exc


def _fingerprint(value: Any) -> str:
    """The conversation's own bytes, so the same conversation in two files is recognised."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _conversation_id(meta: Mapping[str, Any]) -> str | None:
    """The id the conversation's own file had (``fp_conversation_<uuid>``), so a
    conversation imported before as a single file is recognised; else the bare id."""
    own = meta.get("conversation_id")
    source = meta.get("source_file")
    if isinstance(source, str) and source and (not own or str(own) in source):
        return PurePath(source).stem
    return str(own) if own not in (None, "") else None


def _from_user_format(
    item: Mapping[str, Any], shared_profile: Any, label: str, batch_id: str
) -> ConversationRecord:
    meta = item.get("conversation_metadata")
    if not isinstance(meta, dict):
        raise InputError.single(label, "'conversation_metadata' must be an object",
                                "$.conversation_metadata")
    found = meta.get("scaffolding")
    scaffolding: dict[str, Any] = found if isinstance(found, dict) else {}
    persona = _blank_to_none(scaffolding.get("persona_name"))
    params = {
        "persona_key": _blank_to_none(scaffolding.get("persona_key")),
        "persona_name": persona.split(" - ")[0].strip() if isinstance(persona, str) else None,
        "emotional_arc_key": _blank_to_none(scaffolding.get("emotional_arc_key")),
        "emotional_arc_name": _blank_to_none(scaffolding.get("emotional_arc")),
        "training_topic_key": _blank_to_none(scaffolding.get("training_topic_key")),
        "training_topic_name": _blank_to_none(scaffolding.get("training_topic")),
    }
    document: dict[str, Any] = {
        "dataset_metadata": {**meta, "dataset_name": _conversation_id(meta)},
        "consultant_profile": item.get("consultant_profile") or shared_profile,
        "training_pairs": item.get("training_pairs"),
    }
    if any(value is not None for value in params.values()):
        document["input_parameters"] = {k: v for k, v in params.items() if v is not None}
    facts = check_structure(document, label)
    record = normalise(document, file_name=label, content_sha256=_fingerprint(item),
                       batch_id=batch_id, facts=facts)
    record["source"]["file_name"] = str(meta.get("source_file") or label)
    if record["stats"]["trainable_replies"] == 0:
        raise InputError.single(label, "no consultant reply to train on", "$.training_pairs")
    return record


# --- our own format: canonical records ---------------------------------------------------

TEXT_OR_NULL = (str, type(None))
MESSAGE_OPTIONAL = {
    "pair_id": TEXT_OR_NULL, "conversation_phase": TEXT_OR_NULL,
    "expected_outcome": TEXT_OR_NULL, "emotional_context": (dict, type(None)),
    "training_metadata": (dict, type(None)), "annotations": (dict, type(None)),
}


def _problem(problems: list[Problem], label: str, path: str, reason: str) -> None:
    problems.append(Problem(label, reason, path))


def check_record(record: Any, label: str, where: str = "$") -> None:
    """Check a canonical record for every field the library, the builds and the JSONL read.

    The JSON Schema (``app.validate``) is the complete description; this is the part of it
    the app depends on, fast enough for thousands of records.
    """
    problems: list[Problem] = []
    if not isinstance(record, dict):
        raise InputError.single(label, "a conversation must be an object", where)
    if not isinstance(record.get("conversation_id"), str) or not record["conversation_id"]:
        _problem(problems, label, f"{where}.conversation_id", "must be non-empty text")
    for key in ("batch_id", "quality_tier"):
        if not isinstance(record.get(key), TEXT_OR_NULL):
            _problem(problems, label, f"{where}.{key}", "must be text or null")
    for key, types in (("source", (dict,)), ("client", (dict,)), ("scaffolding", (dict,)),
                       ("quality", (dict,)), ("input_parameters", (dict, type(None))),
                       ("consultant_profile", (dict, type(None))), ("system_prompt", (str,))):
        if not isinstance(record.get(key), types):
            _problem(problems, label, f"{where}.{key}", f"'{key}' is missing or of the wrong type")
    if problems:
        raise InputError(problems)
    source = record["source"]
    if not isinstance(source.get("file_name"), str) or not source["file_name"]:
        _problem(problems, label, f"{where}.source.file_name", "must be non-empty text")
    if not isinstance(source.get("dataset_metadata"), dict):
        _problem(problems, label, f"{where}.source.dataset_metadata", "must be an object")
    if source.get("kind") not in ("enriched", "legacy"):
        _problem(problems, label, f"{where}.source.kind", "must be 'enriched' or 'legacy'")
    for key in SCAFFOLDING_KEYS:
        if not isinstance(record["scaffolding"].get(key), TEXT_OR_NULL):
            _problem(problems, label, f"{where}.scaffolding.{key}", "must be text or null")
    for key in ("persona", "name", "archetype_name", "background", "session_context"):
        if not isinstance(record["client"].get(key), TEXT_OR_NULL):
            _problem(problems, label, f"{where}.client.{key}", "must be text or null")
    _check_quality(record["quality"], label, f"{where}.quality", problems)
    _check_messages(record.get("messages"), label, f"{where}.messages", problems)
    if problems:
        raise InputError(problems[:20])


def _check_quality(quality: dict[str, Any], label: str, where: str,
                   problems: list[Problem]) -> None:
    score = quality.get("mean_score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        _problem(problems, label, f"{where}.mean_score", "must be a number or null")
    warnings = quality.get("warnings")
    if not isinstance(warnings, list):
        _problem(problems, label, f"{where}.warnings", "must be an array")
        return
    for i, warning in enumerate(warnings):
        ok = (isinstance(warning, dict) and isinstance(warning.get("code"), str)
              and isinstance(warning.get("message"), str)
              and isinstance(warning.get("turn_number"), int | type(None)))
        if not ok:
            _problem(problems, label, f"{where}.warnings[{i}]",
                     "a warning needs a code, a message and a turn number or null")


def _check_messages(messages: Any, label: str, where: str, problems: list[Problem]) -> None:
    if not isinstance(messages, list) or len(messages) < 2:
        _problem(problems, label, where, "needs the system message and at least one more")
        return
    first = messages[0]
    if not (isinstance(first, dict) and first.get("role") == "system"
            and isinstance(first.get("content"), str)):
        _problem(problems, label, f"{where}[0]", "the first message must be the system message")
    for i, message in enumerate(messages[1:], start=1):
        path = f"{where}[{i}]"
        expected = "user" if i % 2 == 1 else "assistant"
        if not isinstance(message, dict) or message.get("role") != expected:
            article = "a" if expected == "user" else "an"
            _problem(problems, label, path,
                     f"must be {article} {expected} message (roles alternate)")
            continue
        if not isinstance(message.get("content"), str) or not message["content"].strip():
            _problem(problems, label, f"{path}.content", "must be non-empty text")
        turn = message.get("turn_number")
        if isinstance(turn, bool) or not isinstance(turn, int):
            _problem(problems, label, f"{path}.turn_number", "must be a whole number")
        for key, types in MESSAGE_OPTIONAL.items():
            if not isinstance(message.get(key), types):
                _problem(problems, label, f"{path}.{key}", "is of the wrong type")
        if len(problems) >= 20:
            return


def _own_batch(item: Any) -> str | None:
    """The batch a record of ours names, as the library spells batch ids; None when it
    names none (or one no library could hold): the file's batch then."""
    named = item.get("batch_id") if isinstance(item, dict) else None
    if not isinstance(named, str):
        return None
    try:
        return clean_batch_id(named)
    except LibraryError:
        return None


def _from_our_format(
    item: Mapping[str, Any], shared_profile: Any, label: str, where: str, batch_id: str
) -> ConversationRecord:
    check_record(item, label, where)
    messages = item["messages"]
    dialogue = messages[1:]
    replies = [m for m in dialogue if m["role"] == "assistant"]
    if not replies:
        raise InputError.single(label, "no consultant reply to train on", f"{where}.messages")
    record = dict(item)
    record["batch_id"] = batch_id
    record["consultant_profile"] = item.get("consultant_profile") or shared_profile
    record["source"] = {**item["source"], "content_sha256": _fingerprint(item)}
    record["stats"] = {  # counted again rather than trusted
        "messages": len(messages),
        "client_turns": sum(1 for m in dialogue if m["role"] == "user"),
        "trainable_replies": len(replies),
        "ends_with_unanswered_client_turn": dialogue[-1]["role"] == "user",
    }
    # A file built before import mended texts (escapes, Windows line ends, control
    # characters) brings them back in mended, as a generator's file would be.
    record = repair_record(record) or record
    return cast(ConversationRecord, record)  # check_record has checked the shape
