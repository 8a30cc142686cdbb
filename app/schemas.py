"""The v4 JSON Schemas, loaded once and compiled into validators."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from app.bundle import schemas_dir

PREFIX = "c-alpha-build_v3.4_emotional-dataset"
INDIVIDUAL_SCHEMA = f"{PREFIX}-individual-JSON-format_v4.json"
FULL_SCHEMA = f"{PREFIX}-full-JSON-format_v4.json"
JSONL_SCHEMA = f"{PREFIX}-full-JSON-format_v4.jsonl"
EXAMPLE_FULL = f"{PREFIX}-JSON-example_v4.json"
EXAMPLE_JSONL = f"{PREFIX}-JSON-example_v4.jsonl"


@cache
def load_schema(file_name: str) -> dict[str, Any]:
    """Read a schema file. The ``.jsonl`` schema file holds one JSON document too."""
    schema: dict[str, Any] = orjson.loads((schemas_dir() / file_name).read_bytes())
    return schema


MESSAGES_ONLY_LINE = "messages-only"
CONVERSATION = "conversation"  # the full schema's conversation alone
DEFS = "#/$defs/"
# Keywords that say what a value is without checking it: beside a reference they are dropped
# from the compiled copy (the schema files keep them for people to read).
ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default",
                         "deprecated", "readOnly", "writeOnly"})


class _Recursive(Exception):
    """A definition refers to itself: it cannot be written out in full."""


def _inlined(node: Any, defs: dict[str, Any], within: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/x"}`` replaced by definition ``x`` itself
    (beside checking keywords of its own, the two under ``allOf``: in 2020-12 a ``$ref``
    applies together with its siblings, as ``allOf`` does)."""
    if isinstance(node, list):
        return [_inlined(item, defs, within) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if not (isinstance(ref, str) and ref.startswith(DEFS)):
        return {key: _inlined(value, defs, within) for key, value in node.items()}
    name = ref.removeprefix(DEFS)
    if name in within or name not in defs:
        raise _Recursive(name)
    target = _inlined(defs[name], defs, (*within, name))
    rest = {key: _inlined(value, defs, within) for key, value in node.items()
            if key != "$ref" and key not in ANNOTATIONS}
    return {**rest, "allOf": [target, *rest.get("allOf", [])]} if rest else target


def compiled(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` with its local references written out once: jsonschema
    looks a ``$ref`` up anew at every use, about half of its time on our records
    (``bench/bench_validate_refs.py``). A schema that refers to itself is kept as it is."""
    defs = schema.get("$defs") or {}
    try:
        flat = _inlined({key: value for key, value in schema.items() if key != "$defs"}, defs)
    except _Recursive:
        flat = schema
    return Draft202012Validator(flat, format_checker=Draft202012Validator.FORMAT_CHECKER)


def part_of(file_name: str, definition: str) -> dict[str, Any]:
    """One definition of a schema file as a schema of its own."""
    whole = load_schema(file_name)
    return {"$schema": whole["$schema"], "$defs": whole["$defs"], "$ref": DEFS + definition}


@cache
def validator(file_name: str) -> Draft202012Validator:
    """A validator for a schema file, for the JSONL schema's messages-only line
    (``MESSAGES_ONLY_LINE``), or for the full schema's conversation alone (``CONVERSATION``:
    a large file's conversations are checked one at a time)."""
    if file_name == MESSAGES_ONLY_LINE:
        return compiled(part_of(JSONL_SCHEMA, "messages_only_line"))
    if file_name == CONVERSATION:
        return compiled(part_of(FULL_SCHEMA, "conversation"))
    return compiled(load_schema(file_name))


def json_path(parts: Any) -> str:
    """Render a jsonschema error path as ``$.a[0].b``."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
