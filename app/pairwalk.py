"""One walk over a conversation file's training pairs: check each pair, and gather while it
is in hand what the normaliser needs from the pairs.

Before, the structural check, the scaffolding, the client, the system prompt, the repair
scan and the conversation ids each went over the pairs again, looking up the same fields.
The check here tests the exact types of a block's fields at once (one tuple of types looked
up in the set of allowed tuples), which is all a parsed JSON document can hold, and says
only yes or no. A file it refuses is explained by ``app.canonical.check_structure``'s
message-building check, so every message is the one that check gives
(``tests/test_pairwalk.py`` holds the two to the same verdict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from app.detect import SCAFFOLDING_KEYS, Kind
from app.input_types import (
    DETECTED_EMOTION_TYPES,
    EMOTIONAL_CONTEXT_TYPES,
    MAX_TURN,
    METADATA_TEXT_TYPES,
    PAIR_FIELD_TYPES,
    SNAKE_CASE,
    TAXONOMY_KEYS,
    TRAINING_METADATA_TYPES,
)
from app.repair import has_controls, shows_double_escaping

NULL = type(None)
EMPTY = (None, "")  # what does not count as a value when the first one is looked for
# The pair metadata keys whose first value (in file order) is the conversation's own.
CLIENT_KEYS = ("client_persona", "client_background", "session_context")
LEVEL_KEYS = (*SCAFFOLDING_KEYS, *CLIENT_KEYS)

Shape = tuple[tuple[str, ...], frozenset[tuple[type, ...]]]


def _optional(spec: Mapping[str, tuple[tuple[type, ...], str]]) -> Shape:
    """A table's keys and every tuple of exact types their values may have (each may be
    null; ``bool`` only where the table names it, as the message-building check reads it)."""
    return tuple(spec), frozenset(product(*[(*types, NULL) for types, _ in spec.values()]))


PAIR_SHAPE: Shape = (tuple(key for key, _, _ in PAIR_FIELD_TYPES),
                     frozenset(product(*[types for _, types, _ in PAIR_FIELD_TYPES])))
TRAINING_SHAPE = _optional(TRAINING_METADATA_TYPES)
EMOTIONAL_SHAPE = _optional(EMOTIONAL_CONTEXT_TYPES)
DETECTED_SHAPE = _optional(DETECTED_EMOTION_TYPES)
METADATA_SHAPE = _optional({**METADATA_TEXT_TYPES,
                            **{key: ((str,), "") for key in SCAFFOLDING_KEYS}})


def _fits(block: dict[str, Any], shape: Shape) -> bool:
    keys, allowed = shape
    return tuple(map(type, map(block.get, keys))) in allowed


@dataclass(frozen=True, slots=True)
class PairFacts:
    """What the normaliser needs from a checked file's pairs."""

    kind: Kind
    in_order: list[dict[str, Any]]  # by turn number; equal turns keep their file order
    level: dict[str, Any]  # per LEVEL_KEYS key found, its first value that is not empty
    system_prompt: str  # the first system prompt that is not empty, else ""
    double_escaped: bool  # a text shows escape sequences left in as characters
    controls: bool  # a text holds a carriage return or another control character
    conversation_ids: frozenset[str]  # the pairs' conversation ids


def _pair_fits(pair: Any, snake_keys: set[str]) -> bool:
    """Whether one pair passes every check of ``app.canonical._check_pair``;
    ``snake_keys`` remembers the taxonomy keys already matched in this file."""
    if type(pair) is not dict or not _fits(pair, PAIR_SHAPE):
        return False
    if not 1 <= pair["turn_number"] <= MAX_TURN:
        return False
    emotional = pair["emotional_context"]
    if not (_fits(pair["training_metadata"], TRAINING_SHAPE) and _fits(emotional,
                                                                        EMOTIONAL_SHAPE)):
        return False
    detected = emotional.get("detected_emotions")
    if detected is not None and not _fits(detected, DETECTED_SHAPE):
        return False
    meta = pair["conversation_metadata"]
    if not _fits(meta, METADATA_SHAPE):
        return False
    for key in TAXONOMY_KEYS:
        value = meta.get(key)
        if value is not None and value not in snake_keys:
            if not SNAKE_CASE.match(value):
                return False
            snake_keys.add(value)
    return True


def walk_pairs(pairs: Sequence[Any], kind: Kind) -> PairFacts | None:
    """The facts of the pairs, checked and gathered in one walk; None when a check fails
    (a pair that fails, no pairs, or every system prompt blank: the caller explains it)."""
    return _walk(pairs, kind, check=True)


def gather_pairs(pairs: Sequence[Any], kind: Kind) -> PairFacts:
    """The facts of pairs that the message-building check accepted although their types
    are not exactly JSON's (a ``dict`` subclass, say, which no parser makes)."""
    facts = _walk(pairs, kind, check=False)
    assert facts is not None  # an unchecked walk refuses nothing
    return facts


def _walk(pairs: Sequence[Any], kind: Kind, check: bool) -> PairFacts | None:
    snake_keys: set[str] = set()
    level: dict[str, Any] = {}
    missing: list[str] = list(LEVEL_KEYS)
    prompt: Any = None
    blank_prompts = True
    escaped = controls = False
    ids: set[str] = set()
    previous_turn, ordered = None, True
    for pair in pairs:
        if check and not _pair_fits(pair, snake_keys):
            return None
        meta = pair.get("conversation_metadata") or {}
        if missing:  # the first pair usually holds every one
            left = []
            for key in missing:
                value = meta.get(key)
                if value in EMPTY:
                    left.append(key)
                else:
                    level[key] = value
            missing = left
        own_prompt = pair.get("system_prompt")
        if prompt in EMPTY:
            prompt = own_prompt
        if blank_prompts and isinstance(own_prompt, str) and own_prompt.strip():
            blank_prompts = False
        text, reply = pair["current_user_input"], pair.get("target_response") or ""
        if not escaped:
            escaped = shows_double_escaping(text) or shows_double_escaping(reply)
        if not controls:
            controls = has_controls(text) or has_controls(reply)
        ids.add(pair.get("conversation_id"))
        turn = pair["turn_number"]
        if previous_turn is not None and turn < previous_turn:
            ordered = False
        previous_turn = turn
    if check and (not pairs or blank_prompts):
        return None
    prompt = prompt if prompt not in EMPTY else ""
    escaped = escaped or shows_double_escaping(prompt)
    controls = controls or has_controls(prompt)
    in_order = list(pairs) if ordered else sorted(pairs, key=lambda p: p["turn_number"])
    return PairFacts(kind, in_order, level, prompt, escaped, controls, frozenset(ids))
