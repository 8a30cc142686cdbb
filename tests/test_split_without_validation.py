"""A split that can hold no line out writes no valid.jsonl (an empty JSONL does not load in
``datasets``) and says so, the same way on the command line, in the window and in the
manifest; its recipes then train without evaluation."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import orjson
import pytest
import yaml

from app.cli import main
from app.errors import LibraryError
from app.export import ExportFormat, export
from app.library import Library
from app.split import no_validation_sentence
from app.trainingfiles import add_conversations, member_ids

# Two clean conversations of two different emotional arcs: each arc keeps its only one in
# training, so the share asks for a line that no rule lets go.
FEAR = "fp_conversation_2e6e3685-eb74-46c9-b11d-13a3e162a4b5"
COUPLE = "fp_conversation_2ecd51bd-8dd9-478a-9fb4-de20f69bd441"
TOO_FEW = {"one conversation": [FEAR], "two arcs of one": [FEAR, COUPLE]}


@pytest.fixture(params=sorted(TOO_FEW))
def tiny(request: pytest.FixtureRequest, filled_library: Library) -> Library:
    add_conversations(filled_library, "Tiny", TOO_FEW[request.param], create=True)
    return filled_library


def _eval_file(script: str) -> object:
    (value,) = [node.value for node in ast.parse(script).body if isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "EVAL_FILE"]
    return ast.literal_eval(value)


def test_no_empty_validation_file_and_the_manifest_and_recipes_agree(
        tiny: Library, tmp_path: Path) -> None:
    folder = tmp_path / "split"
    written = export(tiny, "Tiny", ExportFormat.SPLIT, folder, 0.3, recipes=True)
    recipes = ["train.trl.py", "train.axolotl.yml", "train.llamafactory.yaml",
               "dataset_info.json", "train.mlx.yaml", "chat_template.jinja"]
    assert [p.name for p in written] == ["train.jsonl", "manifest.json", *recipes]
    assert not (folder / "valid.jsonl").exists()
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert [entry["role"] for entry in manifest["files"]] == ["train", *["recipe"] * 6]
    assert manifest["files"][0]["conversation_ids"] == member_ids(tiny, "Tiny")
    assert manifest["notes"] == [no_validation_sentence("Tiny", str(folder))]
    config = yaml.safe_load((folder / "train.axolotl.yml").read_text(encoding="utf-8"))
    assert "test_datasets" not in config and config["val_set_size"] == 0
    assert _eval_file((folder / "train.trl.py").read_text(encoding="utf-8")) is None
    assert "eval_dataset" not in yaml.safe_load(
        (folder / "train.llamafactory.yaml").read_text(encoding="utf-8"))
    assert list(orjson.loads((folder / "dataset_info.json").read_bytes())) == ["train"]


def test_the_sentence_names_the_file_and_what_to_do(tmp_path: Path) -> None:
    sentence = no_validation_sentence("Tiny", str(tmp_path))
    assert sentence.startswith(f"No valid.jsonl was written in {tmp_path}: ")
    assert "Train on train.jsonl alone" in sentence
    assert "add conversations to 'Tiny' and split again." in sentence


def test_a_replaced_split_leaves_no_earlier_validation_file_behind(
        tiny: Library, tmp_path: Path) -> None:
    """valid.jsonl of an earlier split would pair lines of another split with this one's
    train.jsonl: replacing the split (asked for) takes it away too."""
    folder = tmp_path / "split"
    folder.mkdir()
    (folder / "valid.jsonl").write_text('{"messages": []}\n', encoding="utf-8")
    export(tiny, "Tiny", ExportFormat.SPLIT, folder, 0.3, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "train.jsonl"]


def test_the_command_line_says_what_it_did_not_write(
        tiny: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny.close()
    folder = tmp_path / "cli-split"
    capsys.readouterr()
    code = main(["--data-dir", str(tiny.root), "export", "tiny", "--format", "split",
                 "-o", str(folder)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines() == [f"wrote {folder / 'train.jsonl'}",
                                f"wrote {folder / 'manifest.json'}",
                                no_validation_sentence("Tiny", str(folder))]
    assert not (folder / "valid.jsonl").exists()


def test_the_window_says_what_it_did_not_write(qtbot, tiny: Library, page, dialogs,
                                              tmp_path: Path) -> None:
    page.refresh()
    folder = tmp_path / "window-split"
    dialogs.folders.append(folder)
    dialogs.texts.append("0.3")
    with qtbot.waitSignal(page.status, timeout=15_000) as saved:
        page.file_actions["split"].trigger()
    sentence = no_validation_sentence("Tiny", str(folder))
    assert saved.args[0].endswith(f"(what was exported, from what, with checksums). {sentence}")
    assert page.banner.label.text() == saved.args[0]
    assert not (folder / "valid.jsonl").exists() and not dialogs.warnings


@pytest.mark.skipif(os.name == "nt" or sys.platform == "darwin",
                    reason="only Linux keeps file names that are not UTF-8")
def test_a_folder_named_in_latin_1_takes_the_split_and_a_file_so_named_is_refused(
        tiny: Library, tmp_path: Path) -> None:
    """A folder made on an older system ("désir" in Latin-1): the note in the manifest
    names it readably. A file so named is refused before anything is written: its
    manifest and recipes could not name it (before, both failed as a damaged build)."""
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xe9sir"))
    export(tiny, "Tiny", ExportFormat.SPLIT, folder, 0.3, recipes=True)
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert manifest["notes"] == [no_validation_sentence("Tiny", f"{tmp_path}/d\ufffdsir")]
    target = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.jsonl"))
    with pytest.raises(LibraryError, match="its name holds bytes that are not UTF-8 text"):
        export(tiny, "Tiny", ExportFormat.JSONL, target, recipes=True)
    assert not target.exists()
