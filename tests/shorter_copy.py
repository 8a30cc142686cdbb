"""A real fixture re-generated shorter: ``enriched-1.json`` under another id, ending after
its first few client/consultant pairs (the same opening turns, fewer of them)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ENRICHED

LONG_SOURCE = ENRICHED[1]  # enriched-1.json: eight pairs, the longest fixture
LONG_ID = json.loads(LONG_SOURCE.read_text(encoding="utf-8"))["dataset_metadata"][
    "dataset_name"]
SHORT_ID = "fp_conversation_shorter_copy"


def shorter_copy(folder: Path, pairs: int, cid: str = SHORT_ID) -> Path:
    """The fixture as a file in ``folder`` under ``cid``, ending after ``pairs`` pairs."""
    document = json.loads(LONG_SOURCE.read_text(encoding="utf-8"))
    document["dataset_metadata"]["dataset_name"] = cid
    document["training_pairs"] = document["training_pairs"][:pairs]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{cid}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
