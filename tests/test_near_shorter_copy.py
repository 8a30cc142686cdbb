"""A shorter copy of a conversation (the same opening turns, fewer of them) is a
near-duplicate: flagged at import whichever of the two came first, and named by an add to a
training file that holds the other, since its replies would be trained twice. A library
stored before has its shorter copies flagged once.

``tests/data/library-before-containment`` was written by LoRA Studio at commit 51fb4b4 (the
last one before shorter copies were near-duplicates): ``lora-studio import conversations``
(a folder of ``enriched-1.json`` and ``enriched-2.json``), then ``import later`` (a folder
of ``shorter_copy.shorter_copy(..., 6)``), then ``add copies --new --all``.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY
from shorter_copy import LONG_ID, LONG_SOURCE, SHORT_ID, shorter_copy
from sqlalchemy import select
from stored import stored_bytes

from app import upkeep
from app.build import BuildCancelled
from app.cli import main
from app.export import owes_rebuild
from app.importer import import_paths
from app.library import Library
from app.loader import record_from_bytes
from app.models import Conversation, DialogueKey
from app.recovery import finish_interrupted_work, needs_recovery
from app.similar import INDEXED, NEAR_DUPLICATE, fingerprint, is_near, near_matches, unpack
from app.trainingfiles import add_conversations, plan_addition

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-containment"
OTHER_ID = "fp_conversation_2ecd51bd-8dd9-478a-9fb4-de20f69bd441"  # enriched-2.json


def _row(library: Library, cid: str) -> tuple[str, str]:
    row = next(row for row in library.summaries() if row.conversation_id == cid)
    return row.warning_codes, row.warnings_text


@pytest.mark.parametrize("pairs", [2, 3, 4, 5, 6, 7])
def test_a_shorter_copy_imported_after_its_original_is_flagged(
        filled_library: Library, tmp_path: Path, pairs: int) -> None:
    report = import_paths(filled_library, [shorter_copy(tmp_path / "later", pairs)])
    assert report.imported == 1, report.verdicts
    codes, text = _row(filled_library, SHORT_ID)
    assert NEAR_DUPLICATE in codes
    assert f"very similar to conversation {LONG_ID} (about " in text
    assert NEAR_DUPLICATE not in _row(filled_library, LONG_ID)[0]
    assert filled_library.count_with_warning(NEAR_DUPLICATE) == 1


def test_the_original_imported_after_its_shorter_copy_is_flagged(
        library: Library, tmp_path: Path) -> None:
    assert import_paths(library, [shorter_copy(tmp_path / "first", 3)]).imported == 1
    assert import_paths(library, [LONG_SOURCE]).imported == 1
    codes, text = _row(library, LONG_ID)
    assert NEAR_DUPLICATE in codes
    assert (f"very similar to conversation {SHORT_ID} (about 100 % of the shorter one's "
            "sentences are in the other: a copy cut short trains its replies twice)") in text
    assert NEAR_DUPLICATE not in _row(library, SHORT_ID)[0]


def test_an_add_to_a_file_holding_the_original_names_the_copy(
        filled_library: Library, tmp_path: Path) -> None:
    add_conversations(filled_library, "Originals", [LONG_ID], create=True)
    import_paths(filled_library, [shorter_copy(tmp_path / "later", 6)])
    plan = plan_addition(filled_library, "Originals", [SHORT_ID])
    assert plan.near_duplicates == (SHORT_ID,)
    assert plan.near_duplicates_added() == [SHORT_ID]
    assert plan.choose(leave_out_near_duplicates=True).adding == []


def test_the_command_says_so_and_can_leave_the_copy_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "lib")]
    assert main([*data, "import", str(LONG_SOURCE)]) == 0
    assert main([*data, "import", str(shorter_copy(tmp_path / "later", 6))]) == 0
    assert main([*data, "add", "Both", "--new", LONG_ID, SHORT_ID]) == 0
    out = capsys.readouterr().out
    assert ("1 added conversation is a near-duplicate of a conversation already in 'Both' "
            "or earlier in this add") in out
    assert main([*data, "add", "One", "--new", "--leave-out-near-duplicates",
                 LONG_ID, SHORT_ID]) == 0
    out = capsys.readouterr().out
    assert ("skipped 1 nearly repeating a conversation already in the file or earlier in "
            f"the selection (left out): {SHORT_ID}") in out


def test_no_two_real_conversations_are_near() -> None:
    """A guard on the wider definition: every pair of different real conversations."""
    prints = {}
    for path in ENRICHED + LEGACY:
        record = record_from_bytes(path.read_bytes(), path.name)
        prints[record["conversation_id"]] = fingerprint(record).sketch
    assert len(prints) == len(ENRICHED) + len(LEGACY)
    for (first, a), (second, b) in itertools.combinations(prints.items(), 2):
        assert not is_near(a, b), (first, second)
        assert near_matches(a, [(second, b)]) == []


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def _rows(library: Library) -> dict[str, tuple[str, str]]:
    return {row.conversation_id: (row.warning_codes, row.warnings_text)
            for row in library.summaries()}


def test_a_library_stored_before_has_its_shorter_copy_flagged_once(
        old_library: Path, tmp_path: Path) -> None:
    with Library(old_library) as library:
        before = _rows(library)
        assert all(NEAR_DUPLICATE not in codes for codes, _text in before.values())
        built = stored_bytes(library, "copies")
        assert needs_recovery(library)
        assert finish_interrupted_work(library) == [
            "flagged 1 conversation near_duplicate: each nearly repeats one stored before "
            "it, or is a shorter copy of it or holds one (their replies would be trained "
            "twice); an add can leave them out"]
        assert upkeep.due(library.root) == []
        after = _rows(library)
        assert NEAR_DUPLICATE in after[SHORT_ID][0]
        assert f"very similar to conversation {LONG_ID} (about " in after[SHORT_ID][1]
        assert after[LONG_ID] == before[LONG_ID] and after[OTHER_ID] == before[OTHER_ID]
        # the flag is the library's: the training file's lines and header stay as built
        assert stored_bytes(library, "copies") == built
        assert not owes_rebuild(library, "copies")
        assert finish_interrupted_work(library) == []  # once
        # every stored conversation is indexed as an import indexes one today
        with library.session() as session:
            indexed = set(session.scalars(select(DialogueKey.key)))
            sketches = list(session.scalars(select(Conversation.dialogue_sketch)))
        assert all(set(unpack(sketch)[:INDEXED]) <= indexed for sketch in sketches)
        import_paths(library, [shorter_copy(tmp_path / "latest", 3, "fp_conversation_3")])
        assert NEAR_DUPLICATE in _rows(library)["fp_conversation_3"][0]
    fresh = tmp_path / "fresh"
    with Library(fresh) as library:  # what today's imports store for the same files
        import_paths(library, [ENRICHED[1], ENRICHED[2]])
        import_paths(library, [shorter_copy(tmp_path / "later", 6)])
        assert _rows(library) == {cid: after[cid] for cid in (LONG_ID, OTHER_ID, SHORT_ID)}


def test_a_cancelled_look_is_not_recorded_and_runs_again(old_library: Path) -> None:
    with Library(old_library) as library:
        with pytest.raises(BuildCancelled):
            finish_interrupted_work(library, cancelled=lambda: True)
        assert upkeep.due(library.root) == [upkeep.TEXT_REPAIR, upkeep.SENTENCE_SKETCHES,
                                            upkeep.SHORTER_COPIES, upkeep.LINE_WHITESPACE]
        assert NEAR_DUPLICATE not in _rows(library)[SHORT_ID][0]
        assert len(finish_interrupted_work(library)) == 1
        assert NEAR_DUPLICATE in _rows(library)[SHORT_ID][0]
        assert upkeep.due(library.root) == []
