"""Builds from before schema v6, kept as two files on disk, cut into the stored form.

Those builds wrote an index beside their files (``.fragments``: where each conversation's
bytes sit in both files, and each JSONL line's tokens). With it, a build is cut into its
head and fragments without rendering anything; the cut is accepted only when the pieces
tile both files exactly (the head, then each fragment with the separators the layout puts
between them, then the tail), so putting them together again gives the same bytes.
Without a usable index the caller renders the file again instead. Indexes of version 3
also hold each fragment's sha256 (taken when it was built); a fragment that no longer
matches stops the cut (``LegacyMismatch``), and the caller renders the file again.
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import orjson

from app.fragments import BETWEEN, FIRST, TAIL, TAIL_EMPTY

INDEX_NAME = ".fragments"
INDEX_VERSIONS = (2, 3)  # 2: each key's JSONL token counts; 3: and each fragment's sha256


class LegacyMismatch(Exception):
    """A fragment of an old build is not the bytes its index recorded."""


def fragment_digest(json_fragment: bytes, jsonl_fragment: bytes) -> str:
    """What a version-3 index records for a fragment."""
    digest = hashlib.sha256(json_fragment)
    digest.update(b"\0")
    digest.update(jsonl_fragment)
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class LegacyBuild:
    head: bytes
    json_path: Path
    jsonl_path: Path
    spans: list[tuple[int, int, int, int]]  # json start, json end, jsonl start, jsonl end
    tokens: list[tuple[int, ...]]  # each conversation's JSONL line tokens
    digests: list[str] | None  # each fragment's ``fragment_digest`` (version 3)

    def fragments(self) -> Iterator[tuple[bytes, bytes, tuple[int, ...]]]:
        """Each conversation's (full-JSON bytes, JSONL bytes, tokens), in file order."""
        with ExitStack() as stack:
            views = []
            for path in (self.json_path, self.jsonl_path):
                handle = stack.enter_context(path.open("rb"))
                size = path.stat().st_size
                views.append(stack.enter_context(
                    mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)) if size else b"")
            json_view, jsonl_view = views
            for index, ((a, b, c, d), tokens) in enumerate(
                    zip(self.spans, self.tokens, strict=True)):
                json_part, jsonl_part = bytes(json_view[a:b]), bytes(jsonl_view[c:d])
                if self.digests is not None and \
                        fragment_digest(json_part, jsonl_part) != self.digests[index]:
                    raise LegacyMismatch(f"conversation {index + 1} of {self.json_path} was "
                                         "changed after it was built")
                yield json_part, jsonl_part, tokens


def _tiles(json_data: mmap.mmap | bytes, json_size: int, jsonl_size: int,
           spans: list[tuple[int, int, int, int]]) -> bool:
    """True when head + fragments + separators + tail is exactly the JSON file, and the
    JSONL spans follow one another from the file's start to its end."""
    if not spans:
        return jsonl_size == 0 and json_data[json_size - len(TAIL_EMPTY):] == TAIL_EMPTY
    at_json = spans[0][0] - len(FIRST)
    if json_data[at_json:spans[0][0]] != FIRST:
        return False
    at_jsonl = 0
    for index, (a, b, c, d) in enumerate(spans):
        if not (a <= b and c <= d) or c != at_jsonl:
            return False
        if index and json_data[at_json:a] != BETWEEN:
            return False
        at_json, at_jsonl = b, d
    return at_jsonl == jsonl_size and json_data[at_json:] == TAIL \
        and at_json + len(TAIL) == json_size


def read_legacy_build(json_path: Path, jsonl_path: Path, members: int,
                      header: bytes | None) -> LegacyBuild | None:
    """The build's pieces, or None when its index is missing, damaged or does not fit the
    files, the member count or the stored header (render it again then)."""
    try:
        index = orjson.loads((json_path.parent / INDEX_NAME).read_bytes())
        if index.get("version") not in INDEX_VERSIONS:
            return None
        json_size, jsonl_size = json_path.stat().st_size, jsonl_path.stat().st_size
        if (json_size, jsonl_size) != (index["json_bytes"], index["jsonl_bytes"]):
            return None
        spans = sorted((int(a), int(b), int(c), int(d), key)
                       for key, (a, b, c, d) in index["spans"].items())
        if len(spans) != members:
            return None
        tokens = [tuple(int(n) for n in index["tokens"][key]) for *_, key in spans]
        digests = [str(index["digests"][key]) for *_, key in spans] \
            if index["version"] >= 3 else None
        plain = [(a, b, c, d) for a, b, c, d, _ in spans]
        with json_path.open("rb") as handle, \
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if not _tiles(data, json_size, jsonl_size, plain):
                return None
            head = bytes(data[:plain[0][0] - len(FIRST)] if plain
                         else data[:json_size - len(TAIL_EMPTY)])
        written = orjson.loads(head + b"]}")["training_file_metadata"]
        if header is None or written != orjson.loads(header):
            return None
        return LegacyBuild(head, json_path, jsonl_path, plain, tokens, digests)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
