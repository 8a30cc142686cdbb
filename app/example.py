"""Build the example full training file (and its JSONL) from real conversation files.

Used by ``lora-studio example`` and by the test that keeps ``schemas/`` honest: the example
in ``schemas/`` must always equal what this code produces today.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.budget_fit import FOR_NEW_FILES
from app.build import BuildResult, write_records
from app.loader import load_conversation_file
from app.schemas import EXAMPLE_FULL, EXAMPLE_JSONL

EXAMPLE_NAME = "example-training-file"
EXAMPLE_TIME = "2026-01-01T00:00:00Z"


def build_example(sources: Sequence[tuple[Path, str]], out_dir: Path) -> BuildResult:
    """Write the example pair into ``out_dir`` from ``(file, batch id)`` sources, built as a
    new training file is (its over-budget setting included)."""
    records = [load_conversation_file(path, batch) for path, batch in sources]
    return write_records(out_dir / EXAMPLE_FULL, out_dir / EXAMPLE_JSONL, name=EXAMPLE_NAME,
                         records=records, created_at=EXAMPLE_TIME, updated_at=EXAMPLE_TIME,
                         over_budget=FOR_NEW_FILES)
