"""Turn one enriched (or legacy) conversation file into the canonical conversation record.

The canonical record is what the library stores and what a full training file lists in
``conversations``. Its ``messages`` list is ordered system → user → assistant …, each turn
carrying the annotation of the training pair it came from, so that the JSONL can be derived
from it alone.

Two pair conventions exist in the user's data and both give the same record:

* enriched files: odd pairs are the client speaking (``target_response`` null), even pairs
  repeat that client message as ``current_user_input`` and carry the consultant's reply;
* legacy files: one pair per exchange (client message and reply together).

A client message is therefore appended only when it is not already the last message, so no
user message is ever duplicated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from app.detect import SCAFFOLDING_KEYS, Kind, detect_kind
from app.errors import InputError, Problem
from app.idtext import id_problem
from app.quality import Warning_, find_warnings, summarise_quality
from app.records import Client, ConversationRecord, Message, Quality, Scaffolding
from app.repair import repair_pairs

# Pair fields that become structure (message text, order, conversation-level facts).
# Everything else a pair carries is annotation and is kept on the message it produced.
STRUCTURAL_PAIR_FIELDS = frozenset(
    {
        "id",
        "conversation_id",
        "turn_number",
        "conversation_metadata",
        "system_prompt",
        "conversation_history",
        "current_user_input",
        "target_response",
        "emotional_context",
        "training_metadata",
    }
)
MESSAGE_LEVEL_METADATA = ("conversation_phase", "expected_outcome")
SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
MAX_TURN = 10_000
SESSION_CONTEXT_HEADING = "\n\nSession context:\n"


def _expect(condition: bool, file: str, path: str, reason: str, problems: list[Problem]) -> bool:
    if not condition:
        problems.append(Problem(file, reason, path))
    return condition


def check_structure(document: Any, file: str) -> None:
    """Fast structural check of everything the normaliser relies on.

    Runs on every import; the complete JSON Schema check is ``app.validate``. Errors name the
    JSON path of each problem.
    """
    kind = detect_kind(document)
    if kind is Kind.RAW:
        raise InputError.single(
            file,
            "this is a raw conversation (conversation_metadata + turns), not an enriched "
            "file: it has no training_pairs. Enrich it first, then import the enriched file.",
        )
    if kind is Kind.FULL:
        raise InputError.single(
            file, "this is a full training file, not a single conversation file"
        )
    if not isinstance(document, dict):
        raise InputError.single(
            file, f"expected a JSON object at the top level, found {_type_name(document)}"
        )
    if kind is Kind.UNKNOWN:
        if "training_pairs" in document:
            raise InputError.single(
                file, "'training_pairs' must be an array, found "
                f"{_type_name(document['training_pairs'])}", "$.training_pairs")
        raise InputError.single(
            file, "not an enriched conversation: the key 'training_pairs' is missing"
        )
    problems: list[Problem] = []
    for key in ("dataset_metadata", "consultant_profile"):  # messages only for what fails
        if not isinstance(document.get(key), dict):
            problems.append(Problem(file, f"'{key}' must be an object, found "
                                          f"{_type_name(document.get(key))}", f"$.{key}"))
    params = document.get("input_parameters")
    if params is not None and not isinstance(params, dict):
        problems.append(Problem(file, "'input_parameters' must be an object or null, found "
                                      f"{_type_name(params)}", "$.input_parameters"))
    if isinstance(params, dict):
        _check_types(params, INPUT_PARAMETER_TYPES, "$.input_parameters", file, problems)
        for key in ("persona_key", "emotional_arc_key", "training_topic_key"):
            value = params.get(key)
            if value is not None and not (isinstance(value, str) and SNAKE_CASE.match(value)):
                problems.append(Problem(file, f"'{key}' must be a snake_case key, found "
                                              f"{value!r}", f"$.input_parameters.{key}"))
    dataset = document.get("dataset_metadata")
    if isinstance(dataset, dict):
        for key in ("dataset_name", "quality_tier", "created_date"):
            value = dataset.get(key)
            if value is not None and not isinstance(value, str):
                problems.append(Problem(file, f"'{key}' must be text, found "
                                              f"{_type_name(value)}", f"$.dataset_metadata.{key}"))
    pairs = document["training_pairs"]
    _expect(len(pairs) > 0, file, "$.training_pairs", "there are no training pairs", problems)
    prompts = [p.get("system_prompt") for p in pairs if isinstance(p, dict)]
    _expect(not pairs or any(isinstance(t, str) and t.strip() for t in prompts), file,
            "$.training_pairs[*].system_prompt", "every system_prompt is empty", problems)
    for index, pair in enumerate(pairs):
        _check_pair(pair, f"$.training_pairs[{index}]", file, problems)
        if len(problems) >= 20:
            break
    if problems:
        raise InputError(problems)


PAIR_FIELD_TYPES: tuple[tuple[str, tuple[type, ...], str], ...] = (
    ("id", (str,), "a string"),
    ("conversation_id", (str,), "a string"),
    ("turn_number", (int,), "a whole number"),
    ("current_user_input", (str,), "a string"),
    ("system_prompt", (str,), "a string"),
    ("target_response", (str, type(None)), "a string or null"),
    ("conversation_metadata", (dict,), "an object"),
    ("emotional_context", (dict,), "an object"),
    ("training_metadata", (dict,), "an object"),
    ("conversation_history", (list,), "an array"),
)
TAXONOMY_KEYS = ("persona_archetype", "emotional_arc_key", "training_topic_key")

# Optional fields whose values flow into the training files: when present they must have
# these types (None allowed), so that what import accepts always builds valid outputs.
TEXT = ((str,), "text")
NUMBER = ((int, float), "a number")
FLAG = ((bool,), "true or false")
OBJECT = ((dict,), "an object")
INPUT_PARAMETER_TYPES = {
    key: TEXT for key in ("persona_id", "persona_name", "persona_key", "persona_archetype",
                          "emotional_arc_id", "emotional_arc_name", "emotional_arc_key",
                          "training_topic_id", "training_topic_name", "training_topic_key")
}
METADATA_TEXT_TYPES = {
    key: TEXT for key in ("client_persona", "client_background", "session_context",
                          "conversation_phase", "expected_outcome")
}
TRAINING_METADATA_TYPES = {"quality_score": NUMBER, "human_reviewed": FLAG,
                           "quality_criteria": OBJECT}
EMOTIONAL_CONTEXT_TYPES = {"detected_emotions": OBJECT}
DETECTED_EMOTION_TYPES = {
    "primary": TEXT, "secondary": TEXT, "tertiary": TEXT, "valence": TEXT,
    "intensity": NUMBER, "primary_confidence": NUMBER, "secondary_confidence": NUMBER,
    "tertiary_confidence": NUMBER,
}


def _check_types(block: dict[str, Any], spec: Mapping[str, tuple[tuple[type, ...], str]],
                 path: str, file: str, problems: list[Problem]) -> None:
    get = block.get
    for key, (types, wanted) in spec.items():
        value = get(key)
        if value is None or (type(value) in types and type(value) is not bool):
            continue  # the common case, decided without isinstance
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            problems.append(Problem(file, f"'{key}' must be {wanted} or null, found "
                                          f"{_type_name(value)}", f"{path}.{key}"))


def _check_pair(pair: Any, path: str, file: str, problems: list[Problem]) -> None:
    """Type checks on one pair. Runs for every pair of every import, so messages are only
    built for what actually fails."""
    if not isinstance(pair, dict):
        problems.append(Problem(file, "a training pair must be an object", path))
        return
    for key, types, wanted in PAIR_FIELD_TYPES:
        value = pair.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            problems.append(Problem(file, f"'{key}' must be {wanted}, found "
                                          f"{_type_name(value)}", f"{path}.{key}"))
    turn = pair.get("turn_number")
    if isinstance(turn, int) and not isinstance(turn, bool) and not 1 <= turn <= MAX_TURN:
        problems.append(Problem(file, f"turn numbers run from 1 to {MAX_TURN}, found {turn}",
                                f"{path}.turn_number"))
    for block, spec in (("training_metadata", TRAINING_METADATA_TYPES),
                        ("emotional_context", EMOTIONAL_CONTEXT_TYPES)):
        if isinstance(pair.get(block), dict):
            _check_types(pair[block], spec, f"{path}.{block}", file, problems)
    detected = (pair.get("emotional_context") or {}).get("detected_emotions") \
        if isinstance(pair.get("emotional_context"), dict) else None
    if isinstance(detected, dict):
        _check_types(detected, DETECTED_EMOTION_TYPES,
                     f"{path}.emotional_context.detected_emotions", file, problems)
    meta = pair.get("conversation_metadata")
    if not isinstance(meta, dict):
        return
    _check_types(meta, METADATA_TEXT_TYPES, f"{path}.conversation_metadata", file, problems)
    for key in SCAFFOLDING_KEYS:
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(file, f"'{key}' must be a string or null, found "
                                          f"{_type_name(value)}",
                                    f"{path}.conversation_metadata.{key}"))
        elif key in TAXONOMY_KEYS and isinstance(value, str) and not SNAKE_CASE.match(value):
            problems.append(Problem(file, f"'{key}' must be a snake_case key, found {value!r}",
                                    f"{path}.conversation_metadata.{key}"))


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _first(values: list[Any]) -> Any:
    return next((value for value in values if value not in (None, "")), None)


def scaffolding_of(document: Mapping[str, Any]) -> Scaffolding:
    """The five v4 scaffolding fields, from the pairs or else from ``input_parameters``."""
    pairs = document["training_pairs"]
    metas = [pair.get("conversation_metadata") or {} for pair in pairs]
    params = document.get("input_parameters") or {}
    from_params = {
        "persona_archetype": params.get("persona_key"),
        "emotional_arc": params.get("emotional_arc_name"),
        "emotional_arc_key": params.get("emotional_arc_key"),
        "training_topic": params.get("training_topic_name"),
        "training_topic_key": params.get("training_topic_key"),
    }
    return cast(Scaffolding, {
        key: _first([meta.get(key) for meta in metas]) or from_params[key]
        for key in SCAFFOLDING_KEYS
    })


def _client(document: Mapping[str, Any]) -> Client:
    metas = [pair.get("conversation_metadata") or {} for pair in document["training_pairs"]]
    params = document.get("input_parameters") or {}
    persona = _first([meta.get("client_persona") for meta in metas])
    name = params.get("persona_name")
    archetype_name = None
    if isinstance(persona, str) and " - " in persona:
        head, _, tail = persona.partition(" - ")
        name = name or head.strip()
        archetype_name = tail.strip()
    elif isinstance(persona, str):
        name = name or persona
    return {
        "persona": persona,
        "name": name,
        "archetype_name": archetype_name,
        "background": _first([meta.get("client_background") for meta in metas]),
        "session_context": _first([meta.get("session_context") for meta in metas]),
    }


def render_system_message(
    system_prompt: str, client: Mapping[str, Any], scaffolding: Mapping[str, Any]
) -> str:
    """The system message the model trains on: the prompt plus the session's scaffolding.

    The scaffolding is stated in plain words so the model sees the explicit pattern markers
    (persona, arc, topic) that the v4 format exists to carry. Lines whose value is unknown
    are left out rather than written as "None".
    """
    lines = []
    if client.get("persona"):
        archetype = scaffolding.get("persona_archetype")
        suffix = f" [{archetype}]" if archetype else ""
        lines.append(f"- Client: {client['persona']}{suffix}")
    if scaffolding.get("emotional_arc"):
        lines.append(f"- Emotional arc: {scaffolding['emotional_arc']}")
    if scaffolding.get("training_topic"):
        lines.append(f"- Training topic: {scaffolding['training_topic']}")
    if not lines:
        return system_prompt
    return system_prompt.rstrip() + SESSION_CONTEXT_HEADING + "\n".join(lines)


def _annotation(pair: Mapping[str, Any], conversation_level: Mapping[str, Any]) -> dict[str, Any]:
    """What a pair says beyond its text, for the message it produced.

    Per-pair ``conversation_metadata`` values that differ from the conversation's own (a
    legacy file whose client background changes mid-way, say) are kept under
    ``annotations.conversation_metadata`` so nothing is silently dropped.
    """
    meta = pair.get("conversation_metadata") or {}
    extra = {key: value for key, value in pair.items() if key not in STRUCTURAL_PAIR_FIELDS}
    own = {
        key: value for key, value in meta.items()
        if key not in MESSAGE_LEVEL_METADATA and value is not None
        and value != conversation_level.get(key)
    }
    if own:
        extra["conversation_metadata"] = own
    return {
        "pair_id": pair.get("id"),
        "conversation_phase": meta.get("conversation_phase"),
        "expected_outcome": meta.get("expected_outcome"),
        "emotional_context": pair.get("emotional_context"),
        "training_metadata": pair.get("training_metadata"),
        "annotations": extra or None,
    }


def _bare_user_message(text: str, turn: int) -> dict[str, Any]:
    return {
        "role": "user",
        "content": text,
        "turn_number": turn,
        "pair_id": None,
        "conversation_phase": None,
        "expected_outcome": None,
        "emotional_context": None,
        "training_metadata": None,
        "annotations": None,
    }


def build_messages(
    pairs: list[Mapping[str, Any]], conversation_level: Mapping[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[Warning_]]:
    """Order the pairs' text into user/assistant messages, never duplicating a user turn.

    ``conversation_level`` holds the conversation's own metadata values; per-pair values
    that differ from them are kept on the message (see ``_annotation``).
    """
    level = conversation_level or {}
    messages: list[dict[str, Any]] = []
    notes: list[Warning_] = []
    for pair in sorted(pairs, key=lambda p: p["turn_number"]):
        turn = pair["turn_number"]
        text = pair["current_user_input"]
        reply = pair.get("target_response")  # absent is null, as the fast check reads it
        last = messages[-1] if messages else None
        repeats_last = last is not None and last["role"] == "user" and last["content"] == text
        if not repeats_last and text.strip():
            if last is not None and last["role"] == "user":
                # Two client messages in a row: join them so roles keep alternating.
                last["content"] = f"{last['content']}\n\n{text}"
                notes.append(Warning_("merged_client_turns", turn,
                                      "two client messages in a row were joined into one"))
            elif reply is None:
                messages.append({"role": "user", "content": text, "turn_number": turn,
                                 **_annotation(pair, level)})
                continue
            else:
                messages.append(_bare_user_message(text, turn))
        elif reply is None:
            if not text.strip():
                notes.append(Warning_("empty_turn", turn, "a turn with no text was skipped"))
            continue
        if reply is not None:
            if not messages or messages[-1]["role"] != "user":
                notes.append(Warning_("reply_without_client_turn", turn,
                                      "a reply with no client message before it was skipped"))
                continue
            if not reply.strip():
                notes.append(Warning_("empty_reply", turn, "an empty reply was skipped"))
                continue
            messages.append({"role": "assistant", "content": reply, "turn_number": turn,
                             **_annotation(pair, level)})
    return messages, notes


def normalise(
    document: Mapping[str, Any],
    *,
    file_name: str,
    content_sha256: str,
    batch_id: str | None = None,
) -> ConversationRecord:
    """Build the canonical conversation record. ``check_structure`` must have passed."""
    pairs = document["training_pairs"]
    dataset = document.get("dataset_metadata") or {}
    scaffolding = scaffolding_of(document)
    client = _client(document)
    system_prompt = _first([pair.get("system_prompt") for pair in pairs]) or ""
    pairs, system_prompt, repairs = repair_pairs(pairs, system_prompt)
    conversation_level = {
        "client_persona": client["persona"],
        "client_background": client["background"],
        "session_context": client["session_context"],
        **scaffolding,
    }
    dialogue, notes = build_messages(pairs, conversation_level)
    trailing_unanswered = bool(dialogue) and dialogue[-1]["role"] == "user"
    system = {"role": "system", "content": render_system_message(system_prompt, client,
                                                                  scaffolding)}
    messages = [system, *dialogue]
    warnings = repairs + notes + find_warnings(pairs, dialogue)
    replies = [m for m in dialogue if m["role"] == "assistant"]
    pair_ids = {pair.get("conversation_id") for pair in pairs}
    conversation_id = _first([dataset.get("dataset_name")]) or _first(sorted(
        str(p) for p in pair_ids if p))
    if not conversation_id:
        raise InputError.single(file_name, "no conversation id: dataset_metadata.dataset_name "
                                "and the pairs' conversation_id are both missing")
    problem = id_problem(str(conversation_id), "the conversation id")
    if problem:
        where = ("$.dataset_metadata.dataset_name" if dataset.get("dataset_name")
                 else "$.training_pairs[*].conversation_id")
        raise InputError.single(file_name, problem, where)
    return {
        "conversation_id": str(conversation_id),
        "batch_id": batch_id,
        "quality_tier": dataset.get("quality_tier"),
        "source": {
            "file_name": file_name,
            "content_sha256": content_sha256,
            "kind": detect_kind(document).value,
            "pair_conversation_id": _first(sorted(str(p) for p in pair_ids if p)),
            "dataset_metadata": dict(dataset),
        },
        "client": client,
        "scaffolding": scaffolding,
        "input_parameters": document.get("input_parameters"),
        "consultant_profile": document.get("consultant_profile"),
        "system_prompt": system_prompt,
        "messages": cast(list[Message], messages),
        "stats": {
            "messages": len(messages),
            "client_turns": sum(1 for m in dialogue if m["role"] == "user"),
            "trainable_replies": len(replies),
            "ends_with_unanswered_client_turn": trailing_unanswered,
        },
        "quality": cast(Quality, summarise_quality(replies, warnings)),
    }
