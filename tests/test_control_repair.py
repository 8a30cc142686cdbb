"""Windows line ends and control characters inside message texts are mended at import, and
in libraries stored before import mended them.

``tests/fixtures/control/windows-line-ends.json`` is ``enriched/enriched-1.json`` as a
Windows-made generator writes it: every line break in its strings is ``\\r\\n``, and one
lone ``\\r`` (an old Mac line end) stands for the first space after a sentence of the first
client message. ``control/nul-in-reply.json`` is ``enriched/enriched-2.json`` with a NUL, an
escape character (before ``[0m``) and a DEL in its first reply and that reply's history
copies.

``tests/data/library-before-control-repair`` was written by LoRA Studio at commit 36dccf4
(before this repair): ``lora-studio import`` of the two files above, the double-escaped
``enriched/single-convo-file-2.json`` and the first legacy fixture, then ``add --new
before-control --all --cut-off-policy keep``. Its records and its file's JSONL keep the
``\\r\\n``, the NUL and the escape character.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import FIXTURES
from hypothesis import example, given
from hypothesis import strategies as st
from stored import stored_bytes
from test_stored_repair import stored_records

from app import upkeep
from app.cli import main
from app.importer import import_paths
from app.library import Library
from app.recovery import finish_interrupted_work, needs_recovery
from app.repair import CONTROLS, has_controls, mend_text
from app.trainingfiles import add_conversations

CONTROL_DIR = FIXTURES / "control"
WINDOWS = CONTROL_DIR / "windows-line-ends.json"
NUL = CONTROL_DIR / "nul-in-reply.json"
WINDOWS_ID = "fp_conversation_windows-line-ends"
NUL_ID = "fp_conversation_nul-in-reply"
OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-control-repair"
ESCAPED_ID = "fp_conversation_14009fa0-9609-4142-9002-6bd77a43beb6"  # single-convo-file-2
CLEAN_ID = "financial_planning_emotional_intelligence_conversation_1"  # legacy 01
REMOVED = {ord(c): None for c in CONTROLS if c != "\r"}


def _import(root: Path, *paths: Path) -> Library:
    folder = root.parent / f"{root.name}-in"
    folder.mkdir(parents=True)
    for path in paths:
        shutil.copy(path, folder / path.name)
    library = Library(root)
    assert import_paths(library, [folder]).imported == len(paths)
    return library


def _dialogue(record: dict[str, Any]) -> list[str]:
    return [m["content"] for m in record["messages"] if m["role"] != "system"]


def _jsonl_texts(library: Library, name: str) -> list[str]:
    return [m["content"] for line in stored_bytes(library, name)[1].splitlines()
            for m in orjson.loads(line)["messages"]]


def test_windows_line_ends_are_stored_and_trained_as_line_breaks(tmp_path: Path) -> None:
    raw = WINDOWS.read_text(encoding="utf-8")
    assert "\\r\\n" in raw and re.search(r"\\r[^\\]", raw)  # the file really holds both
    with _import(tmp_path / "plain", FIXTURES / "enriched" / "enriched-1.json") as other:
        plain = other.record("fp_conversation_2e6e3685-eb74-46c9-b11d-13a3e162a4b5")
        add_conversations(other, "plain", [plain["conversation_id"]], create=True)
        plain_trained = _jsonl_texts(other, "plain")
    with _import(tmp_path / "lib", WINDOWS) as library:
        mended = library.record(WINDOWS_ID)
        texts = _dialogue(mended)
        assert not any("\r" in text for text in texts)
        first = _dialogue(plain)[0]
        at = first.index(". ") + 1
        # the same texts as the file written with \n, the lone \r a line break
        assert texts == [first[:at] + "\n" + first[at + 1:], *_dialogue(plain)[1:]]
        assert mended["system_prompt"] == plain["system_prompt"]
        warnings = mended["quality"]["warnings"]
        assert {w["code"] for w in warnings} == {"text_repaired"}  # no history mismatch
        source = json.loads(raw)["training_pairs"]
        first_seen: dict[str, tuple[int, str]] = {}  # a text the next pair repeats: once
        for pair in source:
            for who, key in (("client message", "current_user_input"),
                             ("reply", "target_response")):
                if pair[key]:
                    first_seen.setdefault(pair[key], (pair["turn_number"], who))
        crlf = "\r\n"
        expected = {(turn, f"{who}: repaired {text.count(crlf)} × \\r\\n"
                     if crlf in text else f"{who}: repaired 1 × \\r")
                    for text, (turn, who) in first_seen.items() if "\r" in text}
        said = [(w["turn_number"], w["message"]) for w in warnings]
        assert len(said) == len(expected) and set(said) == expected
        rows = {row.conversation_id: row for row in library.summaries()}
        assert "text_repaired" in rows[WINDOWS_ID].warning_codes
        assert library.repaired_count() == 1
        add_conversations(library, "windows", [WINDOWS_ID], create=True)
        trained = _jsonl_texts(library, "windows")
        assert not any("\r" in text for text in trained)
        assert trained[2:] == plain_trained[2:]  # after the first client message
        json_bytes = stored_bytes(library, "windows")[0]
        head = orjson.loads(json_bytes)["training_file_metadata"]
        assert head["quality_summary"]["repaired_conversations"] == 1


def test_a_nul_and_other_control_characters_are_removed_from_a_reply(tmp_path: Path) -> None:
    source = json.loads(NUL.read_text(encoding="utf-8"))["training_pairs"][1]
    assert {"\x00", "\x1b", "\x7f"} <= set(source["target_response"])
    with _import(tmp_path / "lib", NUL) as library:
        record = library.record(NUL_ID)
        reply = _dialogue(record)[1]
        assert reply == source["target_response"].translate(REMOVED)
        original = json.loads((FIXTURES / "enriched" / "enriched-2.json").read_text(
            encoding="utf-8"))["training_pairs"][1]["target_response"]
        assert reply.replace("[0m", "", 1) == original
        assert [(w["code"], w["turn_number"], w["message"])
                for w in record["quality"]["warnings"]] == [
            ("text_repaired", 2,
             "reply: repaired 1 × U+0000, 1 × U+001B, 1 × U+007F (control characters, removed)")]
        assert record["stats"]["trainable_replies"] == 3  # the DEL no longer reads as a cut
        add_conversations(library, "stray bytes", [NUL_ID], create=True)
        trained = _jsonl_texts(library, "stray bytes")
        assert reply in trained
        assert not any(set(text) & set(CONTROLS) for text in trained)


@given(st.lists(st.sampled_from(["a", "é", "—", "😀", "\n", "\t", "\r", "\r\n", "\x00",
                                 "\x0b", "\x1f", "\x7f", "\x80", "\x85", "\u2028"]),
                max_size=30).map("".join))
@example("\u200d\u0d0d\u2014\u201c")  # characters whose UTF-16 or UTF-8 bytes look close
def test_the_quick_test_finds_exactly_the_characters_mended(text: str) -> None:
    assert has_controls(text) == any(c in CONTROLS for c in text)
    fixed, counts = mend_text(text, escaped=False, controls=True)
    assert not has_controls(fixed)
    assert fixed == text.replace("\r\n", "\n").replace("\r", "\n").translate(REMOVED)
    assert counts["\r\n"] == text.count("\r\n")
    assert mend_text(fixed, escaped=False, controls=True) == (fixed, Counter())


def test_a_full_json_of_ours_built_before_the_repair_comes_back_mended(tmp_path: Path) -> None:
    """A full JSON built before import mended texts holds Windows line ends in its records,
    which are canonical already and never went through the import's normaliser: they were
    stored and trained as they were (a fresh library records the stored pass as done)."""
    with _import(tmp_path / "plain", FIXTURES / "enriched" / "enriched-1.json") as other:
        [cid] = [row.conversation_id for row in other.summaries()]
        add_conversations(other, "Before", [cid], create=True)
        document = orjson.loads(stored_bytes(other, "Before")[0])
        mended = other.record(cid)
    [record] = document["conversations"]
    replies = [m for m in record["messages"] if m["role"] == "assistant"]
    replies[0]["content"] = replies[0]["content"].replace("\n", "\r\n")
    replies[1]["content"] += "\x00"
    assert replies[0]["content"].count("\r\n") >= 2
    full = tmp_path / "before-the-repair.json"
    full.write_bytes(orjson.dumps(document))

    with Library(tmp_path / "fresh") as fresh:
        assert import_paths(fresh, [full]).imported == 1
        stored = fresh.record(cid)
        assert _dialogue(stored) == _dialogue(mended)
        repaired = [w["message"] for w in stored["quality"]["warnings"]
                    if w["code"] == "text_repaired"]
        assert len(repaired) == 2 and "× \\r\\n" in repaired[0]
        assert "U+0000" in repaired[1]
        add_conversations(fresh, "After", [cid], create=True)
        assert not any("\r" in text or "\x00" in text for text in _jsonl_texts(fresh, "After"))


# --- libraries stored before the repair -------------------------------------------------


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def test_the_old_library_really_holds_control_characters(old_library: Path) -> None:
    records = stored_records(old_library)
    assert "\r\n" in "".join(_dialogue(records[WINDOWS_ID]))
    assert "\x00" in "".join(_dialogue(records[NUL_ID]))
    assert upkeep.done(old_library)[upkeep.TEXT_REPAIR] == 1


def test_opening_an_old_library_mends_once_as_an_import_would_and_rebuilds_the_file(
        old_library: Path, tmp_path: Path) -> None:
    before = stored_records(old_library)
    with Library(old_library) as library:
        old_jsonl = stored_bytes(library, "before-control")[1]
        assert b"\\r\\n" in old_jsonl and b"\\u0000" in old_jsonl  # trained as stored
        assert needs_recovery(library)
        done = finish_interrupted_work(library)
        assert any("control characters (removed) in 2 conversations stored before" in s
                   for s in done), done
        assert not any("literal escape sequences" in s for s in done), done
        assert any("rebuilt the training file 'before-control'" in s for s in done), done
        json_bytes, jsonl = stored_bytes(library, "before-control")
        assert b"\\r" not in jsonl and b"\\u00" not in jsonl and b"\x7f" not in jsonl
        head = orjson.loads(json_bytes)["training_file_metadata"]
        assert head["quality_summary"]["repaired_conversations"] == 3  # and the escaped one
        rows = {row.conversation_id: row for row in library.summaries()}
        assert "text_repaired" in rows[NUL_ID].warning_codes
        assert "reply_cut_off" not in rows[NUL_ID].warning_codes  # judged on the mended text
        assert not needs_recovery(library)
        assert finish_interrupted_work(library) == []  # recorded: once only
    after = stored_records(old_library)
    assert after[CLEAN_ID] == before[CLEAN_ID]  # nothing to mend: untouched
    assert after[ESCAPED_ID] == before[ESCAPED_ID]  # its escapes were repaired at import
    with _import(tmp_path / "fresh", WINDOWS, NUL) as fresh:
        for cid in (WINDOWS_ID, NUL_ID):
            today = fresh.record(cid)
            assert after[cid]["messages"] == today["messages"]
            assert after[cid]["system_prompt"] == today["system_prompt"]
            assert after[cid]["quality"] == today["quality"]


def test_the_first_command_on_an_old_library_mends_and_says_so(old_library: Path,
                                                               capsys) -> None:
    assert main(["--data-dir", str(old_library), "tokens"]) == 0
    err = capsys.readouterr().err
    assert "note: mended Windows line ends" in err
    assert "note: rebuilt the training file 'before-control'" in err
    assert upkeep.due(old_library) == []


def test_validate_says_what_the_import_will_mend_and_warn(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file `validate` calls valid says the warnings the import gives it (the texts it
    mends, the turns it leaves out of training), the same words as the Warnings column;
    a clean file says nothing more. It said only "valid"."""
    clean = FIXTURES / "legacy" / "c-alpha-build_v3.4-LoRA-FP-convo-01-complete.json"
    assert main(["validate", str(NUL), str(WINDOWS), str(clean)]) == 0
    lines = capsys.readouterr().out.splitlines()
    with _import(tmp_path / "lib", NUL, WINDOWS) as library:
        said = {row.conversation_id: row.warnings_text.splitlines()
                for row in library.summaries()}
    assert lines[0].startswith(f"valid    {NUL}")
    assert lines[1] == ("    imported, it gets these warnings (the window's Warnings column): "
                        + "; ".join(said[NUL_ID]))
    assert "1 × U+0000" in lines[1]
    assert lines[2].startswith(f"valid    {WINDOWS}")
    listed = lines[3].split(": ", 1)[1]
    assert len(said[WINDOWS_ID]) == 8  # six said, then how many more
    assert listed == "; ".join(said[WINDOWS_ID][:6]) + "; and 2 more"
    assert lines[4].startswith(f"valid    {clean}") and len(lines) == 5
