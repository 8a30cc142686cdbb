"""The undo jobs themselves (``app.batch_undo``), on both back ends: a move's undo puts
conversations back only into the batches they came from as the move left them; when one
of those was renamed or removed since (here, or by a team member), recreating it under its
old name would not be the library before the move, so the undo changes nothing."""

from __future__ import annotations

import pytest
from conftest import ids_of

from app import batch_jobs
from app.batch_undo import undo_move
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
