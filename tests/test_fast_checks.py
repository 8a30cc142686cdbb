"""The import's fast checks agree with the input schema on types.

The checks (``app.pairwalk``, and ``app.canonical`` where it explains a refusal) read one set
of type tables, ``app.input_types``; these tests hold those tables to the schema.

The JSON Schema (schemas/…individual…v4.json) is the one definition of the input format; the
fast checks are a quicker subset that runs on every import. They are deliberately more lenient
on values (a null stands for an absent value, ranges, patterns and nested required keys are
left to ``lora-studio validate``), but they must never accept a value of a JSON type the
schema does not allow for that field, and no value or missing field may crash them.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import input_types
from app.detect import SCAFFOLDING_KEYS
from app.errors import InputError
from app.loader import record_from_bytes
from app.schemas import INDIVIDUAL_SCHEMA, load_schema

SCHEMA = load_schema(INDIVIDUAL_SCHEMA)
JSON_TYPE = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
             list: "array", type(None): "null"}
PAIR = ("training_pairs", "*")

# Every field the fast checks type: (where it is in a document, its schema definition,
# the Python types the fast check accepts when the value is not null).
CHECKED: list[tuple[tuple[str, ...], str, str, tuple[type, ...]]] = [
    *[((*PAIR, key), "training_pair", key, types)
      for key, types, _ in input_types.PAIR_FIELD_TYPES],
    *[((*PAIR, "training_metadata", key), "training_metadata", key, types)
      for key, (types, _) in input_types.TRAINING_METADATA_TYPES.items()],
    *[((*PAIR, "emotional_context", key), "emotional_context", key, types)
      for key, (types, _) in input_types.EMOTIONAL_CONTEXT_TYPES.items()],
    *[((*PAIR, "emotional_context", "detected_emotions", key), "detected_emotions", key, types)
      for key, (types, _) in input_types.DETECTED_EMOTION_TYPES.items()],
    *[((*PAIR, "conversation_metadata", key), "conversation_metadata", key, types)
      for key, (types, _) in input_types.METADATA_TEXT_TYPES.items()],
    *[((*PAIR, "conversation_metadata", key), "conversation_metadata", key, (str,))
      for key in SCAFFOLDING_KEYS],
    *[(("input_parameters", key), "input_parameters", key, types)
      for key, (types, _) in input_types.INPUT_PARAMETER_TYPES.items()],
]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        node = {**SCHEMA["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_types(node: dict[str, Any]) -> set[str]:
    """The JSON types a (sub)schema admits, through $ref, anyOf, oneOf, const and enum."""
    node = _resolve(node)
    found: set[str] = set()
    declared = node.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(declared)
    for key in ("anyOf", "oneOf"):
        for option in node.get(key, []):
            found |= schema_types(option)
    for value in ([node["const"]] if "const" in node else []) + node.get("enum", []):
        found.add(JSON_TYPE[type(value)])
    if "integer" in found or "number" in found:
        found |= {"integer", "number"} if "number" in found else {"integer"}
    return found


def field_types(definition: str, key: str) -> set[str]:
    return schema_types(SCHEMA["$defs"][definition]["properties"][key])


@pytest.mark.parametrize(("where", "definition", "key", "types"), CHECKED,
                         ids=[".".join(c[0]) for c in CHECKED])
def test_each_fast_check_admits_only_schema_types(
    where: tuple[str, ...], definition: str, key: str, types: tuple[type, ...]
) -> None:
    allowed = field_types(definition, key)
    assert allowed, f"the schema defines no type for {definition}.{key}"
    admitted = {JSON_TYPE[t] for t in types} - {"null"}
    # A Python int is also accepted where the schema says "number".
    assert admitted <= allowed | ({"integer"} if "number" in allowed else set()), (
        f"{'.'.join(where)}: the fast check admits {admitted}, the schema {allowed}")


BASES = [orjson.loads(path.read_bytes()) for path in ENRICHED + LEGACY]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(-10, 10, allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["snake_key", "Not Snake", "2025-01-01"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6,
)


def _targets(document: dict[str, Any], where: tuple[str, ...]) -> list[dict[str, Any]]:
    """The objects that hold the field (one per pair for pair fields)."""
    nodes: list[Any] = [document]
    for step in where[:-1]:
        nodes = [x for n in nodes for x in (n if step == "*" and isinstance(n, list)
                                            else [n.get(step)] if isinstance(n, dict) else [])]
    return [n for n in nodes if isinstance(n, dict)]


def _json_type(value: Any) -> str:
    return JSON_TYPE[type(value)]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(range(len(BASES))), field=st.sampled_from(range(len(CHECKED))),
       value=JSON_VALUES, delete=st.booleans(), everywhere=st.booleans())
def test_import_never_accepts_a_type_the_schema_rejects(
    base: int, field: int, value: Any, delete: bool, everywhere: bool
) -> None:
    where, definition, key, _ = CHECKED[field]
    document = copy.deepcopy(BASES[base])
    targets = _targets(document, where)
    for target in targets if everywhere else targets[:1]:
        if delete:
            target.pop(where[-1], None)
        else:
            target[where[-1]] = value
    try:
        record_from_bytes(orjson.dumps(document), "generated.json")
    except InputError:
        return  # refused with a message: always fine
    if targets and not delete and value is not None:
        allowed = field_types(definition, key)
        assert _json_type(value) in allowed | (
            {"integer"} if "number" in allowed else set()), (
            f"import accepted {value!r} at {'.'.join(where)}; the schema allows {allowed}")
