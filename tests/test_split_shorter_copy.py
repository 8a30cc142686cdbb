"""A conversation and a shorter re-generation of it (the same opening turns, fewer of
them) share most of the shorter one's sentences: a split keeps them on one side, or
validation scores replies the model was trained on word for word."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED

from app.export import ExportFormat, export
from app.importer import import_paths
from app.library import Library
from app.similar import NEAR, containment, fingerprint, similarity
from app.trainingfiles import add_conversations

LONG_SOURCE = ENRICHED[1]  # enriched-1.json: four replies, the longest fixture
SHORT_ID = "fp_conversation_shorter_copy"


def _shorter_copy(folder: Path, pairs: int) -> Path:
    """The fixture re-generated under another id, ending after its first ``pairs`` pairs."""
    document = json.loads(LONG_SOURCE.read_text(encoding="utf-8"))
    document["dataset_metadata"]["dataset_name"] = SHORT_ID
    document["training_pairs"] = document["training_pairs"][:pairs]
    path = folder / "shorter-copy.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


@pytest.fixture
def with_copy(filled_library: Library, tmp_path: Path) -> Library:
    folder = tmp_path / "extra"
    folder.mkdir()
    report = import_paths(filled_library, [_shorter_copy(folder, 6)])
    assert report.imported == 1, report.verdicts
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Copies", ids, create=True)
    return filled_library


def test_the_copy_is_contained_though_not_similar_overall(with_copy: Library,
                                                           tmp_path: Path) -> None:
    lines = _lines(export(with_copy, "Copies", ExportFormat.JSONL, tmp_path / "c.jsonl")[0])
    long_id = json.loads(LONG_SOURCE.read_text(encoding="utf-8"))["dataset_metadata"][
        "dataset_name"]
    by_id = {line["metadata"]["conversation_id"]: fingerprint(line).sketch for line in lines}
    short, long = by_id[SHORT_ID], by_id[long_id]
    assert similarity(short, long) < NEAR  # what the split compared alone before
    assert containment(short, long) >= 0.9
    assert containment(long, short) == containment(short, long)
    others = [sketch for cid, sketch in by_id.items() if cid not in (SHORT_ID, long_id)]
    assert all(containment(short, other) < NEAR for other in others)


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 7, 42])
@pytest.mark.parametrize("share", [0.3, 0.5])
def test_a_split_keeps_a_shorter_copy_with_its_original(with_copy: Library, tmp_path: Path,
                                                        seed: int, share: float) -> None:
    _train, valid_path, manifest_path = export(
        with_copy, "Copies", ExportFormat.SPLIT, tmp_path / "split", share, seed)
    long_id = json.loads(LONG_SOURCE.read_text(encoding="utf-8"))["dataset_metadata"][
        "dataset_name"]
    valid = {line["metadata"]["conversation_id"] for line in _lines(valid_path)}
    assert (SHORT_ID in valid) == (long_id in valid), "a copy and its original split up"
    manifest = orjson.loads(manifest_path.read_bytes())
    assert manifest["split"]["near_duplicate_groups"] == 1
