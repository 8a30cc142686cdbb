"""Turn one enriched (or legacy) conversation file into the canonical conversation record.

The canonical record is what the library stores and what a full training file lists in
``conversations``. Its ``messages`` list is ordered system → user → assistant …, each turn
carrying the annotation of the training pair it came from, so that the JSONL can be derived
from it alone.

The pairs are walked twice: once in file order to check them and gather the conversation's
own facts (``app.pairwalk``), once in turn order to repair, place and annotate their texts
(``app.dialogue``); the warnings then read the messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from app.detect import SCAFFOLDING_KEYS, Kind, detect_kind
from app.dialogue import build_dialogue
from app.errors import InputError, Problem
from app.idtext import id_problem
from app.input_types import (
    DETECTED_EMOTION_TYPES,
    EMOTIONAL_CONTEXT_TYPES,
    INPUT_PARAMETER_TYPES,
    MAX_TURN,
    METADATA_TEXT_TYPES,
    PAIR_FIELD_TYPES,
    SNAKE_CASE,
    TAXONOMY_KEYS,
    TRAINING_METADATA_TYPES,
)
from app.pairwalk import PairFacts, gather_pairs, walk_pairs
from app.quality import dialogue_warnings, history_warnings, summarise_quality
from app.records import Client, ConversationRecord, Message, Quality, Scaffolding
from app.repair import TextRepair

SESSION_CONTEXT_HEADING = "\n\nSession context:\n"


def _expect(condition: bool, file: str, path: str, reason: str, problems: list[Problem]) -> bool:
    if not condition:
        problems.append(Problem(file, reason, path))
    return condition


def check_structure(document: Any, file: str) -> PairFacts:
    """Fast structural check of everything the normaliser relies on; gives what the check's
    walk over the pairs gathered for ``normalise``.

    Runs on every import; the complete JSON Schema check is ``app.validate``. Errors name the
    JSON path of each problem: a file the walk refuses is checked again here, building a
    message for each problem.
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
            file, "this is a full training file (many conversations in one file), not a "
            "single conversation file; give the file of one conversation here, or import "
            "this one (File ▸ Import files…, or lora-studio import), which reads each of "
            "its conversations")
    if not isinstance(document, dict):
        raise InputError.single(
            file, f"expected a JSON object at the top level, found {_type_name(document)}; "
            "a conversation file holds one conversation as an object: import each "
            "conversation's own file")
    if kind is Kind.UNKNOWN:
        if "training_pairs" in document:
            raise InputError.single(
                file, "'training_pairs' must be an array, found "
                f"{_type_name(document['training_pairs'])}; {FIX_IT}", "$.training_pairs")
        if is_export_manifest(document):
            raise InputError.single(file, _manifest_reason(document))
        raise InputError.single(
            file, "not an enriched conversation: the key 'training_pairs' is missing; "
            "import the enriched file the conversation generator wrote")
    problems: list[Problem] = []
    missing = [key for key in TOP_LEVEL_OBJECTS if key not in document]
    if missing:
        one = len(missing) == 1
        names = " and ".join(f"'{key}'" for key in missing)
        problems.append(Problem(
            file, f"the {'key' if one else 'keys'} {names} {'is' if one else 'are'} missing; "
            f"every enriched conversation has {'it' if one else 'them'}: import the file as "
            "the generator wrote it"))
    for key in TOP_LEVEL_OBJECTS:  # messages only for what fails
        if key in document and not isinstance(document[key], dict):
            problems.append(Problem(file, f"'{key}' must be an object, found "
                                          f"{_type_name(document[key])}", f"$.{key}"))
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
    facts = None if problems else walk_pairs(pairs, kind)
    if facts is None:
        _explain_pairs(pairs, file, problems)
        facts = gather_pairs(pairs, kind)
    return facts


TOP_LEVEL_OBJECTS = ("dataset_metadata", "consultant_profile")


def is_export_manifest(document: dict[str, Any]) -> bool:
    """Whether ``document`` is the manifest an export writes beside its copy
    (``app.export``): people drop the export folder back in."""
    return "manifest_version" in document and document.get("app") == "LoRA Studio"


def _manifest_reason(document: dict[str, Any]) -> str:
    name = document.get("training_file")
    of = f" of the training file '{name}'" if isinstance(name, str) else ""
    return (f"this is the manifest LoRA Studio writes beside an exported copy{of} (what was "
            "exported, with sizes and checksums), not a conversation; leave it out of the "
            "import")


def _explain_pairs(pairs: list[Any], file: str, problems: list[Problem]) -> None:
    """Add the pairs' problems to the document's and raise them, if there are any."""
    _expect(len(pairs) > 0, file, "$.training_pairs", "there are no training pairs", problems)
    prompts = [p.get("system_prompt") for p in pairs if isinstance(p, dict)]
    _expect(not pairs or any(isinstance(t, str) and t.strip() for t in prompts), file,
            "$.training_pairs[*].system_prompt", "every system_prompt is empty", problems)
    for index, pair in enumerate(pairs):
        _check_pair(pair, f"$.training_pairs[{index}]", file, problems)
        if len(problems) >= 20:
            break
    if problems:
        raise InputError([_with_next_step(problem) for problem in problems])


FIX_IT = "correct it in the file, or import the file as the generator wrote it"


def _with_next_step(problem: Problem) -> Problem:
    """A problem that says only what is wrong ("'turns' must be an object, found null")
    with what to do about it."""
    if "import " in problem.reason or "save " in problem.reason:
        return problem  # it says what to do already
    return replace(problem, reason=f"{problem.reason}; {FIX_IT}")


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


def _scaffolding(level: Mapping[str, Any], params: Mapping[str, Any]) -> Scaffolding:
    """The five v4 scaffolding fields, from the pairs or else from ``input_parameters``."""
    from_params = {
        "persona_archetype": params.get("persona_key"),
        "emotional_arc": params.get("emotional_arc_name"),
        "emotional_arc_key": params.get("emotional_arc_key"),
        "training_topic": params.get("training_topic_name"),
        "training_topic_key": params.get("training_topic_key"),
    }
    return cast(Scaffolding, {key: level.get(key) or from_params[key]
                              for key in SCAFFOLDING_KEYS})


def _client(level: Mapping[str, Any], params: Mapping[str, Any]) -> Client:
    persona = level.get("client_persona")
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
        "background": level.get("client_background"),
        "session_context": level.get("session_context"),
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


def normalise(
    document: Mapping[str, Any],
    *,
    file_name: str,
    content_sha256: str,
    batch_id: str | None = None,
    facts: PairFacts | None = None,
) -> ConversationRecord:
    """Build the canonical conversation record. ``facts``: what ``check_structure`` gave
    for this document (it runs here when they are not given)."""
    if facts is None:
        facts = check_structure(document, file_name)
    dataset = document.get("dataset_metadata") or {}
    params = document.get("input_parameters") or {}
    scaffolding = _scaffolding(facts.level, params)
    client = _client(facts.level, params)
    repair = (TextRepair(facts.double_escaped, facts.controls)
              if facts.double_escaped or facts.controls else None)
    system_prompt = repair.prompt(facts.system_prompt) if repair else facts.system_prompt
    conversation_level = {
        "client_persona": client["persona"],
        "client_background": client["background"],
        "session_context": client["session_context"],
        **scaffolding,
    }
    built = build_dialogue(facts.in_order, conversation_level, repair)
    dialogue = built.messages
    trailing_unanswered = bool(dialogue) and dialogue[-1]["role"] == "user"
    system = {"role": "system", "content": render_system_message(system_prompt, client,
                                                                  scaffolding)}
    messages = [system, *dialogue]
    warnings = [*(repair.warnings if repair else ()), *built.notes,
                *dialogue_warnings(dialogue), *history_warnings(built.histories, dialogue)]
    replies = [m for m in dialogue if m["role"] == "assistant"]
    pair_conversation_id = min((str(p) for p in facts.conversation_ids if p), default=None)
    conversation_id = dataset.get("dataset_name") or pair_conversation_id
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
            "kind": facts.kind.value,
            "pair_conversation_id": pair_conversation_id,
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
