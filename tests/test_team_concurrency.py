"""Several processes writing to one team library (PostgreSQL) at once, with no OS lock:
no lost update, no duplicate conversation, no half-built file (``app.team_locks``)."""

from __future__ import annotations

from pathlib import Path

import orjson
from conftest import ENRICHED, LEGACY, addable, team_ids
from stored import stored_bytes
from team_racers import (
    DEADLINE,
    SPAWN,
    add_one_by_one,
    import_folder,
    rebuild_back_and_forth,
    run_together,
    stop,
)

from app.library import Library
from app.team_locks import lock_key
from app.trainingfiles import (
    add_conversations,
    create_training_file,
    header,
    member_ids,
    remove_conversations,
)


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("training-file:a") == lock_key("training-file:a")
    assert lock_key("training-file:a") != lock_key("training-file:b")
    assert -(2 ** 63) <= lock_key("x") < 2 ** 63


def test_three_writers_adding_to_one_training_file_at_once_lose_nothing(team: str) -> None:
    ids = addable(team_ids(team))
    with Library.open(team) as library:
        create_training_file(library, "Shared set")
    thirds = [ids[i::3] for i in range(3)]
    run_together([(add_one_by_one, (team, "Shared set", part)) for part in thirds])
    with Library.open(team, read_only=True) as library:
        members = member_ids(library, "Shared set")
        assert sorted(members) == sorted(ids)  # every addition is in, none twice
        for part in thirds:  # each writer's own additions stay in the order it made them
            assert [cid for cid in members if cid in part] == part
        json_bytes, _ = stored_bytes(library, "Shared set")  # checksums checked on reading
        assert len(orjson.loads(json_bytes)["conversations"]) == len(ids)
        assert header(library, "Shared set")["totals"]["conversations"] == len(ids)


def test_three_processes_importing_the_same_folder_at_once_store_each_conversation_once(
        pg_url: str, fixture_folder: Path) -> None:
    with Library.open(pg_url):
        pass  # the tables exist before the importers start
    reports = run_together([(import_folder, (pg_url, str(fixture_folder)))
                            for _ in range(3)])
    total = len(ENRICHED) + len(LEGACY)
    counts = [report for _, report in reports]
    assert sum(imported for imported, _, _ in counts) == total
    assert sum(duplicates for _, duplicates, _ in counts) == 2 * total
    assert all(rejected == 0 for _, _, rejected in counts)
    ids = team_ids(pg_url)
    assert len(ids) == len(set(ids)) == total


def test_a_download_during_rebuilds_is_always_one_complete_build(team: str) -> None:
    ids = addable(team_ids(team))
    moving = ids[-5:]
    with Library.open(team) as library:
        add_conversations(library, "Moving set", ids, create=True)
        full_jsonl = stored_bytes(library, "Moving set")[1]
        remove_conversations(library, "Moving set", moving)
        short_jsonl = stored_bytes(library, "Moving set")[1]
        add_conversations(library, "Moving set", moving)
    assert full_jsonl != short_jsonl
    start = SPAWN.Barrier(2)
    results = SPAWN.Queue()
    writer = SPAWN.Process(target=rebuild_back_and_forth,
                           args=(team, "Moving set", moving, 6, start, results))
    writer.start()
    seen: set[int] = set()
    try:
        start.wait(60)
        with Library.open(team, read_only=True) as reader:
            while writer.is_alive() or not seen:
                json_bytes, jsonl_bytes = stored_bytes(reader, "Moving set")
                document = orjson.loads(json_bytes)  # whole: it parses
                count = len(document["conversations"])
                assert document["training_file_metadata"]["totals"]["conversations"] == count
                assert jsonl_bytes == (full_jsonl if count == len(ids) else short_jsonl)
                seen.add(count)
        _, outcome = results.get(timeout=DEADLINE)
        assert outcome == 6, outcome
    finally:
        stop(writer)
    assert seen <= {len(ids), len(ids) - len(moving)}
