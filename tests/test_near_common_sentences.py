"""Different dialogues that all hold the same stock lines ("Thank you so much.", "I
appreciate it."), whose sentence hashes are among the smallest of nearly every dialogue:
the add's near-duplicate check (and the files page's count, which is the same check)
compared each of them with every earlier one, since all share those lookup keys, so a file
of 4,000 took a minute. Now a crowded key is not walked pair by pair, and a real
re-generation hidden among them, which shares no lookup key with its original but the stock
lines, is still found, as the full comparison finds it. Real fixtures varied sentence by
sentence (``common_sentences``), written as files and imported."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import near_reference
import pytest
from common_sentences import (
    COMMON_HASHES,
    file_sketch,
    stock_dialogues,
    templates,
    vocabulary,
    written_hidden_twin,
)
from conftest import open_window
from sqlalchemy import select
from test_near_in_file_candidates import _compared

from app import importer, near_in_file
from app.importer import import_paths
from app.library import Library
from app.models import Conversation
from app.near_in_file import lookup_keys, near_members
from app.similar import COMMON_BUCKET, NEAR_DUPLICATE, NEAR_TEXT
from app.trainingfiles import add_conversations, create_training_file, plan_addition

TWIN_ID = "fp_conversation_stock_twin"


def _sketches(library: Library) -> dict[str, bytes]:
    with library.session() as session:
        return {cid: sketch for cid, sketch in session.execute(
            select(Conversation.conversation_id, Conversation.dialogue_sketch))}


def _rows(library: Library) -> list[tuple[str, int]]:
    return [(row.conversation_id, row.pk) for row in library.summaries()]


def _hidden_twin_file(library: Library, tmp_path: Path) -> tuple[str, Path]:
    """150 stock dialogues imported, then a re-generation of one of them (past the first
    ``COMMON_BUCKET``) written, not imported, whose only lookup keys in common with it are
    the stock lines (``written_hidden_twin``). Returns the original's id and the re-generation's
    file."""
    paths = stock_dialogues(tmp_path / "stock", 150, seed=7)
    assert import_paths(library, paths).imported == 150
    sketches = _sketches(library)
    assert all(COMMON_HASHES & set(lookup_keys(sketch)) for sketch in sketches.values())
    rng = random.Random(7)
    words = vocabulary(templates())
    for path in paths[60:]:
        cid = json.loads(path.read_text(encoding="utf-8"))["dataset_metadata"]["dataset_name"]
        assert file_sketch(path) == sketches[cid]  # the sketch the import stored
        twin = written_hidden_twin(path, TWIN_ID, tmp_path / f"twin-{cid}", rng, words)
        if twin is not None:
            return cid, twin
    raise AssertionError("no dialogue gave a re-generation sharing only the stock lines")


@pytest.fixture
def hidden_twin(library: Library, tmp_path: Path) -> tuple[str, Library]:
    """``_hidden_twin_file``, then the re-generation imported. Returns the original's id."""
    cid, twin = _hidden_twin_file(library, tmp_path)
    assert import_paths(library, [twin.parent]).imported == 1
    return cid, library


def test_a_near_duplicate_sharing_only_stock_lines_as_keys_is_still_found(
        hidden_twin: tuple[str, Library], monkeypatch: pytest.MonkeyPatch) -> None:
    original, library = hidden_twin
    rows = _rows(library)
    assert rows[-1][0] == TWIN_ID
    assert near_reference.all_twins(library, None, rows) == {TWIN_ID: (original,)}
    sizes = _compared(monkeypatch)
    found = near_in_file.near_on_add(library, None, rows)
    assert found.near == (TWIN_ID,) and found.twins == {TWIN_ID: original}
    # ... without comparing it, or any other, with every earlier one
    assert max(sizes) <= 2 * COMMON_BUCKET
    # the same in a file that holds the original, and in the add review and the files page
    ids = [cid for cid, _pk in rows]
    create_training_file(library, "Stock", cut_off_policy="keep")
    add_conversations(library, "Stock", ids[:-1])
    plan = plan_addition(library, "Stock", [TWIN_ID])
    assert plan.near_duplicates == (TWIN_ID,)
    assert plan.choose(leave_out_near_duplicates=True).left_out() == {TWIN_ID: "near"}
    add_conversations(library, "Stock", [TWIN_ID])
    assert near_members(library, "Stock").repeats == {TWIN_ID: original}


def test_stock_lines_shared_by_every_dialogue_are_not_walked_pair_by_pair(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 different dialogues: none is near another, and none is compared with more than
    a few (every earlier one, 299 for the last, before)."""
    assert import_paths(library, stock_dialogues(tmp_path / "stock", 300, seed=3)).imported == 300
    rows = _rows(library)
    assert near_reference.all_twins(library, None, rows) == {}
    sizes = _compared(monkeypatch)
    assert near_in_file.near_on_add(library, None, rows).near == ()
    assert len(sizes) == 2 * 300  # with the file's members (none), then the earlier ones
    assert max(sizes) <= 2 * COMMON_BUCKET
    assert sum(sizes) <= 2 * COMMON_BUCKET * len(rows)


def _flag(library: Library, cid: str) -> tuple[tuple[str, ...], str]:
    """The row's warning codes and text, as the Conversations page shows them."""
    (row,) = library.summaries_of([cid])
    return row.warning_codes, row.warnings_text


def test_the_import_marks_the_hidden_twin_as_the_add_does(
        backend: str, hidden_twin: tuple[str, Library]) -> None:
    """Imported after its original and 149 other stock dialogues, the re-generation that
    shares only stock lines among its lookup keys gets the Conversations page's mark right
    away, naming the conversation the add's check names; the stock dialogues get none. In a
    library folder and in a team library."""
    original, library = hidden_twin
    codes, text = _flag(library, TWIN_ID)
    assert NEAR_DUPLICATE in codes
    assert f"{NEAR_TEXT} {original} " in text
    rows = _rows(library)
    assert near_in_file.near_on_add(library, None, rows).twins == {TWIN_ID: original}
    assert library.count_with_warning(NEAR_DUPLICATE) == 1


@pytest.mark.parametrize("chunk", [1000, 40])
def test_an_import_holding_both_marks_the_twin_after_its_original(
        hidden_twin: tuple[str, Library], tmp_path: Path, chunk: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same files imported at once into a new library (in one chunk, and in chunks of
    40, so that the stock lines are met in one chunk and the twin in a later one): the mark
    is the same as after two imports."""
    original, _library = hidden_twin
    monkeypatch.setattr(importer, "CHUNK", chunk)
    twin = tmp_path / f"twin-{original}" / f"{TWIN_ID}.json"
    files = [*sorted((tmp_path / "stock").glob("*.json")), twin]
    with Library(tmp_path / "at-once") as library:
        assert import_paths(library, files).imported == 151
        codes, text = _flag(library, TWIN_ID)
        assert NEAR_DUPLICATE in codes
        assert f"{NEAR_TEXT} {original} " in text
        assert library.count_with_warning(NEAR_DUPLICATE) == 1


def test_the_conversations_page_marks_the_twin_right_after_its_import(
        qtbot: Any, library: Library, dialogs: Any, tmp_path: Path) -> None:
    """The re-generation imported through File ▸ Import files… into the library of stock
    dialogues: "Near-duplicates" in the Conversations page's Warnings chooser shows it, and
    it alone."""
    _original, twin = _hidden_twin_file(library, tmp_path)
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append([twin])
    dialogs.texts.append("")
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        window.import_files_action.trigger()
    assert blocker.args[0].imported == 1
    page = window.conversations
    chooser = page.warnings_filter
    qtbot.waitUntil(lambda: chooser.itemText(chooser.count() - 1) == "Near-duplicates (1)",
                    timeout=30000)  # the page reads the new rows after the import ends
    assert chooser.select_value("near")
    model = page.model
    assert [model.row_at(r).conversation_id for r in range(model.rowCount())] == [TWIN_ID]
