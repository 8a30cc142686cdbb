"""Undo of Remove from library (``app.library_undo``), on a real library of the real
fixtures: every table's rows and every training file's bytes are as before the removal
(a training file's revision goes on: it was rebuilt twice), or, when the library changed
in the way, nothing changes and the refusal names what is in the way. On a library folder
and on a team library."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY, addable, ids_of
from sqlalchemy import select
from stored import stored_bytes

from app.build import BuildCancelled
from app.errors import LibraryError
from app.importer import import_paths
from app.library_undo import refused, remove_recorded, undo_library_removal
from app.models import Base, TrainingFile
from app.removal import plan_removal
from app.review_marks import mark_reviewed
from app.trainingfiles import (
    add_conversations,
    list_training_files,
    rebuild_training_files,
    rename_training_file,
)

pytestmark = pytest.mark.usefixtures("backend")  # a library folder and a team library

MIXED, LEGACY_PART, OTHER = "Mixed", "Legacy part", "Enriched only"


def every_row(library: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order; a training file's revision left out."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with library.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns
                       if not (table.name == TrainingFile.__tablename__
                               and c.name == "revision")]
            tables[table.name] = [tuple(row) for row in session.execute(
                select(*columns).order_by(*table.primary_key.columns))]
    return tables


def every_file(library: Any) -> dict[str, tuple[bytes, bytes]]:
    return {info.name: stored_bytes(library, info.name)
            for info in list_training_files(library)}


def revisions(library: Any) -> dict[str, int]:
    with library.session() as session:
        return dict(session.execute(select(TrainingFile.name, TrainingFile.revision))
                    .all())


@pytest.fixture
def with_files(two_batches: Any) -> Any:
    return hold_in_files(two_batches)


def hold_in_files(two_batches: Any) -> Any:
    """Three training files: one mixing both batches (legacy ones in the middle), one of
    legacy ones and an enriched one, one of enriched ones only; one legacy conversation
    marked reviewed."""
    enriched = ids_of(two_batches, "enriched-batch")
    legacy = ids_of(two_batches, "legacy-batch")
    add_conversations(two_batches, MIXED, [*enriched[:2], *legacy[:3], *enriched[2:4]],
                      create=True)
    add_conversations(two_batches, LEGACY_PART, [*legacy[1:], addable(enriched)[0]],
                      create=True)
    add_conversations(two_batches, OTHER, enriched[4:7], create=True)
    mark_reviewed(two_batches, [legacy[1]], "Ana")
    rebuild_training_files(two_batches, [MIXED, LEGACY_PART])
    return two_batches


def test_undo_puts_a_removed_batch_back_exactly(with_files):
    library = with_files
    rows, files, revision = every_row(library), every_file(library), revisions(library)
    plan = plan_removal(library, batch_id="legacy-batch")
    result, undo = remove_recorded(library, plan)
    assert result.batches_removed == ("legacy-batch",)
    assert sorted(result.rebuilt) == sorted([MIXED, LEGACY_PART])
    assert ids_of(library, "legacy-batch") == []
    assert every_file(library)[MIXED] != files[MIXED]
    assert undo.label == f"Undo removal of {plan.count} conversations from the library"

    with library.session() as session:
        assert refused(session, undo) is None
    assert sorted(undo_library_removal(library, undo)) == sorted([MIXED, LEGACY_PART])

    assert every_row(library) == rows, "every row of every table as before"
    assert every_file(library) == files, "the full JSON and the JSONL, byte for byte"
    now = revisions(library)
    assert now[OTHER] == revision[OTHER]
    assert all(now[name] > revision[name] for name in (MIXED, LEGACY_PART))


def test_undo_puts_checked_conversations_back_into_a_batch_that_stayed(with_files):
    library = with_files
    legacy = ids_of(library, "legacy-batch")
    rows, files = every_row(library), every_file(library)
    result, undo = remove_recorded(library, plan_removal(library, [legacy[1], legacy[2]]))
    assert result.batches_removed == ()
    undo_library_removal(library, undo)
    assert every_row(library) == rows
    assert every_file(library) == files


def test_a_cancelled_undo_changes_nothing_and_can_run_again(with_files):
    library = with_files
    rows, files = every_row(library), every_file(library)
    _result, undo = remove_recorded(library, plan_removal(library, batch_id="legacy-batch"))
    removed = every_row(library), every_file(library)
    with pytest.raises(BuildCancelled):
        undo_library_removal(library, undo, cancelled=lambda: True)
    assert (every_row(library), every_file(library)) == removed
    undo_library_removal(library, undo)
    assert (every_row(library), every_file(library)) == (rows, files)


def _refusal(library: Any, undo: Any) -> str:
    """The undo's refusal, checked to change nothing."""
    kept = every_row(library), every_file(library)
    with pytest.raises(LibraryError) as raised:
        undo_library_removal(library, undo)
    assert (every_row(library), every_file(library)) == kept, "nothing was changed"
    return str(raised.value)


def test_refused_when_the_conversations_were_imported_again(with_files, tmp_path):
    library = with_files
    _result, undo = remove_recorded(library, plan_removal(library, batch_id="legacy-batch"))
    folder = tmp_path / "again"
    folder.mkdir()
    shutil.copy(LEGACY[0], folder / LEGACY[0].name)
    import_paths(library, [folder])
    (back,) = ids_of(library, "again")
    why = _refusal(library, undo)
    assert why == (f"Removing {undo.count} conversations from the library cannot be "
                   f"undone exactly: '{back}' was imported again since. Nothing was "
                   "changed. To bring them back anyway, import their files again.")


def test_refused_when_a_file_that_held_them_was_renamed(with_files):
    library = with_files
    _result, undo = remove_recorded(library, plan_removal(library, batch_id="legacy-batch"))
    rename_training_file(library, MIXED, "Renamed")
    assert _refusal(library, undo) == (
        f"Removing {undo.count} conversations from the library cannot be undone exactly: "
        f"the training file '{MIXED}' was renamed 'Renamed' since. Nothing was changed. "
        "To bring them back anyway, import their files again.")


def test_refused_when_the_batch_name_was_taken(with_files):
    library = with_files
    _result, undo = remove_recorded(library, plan_removal(library, batch_id="legacy-batch"))
    loose = ids_of(library, "enriched-batch")[-1]  # in no training file
    library.move_recorded([loose], "legacy-batch")
    assert _refusal(library, undo) == (
        f"Removing {undo.count} conversations from the library cannot be undone exactly: "
        "the batch name 'legacy-batch' was taken since by a new batch. Nothing was "
        "changed. To bring them back anyway, import their files again.")


def _with_other_profile(source: Path, folder: Path, number: int,
                        corrected: bool = True) -> None:
    """The fixture ``source`` as another consultant's conversation (its own id and
    profile; one reply ``corrected``), written into ``folder``."""
    document = orjson.loads(source.read_bytes())
    document["dataset_metadata"]["dataset_name"] += f"-other-{number}"
    document["consultant_profile"]["name"] = "Another Consultant, CFP"
    for pair in document["training_pairs"] if corrected else []:
        if pair.get("target_response"):
            pair["target_response"] += " (Said by another consultant.)"
            break
    (folder / f"other-{number}-{source.name}").write_bytes(orjson.dumps(document))


def test_undo_puts_back_a_profile_and_the_file_lines_its_removal_wrote_anew(two_batches,
                                                                             tmp_path):
    """Most of 'Shared' uses the other consultant's profile: removing those conversations
    makes the one left share the file's profile instead (its line is written anew) and
    deletes the profile, which no conversation uses any more. The undo puts back both."""
    library = two_batches
    folder = tmp_path / "other-profile"
    folder.mkdir()
    for number, source in enumerate(ENRICHED[:2]):
        _with_other_profile(source, folder, number)
    assert import_paths(library, [folder]).imported == 2
    others = ids_of(library, "other-profile")
    add_conversations(library, "Shared", [*others, addable(ids_of(library, "enriched-batch"))[0]],
                      create=True)
    rows, files = every_row(library), every_file(library)
    result, undo = remove_recorded(library, plan_removal(library, batch_id="other-profile"))
    assert result.rebuilt == ("Shared",)
    assert len(every_row(library)["profiles"]) == len(rows["profiles"]) - 1
    assert [len(f.fragments) for f in undo.files] == [3], "the kept line's old rendering too"
    undo_library_removal(library, undo)
    assert every_row(library) == rows
    assert every_file(library) == files



@pytest.mark.parametrize(("corrected", "said"), [
    (False, "was imported since, with the same dialogue as"),
    (True, "was imported since, a near-duplicate of one of them"),
])
def test_refused_when_a_copy_of_one_of_them_was_imported(with_files, tmp_path, corrected,
                                                        said):
    """Another consultant's copy of one of them (its own id and profile; the same
    dialogue, or one reply corrected): put back, the library would hold the dialogue, or
    its sentences' index entries, twice."""
    library = with_files
    # (the batch imported first: on a library folder a later import may take the row
    # keys of the last ones imported, and the refusal would name that first)
    _result, undo = remove_recorded(library, plan_removal(library, batch_id="enriched-batch"))
    folder = tmp_path / "copy"
    folder.mkdir()
    _with_other_profile(ENRICHED[0], folder, 0, corrected=corrected)
    assert import_paths(library, [folder]).imported == 1
    (copy,) = ids_of(library, "copy")
    original = copy.removesuffix("-other-0")
    why = _refusal(library, undo)
    expected = f"'{copy}' {said}" + ("" if corrected else f" '{original}'")
    assert f"cannot be undone exactly: {expected}. Nothing was changed." in why
