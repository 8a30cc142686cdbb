"""The validators ``app.schemas`` compiles with their references written out say exactly
what the schemas as written say (same messages at the same places), on the real fixtures
and on many broken copies of them; a schema that refers to itself still validates."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from conftest import ENRICHED
from jsonschema import Draft202012Validator

from app.bundle import schemas_dir
from app.schemas import (
    CONVERSATION,
    EXAMPLE_FULL,
    EXAMPLE_JSONL,
    FULL_SCHEMA,
    INDIVIDUAL_SCHEMA,
    JSONL_SCHEMA,
    MESSAGES_ONLY_LINE,
    compiled,
    load_schema,
    part_of,
    validator,
)

WRONG = (None, 7, -1, 2.5, "x", "", True, [], {}, ["x"], {"x": 1})


def _places(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a document (its path)."""
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _places(value, (*at, key))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _places(value, (*at, n))


def _broken(document: Any, seed: int, count: int) -> Iterator[Any]:
    """Copies of ``document`` with one place removed or given a value of another kind."""
    rng = random.Random(seed)
    places = [p for p in _places(document) if p]
    for at in rng.sample(places, min(count, len(places))):
        copied = copy.deepcopy(document)
        parent = copied
        for step in at[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and rng.random() < 0.4:
            del parent[at[-1]]
        else:
            parent[at[-1]] = rng.choice(WRONG)
        yield copied


def _said(check: Draft202012Validator, document: Any) -> list[tuple[str, list[Any]]]:
    return sorted((e.message, list(e.absolute_path)) for e in check.iter_errors(document))


def _as_written(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _example_full() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads((schemas_dir() / EXAMPLE_FULL).read_bytes())
    return document


CASES = {
    INDIVIDUAL_SCHEMA: lambda: [orjson.loads(p.read_bytes()) for p in ENRICHED[:3]],
    FULL_SCHEMA: lambda: [_example_full()],
    CONVERSATION: lambda: _example_full()["conversations"][:2],
    JSONL_SCHEMA: lambda: [orjson.loads(line) for line in
                           (schemas_dir() / EXAMPLE_JSONL).read_bytes().splitlines()[:2]],
    MESSAGES_ONLY_LINE: lambda: [{"messages": orjson.loads(line)["messages"]} for line in
                                 (schemas_dir() / EXAMPLE_JSONL).read_bytes().splitlines()[:2]],
}
WRITTEN = {
    CONVERSATION: lambda: part_of(FULL_SCHEMA, "conversation"),
    MESSAGES_ONLY_LINE: lambda: part_of(JSONL_SCHEMA, "messages_only_line"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_compiled_validator_says_what_the_schema_as_written_says(name: str) -> None:
    written = _as_written(WRITTEN[name]() if name in WRITTEN else load_schema(name))
    ours = validator(name)
    assert "$ref" not in orjson.dumps(ours.schema).decode(), "every reference written out"
    broken_found = tried = 0
    for n, document in enumerate(CASES[name]()):
        assert _said(ours, document) == _said(written, document) == []
        for copied in _broken(document, seed=n, count=120):
            said = _said(ours, copied)
            assert said == _said(written, copied)
            broken_found += bool(said)
            tried += 1
    assert broken_found >= min(20, tried // 4), "the broken copies are seen as broken"


def test_a_schema_that_refers_to_itself_is_kept_as_written() -> None:
    schema = {"$defs": {"node": {"type": "object", "required": ["name"],
                                 "properties": {"next": {"$ref": "#/$defs/node"}}}},
              "$ref": "#/$defs/node"}
    check = compiled(schema)
    assert check.schema == schema
    assert check.is_valid({"name": "a", "next": {"name": "b"}})
    assert not check.is_valid({"name": "a", "next": {"next": {}}})
