"""Tests for the two training-file renderings: the full JSON and its JSONL sibling.

They keep three promises:
* the schemas in ``schemas/`` describe exactly what the code writes, and the example pair
  there is what the code produces today;
* the JSONL is a pure projection of the full JSON, in the chat format trainers read;
* HF ``datasets`` loads the JSONL (one Arrow schema for every line).
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from schema_walk import property_schemas

from app.build import write_records
from app.cut_off_rule import looks_cut_off
from app.example import build_example
from app.loader import load_conversation_file, record_from_bytes
from app.schemas import EXAMPLE_FULL, EXAMPLE_JSONL, FULL_SCHEMA, JSONL_SCHEMA

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = REPO_ROOT / "schemas"
FIXTURES = REPO_ROOT / "tests" / "fixtures"
ENRICHED_FILES = sorted((FIXTURES / "enriched").glob("*.json"))
LEGACY_FILES = sorted((FIXTURES / "legacy").glob("*.json"))
ALL_FILES = ENRICHED_FILES + LEGACY_FILES
TIME = "2026-01-01T00:00:00Z"


def _ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [
        f"{error.json_path}: {error.message[:200]}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: e.json_path)
    ]


@pytest.fixture(scope="module")
def full_schema() -> dict[str, Any]:
    return _read_json(SCHEMAS / FULL_SCHEMA)


@pytest.fixture(scope="module")
def line_schema() -> dict[str, Any]:
    return _read_json(SCHEMAS / JSONL_SCHEMA)


@pytest.fixture(scope="module")
def full_validator(full_schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(full_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def line_validator(line_schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(line_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def example_full() -> dict[str, Any]:
    return _read_json(SCHEMAS / EXAMPLE_FULL)


@pytest.fixture(scope="module")
def example_lines() -> list[dict[str, Any]]:
    return _read_jsonl(SCHEMAS / EXAMPLE_JSONL)


def _regenerate_script() -> ModuleType:
    path = REPO_ROOT / "scripts" / "regenerate_example.py"
    spec = importlib.util.spec_from_file_location("regenerate_example", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(
    out_dir: Path, records: list[dict[str, Any]], name: str = "test-file",
    policy: str = "trim",
) -> tuple[Path, Path]:
    result = write_records(out_dir / f"{name}.json", out_dir / f"{name}.jsonl", name=name,
                           records=records, created_at=TIME, updated_at=TIME,
                           cut_off_policy=policy)
    return result.json_path, result.jsonl_path


def assert_chat_line(line: dict[str, Any]) -> None:
    """The checks chat fine-tuning tools make on one JSONL line."""
    messages = line["messages"]
    assert isinstance(messages, list) and messages, "messages must be a non-empty list"
    for index, message in enumerate(messages):
        keys = {"role", "content"} | ({"weight"} if "weight" in message else set())
        assert set(message) == keys, f"message {index} has keys {set(message)}"
        if "weight" in message:
            assert message["role"] == "assistant" and message["weight"] in (0, 1)
        content = message["content"]
        assert isinstance(content, str) and content.strip(), f"message {index} has no text"
    roles = [m["role"] for m in messages]
    assert roles[0] == "system", "the first message must be the system message"
    dialogue = roles[1:]
    assert dialogue, "there is no dialogue after the system message"
    expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(dialogue))]
    assert dialogue == expected, f"roles do not alternate user/assistant: {roles}"
    assert messages[-1].get("weight", 1) == 1, "the last reply must be a training target"
    assert roles[-1] == "assistant", "the last message must be a reply to train on"


# --- the schemas themselves -----------------------------------------------------------


@pytest.mark.parametrize("file_name", [FULL_SCHEMA, JSONL_SCHEMA])
def test_schema_is_valid_draft_2020_12(file_name: str) -> None:
    schema = _read_json(SCHEMAS / file_name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    assert schema["description"]


@pytest.mark.parametrize("file_name", [FULL_SCHEMA, JSONL_SCHEMA])
def test_every_property_is_documented(file_name: str) -> None:
    schema = _read_json(SCHEMAS / file_name)
    undocumented = [p for p, sub in property_schemas(schema) if not sub.get("description")]
    assert undocumented == []


def test_jsonl_schema_file_is_one_jsonl_line() -> None:
    data = (SCHEMAS / JSONL_SCHEMA).read_bytes()
    assert data.endswith(b"\n")
    assert data.count(b"\n") == 1
    assert isinstance(orjson.loads(data), dict)


def test_line_schema_defines_messages_only_line(line_schema: dict[str, Any]) -> None:
    messages_only = {"$ref": "#/$defs/messages_only_line", "$defs": line_schema["$defs"]}
    validator = Draft202012Validator(messages_only)
    chat = [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
    ]
    assert validator.is_valid({"messages": chat})
    assert not validator.is_valid({"messages": chat, "metadata": {}})
    assert not Draft202012Validator(line_schema).is_valid({"messages": chat})


# --- the example pair -----------------------------------------------------------------


def test_example_full_json_validates(
    full_validator: Draft202012Validator, example_full: dict[str, Any]
) -> None:
    errors = _errors(full_validator, example_full)
    assert errors == [], "\n".join(errors)


def test_example_jsonl_lines_validate(
    line_validator: Draft202012Validator, example_lines: list[dict[str, Any]]
) -> None:
    assert example_lines
    for number, line in enumerate(example_lines, start=1):
        errors = _errors(line_validator, line)
        assert errors == [], f"line {number}:\n" + "\n".join(errors)


def test_example_regenerates_byte_identical(tmp_path: Path) -> None:
    script = _regenerate_script()
    result = build_example(script.example_sources(), tmp_path)
    assert result.json_path.read_bytes() == (SCHEMAS / EXAMPLE_FULL).read_bytes(), (
        "schemas/ example JSON is stale: run python scripts/regenerate_example.py"
    )
    assert result.jsonl_path.read_bytes() == (SCHEMAS / EXAMPLE_JSONL).read_bytes(), (
        "schemas/ example JSONL is stale: run python scripts/regenerate_example.py"
    )


def test_example_mixes_enriched_and_legacy(example_full: dict[str, Any]) -> None:
    kinds = {c["source"]["kind"] for c in example_full["conversations"]}
    assert kinds == {"enriched", "legacy"}


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        (("training_file_metadata", "format"), "something-else"),
        (("training_file_metadata", "created_at"), "yesterday"),
        (("training_file_metadata", "totals", "conversations"), -1),
        (("training_file_metadata", "scaffolding_distribution", "batch", "x"), "1"),
        (("conversations", 0, "source", "content_sha256"), "abc"),
        (("conversations", 0, "source", "kind"), "raw"),
        (("conversations", 0, "scaffolding", "emotional_arc_key"), "Fear To Confidence"),
        (("conversations", 0, "messages", 0, "role"), "user"),
        (("conversations", 0, "messages", 1, "role"), "system"),
        (("conversations", 0, "messages", 1, "content"), ""),
        (("conversations", 0, "messages", 1, "surprise"), 1),
        (("conversations", 0, "stats", "ends_with_unanswered_client_turn"), "no"),
        (("conversations", 0, "quality", "warnings"), [{"code": "x"}]),
        (("conversations", 0, "client", "age"), 42),
    ],
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else repr(v),
)
def test_full_schema_rejects_bad_values(
    full_validator: Draft202012Validator,
    example_full: dict[str, Any],
    pointer: tuple[str | int, ...],
    value: Any,
) -> None:
    document = copy.deepcopy(example_full)
    node: Any = document
    for step in pointer[:-1]:
        node = node[step]
    node[pointer[-1]] = value
    assert not full_validator.is_valid(document)


def test_full_schema_accepts_open_passthrough_blocks(
    full_validator: Draft202012Validator, example_full: dict[str, Any]
) -> None:
    document = copy.deepcopy(example_full)
    record = document["conversations"][0]
    record["input_parameters"] = {"future_field": [1, 2]}
    record["consultant_profile"] = {"name": "Someone else"}
    record["source"]["dataset_metadata"]["new_key"] = True
    record["messages"][1]["annotations"] = {"response_strategy": {"primary": "x"}}
    record["messages"][1]["emotional_context"] = None
    assert full_validator.is_valid(document)


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        (("metadata", "batch_id"), 7),
        (("metadata", "quality_score"), "3"),
        (("metadata", "human_reviewed"), None),
        (("metadata", "warnings"), ["reply_cut_off"]),
        (("metadata", "warnings"), "Not A Code"),
        (("metadata", "batch_id"), None),
        (("metadata", "quality_score"), None),
        (("metadata", "replies"), []),
        (("metadata", "replies", 0, "client_emotion_intensity"), "high"),
        (("metadata", "extra"), 1),
        (("messages", 0, "role"), "user"),
        (("messages", 1, "role"), "assistant"),
        (("messages", 2, "role"), "system"),
        (("messages", 2, "content"), "   "),
        (("messages", 2, "name"), "Elena"),
    ],
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else repr(v),
)
def test_line_schema_rejects_bad_values(
    line_validator: Draft202012Validator,
    example_lines: list[dict[str, Any]],
    pointer: tuple[str | int, ...],
    value: Any,
) -> None:
    line = copy.deepcopy(example_lines[0])
    node: Any = line
    for step in pointer[:-1]:
        node = node[step]
    node[pointer[-1]] = value
    assert not line_validator.is_valid(line)


def test_line_schema_requires_every_metadata_key(
    line_validator: Draft202012Validator, example_lines: list[dict[str, Any]]
) -> None:
    for key in example_lines[0]["metadata"]:
        line = copy.deepcopy(example_lines[0])
        del line["metadata"][key]
        assert not line_validator.is_valid(line), key


# --- JSON and JSONL agree -------------------------------------------------------------


def _expected_chat(record: dict[str, Any], policy: str) -> list[dict[str, Any]]:
    """What a line should hold, worked out here independently of app.cutoff: under trim the
    conversation stops before its first cut-off turn; it always ends on a reply; a client
    message or reply is without the whitespace around it (the system message as it is)."""
    chat: list[dict[str, Any]] = [
        {"role": m["role"], "content": m["content"] if m["role"] == "system"
         else m["content"].strip()} for m in record["messages"]]
    if policy == "trim":
        cut = next((i for i, m in enumerate(chat)
                    if i and looks_cut_off(m["content"], m["role"])), None)
        chat = chat[:cut]
    if policy == "weight0":
        for index, message in enumerate(chat):
            if message["role"] == "assistant":
                bad = looks_cut_off(message["content"]) or looks_cut_off(
                    chat[index - 1]["content"], chat[index - 1]["role"])
                message["weight"] = 0 if bad else 1
    while len(chat) > 1 and (chat[-1]["role"] == "user" or chat[-1].get("weight") == 0):
        chat.pop()
    return chat if len(chat) > 1 else []


def _check_projection(full: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    conversations = full["conversations"]
    head = full["training_file_metadata"]
    totals, policy = head["totals"], head["cut_off_policy"]
    expected = [(c, _expected_chat(c, policy)) for c in conversations]
    with_lines = [(c, chat) for c, chat in expected if chat]
    assert [line["metadata"]["conversation_id"] for line in lines] == [
        c["conversation_id"] for c, _ in with_lines
    ]
    assert len(lines) == totals["jsonl_lines"]
    assert totals["conversations"] == len(conversations)
    assert totals["messages"] == sum(len(c["messages"]) for c in conversations)
    replies = sum(1 for line in lines for m in line["messages"]
                  if m["role"] == "assistant" and m.get("weight", 1))
    assert replies == totals["trainable_replies"]
    every_reply = sum(c["stats"]["trainable_replies"] for c in conversations)
    assert replies + totals["replies_left_out"] == every_reply
    assert head["quality_summary"]["conversations_without_trained_reply"] == (
        len(conversations) - len(with_lines))
    fits = head.get("over_budget") == "fit"  # a longer line ends at its last whole reply
    ended_early = 0
    for line, (record, chat) in zip(lines, with_lines, strict=True):
        if fits and len(line["messages"]) < len(chat):
            assert line["messages"] == chat[:len(line["messages"])], record["conversation_id"]
            assert line["messages"][-1]["role"] == "assistant"
            assert line["metadata"]["token_count"] <= head["tokens"]["max_seq_len"]
            ended_early += sum(1 for m in chat[len(line["messages"]):]
                               if m["role"] == "assistant" and m.get("weight", 1))
        else:
            assert line["messages"] == chat, record["conversation_id"]
        if policy != "keep":  # keep trains cut-off replies, as before policies existed
            assert not looks_cut_off(line["messages"][-1]["content"])
        meta = line["metadata"]
        assert meta["training_file"] == head["name"]
        assert meta["source_file"] == record["source"]["file_name"]
        assert meta["batch_id"] == (record["batch_id"] or "")
        assert meta["persona_archetype"] == (record["scaffolding"]["persona_archetype"] or "")
        codes = sorted({w["code"] for w in record["quality"]["warnings"]})
        assert meta["warnings"] == ",".join(codes)
        indexes = [r["message_index"] for r in meta["replies"]]
        assert indexes == [i for i, m in enumerate(line["messages"])
                           if m["role"] == "assistant" and m.get("weight", 1)]
        assert meta["left_out_replies"] == record["stats"]["trainable_replies"] - len(indexes)
    by_reason = head["quality_summary"]["replies_left_out_by_reason"]
    assert by_reason.get("over_token_budget", 0) == ended_early


def test_example_jsonl_is_projection_of_full_json(
    example_full: dict[str, Any], example_lines: list[dict[str, Any]]
) -> None:
    assert example_full["training_file_metadata"]["jsonl_file"] == EXAMPLE_JSONL
    # built as a new file is: it shows a longer line ended at its last whole reply
    assert example_full["training_file_metadata"]["over_budget"] == "fit"
    assert example_full["training_file_metadata"]["quality_summary"][
        "replies_left_out_by_reason"]["over_token_budget"] > 0
    _check_projection(example_full, example_lines)


def test_example_jsonl_lines_are_chat_format(example_lines: list[dict[str, Any]]) -> None:
    for line in example_lines:
        assert_chat_line(line)


@pytest.mark.parametrize("policy", ["trim", "weight0", "keep"])
def test_all_fixtures_build_a_consistent_pair(
    tmp_path: Path, full_validator: Draft202012Validator, line_validator: Draft202012Validator,
    policy: str,
) -> None:
    records = [load_conversation_file(path, "batch-all") for path in ALL_FILES]
    padded = records[0]["messages"]  # whitespace around a client message and a reply
    padded[1]["content"] = f"  {padded[1]['content']}\n"
    padded[2]["content"] = f"{padded[2]['content']}  \n\n"
    json_path, jsonl_path = _write(tmp_path, records, policy=policy)
    full = _read_json(json_path)
    lines = _read_jsonl(jsonl_path)
    errors = _errors(full_validator, full)
    assert errors == [], "\n".join(errors)
    for line in lines:
        assert _errors(line_validator, line) == []
        assert_chat_line(line)
    _check_projection(full, lines)


def test_assert_chat_line_catches_bad_lines() -> None:
    good = {
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": "a"},
        ]
    }
    assert_chat_line(good)
    bad_lines = [
        {"messages": []},
        {"messages": good["messages"][1:]},
        {"messages": good["messages"][:2]},
        {"messages": [*good["messages"][:2], *good["messages"][1:]]},
        {"messages": [*good["messages"][:2], {"role": "assistant", "content": "  "}]},
        {"messages": [*good["messages"][:2], {"role": "assistant", "content": "a", "x": 1}]},
    ]
    for line in bad_lines:
        with pytest.raises(AssertionError):
            assert_chat_line(line)


# --- canonical behaviour on real fixtures -----------------------------------------------


def test_fixture_directories_are_populated() -> None:
    assert ENRICHED_FILES, f"no enriched fixtures under {FIXTURES}"
    assert LEGACY_FILES, f"no legacy fixtures under {FIXTURES}"


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids)
def test_no_user_message_is_duplicated(path: Path) -> None:
    record = load_conversation_file(path)
    roles = [m["role"] for m in record["messages"]]
    assert roles[0] == "system"
    for before, after in itertools.pairwise(roles):
        assert not (before == after == "user"), f"two user messages in a row: {roles}"
    user_texts = Counter(m["content"] for m in record["messages"] if m["role"] == "user")
    assert [text[:60] for text, n in user_texts.items() if n > 1] == []


def test_enriched_pairs_give_four_exchanges() -> None:
    record = load_conversation_file(FIXTURES / "enriched" / "enriched-1.json")
    roles = Counter(m["role"] for m in record["messages"])
    assert roles == {"system": 1, "user": 4, "assistant": 4}
    assert record["source"]["kind"] == "enriched"
    assert record["stats"]["ends_with_unanswered_client_turn"] is False


def test_single_convo_file_warnings() -> None:
    record = load_conversation_file(FIXTURES / "enriched" / "single-convo-file-1.json")
    codes = {w["code"] for w in record["quality"]["warnings"]}
    assert {"reply_cut_off", "unanswered_last_turn"} <= codes
    assert record["stats"]["ends_with_unanswered_client_turn"] is True
    assert record["messages"][-1]["role"] == "user"


@pytest.mark.parametrize("path", LEGACY_FILES, ids=_ids)
def test_legacy_files_have_no_unanswered_turn(path: Path) -> None:
    record = load_conversation_file(path)
    assert record["source"]["kind"] == "legacy"
    assert "unanswered_last_turn" not in {w["code"] for w in record["quality"]["warnings"]}
    assert record["messages"][-1]["role"] == "assistant"


DIALOGUE = (
    ("I feel behind on saving for retirement.", "That feeling is common. What worries you most?"),
    ("I started late, at 40.", "Starting at 40 still leaves you 25 years. Let's look at it."),
    ("Okay, where do I begin?", "With one number: what you save each month today."),
)
META = {"client_persona": "Sam Lee - The Late Starter", "conversation_phase": "opening"}


def _pair(turn: int, text: str, reply: str | None, history: list[dict[str, Any]]) -> dict:
    return {
        "id": f"synthetic_turn{turn}",
        "conversation_id": "synthetic",
        "turn_number": turn,
        "conversation_metadata": dict(META),
        "system_prompt": "You are a warm financial planner.",
        "conversation_history": history,
        "current_user_input": text,
        "target_response": reply,
        "emotional_context": {"detected_emotions": {"primary": "worry", "intensity": 0.5}},
        "training_metadata": {"quality_score": 4, "human_reviewed": False},
    }


def _document(pairs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "dataset_metadata": {"dataset_name": "synthetic_dialogue", "quality_tier": "test"},
        "consultant_profile": {"name": "Test Consultant"},
        "training_pairs": pairs,
        **extra,
    }


def _enriched_convention() -> dict[str, Any]:
    """Odd pairs: the client speaks; even pairs repeat it and carry the reply."""
    pairs, history, turn = [], [], 1
    for text, reply in DIALOGUE:
        pairs.append(_pair(turn, text, None, list(history)))
        history.append({"turn": turn, "role": "user", "content": text})
        pairs.append(_pair(turn + 1, text, reply, list(history)))
        history.append({"turn": turn + 1, "role": "assistant", "content": reply})
        turn += 2
    return _document(pairs, input_parameters=None)


def _legacy_convention() -> dict[str, Any]:
    """One pair per exchange: client message and reply together."""
    pairs, history = [], []
    for turn, (text, reply) in enumerate(DIALOGUE, start=1):
        pairs.append(_pair(turn, text, reply, list(history)))
        history.append({"turn": turn, "role": "user", "content": text})
        history.append({"turn": turn, "role": "assistant", "content": reply})
    return _document(pairs)


def test_both_pair_conventions_give_the_same_messages() -> None:
    enriched = record_from_bytes(orjson.dumps(_enriched_convention()), "enriched.json")
    legacy = record_from_bytes(orjson.dumps(_legacy_convention()), "legacy.json")
    assert enriched["source"]["kind"] == "enriched"
    assert legacy["source"]["kind"] == "legacy"

    def chat(record: dict[str, Any]) -> list[tuple[str, str]]:
        return [(m["role"], m["content"]) for m in record["messages"]]

    expected = [("user", text) for text, _ in DIALOGUE]
    assert chat(enriched) == chat(legacy)
    assert chat(enriched)[1::2] == expected
    assert [content for _, content in chat(enriched)[2::2]] == [r for _, r in DIALOGUE]
    assert enriched["quality"]["warnings"] == legacy["quality"]["warnings"] == []


# --- HF datasets --------------------------------------------------------------------------


@pytest.fixture
def hf_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``datasets``, kept offline and out of the home folder."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    return datasets


def _load_jsonl(hf: ModuleType, path: Path, cache: Path, **options: Any) -> Any:
    return hf.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(cache), **options
    )


def _forty_records() -> list[dict[str, Any]]:
    """40 distinct records; the first 30 have no warnings, scores or batch, the rest do."""
    base = [load_conversation_file(path) for path in ALL_FILES]
    records = []
    for index in range(40):
        record = copy.deepcopy(base[index % len(base)])
        record["conversation_id"] = f"{record['conversation_id']}-copy-{index:02d}"
        if index < 30:
            record["batch_id"] = None
            record["quality"].update(warnings=[], mean_score=None, min_score=None)
            for message in record["messages"][1:]:
                message["training_metadata"] = None
        else:
            record["batch_id"] = f"batch-{index % 3}"
        records.append(record)
    return records


def test_hf_datasets_loads_example_jsonl(hf_datasets: ModuleType, tmp_path: Path) -> None:
    dataset = _load_jsonl(hf_datasets, SCHEMAS / EXAMPLE_JSONL, tmp_path / "cache")
    lines = _read_jsonl(SCHEMAS / EXAMPLE_JSONL)
    assert dataset.num_rows == len(lines)
    assert dataset.column_names == ["messages", "metadata"]
    assert dataset[0]["messages"] == lines[0]["messages"]


def test_hf_datasets_loads_lines_whose_nulls_come_first(
    hf_datasets: ModuleType, tmp_path: Path, line_validator: Draft202012Validator
) -> None:
    _, jsonl_path = _write(tmp_path, _forty_records(), name="forty", policy="keep")
    lines = _read_jsonl(jsonl_path)
    assert len(lines) == 40
    assert all(not line["metadata"]["warnings"] for line in lines[:30])
    assert all(line["metadata"]["batch_id"] == "" for line in lines[:30])
    assert all(line["metadata"]["quality_score"] == -1.0 for line in lines[:30])
    assert any(line["metadata"]["warnings"] for line in lines[30:])
    for line in lines:
        assert _errors(line_validator, line) == []
        assert_chat_line(line)
    dataset = _load_jsonl(hf_datasets, jsonl_path, tmp_path / "cache")
    assert dataset.num_rows == 40
    features = dataset.features["metadata"]
    assert features["batch_id"].dtype == "string"
    assert features["quality_score"].dtype == "float64"
    assert dataset[35]["metadata"] == lines[35]["metadata"]


def test_hf_datasets_loads_missing_values_first_across_chunks(
    hf_datasets: ModuleType, tmp_path: Path
) -> None:
    _, jsonl_path = _write(tmp_path, _forty_records(), name="forty", policy="keep")
    # datasets fixes column types from the first chunk (10 MB by default); a small chunk size
    # stands in for a file of thousands of conversations whose first stretch lacks values.
    try:
        dataset = _load_jsonl(hf_datasets, jsonl_path, tmp_path / "cache", chunksize=64 << 10)
    except hf_datasets.exceptions.DatasetGenerationError as error:
        cause = error.__cause__
        if isinstance(cause, TypeError) and "to null" in str(cause):
            message = f"metadata columns typed null by the first chunk: {cause}"
            raise AssertionError(message) from error
        raise
    assert dataset.num_rows == 40
