"""LLaMA-Factory and MLX-LM beside a download: LLaMA-Factory's dataset_info.json (merged into
one already there, never replacing the person's entries) and training YAML, and an MLX-LM
config beside a split, each set to the training file's own length limit and files."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import export as export_module
from app.errors import LibraryError
from app.export import ExportCancelled, ExportFormat, export
from app.library import Library
from app.llamafactory_recipe import llamafactory_config
from app.models import TrainingFile
from app.recipes import RecipeInput
from app.tokenizer_choice import chosen_template
from app.trainingfiles import add_conversations

SHAREGPT_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"}


@pytest.fixture
def trim(filled_library: Library) -> Library:
    """'Trim' of every fixture conversation, with a length limit of its own (3,072)."""
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Trim", ids, create=True)
    with filled_library.session() as session, session.begin():
        session.query(TrainingFile).filter_by(name="Trim").one().max_seq_len = 3072
    return filled_library


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder to save in (``tmp_path`` holds the library and the fixtures)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _info(folder: Path) -> dict[str, Any]:
    loaded = json.loads((folder / "dataset_info.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


def _check_entry(folder: Path, entry: dict[str, Any], file_name: str) -> None:
    """The entry reads the file as sharegpt, and every role in it is one the tags name."""
    assert entry == {"file_name": file_name, "formatting": "sharegpt",
                     "columns": {"messages": "messages"}, "tags": SHAREGPT_TAGS}
    roles = {m["role"] for line in _lines(folder / file_name) for m in line["messages"]}
    assert roles == {"system", "user", "assistant"}


@pytest.mark.parametrize(("fmt", "name", "per_reply"), [
    (ExportFormat.JSONL, "trim.jsonl", False),
    (ExportFormat.PER_REPLY, "trim.per-reply.jsonl", True),
])
def test_a_download_gets_llamafactory_entries_and_config(
        trim: Library, out: Path, fmt: ExportFormat, name: str, per_reply: bool) -> None:
    export(trim, "Trim", fmt, out / name, recipes=True)
    stem = name.removesuffix(".jsonl")
    info = _info(out)
    assert list(info) == [stem]
    _check_entry(out, info[stem], name)
    config = _yaml(out / f"{name}.llamafactory.yaml")
    assert config["model_name_or_path"] == "REPLACE_WITH_YOUR_BASE_MODEL"
    assert (config["stage"], config["do_train"], config["finetuning_type"]) == (
        "sft", True, "lora")
    assert config["dataset_dir"] == "." and config["dataset"] == stem
    assert config["cutoff_len"] == 3072  # the file's own length limit
    assert config["template"] == "mistral"  # LLaMA-Factory's, rendering as the library's
    assert config["output_dir"] and "eval_dataset" not in config
    # one line per reply: only the reply a line ends on is trained
    assert config.get("mask_history", False) is per_reply
    assert not (out / f"{name}.mlx.yaml").exists()  # MLX-LM reads only a folder
    assert not (out / "chat_template.jinja").exists()


def test_a_split_gets_llamafactory_with_evaluation_and_an_mlx_config(
        trim: Library, tmp_path: Path) -> None:
    folder = tmp_path / "split"
    written = export(trim, "Trim", ExportFormat.SPLIT, folder, 0.2, recipes=True)
    valid_lines = len(_lines(folder / "valid.jsonl"))
    train_lines = len(_lines(folder / "train.jsonl"))
    assert 1 <= valid_lines < 4  # fewer than MLX-LM's own batch size
    info = _info(folder)
    assert list(info) == ["train", "valid"]
    _check_entry(folder, info["train"], "train.jsonl")
    _check_entry(folder, info["valid"], "valid.jsonl")
    config = _yaml(folder / "train.llamafactory.yaml")
    assert (config["dataset"], config["eval_dataset"]) == ("train", "valid")
    mlx = _yaml(folder / "train.mlx.yaml")
    assert mlx["data"] == "." and mlx["train"] is True and mlx["fine_tune_type"] == "lora"
    assert mlx["mask_prompt"] is True
    assert mlx["max_seq_length"] == 3072
    assert mlx["batch_size"] == valid_lines  # never more than the validation lines
    assert mlx["iters"] == -(-2 * train_lines // valid_lines)  # two passes
    assert mlx["model"] == "REPLACE_WITH_YOUR_MLX_MODEL_FOLDER"
    text = (folder / "train.mlx.yaml").read_text(encoding="utf-8")
    assert "trains only the last\n# reply of each line" in text  # whole conversations
    template = folder / "chat_template.jinja"
    assert template.read_text(encoding="utf-8") == chosen_template(trim).source
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    recipes = [entry["file"] for entry in manifest["files"] if entry["role"] == "recipe"]
    assert recipes == ["train.trl.py", "train.axolotl.yml", "train.llamafactory.yaml",
                       "dataset_info.json", "train.mlx.yaml", "chat_template.jinja"]
    assert {folder / name for name in recipes} <= set(written)


def test_the_person_s_dataset_info_entries_are_kept(trim: Library, out: Path) -> None:
    """A folder such as LLaMA-Factory's own data folder holds entries of the person's: ours
    are added beside them, and a later download replaces only ours."""
    theirs = {"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"},
              "trim": {"file_name": "trim.jsonl", "formatting": "alpaca"}}  # ours, older
    (out / "dataset_info.json").write_text(json.dumps(theirs), encoding="utf-8")
    export(trim, "Trim", ExportFormat.JSONL, out / "trim.jsonl", recipes=True)
    info = _info(out)
    assert list(info) == ["alpaca_en_demo", "trim"]
    assert info["alpaca_en_demo"] == theirs["alpaca_en_demo"]
    assert info["trim"]["formatting"] == "sharegpt"
    export(trim, "Trim", ExportFormat.PER_REPLY, out / "trim.per-reply.jsonl",
           recipes=True)
    assert list(_info(out)) == ["alpaca_en_demo", "trim", "trim.per-reply"]


@pytest.mark.parametrize(("existing", "said"), [
    ('{"trim": {"file_name": "someone-else.json"}}',
     "already has a dataset named 'trim' for the file someone-else.json"),
    ("[1, 2", "is not a JSON object of dataset entries"),
])
def test_a_dataset_info_that_cannot_take_our_entries_stops_the_export_first(
        trim: Library, out: Path, existing: str, said: str) -> None:
    info = out / "dataset_info.json"
    info.write_text(existing, encoding="utf-8")
    with pytest.raises(LibraryError, match=said) as raised:
        export(trim, "Trim", ExportFormat.JSONL, out / "trim.jsonl", recipes=True)
    assert str(info) in str(raised.value) and "Nothing was exported" in str(raised.value)
    assert sorted(path.name for path in out.iterdir()) == ["dataset_info.json"]
    assert info.read_text(encoding="utf-8") == existing


def test_a_cancelled_export_writes_no_recipe_and_leaves_dataset_info_as_it_was(
        trim: Library, out: Path) -> None:
    info = out / "dataset_info.json"
    info.write_text('{"mine": {"file_name": "mine.jsonl"}}', encoding="utf-8")
    with pytest.raises(ExportCancelled):
        export(trim, "Trim", ExportFormat.SPLIT, out, 0.3, recipes=True,
               cancelled=lambda: True)
    assert [path.name for path in out.iterdir()] == ["dataset_info.json"]
    assert info.read_text(encoding="utf-8") == '{"mine": {"file_name": "mine.jsonl"}}'


def test_an_export_that_fails_after_the_merge_puts_dataset_info_back(
        trim: Library, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest is written last: a disk that fills up there takes back every file of
    the export, and the person's dataset_info.json is as it was, not with our entries."""
    info = out / "dataset_info.json"
    before = '{"mine": {"file_name": "mine.jsonl"}}'
    info.write_text(before, encoding="utf-8")

    def disk_full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "_write_manifest", disk_full)
    with pytest.raises(LibraryError):
        export(trim, "Trim", ExportFormat.SPLIT, out, 0.3, recipes=True)
    assert [path.name for path in out.iterdir() ] == ["dataset_info.json"]
    assert info.read_text(encoding="utf-8") == before


def test_a_split_without_validation_takes_its_old_validation_entry_away(
        filled_library: Library, out: Path) -> None:
    """A split that held nothing out removes an earlier split's valid.jsonl: the entry that
    named it goes too, or LLaMA-Factory would be pointed at a missing file."""
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "All", ids, create=True)
    add_conversations(filled_library, "One", ids[:1], create=True)
    export(filled_library, "All", ExportFormat.SPLIT, out, 0.3, recipes=True)
    assert list(_info(out)) == ["train", "valid"]
    export(filled_library, "One", ExportFormat.SPLIT, out, 0.3, recipes=True,
           overwrite=True)
    assert not (out / "valid.jsonl").exists()
    assert list(_info(out)) == ["train"]
    assert "eval_dataset" not in _yaml(out / "train.llamafactory.yaml")
    mlx = _yaml(out / "train.mlx.yaml")
    assert mlx["batch_size"] == 1  # the one training line


def test_a_name_with_a_comma_still_names_one_dataset(trim: Library, out: Path) -> None:
    """LLaMA-Factory splits its dataset setting at commas: the entry's name has none, and
    still names the file as the person called it."""
    export(trim, "Trim", ExportFormat.JSONL, out / "trim, v2.jsonl", recipes=True)
    config = _yaml(out / "trim, v2.jsonl.llamafactory.yaml")
    assert "," not in config["dataset"]
    assert _info(out)[config["dataset"]]["file_name"] == "trim, v2.jsonl"


@pytest.mark.parametrize("fmt", [ExportFormat.JSONL, ExportFormat.SPLIT])
def test_a_folder_that_is_a_file_is_said_with_recipes_too(trim: Library, out: Path,
                                                          fmt: ExportFormat) -> None:
    blocker = out / "a-plain-file"
    blocker.write_text("I am not a folder", encoding="utf-8")
    target = blocker / "sub" / ("split" if fmt is ExportFormat.SPLIT else "trim.jsonl")
    with pytest.raises(LibraryError, match="is a file, not a folder"):
        export(trim, "Trim", fmt, target, recipes=True)
    assert blocker.read_text(encoding="utf-8") == "I am not a folder"


def test_a_folder_named_dataset_info_stops_the_export_first(
        trim: Library, out: Path) -> None:
    info = out / "dataset_info.json"
    info.mkdir()  # a folder where the file would be: reading it fails
    with pytest.raises(LibraryError, match="is a folder, and this download's "
                       "LLaMA-Factory entries go in a file of that name") as raised:
        export(trim, "Trim", ExportFormat.JSONL, out / "trim.jsonl", recipes=True)
    assert str(info) in str(raised.value) and "Nothing was exported" in str(raised.value)
    assert [path.name for path in out.iterdir()] == ["dataset_info.json"]


@pytest.mark.parametrize(("key", "seen"), [("mistral", True), ("chatml", False),
                                           ("llama3", False), ("custom", None)])
def test_the_llamafactory_template_and_what_was_seen_of_it(key: str, seen: bool | None) -> None:
    """LLaMA-Factory renders with a template of its own, chosen by name: the bundled
    template's namesake, said to be checked only where it was seen token for token; a
    template of the person's own is left for them to choose, marked."""
    spec = RecipeInput("F", "f.jsonl", None, 2048, "trim", False, "{{ x }}", "Label",
                       chat_template_key=key)
    text = llamafactory_config(spec)
    config = yaml.safe_load(text)
    assert config["cutoff_len"] == 2048
    if seen is None:
        assert config["template"] == "REPLACE_WITH_A_LLAMAFACTORY_TEMPLATE"
        return
    assert config["template"] == key
    assert ("compared by text, not trained" in text) is not seen
