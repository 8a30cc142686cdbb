"""A line over its file's token budget ends at its last whole reply that fits (the ``fit``
over-budget setting), counted with the real tokenizer and chat template; the full JSON
keeps the whole conversation and the header's totals stay true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from conftest import ENRICHED
from test_tokens import independent_count

from app.build import BuildResult, write_records
from app.cutoff import trained_view
from app.loader import load_conversation_file

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
