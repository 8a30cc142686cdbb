"""A training file made in one library from three batches with settings other than the
defaults, saved as its full JSON: what a library rebuilt from its file, or a colleague
receiving it, imports (audit57 W2, W8)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson
from conftest import ENRICHED, LEGACY, addable
from stored import stored_bytes

from app.fullsplit import _fingerprint
from app.importer import import_paths
from app.library import Library
from app.trainingfiles import add_conversations, change_settings

BATCHES = ("alpha", "beta", "delta")
NAME = "Production 2026"


@dataclass(frozen=True)
class Source:
    full: Path  # the saved full JSON
    json: bytes
    jsonl: bytes
    batch_of: dict[str, str]  # each member's batch in the library it was made in


def make_source(folder: Path) -> Source:
    """The fixtures in three batch folders, a file of their addable conversations in an
    order of its own (last first), weight0, 2,048 tokens, longer lines fitted."""
    drop = folder / "delivery"
    for index, path in enumerate([*ENRICHED, *LEGACY]):
        target = drop / BATCHES[index % 3]
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)
    with Library.open(folder / "original") as library:
        import_paths(library, [drop])
        ids = addable([row.conversation_id for row in library.summaries()])[::-1]
        add_conversations(library, NAME, ids, create=True, cut_off_policy="weight0")
        change_settings(library, NAME, max_seq_len=2048, over_budget="fit")
        batch_of = {row.conversation_id: row.batch_id for row in library.summaries()
                    if row.conversation_id in ids}
        json_bytes, jsonl_bytes = stored_bytes(library, NAME)
    full = folder / f"{NAME}.json"
    full.write_bytes(json_bytes)
    return Source(full, json_bytes, jsonl_bytes, batch_of)


def fingerprints_as_in(source: bytes, rebuilt: bytes) -> bytes:
    """``rebuilt`` with each conversation's ``source.content_sha256`` put back as
    ``source`` has it, after checking it is the import's fingerprint of that conversation
    as the source file holds it (an import records where a record came from: the only
    bytes a round trip changes besides name and times)."""
    before = orjson.loads(source)["conversations"]
    after = orjson.loads(rebuilt)["conversations"]
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        assert new["source"]["content_sha256"] == _fingerprint(old)
        rebuilt = rebuilt.replace(new["source"]["content_sha256"].encode(),
                                  old["source"]["content_sha256"].encode())
    return rebuilt


def times_as_in(source: bytes, rebuilt: bytes) -> bytes:
    """``rebuilt`` with its header's ``created_at`` and ``updated_at`` put back as
    ``source`` has them (a file made in the window's child process is made now)."""
    before = orjson.loads(source)["training_file_metadata"]
    after = orjson.loads(rebuilt)["training_file_metadata"]
    for key in ("created_at", "updated_at"):
        rebuilt = rebuilt.replace(f'"{key}": "{after[key]}"'.encode(),
                                  f'"{key}": "{before[key]}"'.encode(), 1)
    return rebuilt
