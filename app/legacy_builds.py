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
from collections.abc import Callable, Iterator
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


RECORD_NAME = ".sha256"  # the last builds before v6 recorded both files' sha256 here
READ_CHUNK = 1 << 20


def recorded_sha256(path: Path) -> str | None:
    """The sha256 recorded for ``path`` beside it (``sha256sum`` format), if any."""
    try:
        text = (path.parent / RECORD_NAME).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if name == path.name and len(digest) == 64:
            return digest
    return None


class LegacyReader:
    """Reads a build from before v6 as its files are, for a reader that may not move it
    into the database: each file is checked against its recorded size and sha256 as it
    is read (a copy made from a changed file fails before it is moved into place). A
    build without a record cannot be checked and is refused."""

    def __init__(self, name: str, json_path: Path, jsonl_path: Path, sizes: tuple[int, int],
                 refuse: Callable[[str], Exception]) -> None:
        self.name = name
        self._files = {"json": (json_path, sizes[0]), "jsonl": (jsonl_path, sizes[1])}
        self._refuse = refuse
        self._digests: dict[str, str] = {}
        for part, (path, _size) in self._files.items():
            digest = recorded_sha256(path)
            if digest is None:
                raise refuse(f"{path} has no recorded sha256, so it cannot be checked")
            self._digests[part] = digest

    def __enter__(self) -> LegacyReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def _read(self, part: str, lines: bool) -> Iterator[bytes]:
        path, size = self._files[part]
        digest, seen = hashlib.sha256(), 0
        try:
            with path.open("rb") as handle:
                pieces = iter(handle) if lines else iter(lambda: handle.read(READ_CHUNK), b"")
                for piece in pieces:
                    digest.update(piece)
                    seen += len(piece)
                    if seen > size:
                        raise self._refuse(f"{path} grew after it was built")
                    yield piece
        except OSError as exc:
            raise self._refuse(f"{path} cannot be read: {exc.strerror or exc}") from None
        if seen != size or digest.hexdigest() != self._digests[part]:
            raise self._refuse(f"{path} was changed after it was built")

    def json_chunks(self, tick: Callable[[], None] | None = None) -> Iterator[bytes]:
        for chunk in self._read("json", lines=False):
            if tick is not None:
                tick()
            yield chunk

    def jsonl_lines(self) -> Iterator[bytes]:
        return self._read("jsonl", lines=True)
