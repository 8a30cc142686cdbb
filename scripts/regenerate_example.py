"""Regenerate the example full training file in ``schemas/`` from the shared fixtures.

Run from the project root after a deliberate format change:
    python scripts/regenerate_example.py
The test suite rebuilds the example the same way and fails if ``schemas/`` is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# (fixture, batch id): three current enriched conversations and one legacy seed conversation,
# so the example shows scaffolded and unscaffolded records side by side.
EXAMPLE_SOURCES = (
    ("enriched/enriched-1.json", "batch-2025-12-02"),
    ("enriched/david-chen-confusion-clarity-mortgage-enriched-scaffolds.json", "batch-2025-11-30"),
    ("enriched/single-convo-file-1.json", "batch-2025-12-02"),
    ("legacy/c-alpha-build_v3.4-LoRA-FP-convo-01-complete.json", "legacy-seed"),
)


def example_sources(fixtures: Path = FIXTURES) -> list[tuple[Path, str]]:
    return [(fixtures / name, batch) for name, batch in EXAMPLE_SOURCES]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from app.example import build_example

    result = build_example(example_sources(), ROOT / "schemas")
    print(f"wrote {result.json_path.name} and {result.jsonl_path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
