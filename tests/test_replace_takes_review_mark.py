"""A review mark certifies the text a person read: replacing a marked conversation by a
version whose dialogue says other things takes the mark away (the record, the rebuilt
JSONL line, full JSON and header, ``conversations --reviewed``), and the Replace question,
``import --replace`` and the window's status say so; a replace whose new version says the
same things (another score) keeps it. Real library, real fixtures with regenerated copies
on disk, the real command (in-process) and the real window."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ENRICHED, open_window, settle
from stored import stored_files
from test_cli_replace_says_what import run
from test_replace_says_what import (
    Document,
    conversation_id,
    first_reply_rewritten,
    import_in_window,
    regenerated,
)
from test_review import full_json_by_id, jsonl_by_id

from app.library import Library
from app.review_marks import mark_reviewed
from app.trainingfiles import add_conversations, header, member_ids, rebuild_training_files

REVIEWER = "Elena QA"
REWRITTEN = next(p for p in ENRICHED if p.name == "enriched-2.json")  # Jennifer Martinez
RESCORED = next(p for p in ENRICHED if p.name == "enriched-1.json")


def scored_again(document: Document) -> None:
    """The same messages, another score for one reply: the text a reviewer read is kept."""
    pair = next(p for p in document["training_pairs"] if p.get("target_response"))
    pair["training_metadata"]["quality_score"] = 1


def reviewed_in_header(library: Library, name: str) -> int:
    return int(header(library, name)["quality_summary"]["human_reviewed_conversations"])


@pytest.fixture
def data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The enriched fixtures imported by the command into one batch, 'Coaching A' holding
    those that train, two of them (their source files say not reviewed) marked reviewed
    by Elena QA."""
    data = tmp_path / "lib"
    folder = tmp_path / "enriched-batch"
    folder.mkdir()
    for path in ENRICHED:
        shutil.copy(path, folder / path.name)
    assert run(data, capsys, "import", folder)[0] == 0
    assert run(data, capsys, "add", "Coaching A", "--new", "--batch", "enriched-batch")[0] == 0
    marked = [conversation_id(REWRITTEN), conversation_id(RESCORED)]
    with Library(data) as library:
        assert set(marked) <= set(member_ids(library, "Coaching A"))
    assert run(data, capsys, "review", *marked, "--by", REVIEWER)[0] == 0
    return data


def redelivered(tmp_path: Path) -> list[Path]:
    """Jennifer Martinez's conversation with one reply rewritten, and the other marked one
    with only a score changed."""
    redelivery = tmp_path / "redelivery"
    return [regenerated(REWRITTEN, redelivery, first_reply_rewritten),
            regenerated(RESCORED, redelivery, scored_again)]


def test_kept_as_stored_the_command_says_a_replace_would_take_the_mark_away(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(data, capsys, "import", *redelivered(tmp_path))

    assert code == 0
    assert out.splitlines()[-1] == (
        "1 of them was marked reviewed (by Elena QA): replacing takes its mark away, as its "
        "new text was not reviewed.")


def test_import_replace_takes_the_mark_of_a_rewritten_conversation_away_and_says_so(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rewritten, rescored = conversation_id(REWRITTEN), conversation_id(RESCORED)
    with Library(data) as library:
        assert reviewed_in_header(library, "Coaching A") == 2

    code, out, _ = run(data, capsys, "import", "--replace", *redelivered(tmp_path))

    assert code == 0
    _code, listed, _ = run(data, capsys, "conversations", "--reviewed")
    assert rewritten not in listed
    assert rescored in listed  # the same text: its mark stays
    with Library(data) as library:
        quality = library.record(rewritten)["quality"]
        assert quality["human_reviewed"] is False
        assert "reviewed_by" not in quality
        assert library.record(rescored)["quality"]["reviewed_by"] == REVIEWER
        files = stored_files(library, "Coaching A")
        lines = jsonl_by_id(files.jsonl_path)
        assert lines[rewritten]["human_reviewed"] is False
        assert lines[rescored]["human_reviewed"] is True
        listed_json = full_json_by_id(files.json_path)
        assert "reviewed_by" not in listed_json[rewritten]["quality"]
        assert listed_json[rescored]["quality"]["reviewed_by"] == REVIEWER
        assert reviewed_in_header(library, "Coaching A") == 1
    assert "1 review mark (by Elena QA) taken away: its new text was not reviewed." in (
        out.splitlines())


def test_the_window_asks_and_says_that_replacing_takes_the_mark_away(
        qtbot, library: Library, dialogs, tmp_path: Path) -> None:
    folder = tmp_path / "enriched-batch"
    folder.mkdir()
    for path in ENRICHED:
        shutil.copy(path, folder / path.name)
    from app.importer import import_paths
    import_paths(library, [folder])
    cid = conversation_id(REWRITTEN)
    add_conversations(library, "Coaching A", [cid], create=True)
    rebuild_training_files(library, mark_reviewed(library, [cid], REVIEWER).stale_files)
    path = regenerated(REWRITTEN, tmp_path / "redelivery", first_reply_rewritten)
    window = open_window(qtbot, library, dialogs, tmp_path)

    question = import_in_window(qtbot, window, dialogs, [path], replace=True)

    (row,) = [r for r in library.summaries() if r.conversation_id == cid]
    assert row.reviewed_by is None
    settle(qtbot, window)  # the table shows it unmarked: the Review filter leaves it out
    page = window.conversations
    page.review_filter.setCurrentIndex(page.review_filter.findData("reviewed"))
    assert page.model.rowCount() == 0
    assert jsonl_by_id(stored_files(library, "Coaching A").jsonl_path)[cid][
        "human_reviewed"] is False
    assert ("It was marked reviewed (by Elena QA): replacing takes its mark away, as its new "
            "text was not reviewed.") in question.splitlines()
    assert window.statusBar().currentMessage().startswith(
        "Replaced 1 conversation; rebuilt 'Coaching A'; 1 review mark (by Elena QA) taken "
        "away: its new text was not reviewed")


def test_a_new_version_saying_itself_reviewed_is_trained_as_its_file_says(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The library's mark goes with the text Elena QA read; what the new file says of its
    own replies (each one human_reviewed) is the file's word, as on any import."""
    def rewritten_and_reviewed(document: Document) -> None:
        first_reply_rewritten(document)
        for pair in document["training_pairs"]:
            if pair.get("target_response"):
                pair["training_metadata"]["human_reviewed"] = True

    cid = conversation_id(REWRITTEN)
    path = regenerated(REWRITTEN, tmp_path / "redelivery", rewritten_and_reviewed)

    assert run(data, capsys, "import", "--replace", path)[0] == 0

    _code, listed, _ = run(data, capsys, "conversations", "--reviewed")
    assert cid not in listed
    with Library(data) as library:
        files = stored_files(library, "Coaching A")
        assert jsonl_by_id(files.jsonl_path)[cid]["human_reviewed"] is True
        quality = full_json_by_id(files.json_path)[cid]["quality"]
        assert quality["human_reviewed"] is True
        assert "reviewed_by" not in quality
