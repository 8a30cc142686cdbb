"""A line over its file's token budget ends at its last whole reply that fits (the ``fit``
over-budget setting), counted with the real tokenizer and chat template; the full JSON
keeps the whole conversation and the header's totals stay true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED
from stored import stored_bytes
from test_tokens import independent_count

from app.budget_fit import reply_ends
from app.budget_words import over_budget_sentence
from app.build import BuildResult, write_records
from app.cli import main
from app.cutoff import trained_view
from app.jsonl import jsonl_lines
from app.library import Library
from app.loader import load_conversation_file
from app.schemas import FULL_SCHEMA, JSONL_SCHEMA, validator
from app.tokens import default_counter
from app.trainingfiles import (
    add_conversations,
    change_settings,
    get_training_file,
    header,
    plan_addition,
    set_max_seq_len,
)

WHEN = "2026-01-01T00:00:00Z"
ENRICHED_1 = next(p for p in ENRICHED if p.name == "enriched-1.json")  # 5,252 tokens
SHORTER = [p for p in ENRICHED if p.name in (
    "david-chen-confusion-clarity-mortgage-enriched-scaffolds.json", "enriched-2.json")]


def _write(tmp_path: Path, over_budget: str, max_seq_len: int,
           paths: list[Path]) -> tuple[BuildResult, list[dict[str, Any]], dict[str, Any]]:
    records = [load_conversation_file(p, "b") for p in paths]
    folder = tmp_path / over_budget
    folder.mkdir()
    result = write_records(folder / "f.json", folder / "f.jsonl", name="f", records=records,
                           created_at=WHEN, updated_at=WHEN, max_seq_len=max_seq_len,
                           over_budget=over_budget)
    lines = [orjson.loads(raw) for raw in result.jsonl_path.read_bytes().splitlines()]
    return result, lines, orjson.loads(result.json_path.read_bytes())


def _roles(line: dict[str, Any]) -> list[str]:
    return [m["role"] for m in line["messages"]]


def test_a_line_over_the_budget_ends_at_its_last_whole_reply_that_fits(
        tmp_path: Path) -> None:
    kept, kept_lines, kept_full = _write(tmp_path, "keep", 4096, [ENRICHED_1])
    fitted, fitted_lines, fitted_full = _write(tmp_path, "fit", 4096, [ENRICHED_1])
    whole, = kept_lines
    line, = fitted_lines
    assert whole["metadata"]["token_count"] == 5252  # over 4,096: a trainer would cut it
    # Four replies; the first three render to 3,909 tokens, all four to 5,252.
    assert _roles(whole) == ["system"] + ["user", "assistant"] * 4
    assert line["messages"] == whole["messages"][:7]
    _text, exact = independent_count("mistral", line["messages"])
    assert line["metadata"]["token_count"] == exact == 3909
    assert line["metadata"]["replies"] == whole["metadata"]["replies"][:3]
    assert line["metadata"]["left_out_replies"] == 1
    # The full JSON keeps the whole conversation: only its header differs.
    assert fitted_full["conversations"] == kept_full["conversations"]
    head, kept_head = fitted_full["training_file_metadata"], kept.header
    assert head == fitted.header
    assert head["tokens"]["total"] == head["tokens"]["max"] == 3909
    assert head["tokens"]["lines_over_max_seq_len"] == 0
    assert kept_head["tokens"]["lines_over_max_seq_len"] == 1
    assert head["totals"]["trainable_replies"] == kept_head["totals"]["trainable_replies"] - 1
    assert head["totals"]["replies_left_out"] == 1
    assert head["quality_summary"]["replies_left_out_by_reason"] == {"over_token_budget": 1}
    record = load_conversation_file(ENRICHED_1, "b")
    chars = sum(len(m["content"]) for m in line["messages"])
    assert head["totals"]["estimated_tokens"] == chars // 4
    assert trained_view(record, "trim").trained_replies == 4  # nothing was cut off
    # Both files are what the schemas describe, the setting recorded in the header.
    assert head["over_budget"] == "fit" and "over_budget" not in kept_head
    assert list(head)[list(head).index("cut_off_policy") + 1] == "over_budget"
    assert [e.message for e in validator(FULL_SCHEMA).iter_errors(fitted_full)] == []
    assert [e.message for e in validator(JSONL_SCHEMA).iter_errors(line)] == []


def test_a_small_budget_fits_each_line_and_leaves_one_whose_first_reply_does_not_fit(
        tmp_path: Path) -> None:
    paths = [ENRICHED_1, *SHORTER]
    _kept, kept_lines, _ = _write(tmp_path, "keep", 1024, paths)
    fitted, lines, _ = _write(tmp_path, "fit", 1024, paths)
    # enriched-1's first reply alone is 1,153 tokens: its line stays whole, still reported.
    assert lines[0] == kept_lines[0]
    assert lines[0]["metadata"]["token_count"] == 5252
    for line, whole in zip(lines[1:], kept_lines[1:], strict=True):
        assert whole["metadata"]["token_count"] > 1024
        assert line["messages"] == whole["messages"][:3]  # system, client, first reply
        assert line["metadata"]["token_count"] == independent_count(
            "mistral", line["messages"])[1] <= 1024
        assert line["metadata"]["left_out_replies"] == 2
    tokens = fitted.header["tokens"]
    assert tokens["lines_over_max_seq_len"] == 1
    assert tokens["total"] == sum(line["metadata"]["token_count"] for line in lines)
    assert fitted.header["totals"]["trainable_replies"] == 4 + 1 + 1
    assert fitted.header["quality_summary"]["replies_left_out_by_reason"] == {
        "over_token_budget": 4}


def test_keep_writes_every_line_whole_as_before(tmp_path: Path) -> None:
    default = write_records(tmp_path / "d.json", tmp_path / "d.jsonl", name="f",
                            records=[load_conversation_file(ENRICHED_1, "b")],
                            created_at=WHEN, updated_at=WHEN, max_seq_len=1024)
    kept, _lines, _ = _write(tmp_path, "keep", 1024, [ENRICHED_1])
    assert default.jsonl_path.read_bytes() == kept.jsonl_path.read_bytes()


def _enriched_1_id(library: Library) -> str:
    return next(row.conversation_id for row in library.summaries()
                if row.source_file.startswith("enriched-1"))


def test_a_new_file_fits_its_lines_and_the_command_line_sets_it(
        filled_library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    cid = _enriched_1_id(filled_library)
    info = add_conversations(filled_library, "Fitted", [cid], create=True)
    assert info.over_budget == "fit"  # new files: what trains well
    head = header(filled_library, "Fitted")
    assert head["tokens"]["max"] == 3909 and head["tokens"]["lines_over_max_seq_len"] == 0
    assert info.trainable_replies == 3
    line, = stored_bytes(filled_library, "Fitted")[1].splitlines()
    assert orjson.loads(line)["metadata"]["left_out_replies"] == 1
    filled_library.close()
    data = ["--data-dir", str(filled_library.root)]
    capsys.readouterr()
    assert main([*data, "set", "Fitted", "--over-budget", "keep"]) == 0
    out = capsys.readouterr().out
    assert "'Fitted': cut-off replies: Trim; length limit 4,096 tokens. Lines over the " \
        "limit are written whole. The only line" in out
    assert out.rstrip().endswith("The change brought back 1 reply that was left out (now "
                                 "trained).")
    assert "longer than its length limit of 4,096 tokens" in out  # reported
    assert ('end each such line at its last whole reply that fits (lora-studio set "Fitted" '
            "--over-budget fit), or remove") in out  # and the one command that fixes it
    assert main([*data, "add", "Whole", "--new", "--over-budget", "keep", cid]) == 0
    assert main([*data, "add", "Whole", "--over-budget", "fit", cid]) == 1
    assert "--over-budget with add needs --new" in capsys.readouterr().err
    assert main([*data, "set", "Whole", "--over-budget", "fit"]) == 0
    assert capsys.readouterr().out == (
        "Rebuilt 'Whole': cut-off replies: Trim; length limit 4,096 tokens. Every line fits: "
        "1 long conversation was shortened to fit (its last reply is left out of the JSONL; "
        "the full JSON keeps it). The change left out 1 reply (it was trained before).\n")
    assert main([*data, "set", "Whole"]) == 1
    assert "set needs a setting to change" in capsys.readouterr().err
    capsys.readouterr()
    assert main([*data, "files", "--json"]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {r["name"]: r["over_budget"] for r in rows} == {"Fitted": "keep", "Whole": "fit"}


def test_the_add_review_names_only_the_lines_that_stay_over_the_budget(
        filled_library: Library) -> None:
    """Under fit a conversation is over the budget only when its first reply alone does
    not fit: the others' lines end early and fit."""
    ids = [row.conversation_id for row in filled_library.summaries()]
    cid = _enriched_1_id(filled_library)
    fitting = plan_addition(filled_library, "New", ids, create=True)
    whole = plan_addition(filled_library, "New", ids, create=True, over_budget="keep")
    assert fitting.over_budget_setting == "fit" and whole.over_budget_setting == "keep"
    assert cid in whole.over_budget and fitting.over_budget == frozenset()
    add_conversations(filled_library, "Small", [cid], create=True)
    set_max_seq_len(filled_library, "Small", 1024)
    others = [i for i in ids if i != cid]
    plan = plan_addition(filled_library, "Small", others)
    assert plan.over_budget == frozenset()  # each first reply fits in 1,024 tokens
    change_settings(filled_library, "Small", over_budget="keep")
    assert plan_addition(filled_library, "Small", others).over_budget  # whole: over
    change_settings(filled_library, "Small", max_seq_len=700, over_budget="fit")
    counter = default_counter()  # the library's: the bundled tokenizer and template
    first_over = set()
    for other in plan.new:
        record = filled_library.record(other)
        line, = (line["messages"] for line in jsonl_lines(record, "Small"))
        if counter.count(line[:reply_ends(line)[0]]) > 700:
            first_over.add(other)
    assert 0 < len(first_over) < len(plan.new)  # some first replies fit in 700, some not
    assert plan_addition(filled_library, "Small", others).over_budget == first_over


def test_the_fit_advice_is_given_only_to_a_file_that_writes_its_lines_whole() -> None:
    head = {"tokens": {"lines_over_max_seq_len": 1, "max_seq_len": 1024, "max": 2000},
            "totals": {"jsonl_lines": 3}}
    kept = over_budget_sentence("Mine", head)
    assert kept is not None and ('lora-studio max-len "Mine" 2000), end each such line at '
                                 'its last whole reply that fits (lora-studio set "Mine" '
                                 "--over-budget fit), or remove the longest") in kept
    fitted = over_budget_sentence("Mine", {**head, "over_budget": "fit"})
    assert fitted is not None and "--over-budget" not in fitted  # a first reply too long
    assert "its first reply alone is longer" in fitted  # written whole, and why
    assert "2000) or remove those conversations" in fitted
    window = over_budget_sentence("Mine", head, "Settings…", "A longer line")
    assert window is not None and "tokens: Settings…), end each such line" in window
    assert "fits (A longer line), or remove" in window


@pytest.mark.parametrize("over_budget", ["keep", "fit"])
def test_no_advice_to_raise_the_limit_to_a_length_nobody_trains(over_budget: str) -> None:
    """A line of a million tokens (one pasted reply) is removed, not trained: the advice
    to raise the limit to its length stops at 32,768 tokens."""
    head = {"tokens": {"lines_over_max_seq_len": 1, "max_seq_len": 4096, "max": 1_041_781},
            "totals": {"jsonl_lines": 14}, "over_budget": over_budget}
    said = over_budget_sentence("Mine", head)
    assert said is not None and "max-len" not in said and "Raise the limit" not in said
    assert ("Its longest line has 1,041,781 tokens, more than a training run takes as one "
            "sequence (over 32,768), so raising the limit is no way out. Keep the limit") in said
    assert said.endswith("or remove those conversations from it." if over_budget == "fit"
                         else "or remove the longest conversations from it.")
    at_most = over_budget_sentence("Mine", {**head, "tokens": {**head["tokens"],
                                                                "max": 32_768}})
    assert at_most is not None and 'Raise the limit (its longest line has 32,768 tokens: ' \
        'lora-studio max-len "Mine" 32768)' in at_most


def test_max_len_and_set_say_what_the_window_says_with_the_replies_the_change_left_out(
        filled_library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    """audit57 W1: `max-len F 2048` on a file that fits its lines said "every line of 'F'
    fits in it" while it had just left replies out of the JSONL. It says what the window
    says after Settings… (one source of words), with the replies the change left out, and
    brought back when the limit grows again."""
    from app.settings_words import settings_sentence

    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Fit", ids, create=True)
    before = header(filled_library, "Fit")
    fitted_before = before["quality_summary"]["replies_left_out_by_reason"].get(
        "over_token_budget", 0)
    filled_library.close()
    data = ["--data-dir", str(filled_library.root)]
    capsys.readouterr()
    assert main([*data, "max-len", "Fit", "2048"]) == 0
    out = capsys.readouterr().out
    with Library.open(filled_library.root, read_only=True) as library:
        head, info = header(library, "Fit"), get_training_file(library, "Fit")
    fitted = head["quality_summary"]["replies_left_out_by_reason"]["over_token_budget"]
    assert fitted > fitted_before and head["tokens"]["lines_over_max_seq_len"] == 0
    assert info.trainable_replies == before["totals"]["trainable_replies"] - (
        fitted - fitted_before)
    assert (fitted_before, fitted) == (1, 9)  # the fixtures' long conversations
    assert out == (
        "Rebuilt 'Fit': cut-off replies: Trim; length limit 2,048 tokens. Every line fits: "
        "long conversations were shortened to fit (9 replies at their ends are left out of "
        "the JSONL; the full JSON keeps them). The change left out 8 more replies (they "
        "were trained before).\n")
    assert out.rstrip("\n") == settings_sentence("Fit", "trim", 2048, "fit", head,
                                                 fitted_before)  # the window's words
    assert "fits in it" not in out

    assert main([*data, "set", "Fit", "--max-seq-len", "4096"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("keeps it). The change brought back 8 replies that were left out "
                        "(now trained).\n")
    with Library.open(filled_library.root, read_only=True) as library:
        assert get_training_file(library, "Fit").max_seq_len == 4096
