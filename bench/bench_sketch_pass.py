"""What the one-time pass that sketches stored dialogues again costs a library at its start.

A library written by a version before ``app.stored_sketches`` holds sketches that start
with the empty piece's hash (0) and indexes it. Opened by this version, the start-up work
runs two passes over every stored conversation: ``sketch_again`` (read each stored
record, sketch it, write the sketches that changed, drop index rows of old sketches, then
index every conversation again; its version 2 reads every record, as a sketch made before
the sketch form cannot be told from today's without it) and, after
it, the shorter-copies pass again (``flag_stored_copies``: index and look up every
conversation's smallest hashes). This script writes such a library of ``--rows``
conversations, then times both passes (CPU and wall) and the second, idle run of
``sketch_again``.

The conversations are the real fixtures' records (``tests/fixtures``, read by path: only
benchmarks do this), each row's sentences made its own (a row tag after every full stop
that ends a sentence inside a message, and before each message), so rows are unrelated as
most of a real library is, while a message's final full stop still leaves the empty piece
that versions before sketched. Their sketches are made as those versions made them.

Usage: ``python bench/bench_sketch_pass.py [--rows 10000] [--rows 100000]``
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import zlib
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import importer  # noqa: E402
from app.library import Library, unpack  # noqa: E402
from app.packing import pack_json  # noqa: E402
from app.similar import SKETCH_SIZE, _normalised  # noqa: E402
from app.stored_near import flag_stored_copies  # noqa: E402
from app.stored_sketches import holds_empty_piece, sketch_again  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def sketch_before(record: dict[str, Any]) -> bytes:
    """The sketch versions before this one stored: the empty piece hashed too."""
    text = _normalised(record["messages"])
    return array("I", sorted(set(map(zlib.crc32, text.split(b"."))))[:SKETCH_SIZE]).tobytes()


def templates() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(row, record) of each real fixture, as an import prepares them."""
    paths = sorted([*(FIXTURES / "enriched").glob("*.json"),
                    *(FIXTURES / "legacy").glob("*.json")])
    return [(row, unpack(row["document"])) for path in paths
            for (_where, row, _error) in importer.prepare(str(path), "bench") if row]


def rows_of(count: int) -> Iterator[list[dict[str, Any]]]:
    """``count`` unrelated rows with sketches made as before, a chunk at a time."""
    bases = templates()
    chunk: list[dict[str, Any]] = []
    for index in range(count):
        row, record = bases[index % len(bases)]
        tag = f"r{index}"
        messages = [{**m, "content": f"{tag} " + m["content"].replace(". ", f". {tag} ")}
                    for m in record["messages"]]
        own = {**record, "conversation_id": f"bench_{index}", "messages": messages}
        chunk.append({**row, "conversation_id": own["conversation_id"],
                      "content_sha256": hashlib.sha256(tag.encode()).hexdigest(),
                      "dialogue_sha256": hashlib.sha256(f"d{tag}".encode()).hexdigest(),
                      "dialogue_sketch": sketch_before(own),
                      "document": pack_json(orjson.dumps(own))})
        if len(chunk) == importer.CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def measure(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "library") as library:
        start = time.perf_counter()
        for chunk in rows_of(count):
            rows = [importer._Row(slot, row["conversation_id"], row, True, True)
                    for slot, row in enumerate(chunk)]
            importer._store(library, rows, [None] * len(rows), importer._Mine(), False,
                            "2026-01-01T00:00:00Z")
        made = time.perf_counter() - start
        with library.session() as session:
            from sqlalchemy import select

            from app.models import Conversation
            leading = sum(map(holds_empty_piece, session.scalars(
                select(Conversation.dialogue_sketch))))
        print(f"{count:,} conversations (written in {made:.0f} s), {leading:,} sketches "
              "start with the empty piece")
        changed, cpu, wall = timed(lambda: sketch_again(library))
        print(f"  sketch_again:            {changed:,} sketched again, {cpu:6.1f} s CPU "
              f"({cpu / count * 1e6:5.0f} µs each), {wall:6.1f} s wall")
        again, cpu, wall = timed(lambda: sketch_again(library))
        print(f"  sketch_again, again:     {again:,} sketched again, {cpu:6.1f} s CPU "
              f"({cpu / count * 1e6:5.0f} µs each), {wall:6.1f} s wall")
        flagged, cpu, wall = timed(lambda: flag_stored_copies(library))
        print(f"  flag_stored_copies:      {len(flagged):,} flagged, {cpu:6.1f} s CPU "
              f"({cpu / count * 1e6:5.0f} µs each), {wall:6.1f} s wall")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append",
                        help="conversations in the library (repeatable; default 10,000)")
    args = parser.parse_args(argv)
    for count in args.rows or [10_000]:
        measure(count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
