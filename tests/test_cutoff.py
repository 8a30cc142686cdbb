"""Cut-off turns are never training targets (unless a file insists), in every export."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from hostile_corpus import cut_in_the_middle
from stored import stored_files

from app.cli import main
from app.cut_off_rule import looks_cut_off
from app.cutoff import CutOffPolicy, trained_view
from app.export import FORMATS, ExportFormat, export
from app.importer import import_paths
from app.library import Library
from app.loader import load_conversation_file
from app.trainingfiles import (
    add_conversations,
    file_replies_left_out,
    get_training_file,
    header,
    replies_left_out,
    set_cut_off_policy,
)
from app.validate import validate_path

LINE_FORMATS = [f for f in ExportFormat
                if f is not ExportFormat.JSON and not FORMATS[f].writes_folder]
PER_REPLY_FORMATS = (ExportFormat.PER_REPLY.value, ExportFormat.SPLIT_PER_REPLY.value)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


def _exported(library: Library, name: str, tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for fmt in LINE_FORMATS:
        target = tmp_path / f"{name}-{fmt.value}.jsonl"
        export(library, name, fmt, target)
        found[fmt.value] = _lines(target)
    folder = tmp_path / f"{name}-split"
    train, valid = export(library, name, ExportFormat.SPLIT, folder, 0.2)[:2]
    found["split"] = _lines(train) + _lines(valid)
    folder = tmp_path / f"{name}-split-per-reply"
    train, valid = export(library, name, ExportFormat.SPLIT_PER_REPLY, folder, 0.2)[:2]
    found[ExportFormat.SPLIT_PER_REPLY.value] = _lines(train) + _lines(valid)
    return found


def _targets(line: dict[str, Any], per_reply: bool) -> list[dict[str, Any]]:
    """The messages a trainer learns from in a line of a given export."""
    messages = line["messages"]
    if per_reply:
        return [messages[-1]]
    return [m for m in messages if m["role"] == "assistant" and m.get("weight", 1) == 1]


def _assert_alternates_and_ends_on_a_target(line: dict[str, Any]) -> None:
    roles = [m["role"] for m in line["messages"]]
    assert roles[0] == "system"
    assert roles[1:] == ["user", "assistant"] * (len(roles[1:]) // 2)
    assert line["messages"][-1].get("weight", 1) == 1


@pytest.fixture
def all_in(filled_library: Library, tmp_path: Path) -> Library:
    assert import_paths(filled_library, [cut_in_the_middle(tmp_path)]).imported == 1
    ids = [row.conversation_id for row in filled_library.summaries()]
    for policy in CutOffPolicy:
        # Every conversation in each file: an add leaves out those the policy trains
        # nothing of, a later policy change keeps them (the full JSON shows them).
        # Lines written whole: only the cut-off policy leaves replies out here.
        add_conversations(filled_library, policy.value, ids, create=True,
                          cut_off_policy=CutOffPolicy.KEEP, over_budget="keep")
        set_cut_off_policy(filled_library, policy.value, policy)
    return filled_library


@pytest.mark.parametrize("policy", ["trim", "weight0"])
def test_cut_off_replies_are_never_targets_in_any_export(
    all_in: Library, tmp_path: Path, policy: str
) -> None:
    exported = _exported(all_in, policy, tmp_path)
    for fmt, lines in exported.items():
        assert lines, fmt
        for line in lines:
            _assert_alternates_and_ends_on_a_target(line)
            for target in _targets(line, per_reply=fmt in PER_REPLY_FORMATS):
                assert looks_cut_off(target["content"]) is None, (fmt, target["content"][-40:])


def test_keep_trains_cut_off_replies_as_before(all_in: Library, tmp_path: Path) -> None:
    lines = _exported(all_in, "keep", tmp_path)["jsonl"]
    targets = [m for line in lines for m in _targets(line, per_reply=False)]
    assert sum(1 for m in targets if looks_cut_off(m["content"])) == 5  # 4 real + 1 made
    assert len(lines) == len(ENRICHED) + len(LEGACY) + 1


def test_weight0_keeps_cut_off_replies_as_untrained_context(all_in: Library) -> None:
    info = get_training_file(all_in, "weight0")
    lines = _lines(stored_files(all_in, info.name).jsonl_path)
    weights = [m["weight"] for line in lines for m in line["messages"]
               if m["role"] == "assistant"]
    assert 0 in weights and 1 in weights
    for line in lines:
        for message in line["messages"]:
            assert ("weight" in message) == (message["role"] == "assistant")
            if message["role"] == "assistant" and looks_cut_off(message["content"]):
                assert message["weight"] == 0
        listed = [r["message_index"] for r in line["metadata"]["replies"]]
        assert listed == [i for i, m in enumerate(line["messages"]) if m.get("weight") == 1]
    assert validate_path(stored_files(all_in, info.name).jsonl_path).ok


def test_headers_count_what_each_policy_leaves_out(all_in: Library) -> None:
    every = sum(row.trainable_replies for row in all_in.summaries())
    heads = {p.value: header(all_in, p.value) for p in CutOffPolicy}
    for policy, head in heads.items():
        totals = head["totals"]
        assert head["cut_off_policy"] == policy
        assert totals["trainable_replies"] + totals["replies_left_out"] == every
        by_reason = head["quality_summary"]["replies_left_out_by_reason"]
        assert sum(by_reason.values()) == totals["replies_left_out"]
    assert heads["keep"]["totals"]["replies_left_out"] == 0
    assert heads["weight0"]["quality_summary"]["replies_left_out_by_reason"] == {
        "reply_cut_off": 5}
    # trim: three conversations are cut off in their very first reply and give no line
    assert heads["trim"]["quality_summary"]["conversations_without_trained_reply"] == 3
    assert heads["trim"]["totals"]["jsonl_lines"] == len(ENRICHED) + len(LEGACY) - 2
    assert heads["weight0"]["totals"]["jsonl_lines"] == len(ENRICHED) + len(LEGACY) - 1
    assert heads["trim"]["totals"]["trainable_replies"] < heads["weight0"]["totals"][
        "trainable_replies"]


def test_left_out_per_conversation_for_the_review_and_the_details(all_in: Library) -> None:
    by_file = file_replies_left_out(all_in, "trim")
    records = {cid: all_in.record(cid) for cid in by_file}
    assert len(by_file) == 3  # single-convo files 1 and 3, and the one cut in the middle
    for cid, counts in by_file.items():
        view = trained_view(records[cid], "trim")
        assert counts == dict(view.left_out)
    ids = [row.conversation_id for row in all_in.summaries()]
    assert replies_left_out(all_in, ids, "keep") == {}
    assert replies_left_out(all_in, ids, "trim") == by_file


def test_trim_on_a_real_file_stops_before_the_first_cut() -> None:
    record = load_conversation_file(ENRICHED[3])  # single-convo-file-1: reply 1 is cut off
    assert ENRICHED[3].name == "single-convo-file-1.json"
    view = trained_view(record, "trim")
    assert view.messages == [] and view.trained_replies == 0
    assert dict(view.left_out) == {"reply_cut_off": 2}
    # weight0 gives the same: both replies are cut off themselves (the second also answers
    # a cut-off client message; its own cut is the reason given)
    assert dict(trained_view(record, "weight0").left_out) == {"reply_cut_off": 2}


def test_changing_the_policy_rebuilds_and_cli_sets_it(all_in: Library, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = get_training_file(all_in, "keep")
    info = set_cut_off_policy(all_in, "keep", "trim")
    assert info.cut_off_policy == "trim"
    assert info.trainable_replies < before.trainable_replies
    assert header(all_in, "keep")["cut_off_policy"] == "trim"
    with pytest.raises(Exception, match="not a cut-off policy"):
        set_cut_off_policy(all_in, "keep", "sometimes")
    all_in.close()
    capsys.readouterr()
    data_dir = str(all_in.root)
    assert main(["--data-dir", data_dir, "set", "keep", "--cut-off-policy", "weight0"]) == 0
    assert "now uses cut-off policy weight0" in capsys.readouterr().out
    assert main(["--data-dir", data_dir, "files", "--json"]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {r["name"]: r["cut_off_policy"] for r in rows}["keep"] == "weight0"
    ids = [r["conversation_id"] for r in map(orjson.loads, _cli_out(data_dir, capsys,
                                                      "conversations", "--json"))]
    assert main(["--data-dir", data_dir, "add", "Kept", "--new", "--cut-off-policy", "keep",
                 *ids[:3]]) == 0
    capsys.readouterr()
    assert main(["--data-dir", data_dir, "files", "--json"]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {r["name"]: r["cut_off_policy"] for r in rows}["Kept"] == "keep"
    assert main(["--data-dir", data_dir, "add", "Kept", "--cut-off-policy", "trim",
                 ids[4]]) == 1
    assert "needs --new" in capsys.readouterr().err


def _cli_out(data_dir: str, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["--data-dir", data_dir, *args]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("policy", list(CutOffPolicy))
def test_a_per_reply_line_marks_only_its_last_reply_as_trained(
    all_in: Library, tmp_path: Path, policy: CutOffPolicy
) -> None:
    """A trainer that reads the weight learns each reply once, not once per later line."""
    target = tmp_path / f"{policy.value}.per-reply.jsonl"
    export(all_in, policy.value, ExportFormat.PER_REPLY, target)
    learned: Counter[tuple[str, int]] = Counter()
    for line in _lines(target):
        messages = line["messages"]
        replies = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        assert [messages[i]["weight"] for i in replies] == [0] * (len(replies) - 1) + [1]
        assert all("weight" not in m for m in messages if m["role"] != "assistant")
        (reply,) = line["metadata"]["replies"]
        assert reply["message_index"] == replies[-1] == len(messages) - 1
        learned[(line["metadata"]["conversation_id"], replies[-1])] += 1
    assert set(learned.values()) == {1}
    assert len(learned) == header(all_in, policy.value)["totals"]["trainable_replies"]
    assert validate_path(target).ok


def test_trainable_replies_count_the_assistant_messages_not_weighted_0(
    all_in: Library,
) -> None:
    """What schemas/README.md says of the header's totals, under every policy."""
    for policy in CutOffPolicy:
        info = get_training_file(all_in, policy.value)
        lines = _lines(stored_files(all_in, info.name).jsonl_path)
        assistant = [m for line in lines for m in line["messages"] if m["role"] == "assistant"]
        trained = [m for m in assistant if m.get("weight", 1) != 0]
        totals = header(all_in, policy.value)["totals"]
        assert (totals["jsonl_lines"], totals["trainable_replies"]) == (
            len(lines), len(trained)), policy
        # under weight0 a line may hold more assistant messages than it trains
        assert (len(assistant) > len(trained)) == (policy is CutOffPolicy.WEIGHT0), policy
