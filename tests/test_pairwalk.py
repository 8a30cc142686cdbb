"""The import's one walk over the pairs (``app.pairwalk``) gives the verdict of the check
that builds the messages (``app.canonical._check_pair``), on every hostile file and on every
wrong value in every field either check reads; what it gathers is what the record says."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from hostile_corpus import hostile_cases

from app import canonical, input_types, quality
from app.detect import SCAFFOLDING_KEYS, detect_kind
from app.dialogue import build_dialogue
from app.errors import InputError, Problem
from app.loader import record_from_bytes
from app.pairwalk import _pair_fits, gather_pairs, walk_pairs

BASES = [orjson.loads(path.read_bytes()) for path in ENRICHED + LEGACY]
VALUES = (None, True, False, 0, 1, 7, 10_000, 10_001, -1, 1.5, "", " ", "text", "snake_key",
          "Not Snake", [], ["x"], {}, {"a": 1})
# Every field a check of one pair reads: (the blocks leading to it, its key).
FIELDS: list[tuple[tuple[str, ...], str]] = [
    *[((), key) for key, _, _ in input_types.PAIR_FIELD_TYPES],
    *[(("training_metadata",), key) for key in input_types.TRAINING_METADATA_TYPES],
    *[(("emotional_context",), key) for key in input_types.EMOTIONAL_CONTEXT_TYPES],
    *[(("emotional_context", "detected_emotions"), key)
      for key in input_types.DETECTED_EMOTION_TYPES],
    *[(("conversation_metadata",), key)
      for key in (*input_types.METADATA_TEXT_TYPES, *SCAFFOLDING_KEYS)],
]


def _explained(pair: Any) -> list[Problem]:
    problems: list[Problem] = []
    canonical._check_pair(pair, "$.training_pairs[0]", "f.json", problems)
    return problems


def _variants(pair: dict[str, Any]) -> list[Any]:
    """The pair with each field in turn set to each value, or deleted."""
    found: list[Any] = []
    for blocks, key in FIELDS:
        for value in (*VALUES, KeyError):
            variant = copy.deepcopy(pair)
            target = variant
            for block in blocks:
                target = target.get(block) if isinstance(target, dict) else None
            if not isinstance(target, dict):
                continue
            if value is KeyError:
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(value)
            found.append(variant)
    return found


@pytest.mark.parametrize("base", range(len(BASES)))
def test_the_walk_and_the_explaining_check_agree_on_every_wrong_value(base: int) -> None:
    pairs = BASES[base]["training_pairs"]
    variants = [pair for original in pairs[:2] for pair in _variants(original)]
    variants += [None, [], "pair", 3]
    assert len(variants) > 500
    for pair in variants:
        assert _pair_fits(pair, set()) == (not _explained(pair)), pair


def _hostile_documents() -> list[tuple[str, Any]]:
    documents = []
    for case in hostile_cases():
        if case.big:
            continue
        try:
            documents.append((case.name, orjson.loads(case.make())))
        except orjson.JSONDecodeError:
            continue
    return documents


def test_the_walk_and_the_explaining_check_agree_on_every_hostile_file() -> None:
    checked = 0
    for name, document in [*_hostile_documents(), *(("base", b) for b in BASES)]:
        pairs = document.get("training_pairs") if isinstance(document, dict) else None
        if not isinstance(pairs, list):
            continue
        problems: list[Problem] = []
        try:
            canonical._explain_pairs(pairs, name, problems)
            explained = True
        except InputError:
            explained = False
        assert (walk_pairs(pairs, detect_kind(document)) is not None) == explained, name
        checked += 1
    assert checked > 20


@pytest.mark.parametrize("base", range(len(BASES)))
def test_what_the_walk_gathers_is_what_the_record_says(base: int) -> None:
    document = BASES[base]
    facts = canonical.check_structure(document, "f.json")
    assert facts == gather_pairs(document["training_pairs"], detect_kind(document))
    record = record_from_bytes(orjson.dumps(document), "f.json")
    pairs = document["training_pairs"]
    assert facts.in_order == sorted(pairs, key=lambda p: p["turn_number"])
    assert facts.conversation_ids == {p["conversation_id"] for p in pairs}
    assert record["client"]["persona"] == facts.level.get("client_persona")
    first_prompt = next(p["system_prompt"] for p in pairs if p["system_prompt"])
    assert record["system_prompt"] == first_prompt or facts.double_escaped


def test_objects_that_are_not_plain_dicts_still_normalise_the_same() -> None:
    """No parser makes them, but a caller may: the exact-type walk refuses them, the
    explaining check accepts them, and the record is the one plain dicts give."""
    document = copy.deepcopy(BASES[0])
    plain = canonical.normalise(document, file_name="f.json", content_sha256="0" * 64)
    document["training_pairs"] = [OrderedDict(p) for p in document["training_pairs"]]
    assert walk_pairs(document["training_pairs"], detect_kind(document)) is None
    assert canonical.normalise(document, file_name="f.json", content_sha256="0" * 64) == plain


def _slow_history_problems(histories: list[tuple[int, list[Any]]],
                           dialogue: list[dict[str, Any]]) -> list[str | None]:
    return [quality._history_problem(history, [m for m in dialogue if m["turn_number"] < turn])
            for turn, history in histories]


def _history_variants(history: list[Any]) -> list[list[Any]]:
    """A history as the file has it, and each way it can differ from the messages."""
    found = [history, [], [*history, *history[-1:]], history[:-1], ["a summary"],
             [{"summary": "earlier turns"}]]
    for index, entry in enumerate(history):
        swapped = "assistant" if entry.get("role") == "user" else "user"
        for change in ({"role": swapped}, {"role": "system"}, {"role": None},
                       {"content": "other text"}, {"content": f"{entry.get('content')} (edited)"},
                       {"content": None}, {"content": entry.get("content", "")[:3] + "..."}):
            variant = copy.deepcopy(history)
            variant[index] = {**entry, **change}
            found.append(variant)
        found.append([*history[:index], "not an object", *history[index + 1:]])
    return found


@pytest.mark.parametrize("base", range(len(BASES)))
def test_the_history_shortcut_says_what_the_full_comparison_says(base: int) -> None:
    facts = canonical.check_structure(BASES[base], "f.json")
    built = build_dialogue(facts.in_order, {})
    compared = 0
    for turn, history in built.histories:
        for variant in _history_variants(history):
            histories = [(turn, variant)]
            problems = [w.message for w in quality.history_warnings(histories, built.messages)]
            slow = [p for p in _slow_history_problems(histories, built.messages) if p]
            assert problems == slow, (turn, variant)
            compared += 1
    assert compared > 10
