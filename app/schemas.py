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


@cache
def validator(file_name: str) -> Draft202012Validator:
    """A validator for a schema file, or for the JSONL schema's messages-only line."""
    if file_name == MESSAGES_ONLY_LINE:
        line = load_schema(JSONL_SCHEMA)
        schema = {"$schema": line["$schema"], "$defs": line["$defs"],
                  "$ref": "#/$defs/messages_only_line"}
    else:
        schema = load_schema(file_name)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def json_path(parts: Any) -> str:
    """Render a jsonschema error path as ``$.a[0].b``."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
