"""The add review calls a conversation over the budget exactly when the file it is added to
writes its line over the budget: the line under the file's own cut-off policy (a trimmed
line is shorter than a weight0 or keep line) and its own over-budget setting (``fit`` ends a
line at its last whole reply that fits), not the default policy's line the library counts."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hostile_corpus import cut_in_the_middle
from stored import stored_bytes

from app.importer import import_paths
from app.jsonl import jsonl_lines
from app.library import Library
from app.tokens import default_counter
from app.trainingfiles import add_conversations, apply_addition, change_settings, plan_addition

SECOND_REPLY = 3  # the training pair of the base fixture's second reply
SEED = "financial_planning"  # the file is made with a legacy conversation first


def _built_over(library: Library, name: str, limit: int) -> set[str]:
    """The conversations whose line the built file holds over ``limit`` tokens."""
    jsonl = stored_bytes(library, name)[1]
    lines = [orjson.loads(raw) for raw in jsonl.splitlines()]
    return {line["metadata"]["conversation_id"] for line in lines
            if line["metadata"]["token_count"] > limit}


@pytest.fixture
def cut_later(filled_library: Library, tmp_path: Path) -> Library:
    """The fixtures and a real conversation whose second reply is cut off: trim trains its
    first reply only, weight0 and keep write all three."""
    made = cut_in_the_middle(tmp_path, "second_cut", "second-cut.json", pair=SECOND_REPLY)
    assert import_paths(filled_library, [made]).imported == 1
    return filled_library


@pytest.mark.parametrize(("policy", "setting", "limit"), [
    ("weight0", "keep", 1024), ("keep", "keep", 1024), ("keep", "fit", 550),
    ("trim", "keep", 1024), ("trim", "fit", 550), ("weight0", "fit", 1024)])
def test_the_review_flags_exactly_the_lines_the_file_writes_over_its_budget(
        cut_later: Library, policy: str, setting: str, limit: int) -> None:
    ids = [row.conversation_id for row in cut_later.summaries()]
    seed = next(cid for cid in ids if cid.startswith(SEED))
    add_conversations(cut_later, "F", [seed], create=True, cut_off_policy=policy,
                      over_budget=setting)
    change_settings(cut_later, "F", max_seq_len=limit)
    plan = plan_addition(cut_later, "F", [cid for cid in ids if cid != seed])
    assert (plan.cut_off_policy, plan.over_budget_setting) == (policy, setting)
    apply_addition(cut_later, plan)
    built = _built_over(cut_later, "F", limit) - {seed}
    assert built  # the budget is small enough that some lines stay over it
    assert plan.over_budget == built


def test_a_line_only_the_files_policy_makes_too_long_is_flagged(cut_later: Library) -> None:
    """The library's count (the default policy's, trim) of the second-cut conversation fits
    1,024 tokens; the weight0 line, with its cut reply as context and the third reply,
    does not."""
    cid = next(row.conversation_id for row in cut_later.summaries()
               if row.conversation_id.endswith("second_cut"))
    record = cut_later.record(cid)
    counter = default_counter()
    trimmed, = (line["messages"] for line in jsonl_lines(record, "", "trim"))
    weighted, = (line["messages"] for line in jsonl_lines(record, "", "weight0"))
    assert counter.count(trimmed) <= 1024 < counter.count(weighted)
    seed = next(row.conversation_id for row in cut_later.summaries()
                if row.conversation_id.startswith(SEED))
    add_conversations(cut_later, "W", [seed], create=True, cut_off_policy="weight0",
                      over_budget="keep")
    change_settings(cut_later, "W", max_seq_len=1024)
    plan = plan_addition(cut_later, "W", [cid])
    assert plan.new == (cid,) and plan.over_budget == {cid}
