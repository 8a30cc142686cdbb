"""The undo jobs themselves (``app.batch_undo``), on both back ends: a move's undo puts
conversations back only into the batches they came from as the move left them; when one
of those was renamed or removed since (here, or by a team member), recreating it under its
old name would not be the library before the move, so the undo changes nothing. On a
team library a member's write committed while the undo runs is waited for and seen: the
undo refuses rather than carry the member's conversation along or overwrite its move."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from conftest import ids_of
from sqlalchemy import event

from app import batch_jobs
from app.batch_undo import undo_move, undo_rename
from app.build import BuildCancelled
from app.errors import LibraryError

pytestmark = pytest.mark.usefixtures("backend")


def state(library) -> tuple[dict[str, str], dict[str, int]]:
    return ({row.conversation_id: row.batch_id for row in library.summaries()},
            {b.batch_id: b.conversations for b in library.batches()})


@pytest.mark.parametrize("since", ["renamed", "removed"])
def test_a_move_is_not_undone_into_a_batch_renamed_or_removed_since(two_batches, since):
    legacy = ids_of(two_batches, "legacy-batch")
    _count, _stale, undo = batch_jobs.move_conversations(two_batches, legacy, "elsewhere")
    if since == "renamed":
        two_batches.rename_batch("legacy-batch", "kept-apart")
    else:
        two_batches.delete_empty_batch("legacy-batch")
    after = state(two_batches)
    with pytest.raises(LibraryError, match="cannot be undone exactly"):
        undo_move(two_batches, undo)
    assert state(two_batches) == after, "nothing was changed"


def test_a_move_is_undone_while_its_batches_are_as_it_left_them(two_batches):
    legacy = ids_of(two_batches, "legacy-batch")
    before = state(two_batches)
    _count, _stale, undo = batch_jobs.move_conversations(two_batches, legacy[:2], "elsewhere")
    undo_move(two_batches, undo)
    assert state(two_batches) == before


def batches(library) -> dict[str, tuple[int, str]]:
    return {b.batch_id: (b.conversations, b.created_at) for b in library.batches()}


def test_a_merge_is_undone_exactly(two_batches):
    """The old batch is made again with its creation time, and only its conversations
    leave the batch it was merged into."""
    before = state(two_batches)[0], batches(two_batches)
    _stale, undo = batch_jobs.rename_batch(two_batches, "legacy-batch", "enriched-batch")
    assert undo.merged
    undo_rename(two_batches, undo)
    assert (state(two_batches)[0], batches(two_batches)) == before


@pytest.mark.parametrize("since", ["moved out", "name taken", "target renamed"])
def test_a_merge_is_not_undone_once_the_library_changed_since(two_batches, since):
    legacy = ids_of(two_batches, "legacy-batch")
    enriched = ids_of(two_batches, "enriched-batch")
    _stale, undo = batch_jobs.rename_batch(two_batches, "legacy-batch", "enriched-batch")
    if since == "moved out":
        two_batches.move_conversations(legacy[:1], "elsewhere")
    elif since == "name taken":
        two_batches.move_conversations(enriched[:1], "legacy-batch")
    else:
        two_batches.rename_batch("enriched-batch", "renamed")
    after = state(two_batches), batches(two_batches)
    with pytest.raises(LibraryError, match="Merging batch 'legacy-batch' into "
                                           "'enriched-batch' cannot be undone exactly"):
        undo_rename(two_batches, undo)
    assert (state(two_batches), batches(two_batches)) == after, "nothing was changed"


@pytest.mark.parametrize("kind", ["rename", "move"])
def test_a_cancelled_undo_changes_nothing_and_can_be_done_after(two_batches, kind):
    """Cancel is looked at after the writes, before the commit: they are rolled back."""
    legacy = ids_of(two_batches, "legacy-batch")
    before = state(two_batches)
    if kind == "rename":
        job, (_stale, undo) = undo_rename, batch_jobs.rename_batch(
            two_batches, "legacy-batch", "renamed")
    else:
        job, (_count, _stale, undo) = undo_move, batch_jobs.move_conversations(
            two_batches, legacy[:2], "elsewhere")
    after = state(two_batches)
    with pytest.raises(BuildCancelled):
        job(two_batches, undo, cancelled=lambda: True)
    assert state(two_batches) == after, "nothing was changed"
    job(two_batches, undo, cancelled=lambda: False)
    assert state(two_batches) == before


def _waiting_on_a_lock(url: str) -> bool:
    """Some connection to the database waits for a lock held by another."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'").fetchone()
        return bool(row and row[0])


def _undo_while_a_member_writes(url: str, undo: Callable[[], object], change: str,
                                *args: str) -> list[object]:
    """``change`` made by another member in a transaction still open while ``undo``
    runs (a thread), committed once ``undo`` waits for it; what ``undo`` returned or
    raised."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(undo())
        except Exception as exc:  # what the person would be told
            outcome.append(exc)

    worker = threading.Thread(target=run)
    with psycopg.connect(url) as member:
        member.execute(change, args)  # its transaction stays open
        worker.start()
        deadline = time.monotonic() + 300
        while not _waiting_on_a_lock(url):  # the undo reached the member's lock
            assert worker.is_alive() and time.monotonic() < deadline, outcome
            time.sleep(0.05)
        member.commit()
    worker.join(300)
    assert len(outcome) == 1
    return outcome


MOVE_ONE = "UPDATE conversations SET batch_id = %s WHERE conversation_id = %s"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_rename_is_not_undone_over_a_move_into_it_a_member_commits_meanwhile(
        two_batches, pg_url):
    """The member's conversation would go along to the old name: the undo refuses."""
    enriched = ids_of(two_batches, "enriched-batch")
    _stale, undo = batch_jobs.rename_batch(two_batches, "legacy-batch", "renamed")
    [said] = _undo_while_a_member_writes(pg_url, lambda: undo_rename(two_batches, undo),
                                         MOVE_ONE, "renamed", enriched[0])
    assert isinstance(said, LibraryError), repr(said)
    assert state(two_batches)[0][enriched[0]] == "renamed"
    assert "legacy-batch" not in state(two_batches)[1]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_move_is_not_undone_over_a_member_moving_one_of_them_meanwhile(two_batches,
                                                                         pg_url):
    """Putting it back would overwrite the member's move: the undo refuses."""
    legacy = ids_of(two_batches, "legacy-batch")
    _count, _stale, undo = batch_jobs.move_conversations(two_batches, legacy[:2], "elsewhere")
    [said] = _undo_while_a_member_writes(pg_url, lambda: undo_move(two_batches, undo),
                                         MOVE_ONE, "enriched-batch", legacy[0])
    assert isinstance(said, LibraryError), repr(said)
    assert state(two_batches)[0][legacy[0]] == "enriched-batch"
    assert state(two_batches)[0][legacy[1]] == "elsewhere"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_rename_is_not_undone_onto_a_name_a_member_takes_as_it_writes(two_batches, pg_url):
    """A member makes a batch of the old name after the undo checked the name was free
    and before it takes it: the person is told the undo could not be exact (not the
    database's duplicate key), and nothing changed."""
    _stale, undo = batch_jobs.rename_batch(two_batches, "legacy-batch", "renamed")
    taken: list[bool] = []

    def member_takes_the_old_name(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("UPDATE BATCHES") and not taken:
            taken.append(True)
            with psycopg.connect(pg_url, autocommit=True) as member:
                member.execute("INSERT INTO batches (batch_id, created_at) VALUES (%s, %s)",
                               ("legacy-batch", "2026-11-27T00:00:00"))

    event.listen(two_batches.engine, "before_cursor_execute", member_takes_the_old_name)
    try:
        with pytest.raises(LibraryError, match="cannot be undone exactly"):
            undo_rename(two_batches, undo)
    finally:
        event.remove(two_batches.engine, "before_cursor_execute", member_takes_the_old_name)
    assert taken
    assert state(two_batches)[1]["renamed"] > 0 and state(two_batches)[1]["legacy-batch"] == 0
