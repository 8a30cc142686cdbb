"""What jsonschema spends on ``$ref`` lookups: the v4 schemas as written beside the
validators ``app.schemas`` compiles with every local reference written out, on the same
records in the same run (ms per record, best of runs).

    python bench/bench_validate_refs.py --runs 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.bundle import schemas_dir
from app.schemas import (
    CONVERSATION,
    EXAMPLE_FULL,
    EXAMPLE_JSONL,
    FULL_SCHEMA,
    INDIVIDUAL_SCHEMA,
    JSONL_SCHEMA,
    load_schema,
    part_of,
    validator,
)

ENRICHED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "enriched"


def _best_ms(check: Draft202012Validator, records: list[Any], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        for record in records:
            for _error in check.iter_errors(record):
                pass
        best = min(best, (time.perf_counter() - began) / len(records))
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    example = orjson.loads((schemas_dir() / EXAMPLE_FULL).read_bytes())
    lines = [orjson.loads(line)
             for line in (schemas_dir() / EXAMPLE_JSONL).read_bytes().splitlines()]
    cases = (
        ("enriched file (individual)", load_schema(INDIVIDUAL_SCHEMA), INDIVIDUAL_SCHEMA,
         [orjson.loads(p.read_bytes()) for p in sorted(ENRICHED.glob("*.json"))]),
        ("full file's conversation", part_of(FULL_SCHEMA, "conversation"), CONVERSATION,
         example["conversations"]),
        ("JSONL line", load_schema(JSONL_SCHEMA), JSONL_SCHEMA, lines),
    )
    print(f"{'records':<30}{'n':>4}{'as written (ms)':>18}{'compiled (ms)':>16}{'ratio':>8}")
    for label, written, name, records in cases:
        plain = Draft202012Validator(written,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
        before = _best_ms(plain, records, args.runs)
        after = _best_ms(validator(name), records, args.runs)
        print(f"{label:<30}{len(records):>4}{before:>18.2f}{after:>16.2f}"
              f"{after / before:>8.2f}")


if __name__ == "__main__":
    main()
