"""Incremental builds: each conversation's rendering is reused from the previous build.

A training file's full JSON is a header, the shared profile and one fragment per
conversation; its JSONL is one line per conversation. Both are pure functions of the
conversation's stored state and the file's render settings, so a rebuild copies every
fragment whose inputs did not change straight from the previous build's files (with the
runs of neighbouring fragments) and renders only the rest. The output is byte for byte
what a full rebuild writes. Each fragment's sha256 is in the index and is checked as the
fragment is copied: a previous build changed outside LoRA Studio is never copied from
(``FragmentChanged``; the build then renders everything).

Where the fragments sit is kept beside the files they describe, in ``.fragments`` in the
build's own folder: it is written with them and deleted with them, so it can never point
into files that are gone. A key names everything that changes a fragment's bytes (see
``fragment_key``); a fragment is reused only under the same key.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from app.jsonio import atomic_writer

INDEX_NAME = ".fragments"
INDEX_VERSION = 3  # 2: each key's JSONL token counts; 3: each fragment's sha256
FIRST = b"\n    "  # before the first conversation of the full JSON
BETWEEN = b",\n    "  # between two conversations
FILE_ATTRIBUTE_HIDDEN = 2

Span = tuple[int, int, int, int]  # json start, json end, jsonl start, jsonl end


class FragmentChanged(Exception):
    """A fragment of the previous build is not the bytes its index recorded."""


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def fragment_digest(json_fragment: bytes, jsonl_fragment: bytes) -> str:
    """What a fragment's two parts hash to, as the index records it."""
    digest = hashlib.sha256(json_fragment)
    digest.update(b"\0")
    digest.update(jsonl_fragment)
    return digest.hexdigest()[:32]


def _render_code_version() -> str:
    """A fingerprint of the code that renders fragments: changing it invalidates them all.

    From the modules' source files where they exist (a source checkout); a bundle has no
    sources, so there the app's version stands in.
    """
    from app import __version__, build, cutoff, fullfile, jsonl, records, review, token_lines

    digest = hashlib.sha256(__version__.encode())
    for module in (build, cutoff, fullfile, jsonl, records, review, token_lines):
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


@dataclass(frozen=True)
class Fragments:
    """The fragments of a finished build: where each key's bytes sit in its two files."""

    json_path: Path
    jsonl_path: Path
    spans: dict[str, Span]
    tokens: dict[str, list[int]] = field(default_factory=dict)  # key -> each line's tokens
    digests: dict[str, str] = field(default_factory=dict)  # key -> ``fragment_digest``

    @classmethod
    def read(cls, json_path: Path, jsonl_path: Path) -> Fragments | None:
        """The index beside a build's files, or None when it is missing or unreadable
        (a build from before incremental builds, or a damaged index: render everything)."""
        try:
            data = orjson.loads((json_path.parent / INDEX_NAME).read_bytes())
            if data.get("version") != INDEX_VERSION or data.get("json") != json_path.name \
                    or data.get("jsonl") != jsonl_path.name:
                return None
            sizes = (json_path.stat().st_size, jsonl_path.stat().st_size)
            if sizes != (data["json_bytes"], data["jsonl_bytes"]):
                return None
            tokens = {key: [int(n) for n in counts] for key, counts in data["tokens"].items()}
            digests = {key: str(value) for key, value in data["digests"].items()}
            spans = {key: (a, b, c, d) for key, (a, b, c, d) in data["spans"].items()
                     if key in tokens and key in digests}  # reused only with both
            return cls(json_path, jsonl_path, spans, tokens, digests)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def write(self) -> None:
        data = {"version": INDEX_VERSION, "json": self.json_path.name,
                "jsonl": self.jsonl_path.name, "json_bytes": self.json_path.stat().st_size,
                "jsonl_bytes": self.jsonl_path.stat().st_size, "spans": self.spans,
                "tokens": self.tokens, "digests": self.digests}
        path = self.json_path.parent / INDEX_NAME
        with atomic_writer(path) as handle:
            handle.write(orjson.dumps(data))
        if sys.platform == "win32":  # a dot does not hide a file there; "Show in folder" would
            ctypes.windll.kernel32.SetFileAttributesW(str(path), FILE_ATTRIBUTE_HIDDEN)


def _read_exactly(source: IO[bytes], start: int, length: int) -> bytes:
    source.seek(start)
    data = source.read(length)
    if len(data) != length:
        raise FragmentChanged(f"{source.name} ended early: the previous build is incomplete")
    return data


@dataclass
class _Run:
    """Neighbouring fragments of the previous build, copied in one go."""

    old: list[tuple[Span, str]] = field(default_factory=list)  # with each one's digest
    new_json: int = 0  # where the run starts in the new files
    new_jsonl: int = 0


class FragmentWriter:
    """Writes a full JSON and its JSONL fragment by fragment, copying reused ones.

    The full JSON's layout is exactly ``orjson.dumps(document, OPT_INDENT_2)`` + newline
    (see ``app.fullfile``); offsets are counted here rather than asked of the files. Every
    byte goes through the sinks' ``write`` in file order (they may hash it on the way), and
    ``digests`` holds each fragment's ``fragment_digest``, parallel to ``spans``.
    """

    def __init__(self, json_handle: Sink, jsonl_handle: Sink,
                 previous: Fragments | None) -> None:
        self.json, self.jsonl = json_handle, jsonl_handle
        self.json_at = self.jsonl_at = 0
        self.count = 0
        self.spans: list[Span] = []
        self.digests: list[str] = []
        self._run = _Run()
        self._stack = contextlib.ExitStack()
        self._sources: tuple[IO[bytes], IO[bytes]] | None = None
        if previous is not None:
            self._sources = (self._stack.enter_context(previous.json_path.open("rb")),
                             self._stack.enter_context(previous.jsonl_path.open("rb")))

    def __enter__(self) -> FragmentWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stack.close()

    def _json(self, data: bytes) -> None:
        self.json.write(data)
        self.json_at += len(data)

    def head(self, header: bytes, profile: bytes) -> None:
        self._json(b'{\n  "training_file_metadata": ' + header)
        self._json(b',\n  "consultant_profile": ' + profile)
        self._json(b',\n  "conversations": [')

    def _separator(self) -> None:
        self._json(FIRST if self.count == 0 else BETWEEN)
        self.count += 1

    def add(self, json_fragment: bytes, jsonl_fragment: bytes) -> Span:
        """A freshly rendered conversation."""
        self._flush_run()
        self._separator()
        start, line_start = self.json_at, self.jsonl_at
        self._json(json_fragment)
        self.jsonl.write(jsonl_fragment)
        self.jsonl_at += len(jsonl_fragment)
        span = (start, self.json_at, line_start, self.jsonl_at)
        self.spans.append(span)
        self.digests.append(fragment_digest(json_fragment, jsonl_fragment))
        return span

    def reuse(self, old: Span, digest: str) -> Span:
        """A conversation whose fragments sit in the previous build at ``old``; ``digest``
        is what the previous build's index recorded for them (checked when copied)."""
        run = self._run
        if run.old and (old[0] != run.old[-1][0][1] + len(BETWEEN)
                        or old[2] != run.old[-1][0][3]):
            self._flush_run()
            run = self._run
        if run.old:  # the separator sits between the two fragments in the old file too
            self.count += 1
            self.json_at += len(BETWEEN)
        else:
            self._separator()
            run.new_json, run.new_jsonl = self.json_at, self.jsonl_at
        first = run.old[0][0] if run.old else old
        shift_json = run.new_json - first[0]
        shift_jsonl = run.new_jsonl - first[2]
        run.old.append((old, digest))
        # The run's bytes are written later; count them now so the offsets stay right.
        self.json_at = old[1] + shift_json
        self.jsonl_at = old[3] + shift_jsonl
        span = (old[0] + shift_json, old[1] + shift_json, old[2] + shift_jsonl,
                old[3] + shift_jsonl)
        self.spans.append(span)
        self.digests.append(digest)
        return span

    def _flush_run(self) -> None:
        """Copy the run's fragments (and the separators between them), each checked
        against its recorded digest before it is written."""
        run = self._run
        if not run.old:
            return
        if self._sources is None:
            raise RuntimeError("a fragment was reused without a previous build")
        json_source, jsonl_source = self._sources
        for position, (span, digest) in enumerate(run.old):
            if position and _read_exactly(json_source, span[0] - len(BETWEEN),
                                          len(BETWEEN)) != BETWEEN:
                raise FragmentChanged(f"{json_source.name} was changed between fragments")
            json_part = _read_exactly(json_source, span[0], span[1] - span[0])
            jsonl_part = _read_exactly(jsonl_source, span[2], span[3] - span[2])
            if fragment_digest(json_part, jsonl_part) != digest:
                raise FragmentChanged(f"{json_source.name} or {jsonl_source.name} was changed "
                                      "since it was built")
            if position:
                self.json.write(BETWEEN)
            self.json.write(json_part)
            self.jsonl.write(jsonl_part)
        self._run = _Run()

    def finish(self) -> None:
        self._flush_run()
        self._json(b"]\n}\n" if self.count == 0 else b"\n  ]\n}\n")


def indented(document: Any, depth: int) -> bytes:
    """``document`` as orjson's 2-space indent writes it ``depth`` levels down."""
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    return text.replace(b"\n", b"\n" + b"  " * depth)


def reusable_spans(previous: Fragments | None, keys: Sequence[str]) -> Mapping[str, Span]:
    """The previous build's spans that this build can take over."""
    if previous is None:
        return {}
    return {key: previous.spans[key] for key in keys if key in previous.spans}
