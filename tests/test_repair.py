"""Literal escape sequences left by the generator are repaired in the record, and only those."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import orjson
from conftest import FIXTURES
from hostile_corpus import conversation, dump
from hypothesis import assume, example, given
from hypothesis import strategies as st
from stored import stored_files

from app.importer import import_paths
from app.library import Library
from app.loader import load_conversation_file, record_from_bytes
from app.repair import PATH_START, WINDOWS_PATH, _may_hold_path, is_double_escaped, repair_text
from app.trainingfiles import add_conversations, header, set_cut_off_policy

ESCAPED = FIXTURES / "enriched" / "single-convo-file-2.json"  # \n\n and \" throughout
CLEAN = FIXTURES / "enriched" / "enriched-1.json"  # real newlines, no escapes


def _texts(record: dict) -> list[str]:
    return [m["content"] for m in record["messages"]]


def test_escaped_fixture_is_repaired_and_says_where() -> None:
    raw = json.loads(ESCAPED.read_text(encoding="utf-8"))
    reply = raw["training_pairs"][1]["target_response"]
    assert "\\n\\n" in reply and '\\"should have\\"' in reply  # the real leftover
    record = load_conversation_file(ESCAPED)
    repaired = record["messages"][2]["content"]
    assert "\\" not in repaired
    assert "\n\nI hear the weight of that \"should have\" language" in repaired
    assert repaired == reply.replace("\\n", "\n").replace('\\"', '"')
    notes = [w for w in record["quality"]["warnings"] if w["code"] == "text_repaired"]
    newline, quote = "\\n", '\\"'
    expected = []
    for pair in raw["training_pairs"]:
        text = pair["target_response"] or ""
        if "\\" in text:
            counts = f"{text.count(newline)} × {newline}, {text.count(quote)} × {quote}"
            expected.append((pair["turn_number"], "reply: repaired " + counts))
    assert len(expected) == 2
    assert [(w["turn_number"], w["message"]) for w in notes] == expected
    # history copies were repaired too, so no false history_mismatch appears
    assert "history_mismatch" not in {w["code"] for w in record["quality"]["warnings"]}


def test_clean_fixtures_are_untouched() -> None:
    for path in [*sorted((FIXTURES / "legacy").glob("*.json")), CLEAN]:
        document = json.loads(path.read_text(encoding="utf-8"))
        record = load_conversation_file(path)
        originals = {p["current_user_input"] for p in document["training_pairs"]} | {
            p["target_response"] for p in document["training_pairs"] if p["target_response"]}
        for text in _texts(record)[1:]:
            assert text in originals or "\n\n" in text  # merged turns are joined by \n\n
        assert "text_repaired" not in {w["code"] for w in record["quality"]["warnings"]}


def test_a_cut_off_escape_keeps_its_backslash_as_the_mark_of_the_cut() -> None:
    record = load_conversation_file(FIXTURES / "enriched" / "single-convo-file-1.json")
    first_reply = record["messages"][2]["content"]
    assert first_reply.endswith("someone who \\")
    assert "\\n" not in first_reply
    codes = [w["code"] for w in record["quality"]["warnings"]]
    assert {"text_repaired", "reply_cut_off", "client_cut_off"} <= set(codes)


def test_legitimate_backslashes_stay() -> None:
    document = conversation("fp_conversation_paths")
    pairs = document["training_pairs"]
    path_text = "I saved it as C:\\new\\taxes.xlsx and D:\\temp\\notes.txt."
    code_text = "My spreadsheet splits cells on \\n and \\t, is that a problem?"
    pairs[0]["current_user_input"] = pairs[1]["current_user_input"] = path_text
    pairs[2]["current_user_input"] = pairs[3]["current_user_input"] = code_text
    record = record_from_bytes(dump(document), "paths.json")
    assert path_text in _texts(record)
    assert code_text in _texts(record)
    assert "text_repaired" not in {w["code"] for w in record["quality"]["warnings"]}


def test_paths_keep_their_backslashes_in_a_repaired_conversation() -> None:
    document = conversation("fp_conversation_mixed")
    pairs = document["training_pairs"]
    text = 'It is in C:\\new\\taxes.xlsx.\\n\\nMy advisor said \\"wait\\".'
    pairs[0]["current_user_input"] = pairs[1]["current_user_input"] = text
    record = record_from_bytes(dump(document), "mixed.json")
    assert 'It is in C:\\new\\taxes.xlsx.\n\nMy advisor said "wait".' in _texts(record)


def test_escaped_backslash_is_read_before_the_letter_after_it() -> None:
    assert repair_text('a \\\\n b \\"c\\"') == ('a \\n b "c"', {"\\": 1, '"': 2})


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"),
                             exclude_characters=":") | st.sampled_from(["\n", "\t", '"', "\\"]),
               max_size=80))
@example("\\0\n")  # found by hypothesis: reads as a UNC path once escaped
def test_repair_undoes_one_round_of_json_escaping(text: str) -> None:
    escaped = json.dumps(text, ensure_ascii=False)[1:-1] + ' \\"end\\"'
    # An escaped backslash before a letter can read as a raw UNC path (\\0\\n): paths keep
    # their backslashes by design (see the path tests above), so such texts are no case here.
    assume(WINDOWS_PATH.search(escaped) is None)
    assert is_double_escaped([escaped])
    assert repair_text(escaped)[0] == text + ' "end"'


def test_unicode_escapes_are_decoded_where_the_conversation_is_escaped_twice() -> None:
    """\\uXXXX in a conversation that shows the other signs: decoded, a surrogate pair as
    one character; half a pair, or too few digits, is left as it is."""
    document = json.loads(ESCAPED.read_text(encoding="utf-8"))
    pair = document["training_pairs"][1]
    reply = pair["target_response"]
    pair["target_response"] = ("It\\u2019s a start \\ud83d\\ude00, not \\ud83d alone "
                               "or \\u20ac5 but \\u20.\\n\\n" + reply)
    record = record_from_bytes(dump(document), ESCAPED.name)
    repaired = record["messages"][2]["content"]
    assert repaired.startswith("It\u2019s a start \U0001f600, not \\ud83d alone or "
                               "\u20ac5 but \\u20.\n\n")
    note = next(w["message"] for w in record["quality"]["warnings"]
                if w["code"] == "text_repaired" and w["turn_number"] == pair["turn_number"]
                and w["message"].startswith("reply:"))
    newline, quote = "\\n", '\\"'
    assert note == (f"reply: repaired {reply.count(newline) + 2} × {newline}, "
                    f"{reply.count(quote)} × {quote}, 3 × \\uXXXX")
    orjson.dumps(record)  # no lone surrogate made it into the record


def test_unicode_escapes_stay_where_nothing_else_is_escaped() -> None:
    """A conversation with no other sign may talk about \\u2019 on purpose."""
    document = json.loads(CLEAN.read_text(encoding="utf-8"))
    text = "My export shows \\u2019 where the apostrophes were, and \\ud83d\\ude00 too."
    for pair in document["training_pairs"][:2]:
        pair["current_user_input"] = text
    record = record_from_bytes(dump(document), CLEAN.name)
    assert text in _texts(record)
    assert "text_repaired" not in {w["code"] for w in record["quality"]["warnings"]}


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"),
                             exclude_characters=":") | st.sampled_from(["\n", "\t", '"', "\\"]),
               max_size=80))
def test_repair_undoes_one_round_of_ascii_json_escaping(text: str) -> None:
    """The same with every other character written as \\uXXXX (a surrogate pair beyond
    the first plane), as ``json.dumps`` does by default."""
    escaped = json.dumps(text)[1:-1] + ' \\"end\\"'
    assume(WINDOWS_PATH.search(escaped) is None)
    assert is_double_escaped([escaped])
    assert repair_text(escaped)[0] == text + ' "end"'


def info_lines(library: Library, name: str) -> list[dict]:
    path = stored_files(library, name).jsonl_path
    assert path is not None
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines()]


def test_import_never_touches_the_source_and_counts_repairs(library: Library,
                                                            tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for path in (ESCAPED, CLEAN, FIXTURES / "enriched" / "single-convo-file-3.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    report = import_paths(library, [folder])
    assert report.imported == 3
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert before == after
    rows = {r.source_file: r for r in library.summaries()}
    assert "text_repaired" in rows[ESCAPED.name].warning_codes
    assert "text_repaired" not in rows[CLEAN.name].warning_codes
    assert library.repaired_count() == 2
    # single-convo-file-3 is cut off in its first reply: an add under trim leaves it out,
    # a later change of policy keeps it as a member
    add_conversations(library, "All", [r.conversation_id for r in rows.values()], create=True,
                      cut_off_policy="keep")
    set_cut_off_policy(library, "All", "trim")
    head = header(library, "All")
    assert head["quality_summary"]["repaired_conversations"] == 2
    assert head["quality_summary"]["warnings_by_code"]["text_repaired"] == 2
    stored = library.record(rows[ESCAPED.name].conversation_id)
    assert not any("\\" in m["content"] for m in stored["messages"])
    lines = info_lines(library, "All")
    assert not any("\\" in m["content"] for line in lines for m in line["messages"])


@given(st.text(st.sampled_from(list('ab C:\\\\n."\t_1é')), max_size=40))
@example("plan:\\nC:\\new \\\\server\\share")
def test_the_quick_path_test_agrees_with_the_regex(text: str) -> None:
    """``_may_hold_path`` tries PATH_START only where its fixed characters are; it must
    say yes exactly when a search of the whole text would find a path's start."""
    assert _may_hold_path(text) == (PATH_START.search(text) is not None)
    if not _may_hold_path(text):
        assert WINDOWS_PATH.search(text) is None
