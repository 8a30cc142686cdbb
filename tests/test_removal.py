"""Removing conversations from the library: the plan names the training files, the apply
rebuilds them first and then deletes; the command line asks unless told --yes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY, addable, ids_of
from stored import stored_bytes

from app import key_parts, removal
from app.build import BuildCancelled
from app.bundle import resources_dir
from app.cli import main
from app.errors import LibraryError
from app.importer import import_paths
from app.library import Library
from app.models import ConversationDocument, DialogueKey, Profile
from app.removal import RemovalPlan, apply_removal, plan_removal, stopped_by_force
from app.samples import sample_ids
from app.trainingfiles import add_conversations, get_training_file, member_ids

ON_BOTH = pytest.mark.usefixtures("backend")  # a library folder and a team library


def file_ids(library: Library, name: str) -> list[str]:
    json_bytes, jsonl_bytes = stored_bytes(library, name)
    document = orjson.loads(json_bytes)
    lines = [orjson.loads(x) for x in jsonl_bytes.splitlines()]
    from_json = [c["conversation_id"] for c in document["conversations"]]
    in_jsonl = [line["metadata"]["conversation_id"] for line in lines]
    # The JSONL may leave out a conversation the cut-off policy empties; never adds one.
    assert in_jsonl == [cid for cid in from_json if cid in set(in_jsonl)]
    return from_json


def count(library: Library, table: Any) -> int:
    from sqlalchemy import func, select

    with library.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


@ON_BOTH
def test_removing_checked_conversations_rebuilds_the_files_that_hold_them(two_batches):
    legacy = ids_of(two_batches, "legacy-batch")
    enriched = ids_of(two_batches, "enriched-batch")
    add_conversations(two_batches, "mixed", legacy[:3] + enriched[:2], create=True)
    add_conversations(two_batches, "untouched", enriched[2:4], create=True)
    untouched = get_training_file(two_batches, "untouched")
    doomed = [legacy[1], enriched[0], legacy[5]]

    plan = plan_removal(two_batches, [*doomed, "not-there"])
    assert plan.count == 3
    assert plan.missing == ("not-there",)
    assert plan.training_files == ("mixed",)
    result = apply_removal(two_batches, plan)
    assert result.removed == 3 and result.rebuilt == ("mixed",)
    assert result.batches_removed == ()
    left = set(ids_of(two_batches))
    assert not left & set(doomed)
    assert len(left) == len(ENRICHED) + len(LEGACY) - 3
    assert file_ids(two_batches, "mixed") == [legacy[0], legacy[2], enriched[1]]
    assert member_ids(two_batches, "mixed") == [legacy[0], legacy[2], enriched[1]]
    assert get_training_file(two_batches, "untouched").updated_at == untouched.updated_at
    assert count(two_batches, ConversationDocument) == len(left)  # documents went too
    with two_batches.session() as session:
        from sqlalchemy import select

        keyed = set(session.scalars(select(DialogueKey.conversation_pk)))
    assert keyed <= set(two_batches.resolve_ids(left).values())


@ON_BOTH
def test_removing_a_whole_batch_removes_the_batch(two_batches):
    enriched = ids_of(two_batches, "enriched-batch")
    add_conversations(two_batches, "holder", enriched[:2] + ids_of(two_batches)[-1:],
                      create=True)
    plan = plan_removal(two_batches, batch_id="enriched-batch")
    assert plan.count == len(ENRICHED) and plan.training_files == ("holder",)
    result = apply_removal(two_batches, plan)
    assert result.batches_removed == ("enriched-batch",)
    assert [b.batch_id for b in two_batches.batches()] == ["legacy-batch"]
    assert file_ids(two_batches, "holder") == ids_of(two_batches)[-1:]
    assert count(two_batches, Profile) >= 1
    with pytest.raises(LibraryError, match="there is no batch 'enriched-batch'"):
        plan_removal(two_batches, batch_id="enriched-batch")


@ON_BOTH
def test_a_cancelled_removal_removes_nothing_from_the_library(two_batches):
    ids = ids_of(two_batches)
    held = addable(ids)[:4]  # four the file takes (trim)
    add_conversations(two_batches, "one", held, create=True)
    plan = plan_removal(two_batches, held[:2])
    with pytest.raises(BuildCancelled):
        apply_removal(two_batches, plan, cancelled=lambda: True)
    assert set(ids) == set(ids_of(two_batches))
    assert file_ids(two_batches, "one") == held


@ON_BOTH
@pytest.mark.parametrize(("taken", "message"), [
    ({"Picks": [0]},
     "nothing was removed from the library: the training file 'Picks' took this "
     "conversation meanwhile (another window or team member added it). Remove it again "
     "to take it out of that file too"),
    ({"More picks": [0], "Others": [1]},
     "nothing was removed from the library: the training files 'More picks' and 'Others' "
     "took some of these conversations meanwhile (another window or team member added "
     "them). Remove them again to take them out of those files too"),
])
def test_files_that_took_the_conversations_after_the_plan_are_named_in_words_that_agree(
        two_batches, taken, message):
    ids = ids_of(two_batches)
    planned = ids[: len(taken)]
    plan = plan_removal(two_batches, planned)
    for name, which in taken.items():  # meanwhile
        add_conversations(two_batches, name, [planned[i] for i in which], create=True)
    with pytest.raises(LibraryError) as refused:
        apply_removal(two_batches, plan)
    assert str(refused.value) == message
    assert set(ids) == set(ids_of(two_batches))


@pytest.mark.parametrize(("files", "rest"), [(6, "1 other file"), (8, "3 other files")])
def test_more_files_than_are_named_are_counted(two_batches, files, rest):
    ids = ids_of(two_batches)
    plan = plan_removal(two_batches, ids[:1])
    names = [f"Picks {number}" for number in range(1, files + 1)]
    for name in names:
        add_conversations(two_batches, name, ids[:1], create=True)  # meanwhile
    with pytest.raises(LibraryError) as refused:
        apply_removal(two_batches, plan)
    assert str(refused.value) == (
        "nothing was removed from the library: the training files 'Picks 1', 'Picks 2', "
        f"'Picks 3', 'Picks 4', 'Picks 5' and {rest} took this conversation meanwhile "
        "(another window or team member added it). Remove it again to take it out of "
        "those files too")
    assert ids[0] in two_batches.resolve_ids(ids[:1])


def test_files_holding_conversations_of_a_later_part_are_named_too(
        two_batches, monkeypatch):
    """The library is read CHUNK ids at a time: files that took a conversation of a later
    part than the first one held are named (and counted) too."""
    monkeypatch.setattr(key_parts, "CHUNK", 1)
    ids = ids_of(two_batches)
    plan = plan_removal(two_batches, ids[:3])
    for cid, name in zip(ids[:3], ("First", "Second", "Third"), strict=True):
        add_conversations(two_batches, name, [cid], create=True)  # meanwhile
    with pytest.raises(LibraryError) as refused:
        apply_removal(two_batches, plan)
    assert "the training files 'First', 'Second' and 'Third' took" in str(refused.value)
    assert set(ids) == set(ids_of(two_batches))


def test_nothing_checked_is_refused(two_batches):
    with pytest.raises(LibraryError, match="no conversations are checked"):
        plan_removal(two_batches, [])


@ON_BOTH
def test_samples_are_recognised_by_content_and_removed(library: Library, tmp_path: Path):
    samples = resources_dir() / "samples"
    import_paths(library, sorted(p for p in samples.iterdir() if p.is_dir()))
    import_paths(library, [ENRICHED[0]])
    found = sample_ids(library)
    assert len(found) == len(list(samples.rglob("*.json"))) == 8
    assert ENRICHED[0].name not in {r.source_file for r in library.summaries()
                                    if r.conversation_id in found}
    library.rename_batch("sample-batch-a", "renamed")  # still samples
    assert len(sample_ids(library)) == 8
    apply_removal(library, plan_removal(library, found))
    assert sample_ids(library) == []
    assert library.count() == 1


# --- the command line -----------------------------------------------------------------


def run(data_dir: Path, capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(data_dir), *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_delete_conversations_names_the_files_and_needs_yes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixture_folder: Path
) -> None:
    data = tmp_path / "lib"
    assert run(data, capsys, "import", fixture_folder)[0] == 0
    with Library(data) as library:
        ids = ids_of(library)
        add_conversations(library, "holder", ids[:3], create=True)
    code, out, err = run(data, capsys, "delete-conversations", ids[0], ids[5])
    assert code == 1
    assert "this training file holds some of them and will be rebuilt without them: 'holder'" \
        in out
    assert "add --yes to confirm" in err
    with Library(data) as library:
        assert len(ids_of(library)) == len(ids)

    code, out, err = run(data, capsys, "delete-conversations", "--yes", ids[0], ids[5])
    assert code == 0, err
    assert "rebuilt training file 'holder'" in out
    assert "removed 2 conversations from the library" in out
    with Library(data) as library:
        assert file_ids(library, "holder") == ids[1:3]
        assert len(ids_of(library)) == len(ids) - 2

    # One conversation: every word agrees with it.
    code, out, err = run(data, capsys, "delete-conversations", "--yes", ids[1])
    assert code == 0, err
    assert out.splitlines()[:2] == [
        "this removes 1 conversation from the library",
        "this training file holds it and will be rebuilt without it: 'holder'"]
    assert "removed 1 conversation from the library" in out
    with Library(data) as library:
        assert file_ids(library, "holder") == ids[2:3]

    code, out, err = run(data, capsys, "delete-conversations", "--yes", "--batch",
                         fixture_folder.name)
    assert code == 0, err
    assert f"batches removed: {fixture_folder.name}" in out
    with Library(data) as library:
        assert library.count() == 0 and library.batches() == []
        assert file_ids(library, "holder") == []

    code, _, err = run(data, capsys, "delete-conversations", "--yes")
    assert code == 1 and "exactly one of" in err
    code, out, _ = run(data, capsys, "delete-conversations", "--samples", "--yes")
    assert code == 0 and "no sample conversations" in out


@pytest.mark.parametrize(("files", "reached", "message"), [
    (3, 1, "Cancelled: no conversation was removed from the library, but 'File 1' was "
           "already rebuilt without them; the other 2 training files still hold them. "
           "Remove them again to finish, or add them back to that file."),
    (7, 6, "Cancelled: no conversation was removed from the library, but 'File 1', "
           "'File 2', 'File 3', 'File 4', 'File 5' and 1 other file were already rebuilt "
           "without them; the other training file still holds them. Remove them again to "
           "finish, or add them back to those files."),
    (2, 2, "Cancelled: no conversation was removed from the library, but 'File 1' and "
           "'File 2' were already rebuilt without them. Remove them again to finish, or "
           "add them back to those files."),
])
def test_a_removal_cancelled_part_way_names_the_files_it_rebuilt_and_counts_the_rest(
        two_batches, monkeypatch, files, reached, message):
    """The message named every file the removal was to rebuild; a cancel after the last
    one said "nothing was changed" though every file had been rebuilt."""
    ids = addable(ids_of(two_batches))[:2]
    names = [f"File {number}" for number in range(1, files + 1)]
    for name in names:
        add_conversations(two_batches, name, ids, create=True)
    plan = plan_removal(two_batches, ids)
    assert list(plan.training_files) == names
    done: list[str] = []
    rebuild = removal.remove_member_pks

    def counted(library, name, pks, **kwargs):
        rebuild(library, name, pks, **kwargs)
        done.append(name)

    monkeypatch.setattr(removal, "remove_member_pks", counted)
    with pytest.raises(LibraryError) as stopped:
        apply_removal(two_batches, plan, cancelled=lambda: len(done) >= reached)
    assert str(stopped.value) == message
    assert done == names[:reached]
    assert set(ids) <= set(ids_of(two_batches))  # nothing removed from the library
    for name in names[reached:]:
        assert file_ids(two_batches, name) == ids  # not reached: still holds them


@pytest.mark.parametrize(("count", "files", "message"), [
    (1, ("Picks",), "Stopped: the removal did not stop in time after Cancel, so it was ended. "
                    "The conversation is still in the library. The training file 'Picks', "
                    "which held it, may already have been rebuilt without it. That is "
                    "harmless: remove it again to finish, or add it back to that file."),
    (3, (), "Stopped: the removal did not stop in time after Cancel, so it was ended. All 3 "
            "conversations are still in the library."),
])
def test_a_removal_stopped_by_force_says_what_may_have_changed(count, files, message):
    """Its words agree with how many conversations and files (the window test in
    test_curation_flows.py kills a real one)."""
    plan = RemovalPlan(tuple(f"c{n}" for n in range(count)), tuple(range(count)), (), files)
    assert stopped_by_force(plan) == message
