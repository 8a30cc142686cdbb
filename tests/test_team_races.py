"""Races between members of one team library (PostgreSQL), each played by real
processes at the exact moment that matters (``team_racers`` stops a child there):

- two files created at once get two ids, and one creation never waits for another's
  build (only for its switch);
- the sweep of fragments nobody uses (recovery, at any member's start) leaves alone the
  fragments a running build stored and has not switched to yet;
- a conversation removed from the library while another member adds it to a file: the
  adder leaves it out (the removal came first), or the removal says which file took it
  and removes nothing (the addition came first) — never a foreign-key failure.
"""

from __future__ import annotations

import threading
import time

import orjson
import psycopg
import team_racers
from conftest import addable, team_ids
from stored import stored_bytes
from team_racers import DEADLINE, Paused, run_in_child, run_together

from app.errors import LibraryError
from app.fragments import Fragment
from app.library import Library
from app.recovery import finish_interrupted_work
from app.removal import apply_removal, plan_removal
from app.stored_builds import save_fragments, unreferenced_count
from app.trainingfiles import (
    add_conversations,
    create_training_file,
    get_training_file,
    list_training_files,
    member_ids,
)


def _waiting_on_a_lock(url: str) -> bool:
    """Some connection to the database waits for a lock held by another."""
    with psycopg.connect(url, autocommit=True) as conn:
        return bool(conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'").fetchone()[0])


def test_a_file_created_while_another_is_built_does_not_wait_and_gets_its_own_id(
        team: str) -> None:
    ids = addable(team_ids(team))
    first = Paused(team_racers.add_paused_rendering, team, "First", ids, True, 2, False)
    try:
        first.wait_paused()  # "First" is being built: it holds its own lock
        # Another member creates another file meanwhile, in another process: done while
        # "First" still renders (the creation lock is only taken for a switch).
        assert run_in_child(team_racers.create_file, team, "Second", ids[:3]) == ids[:3]
        assert first.go() == ids
    finally:
        first.end()
    with Library.open(team, read_only=True) as library:
        files = {info.name: info for info in list_training_files(library)}
        assert set(files) == {"First", "Second"}
        assert files["First"].file_id != files["Second"].file_id
        assert files["First"].file_id > files["Second"].file_id  # taken at its switch
        for name, members in (("First", ids), ("Second", ids[:3])):
            document = orjson.loads(stored_bytes(library, name)[0])
            assert [c["conversation_id"] for c in document["conversations"]] == members


def test_files_created_at_once_by_four_processes_get_four_ids(team: str) -> None:
    ids = addable(team_ids(team))
    parts = {f"Set {n}": ids[n::4] for n in range(4)}
    outcomes = dict(run_together([(team_racers.create_file, (team, name, part))
                                  for name, part in parts.items()]))
    assert outcomes == {f"creator of {name}": part for name, part in parts.items()}
    with Library.open(team, read_only=True) as library:
        infos = list_training_files(library)
        assert sorted(info.name for info in infos) == sorted(parts)
        assert len({info.file_id for info in infos}) == 4
        for name, part in parts.items():
            assert member_ids(library, name) == part
            assert orjson.loads(stored_bytes(library, name)[0])["training_file_metadata"][
                "totals"]["conversations"] == len(part)


def test_recovery_at_another_start_leaves_a_running_builds_stored_fragments(
        team: str) -> None:
    ids = addable(team_ids(team))
    builder = Paused(team_racers.add_paused_rendering, team, "Large set", ids, True, 4, True)
    try:
        builder.wait_paused()  # three fragments stored early, not referred to yet
        with Library.open(team) as library:
            with library.session() as session:
                assert unreferenced_count(session) >= 3
            said = finish_interrupted_work(library)  # another member's start
            assert not any("stored conversation rendering" in s for s in said), said
            with library.session() as session:
                assert unreferenced_count(session) >= 3
        assert builder.go() == ids
    finally:
        builder.end()
    with Library.open(team) as library:
        assert member_ids(library, "Large set") == ids
        json_bytes, _ = stored_bytes(library, "Large set")  # every fragment, checksums
        assert len(orjson.loads(json_bytes)["conversations"]) == len(ids)
        with library.session() as session:
            assert unreferenced_count(session) == 0
        # With no build running the sweep does its work.
        with library.session() as session, session.begin():
            save_fragments(session, [Fragment("left-over", b"{}", b"{}\n", (1,))])
        said = finish_interrupted_work(library)
        assert "removed 1 stored conversation rendering left over by an interrupted " \
               "build" in said
        with library.session() as session:
            assert unreferenced_count(session) == 0


def test_a_conversation_removed_while_it_is_being_added_is_left_out_of_the_file(
        team: str) -> None:
    ids = team_ids(team)
    gone, kept = ids[0], ids[1:4]
    with Library.open(team) as library:
        create_training_file(library, "Picks")
        add_conversations(library, "Picks", [ids[5]])
    adder = Paused(team_racers.add_paused_rendering, team, "Picks", [gone, *kept], False, 1,
                   False)
    try:
        adder.wait_paused()  # planned with ``gone`` in it, now rendering
        with Library.open(team) as library:  # another member removes it meanwhile
            result = apply_removal(library, plan_removal(library, [gone]))
            assert result.removed == 1 and result.rebuilt == ()
        assert adder.go() == [ids[5], *kept]  # left out, the rest added
    finally:
        adder.end()
    with Library.open(team, read_only=True) as library:
        assert gone not in library.resolve_ids([gone])
        document = orjson.loads(stored_bytes(library, "Picks")[0])
        assert [c["conversation_id"] for c in document["conversations"]] == [ids[5], *kept]
        assert get_training_file(library, "Picks").conversations == 4


def test_a_removal_racing_an_addition_that_commits_first_names_the_file_and_removes_nothing(
        team: str) -> None:
    ids = team_ids(team)
    target = ids[0]
    with Library.open(team) as library:
        create_training_file(library, "Picks")
        add_conversations(library, "Picks", [ids[5]])
        plan = plan_removal(library, [target])
        assert plan.training_files == ()  # no file holds it when the removal is planned
    adder = Paused(team_racers.add_paused_in_switch, team, "Picks", [target])
    outcome: list[object] = []

    def remove() -> None:
        with Library.open(team) as library:
            try:
                outcome.append(apply_removal(library, plan))
            except Exception as exc:  # what the person would be told
                outcome.append(exc)

    remover = threading.Thread(target=remove)
    try:
        adder.wait_paused()  # its member row is written, its transaction still open
        remover.start()
        deadline = time.monotonic() + DEADLINE
        while not _waiting_on_a_lock(team):  # the removal reached the adder's lock
            assert remover.is_alive() and time.monotonic() < deadline, outcome
            time.sleep(0.05)
        assert adder.go() == [ids[5], target]
        remover.join(DEADLINE)
    finally:
        adder.end()
    assert len(outcome) == 1
    said = outcome[0]
    assert isinstance(said, LibraryError), repr(said)
    assert str(said) == ("nothing was removed from the library: the training file 'Picks' "
                         "took this conversation meanwhile (another window or team member "
                         "added it). Remove it again to take it out of that file too")
    with Library.open(team, read_only=True) as library:
        assert target in library.resolve_ids([target])
        assert member_ids(library, "Picks") == [ids[5], target]
