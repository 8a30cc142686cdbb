"""Review marks in the library: who and when, never in the source file, and carried into the
training files' headers and JSONL lines."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from stored import stored_files

from app.cli import main
from app.errors import LibraryError
from app.review import clean_reviewer
from app.review_marks import mark_reviewed
from app.trainingfiles import add_conversations, get_training_file, header
from app.validate import validate_path

ON_BOTH = pytest.mark.usefixtures("backend")  # a library folder and a team library


def unreviewed_ids(library) -> list[str]:
    """Conversations whose source file does not already say they were reviewed."""
    return [row.conversation_id for row in library.summaries()
            if row.trainable_replies and not library.record(row.conversation_id)
            ["quality"]["human_reviewed"]]


def jsonl_by_id(path: Path) -> dict[str, dict]:
    lines = [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]
    return {line["metadata"]["conversation_id"]: line["metadata"] for line in lines}


def full_json_by_id(path: Path) -> dict[str, dict]:
    document = orjson.loads(path.read_bytes())
    return {c["conversation_id"]: c for c in document["conversations"]}


def test_the_fixtures_hold_both_kinds(filled_library):
    # The tests below need conversations that the source calls unreviewed, and some it
    # calls reviewed (the legacy files say every reply was reviewed).
    assert len(unreviewed_ids(filled_library)) >= 3
    reviewed = [r for r in filled_library.summaries()
                if filled_library.record(r.conversation_id)["quality"]["human_reviewed"]]
    assert reviewed


@ON_BOTH
def test_mark_flows_into_header_jsonl_and_full_json(filled_library, fixture_folder):
    library = filled_library
    ids = unreviewed_ids(library)[:3]
    sources = {p.name: p.read_bytes() for p in fixture_folder.iterdir()}
    add_conversations(library, "Reviewed set", ids, create=True)
    before = header(library, "Reviewed set")["quality_summary"]["human_reviewed_conversations"]
    assert before == 0

    change = mark_reviewed(library, ids[:2], "Dana Reviewer")
    assert change.conversations == 2
    assert change.reviewed_by == "Dana Reviewer"
    assert change.stale_files == ["Reviewed set"]
    # The mark is in the library at once, before any rebuild.
    rows = {r.conversation_id: r for r in library.summaries()}
    assert rows[ids[0]].reviewed_by == "Dana Reviewer"
    assert rows[ids[0]].reviewed_at == change.reviewed_at
    assert rows[ids[2]].reviewed_by is None
    quality = library.record(ids[0])["quality"]
    assert quality["human_reviewed"] is True
    assert quality["reviewed_by"] == "Dana Reviewer"

    from app.trainingfiles import rebuild_training_files
    rebuild_training_files(library, change.stale_files)
    info = get_training_file(library, "Reviewed set")
    head = header(library, "Reviewed set")
    assert head["quality_summary"]["human_reviewed_conversations"] == 2
    files = stored_files(library, info.name)
    assert orjson.loads(files.json_path.read_bytes())["training_file_metadata"] == head
    metadata = jsonl_by_id(files.jsonl_path)
    assert [metadata[cid]["human_reviewed"] for cid in ids] == [True, True, False]
    listed = full_json_by_id(files.json_path)
    assert listed[ids[0]]["quality"]["reviewed_by"] == "Dana Reviewer"
    assert listed[ids[0]]["quality"]["reviewed_at"] == change.reviewed_at
    assert "reviewed_by" not in listed[ids[2]]["quality"]
    # Both files still follow their schemas, and the imported files are untouched.
    assert validate_path(files.json_path).ok, validate_path(files.json_path).problems
    assert validate_path(files.jsonl_path).ok
    assert {p.name: p.read_bytes() for p in fixture_folder.iterdir()} == sources


@ON_BOTH
def test_undo_falls_back_to_what_the_source_says(filled_library):
    library = filled_library
    fresh = unreviewed_ids(library)[0]
    already = next(r.conversation_id for r in library.summaries()
                   if library.record(r.conversation_id)["quality"]["human_reviewed"])
    add_conversations(library, "Both", [fresh, already], create=True)
    mark_reviewed(library, [fresh, already], "Sam")
    change = mark_reviewed(library, [fresh, already], undo=True)
    assert change.reviewed_by is None and change.stale_files == ["Both"]
    from app.trainingfiles import rebuild_training_files
    rebuild_training_files(library, change.stale_files)
    metadata = jsonl_by_id(stored_files(library, "Both").jsonl_path)
    assert metadata[fresh]["human_reviewed"] is False
    assert metadata[already]["human_reviewed"] is True  # the source file's own review
    assert "reviewed_by" not in library.record(fresh)["quality"]


@ON_BOTH
def test_an_unknown_id_refuses_the_whole_request(filled_library):
    good = unreviewed_ids(filled_library)[0]
    with pytest.raises(LibraryError, match="not in the library: no-such-id"):
        mark_reviewed(filled_library, [good, "no-such-id"], "Sam")
    assert all(row.reviewed_by is None for row in filled_library.summaries())


def test_many_unknown_ids_are_counted_with_a_thousands_separator(filled_library):
    unknown = [f"nope-{n:04}" for n in range(1_025)]
    with pytest.raises(LibraryError) as refused:
        mark_reviewed(filled_library, unknown, "Sam")
    assert str(refused.value).endswith("nope-0019 and 1,005 more")


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_a_reviewer_needs_a_sensible_name(name):
    with pytest.raises(LibraryError):
        clean_reviewer(name)


def test_cli_review_filter_and_undo(tmp_path, capsys, fixture_folder):
    data = ["--data-dir", str(tmp_path / "lib")]
    assert main([*data, "import", str(fixture_folder)]) == 0
    capsys.readouterr()
    assert main([*data, "conversations", "--json"]) == 0
    rows = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(ENRICHED) + len(LEGACY)
    # Enriched fixtures are not reviewed in their source files, so the mark is what counts.
    enriched = {path.name for path in ENRICHED}
    first, second = [r["conversation_id"] for r in rows if r["source_file"] in enriched][:2]
    assert main([*data, "add", "CLI file", "--new", first, second]) == 0
    capsys.readouterr()

    assert main([*data, "review", first, "--by", "Lee"]) == 0
    out = capsys.readouterr().out
    assert "marked 1 conversation reviewed by Lee" in out
    assert "rebuilt training file 'CLI file' (its review marks changed)" in out

    assert main([*data, "conversations", "--reviewed", "--json"]) == 0
    marked = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["conversation_id"], r["reviewed_by"]) for r in marked] == [(first, "Lee")]
    assert main([*data, "conversations", "--not-reviewed"]) == 0
    assert first not in capsys.readouterr().out

    assert main([*data, "files", "--json"]) == 0
    capsys.readouterr()
    assert main([*data, "export", "CLI file", "--format", "jsonl", "-o",
                 str(tmp_path / "out.jsonl")]) == 0
    assert jsonl_by_id(tmp_path / "out.jsonl")[first]["human_reviewed"] is True

    assert main([*data, "review", "--undo", first]) == 0
    assert "took the review mark from 1" in capsys.readouterr().out
    assert main([*data, "conversations", "--reviewed"]) == 0
    assert capsys.readouterr().out.strip() == "0 conversations"

    assert main([*data, "review", "nope"]) == 1
    assert "not in the library: nope" in capsys.readouterr().err


def marks(library) -> dict[str, tuple[str | None, str | None]]:
    """Every conversation's (reviewed_by, reviewed_at), as stored."""
    from sqlalchemy import select

    from app.models import Conversation
    with library.session() as session:
        return {cid: (by, at) for cid, by, at in session.execute(
            select(Conversation.conversation_id, Conversation.reviewed_by,
                   Conversation.reviewed_at))}


@ON_BOTH
@pytest.mark.parametrize("kind", ["mark", "unmark"])
def test_a_change_of_marks_is_undone_exactly(filled_library, kind):
    """Each conversation gets its own mark from before: one reviewed by someone else
    keeps that reviewer and time, one unreviewed is unreviewed again."""
    from app.review_undo import ReviewUndo, undo_review
    library = filled_library
    first, second, third = unreviewed_ids(library)[:3]
    add_conversations(library, "Marked", [first, second], create=True)
    mark_reviewed(library, [first], "Sam")
    before = marks(library)
    change = mark_reviewed(library, [first, second, third], "Dana", undo=kind == "unmark")
    assert marks(library) != before
    stale = undo_review(library, ReviewUndo.of(change))
    assert marks(library) == before
    assert stale == ["Marked"]


@ON_BOTH
def test_marks_changed_since_are_not_undone(filled_library):
    from app.review_undo import ReviewUndo, undo_review
    library = filled_library
    first, second = unreviewed_ids(library)[:2]
    undo = ReviewUndo.of(mark_reviewed(library, [first, second], "Dana"))
    mark_reviewed(library, [second], "Lee")  # marked again since (another window, a member)
    after = marks(library)
    with pytest.raises(LibraryError, match=(
            "Marking reviewed 2 conversations cannot be undone exactly: the review mark of "
            f"'{second}' changed since. Nothing was changed.")):
        undo_review(library, undo)
    assert marks(library) == after
