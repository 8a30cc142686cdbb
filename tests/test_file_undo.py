"""Undoing Delete… of a training file (``app.file_undo``): the file comes back with its
members in order, its settings, its stored build byte for byte and its saved-copies
records; when that cannot be exact the undo changes nothing and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from stored import stored_bytes

from app.errors import LibraryError
from app.export import ExportFormat, export
from app.file_undo import delete_recorded, undo_deletion
from app.library import Library
from app.removal import apply_removal, plan_removal
from app.saved_copies import CopyState, saved_copies
from app.stored_builds import unreferenced_count
from app.trainingfiles import (
    add_conversations,
    change_settings,
    get_training_file,
    list_training_files,
    member_ids,
)

NAME = "Gone for now"
pytestmark = pytest.mark.usefixtures("backend")  # a library folder and a team library


def _made(library: Library, tmp_path: Path) -> list[str]:
    """``NAME`` with six conversations in an order of its own, settings that are not the
    defaults, and a JSONL copy saved out of it."""
    ids = [row.conversation_id for row in library.summaries()][:6]
    add_conversations(library, NAME, ids[::-1], create=True)
    change_settings(library, NAME, cut_off_policy="weight0", max_seq_len=2048)
    export(library, NAME, ExportFormat.JSONL, tmp_path / "copy.jsonl")
    return ids[::-1]


def test_the_undo_brings_the_file_back_as_it_was(filled_library, tmp_path):
    ids = _made(filled_library, tmp_path)
    info = get_training_file(filled_library, NAME)
    before = stored_bytes(filled_library, NAME)
    copies = saved_copies(filled_library, NAME)
    assert [c.state for c in copies] == [CopyState.CURRENT]

    undo = delete_recorded(filled_library, NAME)
    assert NAME not in [f.name for f in list_training_files(filled_library)]
    assert undo.label == f"Undo delete of training file '{NAME}'"
    with filled_library.session() as session:
        assert unreferenced_count(session) == 0, "the deletion dropped its renderings"

    assert undo_deletion(filled_library, undo) == NAME

    assert member_ids(filled_library, NAME) == ids, "its conversations, in its order"
    assert get_training_file(filled_library, NAME) == info, "its settings, sizes and dates"
    assert stored_bytes(filled_library, NAME) == before, "its JSON and JSONL byte for byte"
    assert saved_copies(filled_library, NAME) == copies, "its saved copies, still current"


def test_a_file_sharing_renderings_with_another_comes_back_too(filled_library, tmp_path):
    ids = _made(filled_library, tmp_path)
    add_conversations(filled_library, "Twin", ids, create=True)
    change_settings(filled_library, "Twin", cut_off_policy="weight0", max_seq_len=2048)
    before = stored_bytes(filled_library, NAME)

    undo = delete_recorded(filled_library, NAME)
    undo_deletion(filled_library, undo)

    assert member_ids(filled_library, NAME) == ids
    assert stored_bytes(filled_library, NAME) == before


def test_no_undo_over_a_file_made_since_under_its_name(filled_library, tmp_path):
    _made(filled_library, tmp_path)
    undo = delete_recorded(filled_library, NAME)
    other = [row.conversation_id for row in filled_library.summaries()][6]
    add_conversations(filled_library, NAME.upper(), [other], create=True)

    with pytest.raises(LibraryError, match=(
            rf"Deleting training file '{NAME}' cannot be undone exactly: a training file "
            rf"named '{NAME.upper()}' was made since\. Rename it, then choose Undo again\. "
            r"Nothing was changed\.")):
        undo_deletion(filled_library, undo)
    assert member_ids(filled_library, NAME.upper()) == [other]


def test_no_undo_once_a_member_left_the_library(filled_library, tmp_path):
    ids = _made(filled_library, tmp_path)
    undo = delete_recorded(filled_library, NAME)
    apply_removal(filled_library, plan_removal(filled_library, [ids[2]]))

    with pytest.raises(LibraryError, match=rf"'{ids[2]}' is no longer in the library\. "
                                           r"Nothing was changed\."):
        undo_deletion(filled_library, undo)
    assert NAME not in [f.name for f in list_training_files(filled_library)]


def test_a_file_made_since_under_another_name_is_left_as_it_is(filled_library, tmp_path):
    """(On SQLite the new file takes the deleted one's row number: the deleted one comes
    back under a new one, with its members and saved copies.)"""
    ids = _made(filled_library, tmp_path)
    before = stored_bytes(filled_library, NAME)
    copies = saved_copies(filled_library, NAME)
    undo = delete_recorded(filled_library, NAME)
    other = [row.conversation_id for row in filled_library.summaries()][6]
    add_conversations(filled_library, "Newer", [other], create=True)
    newer = stored_bytes(filled_library, "Newer")

    undo_deletion(filled_library, undo)

    assert member_ids(filled_library, NAME) == ids
    assert stored_bytes(filled_library, NAME) == before
    assert saved_copies(filled_library, NAME) == copies
    assert member_ids(filled_library, "Newer") == [other]
    assert stored_bytes(filled_library, "Newer") == newer
