"""Reading JSON with precise error positions, and writing files atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from app.errors import InputError, Problem

MAX_INPUT_BYTES = 64 * 1024 * 1024


class DuplicateKey(ValueError):
    """An object has the same key twice: JSON parsers disagree on which value wins."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def parse_json_bytes(data: bytes, file: str) -> Any:
    """Parse bytes as strict JSON; errors name the file, line and column.

    Stricter than most parsers on purpose: a key that appears twice in one object, NaN or
    Infinity, and bytes that are not UTF-8 are refused rather than silently resolved.
    """
    if not data.strip():
        raise InputError.single(file, "the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            raise InputError.single(file, "the file ends in the middle of a character "
                                    "(truncated file?)") from None
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError([Problem(file, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot "
                                        "be decoded (save the file as UTF-8)", "$", line,
                                  column)]) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys,
                          parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        near = text[max(0, exc.pos - 30): exc.pos + 10].replace("\n", " ").strip()
        if exc.pos >= len(text.rstrip()):
            reason = f"the JSON ends too early (truncated file?): {exc.msg}"
        elif exc.msg.startswith("Unterminated string"):
            reason = f"a text value starts here and never ends (truncated file?), near «{near}»"
        else:
            reason = f"{exc.msg}, near «{near}»"
        raise InputError([Problem(file, f"not valid JSON: {reason}", "$", exc.lineno,
                                  exc.colno)]) from None
    except DuplicateKey as exc:
        raise InputError.single(file, f"the key '{exc}' appears twice in one object; "
                                "remove one of them") from None
    except ValueError as exc:
        raise InputError.single(file, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError.single(file, "the JSON is nested too deeply to be a conversation "
                                "file") from None


def read_input_bytes(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """Read an input file, refusing one too large to be a conversation before reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError.single(
                path.name,
                f"the file is {size / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB "
                "a single conversation file may have",
            )
        return path.read_bytes()
    except OSError as exc:
        raise InputError.single(path.name, f"cannot be read: {exc.strerror or exc}") from None


def read_json_file(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> tuple[Any, bytes]:
    """Read and parse one JSON file, returning the document and its raw bytes."""
    data = read_input_bytes(path, max_bytes)
    return parse_json_bytes(data, path.name), data


def dumps_line(document: Any) -> bytes:
    """Compact JSON on one line, for JSONL."""
    return orjson.dumps(document) + b"\n"


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside ``path`` and move it into place only on success.

    Readers see either the old file or the complete new one, never a partial write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; finished files are ordinary documents
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
