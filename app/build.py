"""Write a training file's full JSON and its JSONL together, in one streaming pass.

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
from app.fullfile import build_header, file_record, shared_profile_hash, write_full_json
from app.jsonio import atomic_writer, dumps_line
from app.jsonl import jsonl_lines
from app.records import Digest, TrainingFileHeader, digest_of, profile_hash, summarise

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


def write_training_files(
    json_path: Path,
    jsonl_path: Path,
    *,
    name: str,
    digests: Sequence[Digest],
    records: Iterable[Mapping[str, Any]],
    profile_of: Callable[[str], Any],
    created_at: str,
    updated_at: str,
    jsonl_name: str | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
) -> BuildResult:
    """Write both renderings of one training file.

    ``digests`` (see ``app.records.Digest``) are in the same order as ``records``; the
    header is made from them so the records can stream straight through.
    ``profile_of`` returns the consultant profile for a profile hash. ``jsonl_name`` is the
    sibling's name as the user will know it (stored files carry a revision suffix).
    """
    header = build_header(name, digests, created_at, updated_at, jsonl_name or jsonl_path.name,
                          cut_off_policy)
    shared_hash = shared_profile_hash(digests)
    shared_profile = profile_of(shared_hash) if shared_hash else None
    total = len(digests)
    counts = {"records": 0, "lines": 0}

    def stream(jsonl_handle: Any) -> Iterable[dict[str, Any]]:
        for record in records:
            if cancelled and cancelled():
                raise BuildCancelled()
            listed = file_record(record, shared_hash)
            for line in jsonl_lines(listed, name, cut_off_policy):
                jsonl_handle.write(dumps_line(line))
                counts["lines"] += 1
            counts["records"] += 1
            if progress:
                progress(counts["records"], total, str(record["conversation_id"]))
            yield listed

    with contextlib.ExitStack() as stack:
        jsonl_handle = stack.enter_context(atomic_writer(jsonl_path))
        json_handle = stack.enter_context(atomic_writer(json_path))
        write_full_json(json_handle, header, shared_profile, stream(jsonl_handle))
        if counts["records"] != total:
            raise ValueError(
                f"{total} conversations were expected but {counts['records']} were written"
            )
    return BuildResult(
        json_path,
        jsonl_path,
        counts["records"],
        counts["lines"],
        json_path.stat().st_size,
        jsonl_path.stat().st_size,
        header,
    )


def write_records(
    json_path: Path,
    jsonl_path: Path,
    *,
    name: str,
    records: Sequence[Mapping[str, Any]],
    created_at: str,
    updated_at: str,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
) -> BuildResult:
    """Write a training file from records already in memory (examples, tests, tools)."""
    profiles = {profile_hash(r.get("consultant_profile")): r.get("consultant_profile")
                for r in records}
    return write_training_files(
        json_path, jsonl_path, name=name, digests=[digest_of(summarise(r)) for r in records],
        records=records, profile_of=profiles.__getitem__, created_at=created_at,
        updated_at=updated_at, cut_off_policy=cut_off_policy,
    )
