"""A dialogue's sentence sketch holds the hashes of its sentences, and nothing else.

Splitting a dialogue at its full stops leaves an empty piece after the last one (almost
every dialogue ends on one) and between the stops of an ellipsis. Hashed like a sentence it
gave 0, the smallest hash there is, so it led almost every sketch: one of the eight indexed
hashes of each conversation was spent on it, and any two dialogues ending on a full stop
shared a "sentence" for free (up to 8 % of the shorter one's share between unrelated real
conversations)."""

from __future__ import annotations

import itertools
import zlib
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY
from shorter_copy import shorter_copy

from app.loader import record_from_bytes
from app.similar import SKETCH_SIZE, containment, fingerprint, similarity, unpack


def _sentences(record: dict) -> set[bytes]:  # type: ignore[type-arg]
    """The dialogue's sentences as this test reads them: the non-empty pieces between
    full stops of its messages, whitespace taken out."""
    text = "".join(f"\0{m['role']}\0{m['content']}" for m in record["messages"]
                   if m["role"] != "system")
    return {piece for piece in "".join(text.split()).encode("utf-8").split(b".") if piece}


def _records(tmp_path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    paths = [*ENRICHED, *LEGACY, *(shorter_copy(tmp_path, pairs, f"copy_{pairs}")
                                   for pairs in range(2, 8))]
    records = {}
    for path in paths:
        record = record_from_bytes(path.read_bytes(), path.name)
        records[record["conversation_id"]] = record
    return records


@pytest.fixture
def records(tmp_path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return _records(tmp_path)


def test_the_sketch_holds_the_smallest_hashes_of_the_sentences_only(
        records: dict[str, dict]) -> None:  # type: ignore[type-arg]
    ending = [cid for cid, record in records.items()
              if record["messages"][-1]["content"].rstrip().endswith(".")]
    assert len(ending) > len(records) // 2  # the empty piece was in most of them
    for cid, record in records.items():
        expected = sorted({zlib.crc32(piece) for piece in _sentences(record)})[:SKETCH_SIZE]
        assert unpack(fingerprint(record).sketch) == expected, cid
        assert 0 not in expected, cid  # (no real sentence of the fixtures hashes to 0)


def test_unrelated_real_conversations_share_nothing(
        records: dict[str, dict]) -> None:  # type: ignore[type-arg]
    """Two real conversations without a sentence in common score 0 on both shares."""
    unrelated = 0
    for (first, a), (second, b) in itertools.combinations(records.items(), 2):
        if _sentences(a) & _sentences(b):
            continue
        unrelated += 1
        sketch_a, sketch_b = fingerprint(a).sketch, fingerprint(b).sketch
        assert similarity(sketch_a, sketch_b) == 0.0, (first, second)
        assert containment(sketch_a, sketch_b) == 0.0, (first, second)
    assert unrelated > 100

