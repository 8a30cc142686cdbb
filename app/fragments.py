"""The pieces a training file is made of, and the keys that say when a piece is still good.

A training file's full JSON is a head (the header and the shared consultant profile), one
fragment per conversation and a tail; its JSONL is one line per conversation (none for a
conversation without a trained reply). Both are pure functions of the conversation's
stored state and the file's render settings, so each conversation's rendering is kept
under a key naming everything that changes its bytes (``fragment_key``) and a build only
renders the conversations whose key it has not got yet (``app.stored_builds``).

The layout is exactly ``orjson.dumps(document, OPT_INDENT_2)`` + newline; ``full_json``
puts the pieces together and the tests hold it to a render of the whole document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

FIRST = b"\n    "  # before the first conversation of the full JSON
BETWEEN = b",\n    "  # between two conversations
TAIL_EMPTY = b"]\n}\n"  # after the opening bracket of a file without conversations
TAIL = b"\n  ]\n}\n"  # after the last conversation


def _render_code_version() -> str:
    """A fingerprint of the code that renders fragments: changing it invalidates them all.

    From the modules' source files where they exist (a source checkout); a bundle has no
    sources, so there the app's version stands in.
    """
    from app import (
        __version__,
        budget_fit,
        build,
        cut_off_rule,
        cutoff,
        fullfile,
        jsonl,
        records,
        review,
        token_lines,
    )

    digest = hashlib.sha256(__version__.encode())
    for module in (budget_fit, build, cut_off_rule, cutoff, fullfile, jsonl, records, review,
                   token_lines):
        try:
            digest.update(Path(str(module.__file__)).read_bytes())
        except OSError:
            digest.update(module.__name__.encode())
    return digest.hexdigest()[:16]


_CODE_VERSION: list[str] = []


def settings_key(*settings: object) -> str:
    """The part of every fragment key that comes from the file: its name, cut-off policy,
    token budget… and the rendering code itself."""
    if not _CODE_VERSION:
        _CODE_VERSION.append(_render_code_version())
    return hashlib.sha256(orjson.dumps([_CODE_VERSION[0], *map(str, settings)])).hexdigest()[:16]


def fragment_key(settings: str, *state: object) -> str:
    """A conversation's key: the file's settings plus the conversation's stored state
    (row key, content hash, stored digest, batch, review mark…)."""
    return hashlib.sha256(orjson.dumps([settings, *map(str, state)])).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Fragment:
    """One conversation as the full JSON lists it and as its JSONL line(s)."""

    key: str
    json: bytes
    jsonl: bytes
    tokens: tuple[int, ...]  # each JSONL line's exact token count
    # (replies, estimated tokens) its line leaves out to fit the token budget
    # (``app.budget_fit``): taken off the totals the conversation's digest gives
    fitted: tuple[int, int] = (0, 0)

    @property
    def sha256(self) -> bytes:
        return fragment_sha256(self.json, self.jsonl)


def fragment_sha256(json_bytes: bytes, jsonl_bytes: bytes) -> bytes:
    """What a stored fragment must hash to when it is read back: the sha256 of its
    full-JSON part, then that of its JSONL part (so either is checked without the other)."""
    return hashlib.sha256(json_bytes).digest() + hashlib.sha256(jsonl_bytes).digest()


SHA_SIZE = 32  # each half of ``fragment_sha256``


def indented(document: Any, depth: int) -> bytes:
    """``document`` as orjson's 2-space indent writes it ``depth`` levels down."""
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    return text.replace(b"\n", b"\n" + b"  " * depth)


def head_bytes(header: Any, profile: Any) -> bytes:
    """The full JSON up to (and including) the opening bracket of its conversations."""
    return (b'{\n  "training_file_metadata": ' + indented(header, 1)
            + b',\n  "consultant_profile": ' + indented(profile, 1)
            + b',\n  "conversations": [')


def full_json(head: bytes, fragments: Iterable[bytes]) -> Iterator[bytes]:
    """The full JSON's bytes, piece by piece, from its head and its fragments in order."""
    yield head
    separator = FIRST
    for fragment in fragments:
        yield separator
        yield fragment
        separator = BETWEEN
    yield TAIL_EMPTY if separator is FIRST else TAIL


def full_json_size(head: int, fragment_sizes: Iterable[int]) -> int:
    """The length of ``full_json`` without making it."""
    count = total = 0
    for size in fragment_sizes:
        count += 1
        total += size
    if not count:
        return head + len(TAIL_EMPTY)
    return head + total + len(FIRST) + (count - 1) * len(BETWEEN) + len(TAIL)


def full_json_size_of(head: int, fragments_size: int, count: int) -> int:
    """``full_json_size`` from the fragments' total size and their number."""
    if not count:
        return head + len(TAIL_EMPTY)
    return head + fragments_size + len(FIRST) + (count - 1) * len(BETWEEN) + len(TAIL)
