"""Copies of a training file for the user: as stored, or reshaped for stricter trainers.

Every variant is derived line by line from the stored JSONL, so memory stays bounded and
the variants can never disagree with the file they come from.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from app.canonical import SESSION_CONTEXT_HEADING
from app.errors import LibraryError
from app.jsonio import atomic_writer, dumps_line
from app.library import Library
from app.trainingfiles import get_training_file


class ExportFormat(StrEnum):
    JSON = "json"
    JSONL = "jsonl"
    MESSAGES_ONLY = "jsonl-messages"  # no metadata key: OpenAI / Together style readers
    PER_REPLY = "jsonl-per-reply"  # one line per reply, its history as the prompt
    NO_SESSION_CONTEXT = "jsonl-no-context"  # system message = the original prompt only
    SPLIT = "split"  # train.jsonl + valid.jsonl, seeded, by conversation


DEFAULT_VALID_FRACTION = 0.1
DEFAULT_SEED = 42


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                yield orjson.loads(raw)


def per_reply(line: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Split a conversation line into one line per reply (same metadata shape)."""
    for reply in line["metadata"]["replies"]:
        end = reply["message_index"] + 1
        yield {"messages": line["messages"][:end],
               "metadata": {**line["metadata"], "replies": [reply]}}


def without_session_context(line: dict[str, Any]) -> dict[str, Any]:
    """The line with its system message cut back to the generator's own system prompt."""
    messages = [dict(m) for m in line["messages"]]
    messages[0]["content"] = messages[0]["content"].split(SESSION_CONTEXT_HEADING, 1)[0]
    return {**line, "messages": messages}


def split_indexes(count: int, valid_fraction: float, seed: int) -> set[int]:
    """Which line numbers go to validation: reproducible for the same count and seed."""
    if not 0 < valid_fraction < 1:
        raise LibraryError("the validation share must be between 0 and 1 (for example 0.1)")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    size = round(count * valid_fraction)
    if count >= 2:
        size = min(max(size, 1), count - 1)
    return set(order[:size])


def export(
    library: Library,
    name: str,
    fmt: ExportFormat,
    destination: Path,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    seed: int = DEFAULT_SEED,
) -> list[Path]:
    """Write the chosen rendering to ``destination`` (a folder for SPLIT); return the files."""
    info = get_training_file(library, name)
    if info.json_path is None or info.jsonl_path is None:
        raise LibraryError(f"'{name}' has not been built yet")
    for stored in (info.json_path, info.jsonl_path):
        if not stored.is_file():
            raise LibraryError(f"the stored file {stored} of '{name}' is missing; "
                               "add or remove a conversation to rebuild it")
    try:
        return _export(info.json_path, info.jsonl_path, fmt, destination, valid_fraction, seed)
    except OSError as exc:
        failed = Path(exc.filename) if exc.filename else destination
        if failed in (info.json_path, info.jsonl_path):
            raise LibraryError(f"cannot read the stored file {failed}: "
                               f"{exc.strerror or exc}") from None
        raise LibraryError(f"cannot write to {destination}: {exc.strerror or exc}") from None


def _export(json_path: Path, jsonl_path: Path, fmt: ExportFormat, destination: Path,
            valid_fraction: float, seed: int) -> list[Path]:
    if fmt in (ExportFormat.JSON, ExportFormat.JSONL):
        source = json_path if fmt is ExportFormat.JSON else jsonl_path
        with atomic_writer(destination) as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        return [destination]
    if fmt is ExportFormat.SPLIT:
        count = sum(1 for _ in _lines(jsonl_path))
        valid = split_indexes(count, valid_fraction, seed)
        train_path, valid_path = destination / "train.jsonl", destination / "valid.jsonl"
        with atomic_writer(train_path) as train, atomic_writer(valid_path) as held_out:
            for index, line in enumerate(_lines(jsonl_path)):
                (held_out if index in valid else train).write(dumps_line(line))
        return [train_path, valid_path]
    with atomic_writer(destination) as out:
        for line in _lines(jsonl_path):
            if fmt is ExportFormat.MESSAGES_ONLY:
                out.write(dumps_line({"messages": line["messages"]}))
            elif fmt is ExportFormat.NO_SESSION_CONTEXT:
                out.write(dumps_line(without_session_context(line)))
            else:
                for reply_line in per_reply(line):
                    out.write(dumps_line(reply_line))
    return [destination]
