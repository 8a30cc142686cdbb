"""Read one conversation file from disk and turn it into a canonical record."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson

from app.canonical import check_structure, normalise
from app.errors import InputError
from app.jsonio import parse_json_bytes, read_input_bytes
from app.records import ConversationRecord


def batch_id_in(document: Any) -> str | None:
    """A batch id the generator wrote into the file, if any (it wins over the user's)."""
    if not isinstance(document, dict):
        return None
    for section in ("dataset_metadata", "input_parameters"):
        block = document.get(section)
        if isinstance(block, dict):
            for key in ("batch_id", "batch_job_id"):
                value = block.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                    return str(value)
    return None


def _unstorable(error: str) -> str:
    """Say in plain words why a parsed value cannot be written back as JSON."""
    if "Recursion" in error:
        return "values are nested too deeply (more than 250 levels) to be stored"
    if "surrogate" in error or "UTF-8" in error:
        return "holds text that is not valid Unicode (a lone surrogate escape such as \\ud800)"
    if "Integer" in error or "64-bit" in error:
        return "holds a number beyond the 64-bit range"
    return f"holds a value that cannot be stored: {error}"


def record_from_bytes(
    data: bytes, file_name: str, default_batch: str | None = None
) -> ConversationRecord:
    """Parse, check and normalise; raises ``InputError`` naming the file and the reason."""
    document = parse_json_bytes(data, file_name)
    check_structure(document, file_name)
    record = normalise(
        document,
        file_name=file_name,
        content_sha256=hashlib.sha256(data).hexdigest(),
        batch_id=batch_id_in(document) or default_batch,
    )
    if record["stats"]["trainable_replies"] == 0:
        raise InputError.single(file_name, "no consultant reply to train on: every "
                                "target_response is null or empty", "$.training_pairs")
    try:
        orjson.dumps(record)
    except orjson.JSONEncodeError as exc:
        raise InputError.single(file_name, _unstorable(str(exc))) from None
    return record


def load_conversation_file(path: Path, default_batch: str | None = None) -> ConversationRecord:
    return record_from_bytes(read_input_bytes(path), path.name, default_batch)
