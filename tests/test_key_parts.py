"""More keys than one IN (...) list takes: a move, a review mark and their undos over
1,201 conversations touch every one (parts of 500, 500 and 201), on a real library."""

from __future__ import annotations

from pathlib import Path

from hostile_corpus import conversation, dump

from app.batch_undo import MoveUndo, undo_move
from app.importer import import_paths
from app.key_parts import CHUNK, in_parts
from app.library import Library
from app.review_marks import mark_reviewed
from app.review_undo import ReviewUndo, undo_review
from app.wording import the_count

MANY = 2 * CHUNK + 201


def test_keys_come_in_parts_of_at_most_a_chunk_in_their_order() -> None:
    keys = list(range(MANY))
    parts = list(in_parts(keys))
    assert [len(part) for part in parts] == [CHUNK, CHUNK, 201]
    assert [key for part in parts for key in part] == keys
    assert list(in_parts([])) == []


def test_a_count_of_rows_is_named_in_words() -> None:
    assert the_count(1) == "the conversation"
    assert the_count(1_234) == "the 1,234 conversations"
    assert the_count(2, "checked conversation") == "the 2 checked conversations"


def test_a_move_and_a_review_mark_reach_every_one_of_many(library: Library,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(MANY):
        (folder / f"c{number:04d}.json").write_bytes(dump(conversation(f"many_{number:04d}")))
    import_paths(library, [folder])
    ids = [row.conversation_id for row in library.summaries()]
    assert len(ids) == MANY
    before = {row.conversation_id: row.batch_id for row in library.summaries()}

    created, moved = library.move_recorded(ids, "Moved")
    assert created and len(moved) == MANY
    assert {row.batch_id for row in library.summaries()} == {"Moved"}
    undo_move(library, MoveUndo("Moved", created, tuple(moved)))
    assert {row.conversation_id: row.batch_id for row in library.summaries()} == before

    change = mark_reviewed(library, ids, "Ana")
    assert len(change.before) == MANY
    assert {row.reviewed_by for row in library.summaries()} == {"Ana"}
    undo_review(library, ReviewUndo.of(change))
    assert {row.reviewed_by for row in library.summaries()} == {None}
