"""``lora-studio import`` of regenerated files (same conversation id, other text) says as
much as the window: kept as stored, it names who changed, what differs and the training
files a replace would rebuild; with --replace, what the new versions brought into the
rebuilt files (the add review's checks, before and after); and a skipped duplicate is named
by its client and batch. Real library, real fixtures with regenerated copies on disk, the
real command (in-process)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from test_replace_says_what import (
    Document,
    FindingCopies,
    conversation_id,
    finding_copies,
    first_reply_rewritten,
    regenerated,
)

from app.cli import main
from app.library import Library
from app.trainingfiles import member_ids


def run(data: Path, capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(data), *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A library with the enriched fixtures in one batch and the legacy ones in another,
    imported by the command; 'Coaching A' holds the enriched ones that train, 'Coaching B'
    the first of those and the first three legacy ones."""
    data = tmp_path / "lib"
    for name, files in (("enriched-batch", ENRICHED), ("legacy-batch", LEGACY)):
        folder = tmp_path / name
        folder.mkdir()
        for path in files:
            shutil.copy(path, folder / path.name)
        assert run(data, capsys, "import", folder)[0] == 0
    assert run(data, capsys, "add", "Coaching A", "--new", "--batch", "enriched-batch")[0] == 0
    with Library(data) as library:
        a = member_ids(library, "Coaching A")
        legacy = [r.conversation_id for r in library.summaries("legacy-batch")]
    assert run(data, capsys, "add", "Coaching B", "--new", a[0], *legacy[:3])[0] == 0
    return data


def members(data: Path, name: str) -> list[str]:
    with Library(data) as library:
        return member_ids(library, name)


def test_kept_as_stored_names_who_changed_what_differs_and_what_a_replace_rebuilds(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    one = next(p for p in ENRICHED if p.name == "enriched-2.json")
    assert conversation_id(one) in members(data, "Coaching A")
    path = regenerated(one, tmp_path / "redelivery", first_reply_rewritten)

    code, out, _ = run(data, capsys, "import", path)

    assert code == 0
    lines = out.splitlines()
    kept = lines.index("1 changed conversation was kept as stored; run the import again "
                       "with --replace to replace it:")
    assert lines[kept + 1:] == [
        f"  • Jennifer Martinez · batch 'enriched-batch' · {path.name}: 1 reply changed "
        "(turn 2)",
        "Replacing rebuilds 'Coaching A'."]


def test_many_kept_are_named_ten_at_most_and_the_files_with_their_counts(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    redelivery = tmp_path / "redelivery"
    paths = [regenerated(p, redelivery, first_reply_rewritten) for p in [*ENRICHED, *LEGACY]]
    a, b = members(data, "Coaching A"), members(data, "Coaching B")
    in_none = len(paths) - len(set(a) | set(b))
    assert len(paths) > 10

    code, out, _ = run(data, capsys, "import", redelivery)

    assert code == 0
    lines = out.splitlines()
    kept = lines.index(f"{len(paths)} changed conversations were kept as stored; run the "
                       "import again with --replace to replace them:")
    named = lines[kept + 1:kept + 11]
    assert all(line.startswith("  • ") and " · batch '" in line for line in named)
    assert lines[kept + 11:] == [
        f"  … and {len(paths) - 10} more",
        f"Replacing rebuilds 'Coaching A' ({len(a)} of them) and 'Coaching B' ({len(b)}); "
        f"{in_none} are in no training file."]


def test_many_training_files_to_rebuild_are_named_ten_at_most(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with Library(data) as library:
        legacy = [r.conversation_id for r in library.summaries("legacy-batch")]
    for number, cid in enumerate(legacy, start=1):  # 'File 01' .. 'File 09', one each
        assert run(data, capsys, "add", f"File {number:02}", "--new", cid)[0] == 0
    redelivery = tmp_path / "redelivery"
    paths = [regenerated(p, redelivery, first_reply_rewritten) for p in [*ENRICHED, *LEGACY]]
    a, b = members(data, "Coaching A"), members(data, "Coaching B")
    in_none = len(paths) - len(set(a) | set(b) | set(legacy))

    code, out, _ = run(data, capsys, "import", redelivery)

    assert code == 0
    files = ", ".join(f"'File {number:02}' (1)" for number in range(1, 9))
    assert out.splitlines()[-1] == (
        f"Replacing rebuilds 'Coaching A' ({len(a)} of them), 'Coaching B' ({len(b)}), "
        f"{files} and 1 more training file; {in_none} are in no training file.")


def with_findings(data: Path, tmp_path: Path) -> FindingCopies:
    """Regenerated copies that bring in what the add review's checks find (those the
    window's test replaces)."""
    return finding_copies(members(data, "Coaching A"), members(data, "Coaching B"),
                          tmp_path / "redelivery")


def test_replace_says_what_the_new_versions_brought_into_each_rebuilt_file(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    paths, mismatch, near_id, long_id = with_findings(data, tmp_path)
    b = members(data, "Coaching B")
    in_b = sum(1 for cid in mismatch if cid in b)
    where = (f"'Coaching A' ({len(mismatch)}) and 'Coaching B' ({in_b})" if in_b
             else "'Coaching A'")

    code, out, _ = run(data, capsys, "import", "--replace", *paths)

    assert code == 0, out
    lines = out.splitlines()
    assert sum(line.startswith("replaced  ") for line in lines) == len(paths)
    assert any(line.startswith(f"0 conversations imported, {len(paths)} conversations "
                               "replaced.") for line in lines)
    rebuilt = lines.index("rebuilt training file 'Coaching A' (it holds a replaced "
                          "conversation)")
    assert lines[rebuilt:] == [
        "rebuilt training file 'Coaching A' (it holds a replaced conversation)",
        "rebuilt training file 'Coaching B' (it holds a replaced conversation)",
        f"Of the replaced conversations, {len(mismatch)} now have a warning that would harm "
        f"training (History Mismatch) in {where}: {', '.join(mismatch)}.",
        "Of the replaced conversations, 1 is now over the length limit of 'Coaching B': "
        f"{long_id}.",
        "Of the replaced conversations, 1 now nearly repeats another conversation in "
        f"'Coaching A': {near_id}.",
        "To take one out of a training file: lora-studio remove NAME CONVERSATION_ID…"]


def test_replace_with_json_gives_the_findings_as_data(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    paths, mismatch, near_id, long_id = with_findings(data, tmp_path)

    code, out, err = run(data, capsys, "import", "--replace", "--json", *paths)

    assert code == 0, err
    objects = [orjson.loads(line) for line in out.splitlines()]
    assert [o["verdict"] for o in objects if "verdict" in o] == ["replaced"] * len(paths)
    files = {o["training_file"]: o for o in objects if "training_file" in o}
    assert set(files) == {"Coaching A", "Coaching B"}
    a = files["Coaching A"]
    assert a["rebuilt"] is True
    assert a["harmful_warnings"] == {cid: ["history_mismatch"] for cid in mismatch}
    assert a["near_duplicates"] == [near_id]
    assert a["over_length_limit"] == []
    assert files["Coaching B"]["over_length_limit"] == [long_id]
    assert "Of the replaced conversations" in err  # the sentences go to stderr


def test_a_replace_that_brings_nothing_new_says_nothing_more(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The last reply rewritten: no later turn's history copies it, nothing warns; the
    rebuilt file's findings are there as data, empty."""
    def last_reply_rewritten(document: Document) -> None:
        pair = max((p for p in document["training_pairs"] if p.get("target_response")),
                   key=lambda p: p["turn_number"])
        pair["target_response"] = "Then we meet again next month and look at it together."

    one = next(p for p in LEGACY if conversation_id(p) in members(data, "Coaching B"))
    path = regenerated(one, tmp_path / "redelivery", last_reply_rewritten)

    code, out, err = run(data, capsys, "import", "--replace", "--json", path)

    assert code == 0
    assert [orjson.loads(line) for line in out.splitlines()][1:] == [
        {"training_file": "Coaching B", "rebuilt": True, "harmful_warnings": {},
         "over_length_limit": [], "near_duplicates": []}]
    assert err.splitlines()[-2:] == [
        "0 conversations imported, 1 conversation replaced. 1 file in the older v3 format "
        "was converted as it was imported.",
        "rebuilt training file 'Coaching B' (it holds a replaced conversation)"]


def test_a_duplicate_line_names_the_client_and_the_batch_of_the_stored_copy(
        data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    again = tmp_path / "again"
    again.mkdir()
    one = next(p for p in ENRICHED if p.name == "enriched-2.json")
    shutil.copy(one, again / one.name)

    code, out, _ = run(data, capsys, "import", again / one.name)

    assert code == 0
    assert out.splitlines()[0] == (
        f"duplicate {again / one.name}: Jennifer Martinez's conversation is already in the "
        f"library (batch 'enriched-batch', from {one.name}); skipped. Conversation id "
        f"{conversation_id(one)}")


def test_two_files_of_one_import_with_one_id_say_how_to_replace_on_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The second file of a drop with the first one's id and other content is left out;
    its line names the first file and the command's way to use it (not the window's
    Replace button)."""
    drop = tmp_path / "drop"
    drop.mkdir()
    one = next(p for p in ENRICHED if p.name == "enriched-2.json")
    first = drop / "a.json"
    shutil.copy(one, first)
    second = regenerated(one, drop, first_reply_rewritten)  # drop/regen-enriched-2.json

    code, out, _ = run(tmp_path / "lib", capsys, "import", first, second)

    assert code == 0
    assert out.splitlines()[1] == (
        f"duplicate {second}: Jennifer Martinez's conversation has the conversation id of "
        f"{first}, imported earlier in this import, with different content (check which "
        "version is right; to use this one, import it again on its own and add --replace); "
        f"skipped. Conversation id {conversation_id(one)}")


def _second_reply_rewritten(document: Document) -> None:
    """Another regeneration of the same conversation: its second reply rewritten."""
    replies = [p for p in document.get("training_pairs") or [] if p.get("target_response")]
    replies[1]["target_response"] = "Another wording of this reply, from a second delivery."


def test_two_files_changing_one_conversation_each_say_their_own_outcome(
        data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both files hold a changed version of one stored conversation: the first read
    replaces it; the second is a repeat of it with other content, said as such (both lines
    said the first file's "replaced", and the replace was counted twice)."""
    source = ENRICHED[0]
    first = regenerated(source, tmp_path / "one", first_reply_rewritten)
    second = regenerated(source, tmp_path / "two", _second_reply_rewritten)
    _code, out, _ = run(data, capsys, "import", first, second, "--replace")
    lines = out.splitlines()
    assert any(line.startswith("replaced") and str(first) in line for line in lines), out
    assert any(line.startswith("duplicate") and second.name in line
               and "with different content" in line for line in lines), out
    assert "1 conversation replaced" in out and "2 conversations replaced" not in out

