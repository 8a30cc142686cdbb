"""Undoing a removal of conversations from a training file (``app.member_undo``): they go
back where they were and the file's bytes are the ones from before the removal; when that
cannot be exact the undo changes nothing and says why."""

from __future__ import annotations

import itertools

import pytest
from stored import stored_bytes

from app import member_undo, trainingfiles
from app.build import BuildCancelled
from app.errors import LibraryError
from app.library import Library
from app.member_undo import RemovalUndo, remove_recorded, undo_removal
from app.removal import apply_removal, plan_removal
from app.stored_builds import unreferenced_count
from app.trainingfiles import (
    add_conversations,
    delete_training_file,
    member_ids,
    rename_training_file,
)

NAME = "Undo set"
REMOVED_AT = (1, 4, 6)  # from the middle, apart from each other
pytestmark = pytest.mark.usefixtures("backend")  # a library folder and a team library


@pytest.fixture
def lib(filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> Library:
    """Every build a date of its own: putting back the header's date is part of the test."""
    seconds = itertools.count()

    def now_iso() -> str:
        minutes, second = divmod(next(seconds), 60)
        return f"2026-01-01T00:{minutes:02d}:{second:02d}Z"

    monkeypatch.setattr(trainingfiles, "now_iso", now_iso)
    return filled_library


def _made(library: Library) -> tuple[list[str], list[str]]:
    """The file of 8 conversations, and the ids the removal takes out of it."""
    ids = [row.conversation_id for row in library.summaries()][:8]
    add_conversations(library, NAME, ids, create=True)
    return ids, [ids[i] for i in REMOVED_AT]


def _removed(library: Library) -> tuple[list[str], list[str], tuple[bytes, bytes], RemovalUndo]:
    ids, out = _made(library)
    before = stored_bytes(library, NAME)
    info, undo = remove_recorded(library, NAME, out)
    assert info.conversations == len(ids) - len(out)
    assert stored_bytes(library, NAME) != before
    return ids, out, before, undo


def test_the_undo_puts_them_back_where_they_were_byte_for_byte(lib):
    ids, out, before, undo = _removed(lib)
    assert undo.label == "Undo removal of 3 conversations from 'Undo set'"
    assert member_ids(lib, NAME) == [cid for cid in ids if cid not in out]

    info = undo_removal(lib, undo)

    assert member_ids(lib, NAME) == ids, "each at its old place among the others"
    assert info.conversations == len(ids)
    assert stored_bytes(lib, NAME) == before, "the JSON and JSONL as before the removal"


def test_one_removed_conversation_goes_back_to_its_place(lib):
    ids, _out = _made(lib)
    before = stored_bytes(lib, NAME)
    _info, undo = remove_recorded(lib, NAME, [ids[0]])
    assert undo.label == "Undo removal of 1 conversation from 'Undo set'"
    undo_removal(lib, undo)
    assert member_ids(lib, NAME) == ids
    assert stored_bytes(lib, NAME) == before


def _refused(library: Library, undo: RemovalUndo, name: str = NAME) -> str:
    """The undo's refusal, after checking it changed nothing."""
    kept = stored_bytes(library, name), member_ids(library, name)
    with pytest.raises(LibraryError) as refused:
        undo_removal(library, undo)
    assert (stored_bytes(library, name), member_ids(library, name)) == kept
    why = str(refused.value)
    assert why.startswith("Removing 3 conversations from 'Undo set' cannot be undone "
                          "exactly: "), why
    assert why.endswith("Nothing was changed. To put them back anyway, check them on the "
                        "Conversations page and add them to the file with Create training "
                        "files (they go at its end)."), why
    return why


def test_no_undo_into_a_file_renamed_since(lib):
    *_, undo = _removed(lib)
    rename_training_file(lib, NAME, "Other name")
    assert "'Undo set' was renamed 'Other name' since" in _refused(lib, undo, "Other name")


def test_no_undo_into_a_file_deleted_since(lib):
    *_, undo = _removed(lib)
    delete_training_file(lib, NAME)
    with pytest.raises(LibraryError, match=r"'Undo set' was deleted since\. Nothing was"):
        undo_removal(lib, undo)
    assert [f.name for f in trainingfiles.list_training_files(lib)] == []


def test_no_undo_into_a_file_made_again_under_its_name(lib):
    ids, _out, _before, undo = _removed(lib)
    delete_training_file(lib, NAME)
    add_conversations(lib, NAME, ids, create=True)  # the same id may be given again
    assert "'Undo set' was deleted since" in _refused(lib, undo)


def test_no_undo_into_a_file_changed_since(lib):
    ids, _out, _before, undo = _removed(lib)
    other = [row.conversation_id for row in lib.summaries()][len(ids)]
    add_conversations(lib, NAME, [other])
    assert "'Undo set' was changed or rebuilt since" in _refused(lib, undo)


def test_no_undo_of_conversations_gone_from_the_library(lib):
    _ids, out, _before, undo = _removed(lib)
    apply_removal(lib, plan_removal(lib, out[1:2]))
    assert f"'{out[1]}' is no longer in the library" in _refused(lib, undo)


def test_no_undo_of_a_conversation_already_back_in_the_file(lib):
    _ids, out, _before, undo = _removed(lib)
    add_conversations(lib, NAME, out[2:3])
    assert f"'{out[2]}' is already back in 'Undo set'" in _refused(lib, undo)


def test_no_undo_of_a_conversation_changed_since(lib):
    _ids, out, _before, undo = _removed(lib)
    lib.move_conversations(out[:1], "elsewhere")
    assert (f"'{out[0]}' changed since (replaced, moved to another batch or marked "
            "reviewed)") in _refused(lib, undo)


def test_a_cancelled_undo_changes_nothing_and_can_be_done_after(lib):
    ids, out, before, undo = _removed(lib)
    kept = stored_bytes(lib, NAME)
    with pytest.raises(BuildCancelled):
        undo_removal(lib, undo, cancelled=lambda: True)
    assert stored_bytes(lib, NAME) == kept
    assert member_ids(lib, NAME) == [cid for cid in ids if cid not in out]
    undo_removal(lib, undo)
    assert stored_bytes(lib, NAME) == before


def test_a_conversation_changed_while_the_undo_runs_stops_it_with_nothing_changed(lib):
    """The check is made again in the transaction that writes the file: a change after
    the first check (another window's job, a team member) is not put back as if exact."""
    ids, out, _before, undo = _removed(lib)
    kept = stored_bytes(lib, NAME)
    moved: list[str] = []

    def progress(_done: int, _total: int, _what: str) -> None:
        if not moved:  # while the undo renders: after its first check
            moved.append(out[0])
            lib.move_conversations(out[:1], "elsewhere")

    with pytest.raises(LibraryError, match=rf"'{out[0]}' changed since"):
        undo_removal(lib, undo, progress=progress)
    assert moved, "the undo rendered"
    assert stored_bytes(lib, NAME) == kept
    with lib.session() as session:
        assert unreferenced_count(session) == 0, "what it rendered is not left behind"
    assert member_ids(lib, NAME) == [cid for cid in ids if cid not in out]


def test_no_undo_when_the_file_changed_while_it_was_being_removed_from(lib, monkeypatch):
    """Another writer (the command line on the same folder, which the file's lock does not
    hold off there) added a conversation after the removal read the member list: putting
    back that list would drop it from the file, so the undo refuses."""
    ids, out = _made(lib)
    other = [row.conversation_id for row in lib.summaries()][len(ids)]
    removing = member_undo.remove_conversations

    def added_meanwhile(*args, **kwargs):
        add_conversations(lib, NAME, [other])
        return removing(*args, **kwargs)

    monkeypatch.setattr(member_undo, "remove_conversations", added_meanwhile)
    _info, undo = remove_recorded(lib, NAME, out)
    assert member_ids(lib, NAME) == [cid for cid in ids if cid not in out] + [other]

    assert "'Undo set' was changed or rebuilt since" in _refused(lib, undo)
    assert other in member_ids(lib, NAME)


def test_the_undo_never_puts_back_a_conversation_another_writer_removed(lib, monkeypatch):
    """Another writer removed a conversation from the file after this removal read the
    member list: the undo is of this removal's conversations only, and refuses, since the
    file is not as this removal left it; the other removal stays done."""
    ids, out = _made(lib)
    theirs = ids[0]
    removing = member_undo.remove_conversations

    def removed_meanwhile(*args, **kwargs):
        removing(lib, NAME, [theirs])
        return removing(*args, **kwargs)

    monkeypatch.setattr(member_undo, "remove_conversations", removed_meanwhile)
    _info, undo = remove_recorded(lib, NAME, out)
    assert [cid for _pk, cid, _state in undo.removed] == out
    assert undo.label == "Undo removal of 3 conversations from 'Undo set'"

    assert "'Undo set' was changed or rebuilt since" in _refused(lib, undo)
    assert theirs not in member_ids(lib, NAME)
