"""Write a training file's full JSON and its JSONL together, in one streaming pass.

Conversations whose rendering has not changed since the previous build are copied from it
(``app.fragments``); the rest are rendered from their records.

Both files are written to temporary names, flushed and fsynced, and only then moved into
place, so a failure at any point leaves whatever was there before untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.cutoff import DEFAULT_POLICY, CutOffPolicy
from app.fragments import Fragments, FragmentWriter, Span, indented, reusable_spans
from app.fullfile import build_header, file_record, shared_profile_hash
from app.integrity import HashingWriter
from app.jsonio import atomic_writer, dumps_line
from app.jsonl import jsonl_lines
from app.records import Digest, TrainingFileHeader, digest_of, profile_hash, summarise
from app.token_lines import (
    CHUNK,
    DEFAULT_MAX_SEQ_LEN,
    CountCache,
    count_lines,
    token_summary,
)
from app.tokens import TokenCounter, default_counter

Progress = Callable[[int, int, str], None]


class BuildCancelled(Exception):
    """The user cancelled; nothing was replaced."""


@dataclass(frozen=True)
class BuildResult:
    json_path: Path
    jsonl_path: Path
    conversations: int
    jsonl_lines: int
    json_bytes: int
    jsonl_bytes: int
    header: TrainingFileHeader  # the training_file_metadata written at the top of the JSON
    rendered: int = 0  # conversations rendered anew (the rest were copied: app.fragments)
    json_sha256: str = ""  # of the bytes written, hashed as they went out (app.integrity)
    jsonl_sha256: str = ""


Records = Iterable[Mapping[str, Any]] | Callable[[], Iterable[Mapping[str, Any]]]


def write_training_files(
    json_path: Path,
    jsonl_path: Path,
    *,
    name: str,
    digests: Sequence[Digest],
    records: Records,
    profile_of: Callable[[str], Any],
    created_at: str,
    updated_at: str,
    jsonl_name: str | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    keys: Sequence[str] | None = None,
    previous: Fragments | None = None,
    counter: TokenCounter | None = None,
    cache: CountCache | None = None,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
) -> BuildResult:
    """Write both renderings of one training file.

    ``digests`` (see ``app.records.Digest``) are in file order; the header is made from them
    so the records can stream straight through. ``profile_of`` returns the consultant
    profile for a profile hash. ``jsonl_name`` is the sibling's name as the user will know
    it (stored files carry a revision suffix).

    Incremental builds (``app.fragments``): with ``keys`` (one per conversation, naming
    everything its rendering depends on) an index of the fragments is written beside the
    files, and a conversation whose key ``previous`` holds is copied from there instead of
    rendered. ``records`` then yields only the conversations to render, in file order
    (``to_render`` tells which); without ``previous`` that is all of them.

    Token counts (``counter``: the bundled tokenizer by default) go on every JSONL line and,
    summed up, into the header at the top, so they are made first: ``records`` is read
    twice when it is a callable returning a fresh iterable (the library's case), once to
    count and once to write; a sequence is simply iterated twice. Reused fragments keep
    the counts the previous build stored in its index.
    """
    counter = counter or default_counter()
    shared_hash = shared_profile_hash(digests)
    shared_profile = profile_of(shared_hash) if shared_hash else None
    total = len(digests)
    full_keys = _full_keys(keys, digests, shared_hash)
    reusable = reusable_spans(previous, full_keys or [])
    old_tokens = previous.tokens if previous is not None else {}

    if not callable(records) and not isinstance(records, Sequence):
        records = list(records)  # a one-shot iterator (tools, tests): it is read twice

    def read() -> Iterable[Mapping[str, Any]]:
        return records() if callable(records) else records

    spans: dict[str, Span] = {}
    fragment_digests: dict[str, str] = {}
    lines = rendered = 0
    with contextlib.ExitStack() as stack:
        jsonl_handle = HashingWriter(stack.enter_context(atomic_writer(jsonl_path)))
        json_handle = HashingWriter(stack.enter_context(atomic_writer(json_path)))
        out = stack.enter_context(FragmentWriter(json_handle, jsonl_handle,
                                                 previous if reusable else None))
        line_tokens = _count_tokens(read(), digests, full_keys, reusable, old_tokens, name,
                                    cut_off_policy, counter, cache or CountCache(),
                                    shared_hash, progress, cancelled)
        header = build_header(name, digests, created_at, updated_at,
                              jsonl_name or jsonl_path.name, cut_off_policy)
        header["tokens"] = token_summary(counter, [n for c in line_tokens for n in c],
                                         max_seq_len)
        pending = iter(read())
        out.head(indented(header, 1), indented(shared_profile, 1))
        for index, item in enumerate(digests):
            if cancelled and cancelled():
                raise BuildCancelled()
            key = full_keys[index] if full_keys else None
            if key is not None and key in reusable and previous is not None:
                span = out.reuse(reusable[key], previous.digests[key])
            else:
                record = next(pending, None)
                if record is None:
                    raise ValueError(f"{total} conversations were expected but only "
                                     f"{rendered} records came to render")
                listed = file_record(record, shared_hash)
                objects = list(jsonl_lines(listed, name, cut_off_policy))
                for line_object, count in zip(objects, line_tokens[index], strict=True):
                    line_object["metadata"]["token_count"] = count
                line = b"".join(dumps_line(x) for x in objects)
                span = out.add(indented(listed, 2), line)
                rendered += 1
            lines += span[3] > span[2]
            if key is not None:
                spans[key] = span
                fragment_digests[key] = out.digests[-1]
            if progress:
                progress(total + index + 1, 2 * total, str(item["conversation_id"]))
        out.finish()
        if next(pending, None) is not None:
            raise ValueError(f"more records than the {total} conversations expected")
    if full_keys is not None:
        Fragments(json_path, jsonl_path, spans,
                  {key: line_tokens[i] for i, key in enumerate(full_keys)},
                  fragment_digests).write()
    return BuildResult(
        json_path,
        jsonl_path,
        total,
        lines,
        json_path.stat().st_size,
        jsonl_path.stat().st_size,
        header,
        rendered,
        json_handle.hexdigest(),
        jsonl_handle.hexdigest(),
    )


def _count_tokens(
    records: Iterable[Mapping[str, Any]], digests: Sequence[Digest],
    full_keys: Sequence[str] | None, reusable: Mapping[str, Span],
    old_tokens: Mapping[str, list[int]], name: str, cut_off_policy: CutOffPolicy | str,
    counter: TokenCounter, cache: CountCache, shared_hash: str | None,
    progress: Progress | None, cancelled: Callable[[], bool] | None,
) -> list[list[int]]:
    """Per conversation in file order: the exact tokens of each of its JSONL lines."""
    result: list[list[int]] = [[] for _ in digests]
    pending = iter(records)
    batch: list[tuple[int, list[Any]]] = []  # (position, the messages of each line)

    def flush() -> None:
        counts = iter(count_lines(counter, [m for _, lines in batch for m in lines], cache))
        for position, lines in batch:
            result[position] = [next(counts) for _ in lines]
        batch.clear()

    total = len(digests)
    for index, item in enumerate(digests):
        if cancelled and cancelled():
            raise BuildCancelled()
        key = full_keys[index] if full_keys else None
        if key is not None and key in reusable and key in old_tokens:
            result[index] = list(old_tokens[key])
        else:
            record = next(pending, None)
            if record is None:
                raise ValueError(f"{total} conversations were expected but fewer records "
                                 "came to render")
            listed = file_record(record, shared_hash)
            batch.append((index, [line["messages"]
                                  for line in jsonl_lines(listed, name, cut_off_policy)]))
            if len(batch) >= CHUNK:
                flush()
        if progress:
            progress(index + 1, 2 * total, str(item["conversation_id"]))
    flush()
    return result


def _full_keys(keys: Sequence[str] | None, digests: Sequence[Digest],
               shared_hash: str | None) -> list[str] | None:
    """Each conversation's key, plus whether its profile is written with it (that changes
    when most of the file's conversations come to use another profile)."""
    if keys is None:
        return None
    if len(keys) != len(digests):
        raise ValueError(f"{len(digests)} conversations but {len(keys)} fragment keys")
    return [f"{key}:{'shared' if item['profile_hash'] == shared_hash else 'own'}"
            for key, item in zip(keys, digests, strict=True)]


def to_render(keys: Sequence[str], digests: Sequence[Digest],
              previous: Fragments | None) -> list[int]:
    """Positions of the conversations a build with ``previous`` must render."""
    full_keys = _full_keys(keys, digests, shared_profile_hash(digests)) or []
    have = previous.spans if previous is not None else {}
    return [i for i, key in enumerate(full_keys) if key not in have]


def write_records(
    json_path: Path,
    jsonl_path: Path,
    *,
    name: str,
    records: Sequence[Mapping[str, Any]],
    created_at: str,
    updated_at: str,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    counter: TokenCounter | None = None,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
) -> BuildResult:
    """Write a training file from records already in memory (examples, tests, tools)."""
    profiles = {profile_hash(r.get("consultant_profile")): r.get("consultant_profile")
                for r in records}
    return write_training_files(
        json_path, jsonl_path, name=name, digests=[digest_of(summarise(r)) for r in records],
        records=records, profile_of=profiles.__getitem__, created_at=created_at,
        updated_at=updated_at, cut_off_policy=cut_off_policy, counter=counter,
        max_seq_len=max_seq_len,
    )
