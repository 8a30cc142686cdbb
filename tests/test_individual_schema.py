"""Tests for the v4 individual-conversation JSON Schema.

The schema must accept every real enriched (v4) and legacy (v3) conversation file
in the shared fixtures, and reject files that are not enriched conversations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from schema_walk import property_schemas

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = (
    REPO_ROOT / "schemas" / "c-alpha-build_v3.4_emotional-dataset-individual-JSON-format_v4.json"
)
FIXTURES = REPO_ROOT / "tests" / "fixtures"

ENRICHED_FILES = sorted((FIXTURES / "enriched").glob("*.json"))
LEGACY_FILES = sorted((FIXTURES / "legacy").glob("*.json"))
SCAFFOLDING_FIELDS = (
    "persona_archetype",
    "emotional_arc",
    "emotional_arc_key",
    "training_topic",
    "training_topic_key",
)


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _error_report(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [
        f"{err.json_path}: {err.message}"
        for err in sorted(validator.iter_errors(instance), key=lambda e: e.json_path)
    ]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return _load(SCHEMA_PATH)


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def legacy_doc() -> dict[str, Any]:
    return _load(LEGACY_FILES[0])


@pytest.fixture
def enriched_doc() -> dict[str, Any]:
    return _load(ENRICHED_FILES[0])


# --- the schema itself -------------------------------------------------------


def test_schema_is_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    assert schema["x-changes-from-v3"]


def test_every_property_is_documented(schema: dict[str, Any]) -> None:
    undocumented = [p for p, sub in property_schemas(schema) if not sub.get("description")]
    assert undocumented == []


def test_fixture_directories_are_populated() -> None:
    assert ENRICHED_FILES, f"no enriched fixtures under {FIXTURES}"
    assert LEGACY_FILES, f"no legacy fixtures under {FIXTURES}"


# --- real files ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ENRICHED_FILES + LEGACY_FILES, ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_fixture_validates(validator: Draft202012Validator, path: Path) -> None:
    errors = _error_report(validator, _load(path))
    assert errors == [], "\n".join(errors)


@pytest.mark.parametrize("path", ENRICHED_FILES, ids=lambda p: p.name)
def test_enriched_fixture_carries_scaffolding(path: Path) -> None:
    doc = _load(path)
    assert isinstance(doc.get("input_parameters"), dict)
    for pair in doc["training_pairs"]:
        for field in SCAFFOLDING_FIELDS:
            assert pair["conversation_metadata"].get(field), f"{pair['id']} lacks {field}"


def test_raw_not_enriched_fails(validator: Draft202012Validator) -> None:
    raw = _load(FIXTURES / "bad" / "raw-not-enriched.json")
    assert set(raw) == {"conversation_metadata", "turns"}
    assert not validator.is_valid(raw)


def test_truncated_file_fails_to_parse() -> None:
    with pytest.raises(json.JSONDecodeError):
        _load(FIXTURES / "bad" / "truncated-legacy-convo-10.json")


# --- hand-made variations ------------------------------------------------------


def test_legacy_pair_with_null_scaffolding_validates(
    validator: Draft202012Validator, legacy_doc: dict[str, Any]
) -> None:
    for pair in legacy_doc["training_pairs"]:
        for field in SCAFFOLDING_FIELDS:
            pair["conversation_metadata"][field] = None
    legacy_doc["input_parameters"] = None
    errors = _error_report(validator, legacy_doc)
    assert errors == [], "\n".join(errors)


def test_input_parameters_with_null_values_validates(
    validator: Draft202012Validator, enriched_doc: dict[str, Any]
) -> None:
    enriched_doc["input_parameters"] = dict.fromkeys(enriched_doc["input_parameters"])
    assert validator.is_valid(enriched_doc)


def test_unknown_snake_case_arc_key_validates(
    validator: Draft202012Validator, enriched_doc: dict[str, Any]
) -> None:
    """Taxonomies are open: a brand-new arc key is fine as long as it is snake_case."""
    enriched_doc["training_pairs"][0]["conversation_metadata"]["emotional_arc_key"] = (
        "grief_to_hope_2"
    )
    enriched_doc["input_parameters"]["emotional_arc_key"] = "grief_to_hope_2"
    assert validator.is_valid(enriched_doc)


@pytest.mark.parametrize(
    "bad_key", ["Not Snake Case", "fear-to-confidence", "_leading", "double__underscore", ""]
)
def test_non_snake_case_arc_key_fails(
    validator: Draft202012Validator, enriched_doc: dict[str, Any], bad_key: str
) -> None:
    enriched_doc["training_pairs"][0]["conversation_metadata"]["emotional_arc_key"] = bad_key
    errors = list(validator.iter_errors(enriched_doc))
    assert errors
    assert all(e.json_path.endswith("conversation_metadata.emotional_arc_key") for e in errors)


def test_non_snake_case_persona_key_fails(
    validator: Draft202012Validator, enriched_doc: dict[str, Any]
) -> None:
    enriched_doc["input_parameters"]["persona_key"] = "Pragmatic Optimist"
    assert not validator.is_valid(enriched_doc)


def test_numeric_target_response_fails(
    validator: Draft202012Validator, legacy_doc: dict[str, Any]
) -> None:
    legacy_doc["training_pairs"][0]["target_response"] = 42
    errors = list(validator.iter_errors(legacy_doc))
    assert [e.json_path for e in errors] == ["$.training_pairs[0].target_response"]


def test_missing_training_pairs_fails(
    validator: Draft202012Validator, enriched_doc: dict[str, Any]
) -> None:
    del enriched_doc["training_pairs"]
    assert not validator.is_valid(enriched_doc)


def test_empty_training_pairs_fails(
    validator: Draft202012Validator, enriched_doc: dict[str, Any]
) -> None:
    enriched_doc["training_pairs"] = []
    assert not validator.is_valid(enriched_doc)


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        (("training_pairs", 0, "turn_number"), 0),
        (("training_pairs", 0, "turn_number"), "1"),
        (("training_pairs", 0, "current_user_input"), {"content": "hi"}),
        (
            ("training_pairs", 0, "emotional_context", "detected_emotions", "primary_confidence"),
            1.5,
        ),
        (("training_pairs", 0, "training_metadata", "quality_score"), 6),
        (("training_pairs", 0, "training_metadata", "quality_criteria", "empathy_score"), 0.5),
        (("dataset_metadata", "created_date"), "yesterday"),
        (("dataset_metadata", "created_date"), "2025-13-45"),
    ],
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else repr(v),
)
def test_bad_values_fail(
    validator: Draft202012Validator,
    enriched_doc: dict[str, Any],
    pointer: tuple[str | int, ...],
    value: Any,
) -> None:
    node: Any = enriched_doc
    for step in pointer[:-1]:
        node = node[step]
    node[pointer[-1]] = value
    assert not validator.is_valid(enriched_doc)


@pytest.mark.parametrize(
    "required", ["id", "turn_number", "system_prompt", "target_response", "training_metadata"]
)
def test_pair_missing_required_field_fails(
    validator: Draft202012Validator, legacy_doc: dict[str, Any], required: str
) -> None:
    del legacy_doc["training_pairs"][0][required]
    assert not validator.is_valid(legacy_doc)


def test_float_quality_scores_and_extra_fields_validate(
    validator: Draft202012Validator, legacy_doc: dict[str, Any]
) -> None:
    doc = legacy_doc
    metadata = doc["training_pairs"][0]["training_metadata"]
    metadata["quality_score"] = 4.5
    metadata["quality_criteria"]["custom_warmth"] = 3.7
    doc["training_pairs"][0]["future_generator_field"] = {"anything": True}
    doc["future_top_level_field"] = [1, 2, 3]
    assert validator.is_valid(doc)
