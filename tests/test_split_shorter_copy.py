"""A conversation and a shorter re-generation of it (the same opening turns, fewer of
them) share most of the shorter one's sentences: a split keeps them on one side, or
validation scores replies the model was trained on word for word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from shorter_copy import LONG_ID, SHORT_ID, shorter_copy

from app.export import ExportFormat, export
from app.importer import import_paths
from app.library import Library
from app.similar import NEAR, containment, fingerprint, similarity
from app.trainingfiles import add_conversations


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


@pytest.fixture
def with_copy(filled_library: Library, tmp_path: Path) -> Library:
    folder = tmp_path / "extra"
    # Five of eight pairs: about 42 % of the sentences over both, clear of NEAR whatever
    # the sketch's hashes (six share about 68 %, within the estimate's spread of it).
    report = import_paths(filled_library, [shorter_copy(folder, 5)])
    assert report.imported == 1, report.verdicts
    ids = [row.conversation_id for row in filled_library.summaries()]
    # Lines written whole: a file that fits its lines ends the long one (5,252 tokens) at
    # its third reply, where the copy ends too, and the two lines are then the same.
    add_conversations(filled_library, "Copies", ids, create=True, over_budget="keep")
    return filled_library


def test_the_copy_is_contained_though_not_similar_overall(with_copy: Library,
                                                           tmp_path: Path) -> None:
    lines = _lines(export(with_copy, "Copies", ExportFormat.JSONL, tmp_path / "c.jsonl")[0])
    by_id = {line["metadata"]["conversation_id"]: fingerprint(line).sketch for line in lines}
    short, long = by_id[SHORT_ID], by_id[LONG_ID]
    assert similarity(short, long) < NEAR  # what the split compared alone before
    assert containment(short, long) >= 0.9
    assert containment(long, short) == containment(short, long)
    others = [sketch for cid, sketch in by_id.items() if cid not in (SHORT_ID, LONG_ID)]
    assert all(containment(short, other) < NEAR for other in others)


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 7, 42])
@pytest.mark.parametrize("share", [0.3, 0.5])
def test_a_split_keeps_a_shorter_copy_with_its_original(with_copy: Library, tmp_path: Path,
                                                        seed: int, share: float) -> None:
    _train, valid_path, manifest_path = export(
        with_copy, "Copies", ExportFormat.SPLIT, tmp_path / "split", share, seed)
    valid = {line["metadata"]["conversation_id"] for line in _lines(valid_path)}
    assert (SHORT_ID in valid) == (LONG_ID in valid), "a copy and its original split up"
    manifest = orjson.loads(manifest_path.read_bytes())
    assert manifest["split"]["near_duplicate_groups"] == 1
