"""The canonical record keeps what the input says, without duplicating it."""

from __future__ import annotations

import json

import pytest
from conftest import ENRICHED, LEGACY

from app.errors import InputError
from app.loader import load_conversation_file, record_from_bytes
from app.validate import validate_path


def test_per_turn_metadata_that_differs_is_kept_on_its_message():
    path = LEGACY[2]  # convo-03: background and session context change turn by turn
    document = json.loads(path.read_text(encoding="utf-8"))
    record = load_conversation_file(path)
    replies = [m for m in record["messages"] if m["role"] == "assistant"]
    for pair, reply in zip(document["training_pairs"], replies, strict=True):
        meta = pair["conversation_metadata"]
        kept = (reply["annotations"] or {}).get("conversation_metadata", {})
        for key in ("client_background", "session_context"):
            if key not in meta:
                continue
            conversation_value = record["client"]["background" if key == "client_background"
                                                  else "session_context"]
            if meta[key] == conversation_value:
                assert key not in kept  # said once, at conversation level
            else:
                assert kept[key] == meta[key]  # not silently dropped


def test_constant_metadata_is_not_repeated_on_messages():
    record = load_conversation_file(ENRICHED[1])
    for message in record["messages"][1:]:
        assert "conversation_metadata" not in (message["annotations"] or {})
    assert record["scaffolding"]["emotional_arc_key"] == "fear_to_confidence"


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        (("training_pairs", 1, "training_metadata"), "quality_score", "high"),
        (("training_pairs", 1, "training_metadata"), "human_reviewed", "yes"),
        (("training_pairs", 1, "emotional_context", "detected_emotions"), "intensity", "high"),
        (("training_pairs", 1, "emotional_context", "detected_emotions"), "primary", 5),
        (("training_pairs", 0, "conversation_metadata"), "client_persona", 5),
        (("input_parameters",), "persona_name", 5),
    ],
)
def test_import_and_validate_agree_on_output_fields(tmp_path, where, key, value):
    """A value that would reach the training files with the wrong type is refused by both."""
    document = json.loads(ENRICHED[1].read_text(encoding="utf-8"))
    node = document
    for step in where:
        node = node[step]
    node[key] = value
    data = json.dumps(document).encode()
    with pytest.raises(InputError) as refused:
        record_from_bytes(data, "changed.json")
    assert key in str(refused.value)
    path = tmp_path / "changed.json"
    path.write_bytes(data)
    assert not validate_path(path).ok


def test_reply_metadata_carries_the_clients_emotion_not_the_consultants_tone():
    from app.jsonl import jsonl_lines

    record = load_conversation_file(ENRICHED[0])  # its reply pairs describe Elena's tone
    (line,) = jsonl_lines(record, "t")
    messages = record["messages"]
    differs = 0
    for reply in line["metadata"]["replies"]:
        asked = messages[reply["message_index"] - 1]
        assert asked["role"] == "user"
        client = asked["emotional_context"]["detected_emotions"]["primary"]
        tone = messages[reply["message_index"]]["emotional_context"]["detected_emotions"]
        assert reply["client_emotion"] == client
        differs += client != tone["primary"]
    assert differs, "the fixture should show the two contexts apart"
