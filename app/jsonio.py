"""Reading JSON with precise error positions, and writing files atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from app.errors import InputError, Problem

MAX_INPUT_BYTES = 64 * 1024 * 1024


def _position(data: bytes, char_offset: int) -> tuple[int, int]:
    """Turn a character offset into 1-based line and column."""
    text = data.decode("utf-8", errors="replace")[:char_offset]
    line = text.count("\n") + 1
    column = char_offset - (text.rfind("\n") + 1) + 1
    return line, column


def parse_json_bytes(data: bytes, file: str) -> Any:
    """Parse bytes as JSON; errors name the file, line and column."""
    if not data.strip():
        raise InputError.single(file, "the file is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line, column = _position(data, exc.pos)
        reason = exc.msg
        if exc.pos >= len(data.decode("utf-8", errors="replace").rstrip()):
            reason = f"the JSON ends too early (truncated file?): {exc.msg}"
        raise InputError([Problem(file, f"not valid JSON: {reason}", "$", line, column)]) from None


def read_json_file(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> tuple[Any, bytes]:
    """Read and parse one JSON file, returning the document and its raw bytes."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError.single(
                path.name,
                f"the file is {size / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB "
                "a single conversation file may have",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError.single(path.name, f"cannot be read: {exc.strerror or exc}") from None
    return parse_json_bytes(data, path.name), data


def dumps_pretty(document: Any) -> bytes:
    """Stable, human-readable JSON (2-space indent, keys in insertion order)."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


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


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_writer(path) as handle:
        handle.write(data)
