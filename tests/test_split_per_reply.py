"""The split with one line per reply: the split's conversations on each side, each written as
the one-line-per-reply download writes it, for trainers that learn only a line's last
reply and evaluate (MLX-LM with mask_prompt reads only train.jsonl and valid.jsonl)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import main
from app.export import ExportFormat, export
from app.library import Library
from app.trainingfiles import add_conversations


@pytest.fixture
def trim(filled_library: Library) -> Library:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Trim", ids, create=True)
    return filled_library


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


def _ids(lines: list[dict[str, Any]]) -> list[str]:
    return [line["metadata"]["conversation_id"] for line in lines]


def test_each_side_holds_its_conversations_one_line_per_reply(trim: Library,
                                                               tmp_path: Path) -> None:
    whole, per_reply = tmp_path / "whole", tmp_path / "per-reply"
    export(trim, "Trim", ExportFormat.SPLIT, whole, 0.2)
    export(trim, "Trim", ExportFormat.SPLIT_PER_REPLY, per_reply, 0.2)
    export(trim, "Trim", ExportFormat.PER_REPLY, tmp_path / "all.per-reply.jsonl")
    reference = {json.dumps(line["messages"]): line
                 for line in _lines(tmp_path / "all.per-reply.jsonl")}
    for side in ("train.jsonl", "valid.jsonl"):
        conversations = _lines(whole / side)
        lines = _lines(per_reply / side)
        # the same conversations on the same side, in the same order, each once per reply
        assert list(dict.fromkeys(_ids(lines))) == _ids(conversations)
        assert len(lines) == sum(len(c["metadata"]["replies"]) for c in conversations)
        for line in lines:
            # each line is the one-line-per-reply download's own line, counted the same
            assert line == reference[json.dumps(line["messages"])]
            assert line["messages"][-1]["role"] == "assistant"
            assert line["messages"][-1]["weight"] == 1
    train, valid = (_ids(_lines(per_reply / side)) for side in ("train.jsonl", "valid.jsonl"))
    assert valid and not set(train) & set(valid)  # no conversation on both sides
    assert len(train) + len(valid) == len(reference)
    manifest = json.loads((per_reply / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["export_format"] == "split-per-reply" and manifest["split"]["seed"] == 42
    counts = {entry["file"]: entry["tokens"]["total"] for entry in manifest["files"]}
    assert counts == {side: sum(line["metadata"]["token_count"]
                                for line in _lines(per_reply / side))
                      for side in ("train.jsonl", "valid.jsonl")}
    assert "notes" not in manifest


def test_its_recipes_train_only_the_reply_each_line_ends_on(trim: Library,
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "split"
    export(trim, "Trim", ExportFormat.SPLIT_PER_REPLY, folder, 0.2, recipes=True)
    valid_lines = len(_lines(folder / "valid.jsonl"))
    mlx_text = (folder / "train.mlx.yaml").read_text(encoding="utf-8")
    mlx = yaml.safe_load(mlx_text)
    assert mlx["data"] == "." and mlx["mask_prompt"] is True
    assert mlx["batch_size"] == min(4, valid_lines)
    assert "Each line ends on the one reply it trains" in mlx_text
    assert "whole conversations" not in mlx_text
    llamafactory = yaml.safe_load((folder / "train.llamafactory.yaml").read_text("utf-8"))
    assert llamafactory["mask_history"] is True and llamafactory["eval_dataset"] == "valid"
    axolotl = yaml.safe_load((folder / "train.axolotl.yml").read_text(encoding="utf-8"))
    for dataset in (*axolotl["datasets"], *axolotl["test_datasets"]):
        assert dataset["roles_to_train"] == [] and dataset["message_field_training"] == "weight"
    script = (folder / "train.trl.py").read_text(encoding="utf-8")
    assert "completion_only_loss=True" in script
    constants = {node.targets[0].id: node.value for node in ast.parse(script).body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert ast.literal_eval(constants["EVAL_FILE"]) == "valid.jsonl"


def test_the_command_line_saves_it(trim: Library, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    trim.close()
    folder = tmp_path / "cli"
    assert main(["--data-dir", str(trim.root), "export", "Trim", "--format",
                 "split-per-reply", "-o", str(folder), "--recipes"]) == 0
    said = capsys.readouterr().out
    assert f"wrote {folder / 'train.mlx.yaml'}" in said
    assert (folder / "train.jsonl").is_file() and (folder / "valid.jsonl").is_file()
