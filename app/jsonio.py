"""Reading JSON with precise error positions, and writing files atomically."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any, Final, Protocol

import jiter
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


class NotFinite(ValueError):
    """A number too large for a double: Python would read it as infinity."""


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise NotFinite(literal)
    return value


# Deeper than this, a document is refused by the strict parser itself, on every Python:
# how deep Python's own parser goes before it gives up differs by version (3.13 goes far
# deeper than 3.11), and what it gives back could not be stored anyway (``app.loader``).
MAX_DEPTH = 500


def _has_infinity(document: Any) -> bool:
    """Whether a number overflowed to infinity (``1e400``): jiter reads it so, where the
    strict parser refuses it and says why (``allow_inf_nan`` covers only the words)."""
    level = [document]
    while level:
        below: list[Any] = []
        for value in level:
            kind = type(value)
            if kind is dict:
                below.extend(value.values())
            elif kind is list:
                below.extend(value)
            elif kind is float and value - value != 0:
                return True
        level = below
    return False


# jiter keeps a small table (bounded, 16,384 entries) of the short strings it has made, keys
# and values alike, and hands out the same object for the same text: every conversation
# repeats the same keys and labels, so this parses about 10 % faster than no table.
JITER_CACHE: Final = "all"


def parse_json_bytes(data: bytes, file: str) -> Any:
    """Parse bytes as strict JSON; errors name the file, line and column.

    Stricter than most parsers on purpose: a key that appears twice in one object, NaN or
    Infinity, and bytes that are not UTF-8 are refused rather than silently resolved.
    jiter parses first: it refuses a key written twice itself, keeps large integers
    exact and is several times faster than Python's parser. The strict parser runs only
    when jiter refuses the file (to explain why in the words of ``parse_json_strict``,
    or to accept a byte-order mark or a lone surrogate escape, as Python does), or when a
    number overflowed to infinity, which the strict parser refuses with its reason.
    """
    try:
        document = jiter.from_json(data, allow_inf_nan=False, catch_duplicate_keys=True,
                                   cache_mode=JITER_CACHE)
    except ValueError:
        return parse_json_strict(data, file)
    if _has_infinity(document):
        return parse_json_strict(data, file)
    return document


def deeper_than(document: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (level by level, so a
    deep document costs no recursion here)."""
    level, depth = [document], 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[Any] = []
        for value in level:
            if type(value) is dict:
                below.extend(value.values())
            elif type(value) is list:
                below.extend(value)
        level = below
    return False


def _too_deep(file: str) -> InputError:
    return InputError.single(file, "the JSON is nested too deeply to be a conversation file")


# Python's words for a JSON error, said for a person who edits the file in a text editor.
_PLAIN_JSON_ERRORS = (
    ("Expecting value", "a value is missing"),
    ("Expecting property name enclosed in double quotes",
     "a key is not in double quotes, or a comma stands before a closing brace"),
    ("Expecting ',' delimiter", "a comma is missing between two items"),
    ("Expecting ':' delimiter", "a colon is missing after a key"),
    ("Extra data", "more text follows the end of the JSON"),
    ("Invalid control character", "a line break or tab is inside a text value (write it "
                                   "as \\n or \\t)"),
    ("Invalid \\escape", "a backslash starts an escape JSON does not know (write \\\\ for "
                         "a backslash)"),
)


def _plain(message: str) -> str:
    """A JSON error's message in plain words, Python's own when none is known."""
    return next((plain for start, plain in _PLAIN_JSON_ERRORS if message.startswith(start)),
                message)


# The first bytes of files a .json name is sometimes given by mistake, and what they are.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "it starts like a PNG image"),
    (b"\xff\xd8\xff", "it starts like a JPEG image"),
    (b"GIF8", "it starts like a GIF image"),
    (b"PK\x03\x04", "it starts like a ZIP archive (or a Word or Excel document)"),
    (b"\x1f\x8b", "it starts like a gzip archive"),
    (b"SQLite format 3\x00", "it is an SQLite database"),
    (b"%PDF-", "it is a PDF document"),
)


def binary_kind(data: bytes) -> str | None:
    """What a file that is not text is, as far as its first bytes tell (None: it may be
    text in another encoding, which the UTF-8 message fits better)."""
    for signature, what in SIGNATURES:
        if data.startswith(signature):
            return what
    if b"\x00" in data[:1024] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "it holds binary data"
    return None


def parse_json_strict(data: bytes, file: str) -> Any:
    """The strict parser alone: slower, and exact about every error's place."""
    if not data.strip():
        raise InputError.single(file, "the file is empty; save the conversation into it again, "
                                "or leave it out")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            raise InputError.single(file, "the file ends in the middle of a character "
                                    "(truncated file?)") from None
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # the byte order mark of UTF-16
            raise InputError.single(file, "the file is UTF-16 text (Windows Notepad calls it "
                                    "\"Unicode\"), not UTF-8: save it again with the encoding "
                                    "UTF-8, then import it") from None
        if (binary := binary_kind(data)) is not None:
            raise InputError.single(file, f"not a text file: {binary}, not a conversation "
                                    "saved as JSON; leave it out") from None
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError([Problem(file, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot "
                                        "be decoded (save the file as UTF-8)", "$", line,
                                  column)]) from None
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys,
                              parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        near = text[max(0, exc.pos - 30): exc.pos + 10].replace("\n", " ").strip()
        whole = "; copy or save the whole file again"
        if exc.pos >= len(text.rstrip()):
            reason = f"the JSON ends too early (truncated file?): {_plain(exc.msg)}{whole}"
        elif exc.msg.startswith("Unterminated string"):
            reason = (f"a text value starts here and never ends (truncated file?), near "
                      f"«{near}»{whole}")
        else:
            reason = (f"{_plain(exc.msg)}, near «{near}»; correct the file at that place or "
                      "save it again")
        raise InputError([Problem(file, f"not valid JSON: {reason}", "$", exc.lineno,
                                  exc.colno)]) from None
    except NotFinite as exc:
        literal = str(exc)
        at = text.find(literal)
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        raise InputError([Problem(file, f"the number {literal[:40]} is too large to store (it "
                                        "would become infinity); write a smaller number",
                                  "$", line, column)]) from None
    except DuplicateKey as exc:
        raise InputError.single(file, f"the key '{exc}' appears twice in one object; "
                                "remove one of them") from None
    except ValueError as exc:
        raise InputError.single(file, f"not valid JSON: {exc}; correct the file or save it "
                                "again") from None
    except RecursionError:
        raise _too_deep(file) from None
    if deeper_than(document, MAX_DEPTH):
        raise _too_deep(file)
    return document


FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((words for test, words in FILE_KINDS if test(mode)), "a special file")


# What to do about a file that cannot be opened, by the reason the system gives.
_NOT_YOURS: Final = ("you may not read it: give yourself permission to read it, or copy it "
                     "to a folder of yours, and try again")
_UNREADABLE_ADVICE: Final = {
    errno.ENOENT: "it was moved or deleted (or it is a link to a file that is gone): "
                  "choose it again where it is now",
    errno.EACCES: _NOT_YOURS,
    errno.EPERM: _NOT_YOURS,
    errno.ELOOP: "it is a link that leads back to itself: choose the file it should point "
                 "to instead",
}
_UNREADABLE_OTHERWISE: Final = ("check that its disk or network drive is still there, "
                                "then try again")


def unreadable_advice(exc: OSError) -> str:
    """What to do about a file or folder the system would not open (``exc`` says why)."""
    return _UNREADABLE_ADVICE.get(exc.errno or -1, _UNREADABLE_OTHERWISE)


def cannot_be_read(exc: OSError) -> str:
    """Why a file could not be read, and what to do about it: the reason alone ("No such
    file or directory") leaves a person guessing."""
    return f"cannot be read ({exc.strerror or exc}); {unreadable_advice(exc)}"


class InputTooLarge(InputError):
    """A file larger than a whole read may take; ``size``: its bytes, as far as read.
    The import reads a full training file this large a conversation at a time instead
    (``app.fullstream``)."""

    def __init__(self, name: str, size: int, max_bytes: int, limit: str) -> None:
        super().__init__([Problem(name, f"the file is {size / 1e6:,.0f} MB, more than the "
                                        f"{max_bytes / 1e6:,.0f} MB {limit}")])
        self.size = size


def _too_large(name: str, size: int, max_bytes: int, limit: str) -> InputError:
    return InputTooLarge(name, size, max_bytes, limit)


def _open_regular_fd(path: Path) -> tuple[int, int]:
    """A read-only descriptor of ``path`` and its size, only if it is an ordinary file.

    Named pipes would block for ever and devices never end (``/dev/zero``), whatever the
    name says, so they are refused before and after opening (the non-blocking open cannot
    hang on a pipe, and ``fstat`` on the open file closes the race with a swap).
    """
    fd = -1
    try:
        kind = _not_regular(os.stat(path).st_mode)
        if kind is None:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_BINARY", 0))
            info = os.fstat(fd)
            kind = _not_regular(info.st_mode)
    except OSError as exc:
        if fd != -1:
            os.close(fd)
        raise InputError.single(path.name, cannot_be_read(exc)) from None
    if kind is not None:
        if fd != -1:
            os.close(fd)
        raise InputError.single(path.name, f"is {kind}, not an ordinary file: only ordinary "
                                "files are read")
    return fd, info.st_size


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading only if it is an ordinary file (see ``_open_regular_fd``)."""
    fd, _size = _open_regular_fd(path)
    handle = os.fdopen(fd, "rb")
    try:
        yield handle
    finally:
        handle.close()


CONVERSATION_LIMIT = "a single conversation file may have"


def read_input_bytes(path: Path, max_bytes: int | None = None,
                     limit: str = CONVERSATION_LIMIT) -> bytes:
    """Read an ordinary file of at most ``max_bytes`` (``MAX_INPUT_BYTES`` when None, as
    it is at the call), whatever its stat size claims.

    The size is checked before reading (a huge file is refused unread) and again while
    reading, so a file that grows, or reports a size of 0, is still cut off at the limit.
    """
    if max_bytes is None:
        max_bytes = MAX_INPUT_BYTES
    fd, size = _open_regular_fd(path)  # a bare descriptor: a file object costs more
    try:
        if size > max_bytes:
            raise _too_large(path.name, size, max_bytes, limit)
        chunks, total = [], 0
        # One read of the size it claims (+1, to see the end at once) for an honest file;
        # then parts of 64 KB, for a file that grows or claims 0 bytes (/proc).
        want = size + 1 if size else 1 << 16
        while total <= max_bytes:
            chunk = os.read(fd, min(want, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            want = 1 << 16
    except OSError as exc:
        raise InputError.single(path.name, cannot_be_read(exc)) \
            from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise _too_large(path.name, total, max_bytes, limit)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_json_file(path: Path, max_bytes: int | None = None,
                   limit: str = CONVERSATION_LIMIT) -> tuple[Any, bytes]:
    """Read and parse one JSON file, returning the document and its raw bytes."""
    data = read_input_bytes(path, max_bytes, limit)
    return parse_json_bytes(data, path.name), data


def dumps_line(document: Any) -> bytes:
    """Compact JSON on one line, for JSONL."""
    return orjson.dumps(document) + b"\n"


# Characters of the target's name in the hidden names beside it (its temporary file here, the
# earlier file an export keeps in app.earlier_files): at most 128 bytes.
TEMPORARY_NAME_KEEPS = 32


class WriteWatch(Protocol):
    """Who wants to know what ``atomic_writer`` does (``app.earlier_files``: an export)."""

    def temporary_tag(self, folder: Path) -> str:
        """A tag for the temporary file's name in ``folder``, asked before it is made."""

    def moved_into_place(self, path: Path) -> None:
        """``path`` is now the file just written."""


_WATCH: ContextVar[WriteWatch | None] = ContextVar("_WATCH", default=None)


@contextlib.contextmanager
def watching_writes(watch: WriteWatch) -> Iterator[None]:
    """``watch`` hears of every ``atomic_writer`` in this thread (or task) for the block."""
    token = _WATCH.set(watch)
    try:
        yield
    finally:
        _WATCH.reset(token)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside ``path`` and move it into place only on success.

    Readers see either the old file or the complete new one, never a partial write. The
    temporary name keeps only the start of ``path``'s name, so a target whose name is
    near the file system's 255-byte limit still has room for it; inside
    ``watching_writes`` it carries the watch's tag (an export's run, so that what a
    killed export left can be told from what a running one is writing).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    watch = _WATCH.get()
    tag = f"{watch.temporary_tag(path.parent)}." if watch is not None else ""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name[:TEMPORARY_NAME_KEEPS]}.{tag}",
                                    suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; finished files are ordinary documents
        os.replace(tmp, path)
        if watch is not None:
            watch.moved_into_place(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def sha256_of(path: Path) -> str:
    """The sha256 of a file read a megabyte at a time (a saved copy and the manifest that
    records it: ``app.export`` writes it, ``app.validate`` checks it)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
