"""Property tests of the normaliser: generated enriched documents in both pair conventions.

Whatever the texts, the number of exchanges, a trailing unanswered client turn or null
scaffolding, the canonical record alternates user/assistant after one system message, keeps
every client text once and in order, is the same for both conventions, and renders into
JSONL lines and a full file that pass our own checks and schemas.
"""

from __future__ import annotations

import copy
import itertools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hostile_corpus import base_document
from hypothesis import given, settings
from hypothesis import strategies as st

from app.build import write_training_files
from app.canonical import check_structure, normalise
from app.jsonl import jsonl_lines
from app.library import now_iso
from app.loader import record_from_bytes
from app.records import digest_of, summarise
from app.schemas import FULL_SCHEMA, INDIVIDUAL_SCHEMA, JSONL_SCHEMA, validator
from app.validate import chat_problems, validate_path

TEMPLATE = base_document()
CLIENT_PAIR = TEMPLATE["training_pairs"][0]  # a client-only pair of the real fixture
REPLY_PAIR = TEMPLATE["training_pairs"][1]  # a pair with the consultant's reply
SCAFFOLDING = ("persona_archetype", "emotional_arc", "emotional_arc_key", "training_topic",
               "training_topic_key")

# No backslash: escape repair has its own tests (tests/test_repair.py); here texts must come
# through unchanged.
CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"),
                           exclude_characters="\\") | st.sampled_from(
    ["\n", "\t", " "])
TEXT = st.text(CHARACTERS, min_size=1, max_size=60).filter(lambda s: s.strip())
KEY = st.from_regex(r"[a-z][a-z0-9]{0,7}(_[a-z0-9]{1,6}){0,2}", fullmatch=True)


@dataclass(frozen=True)
class Dialogue:
    system_prompt: str
    exchanges: list[tuple[str, str]]  # (client text, consultant reply)
    trailing: str | None  # an unanswered last client message
    scaffolding: str  # "filled", "null" or "absent"
    keys: tuple[str, str, str]

    @property
    def client_texts(self) -> list[str]:
        return [c for c, _ in self.exchanges] + ([self.trailing] if self.trailing else [])

    @property
    def replies(self) -> list[str]:
        return [r for _, r in self.exchanges]


dialogues = st.builds(
    Dialogue,
    system_prompt=TEXT,
    exchanges=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=6),
    trailing=st.none() | TEXT,
    scaffolding=st.sampled_from(["filled", "null", "absent"]),
    keys=st.tuples(KEY, KEY, KEY),
)


def _metadata(dialogue: Dialogue, phase: str) -> dict[str, Any]:
    meta = {key: CLIENT_PAIR["conversation_metadata"][key]
            for key in ("client_persona", "client_background", "session_context")}
    meta["conversation_phase"] = phase
    persona, arc, topic = dialogue.keys
    if dialogue.scaffolding == "filled":
        meta |= {"persona_archetype": persona, "emotional_arc": f"Arc {arc}",
                 "emotional_arc_key": arc, "training_topic": f"Topic {topic}",
                 "training_topic_key": topic}
    elif dialogue.scaffolding == "null":
        meta |= dict.fromkeys(SCAFFOLDING)
    return meta


def _pair(dialogue: Dialogue, turn: int, text: str, reply: str | None) -> dict[str, Any]:
    template = REPLY_PAIR if reply is not None else CLIENT_PAIR
    return {
        "id": f"generated_turn{turn}",
        "conversation_id": "generated",
        "turn_number": turn,
        "conversation_metadata": _metadata(dialogue, f"phase_{turn}"),
        "system_prompt": dialogue.system_prompt,
        "conversation_history": [],
        "current_user_input": text,
        "emotional_context": copy.deepcopy(template["emotional_context"]),
        "target_response": reply,
        "training_metadata": copy.deepcopy(template["training_metadata"]),
    }


def enriched_pairs(dialogue: Dialogue) -> list[dict[str, Any]]:
    """Odd pairs: the client speaks; even pairs repeat the client text and carry the reply."""
    pairs = []
    for client, reply in dialogue.exchanges:
        pairs.append(_pair(dialogue, len(pairs) + 1, client, None))
        pairs.append(_pair(dialogue, len(pairs) + 1, client, reply))
    if dialogue.trailing:
        pairs.append(_pair(dialogue, len(pairs) + 1, dialogue.trailing, None))
    return pairs


def legacy_pairs(dialogue: Dialogue) -> list[dict[str, Any]]:
    """One pair per exchange: client text and reply together."""
    pairs = [_pair(dialogue, turn, client, reply)
             for turn, (client, reply) in enumerate(dialogue.exchanges, start=1)]
    if dialogue.trailing:
        pairs.append(_pair(dialogue, len(pairs) + 1, dialogue.trailing, None))
    return pairs


def document(dialogue: Dialogue, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "dataset_metadata": {**TEMPLATE["dataset_metadata"],
                             "dataset_name": "fp_conversation_generated"},
        "consultant_profile": TEMPLATE["consultant_profile"],
        "training_pairs": pairs,
    }
    persona, arc, topic = dialogue.keys
    if dialogue.scaffolding == "filled":
        result["input_parameters"] = {"persona_key": persona, "emotional_arc_key": arc,
                                      "training_topic_key": topic}
    elif dialogue.scaffolding == "null":
        result["input_parameters"] = None
    return result


def chat(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in record["messages"]]


def assert_well_formed(record: dict[str, Any], dialogue: Dialogue) -> None:
    roles = [m["role"] for m in record["messages"]]
    assert roles[0] == "system"
    assert roles[1:] == ["user", "assistant"] * len(dialogue.exchanges) + (
        ["user"] if dialogue.trailing else [])
    dialogue_part = record["messages"][1:]
    for before, after in itertools.pairwise(dialogue_part):
        assert (before["role"], before["content"]) != (after["role"], after["content"])
    users = [m["content"] for m in dialogue_part if m["role"] == "user"]
    assert users == dialogue.client_texts
    assert [m["content"] for m in dialogue_part if m["role"] == "assistant"] == dialogue.replies
    assert record["stats"]["trainable_replies"] == len(dialogue.exchanges)
    assert record["stats"]["ends_with_unanswered_client_turn"] == bool(dialogue.trailing)


@settings(max_examples=60, deadline=None)
@given(dialogues)
def test_both_conventions_normalise_to_the_same_alternating_dialogue(
    dialogue: Dialogue,
) -> None:
    records = []
    for pairs in (enriched_pairs(dialogue), legacy_pairs(dialogue)):
        doc = document(dialogue, pairs)
        assert not list(validator(INDIVIDUAL_SCHEMA).iter_errors(doc))  # a realistic file
        check_structure(doc, "generated.json")
        record = normalise(doc, file_name="generated.json", content_sha256="0" * 64,
                           batch_id="generated")
        assert_well_formed(record, dialogue)
        # Through the bytes, as import reads it: the same dialogue.
        from_bytes = record_from_bytes(json.dumps(doc).encode("utf-8"), "generated.json",
                                       "generated")
        assert chat(from_bytes) == chat(record)
        records.append(record)
    enriched, legacy = records
    assert chat(enriched) == chat(legacy)


@settings(max_examples=60, deadline=None)
@given(dialogues, st.booleans())
def test_jsonl_lines_and_the_full_file_pass_our_checks_and_schemas(
    dialogue: Dialogue, legacy: bool
) -> None:
    pairs = legacy_pairs(dialogue) if legacy else enriched_pairs(dialogue)
    data = json.dumps(document(dialogue, pairs), ensure_ascii=False).encode("utf-8")
    record = record_from_bytes(data, "generated.json", "generated-batch")

    lines = list(jsonl_lines(record, "Generated", policy="keep"))
    assert len(lines) == 1
    for number, line in enumerate(lines, start=1):
        assert chat_problems(line, "generated.jsonl", number) == []
        errors = [e.message for e in validator(JSONL_SCHEMA).iter_errors(line)]
        assert errors == []
        assert [m["content"] for m in line["messages"] if m["role"] == "user"] == [
            c.strip() for c, _ in dialogue.exchanges]  # a line trims the whitespace around

    with tempfile.TemporaryDirectory() as folder:
        json_path, jsonl_path = Path(folder) / "Generated.json", Path(folder) / "Generated.jsonl"
        stamp = now_iso()
        result = write_training_files(
            json_path, jsonl_path, name="Generated", digests=[digest_of(summarise(record))],
            records=[record], profile_of=lambda _hash: record["consultant_profile"],
            created_at=stamp, updated_at=stamp, cut_off_policy="keep",
        )
        assert (result.conversations, result.jsonl_lines) == (1, 1)
        full = json.loads(json_path.read_text(encoding="utf-8"))
        errors = [e.message for e in validator(FULL_SCHEMA).iter_errors(full)]
        assert errors == []
        assert chat(full["conversations"][0]) == chat(record)
        assert validate_path(json_path).ok, validate_path(json_path).problems
        assert validate_path(jsonl_path).ok, validate_path(jsonl_path).problems
