"""Trainer recipes beside a download: the file, assistant-only loss, the file's own length."""

from __future__ import annotations

import ast
import os
import sys
import types
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from app.chat_templates import BUNDLED, bundled_template
from app.cli import main
from app.errors import LibraryError
from app.export import ExportFormat, export
from app.library import Library
from app.models import TrainingFile
from app.recipes import RecipeInput, axolotl_config
from app.tokenizer_choice import chosen_template
from app.trainingfiles import add_conversations


@pytest.fixture
def two_files(filled_library: Library) -> Library:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Trim", ids, create=True)
    add_conversations(filled_library, "Weighted", ids, create=True, cut_off_policy="weight0")
    with filled_library.session() as session, session.begin():
        row = session.query(TrainingFile).filter_by(name="Trim").one()
        row.max_seq_len = 3072
    return filled_library


def _constants(script: str) -> dict[str, object]:
    tree = ast.parse(script)
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.isupper() and isinstance(node.value, ast.Constant)}


def _notes(script: str) -> list[str]:
    """What the script prints as it starts (its NOTES), checked to be printed in main."""
    tree = ast.parse(script)
    (value,) = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "NOTES"]
    main_source = next(ast.get_source_segment(script, node) for node in tree.body
                       if isinstance(node, ast.FunctionDef) and node.name == "main")
    assert main_source is not None and "for note in NOTES:" in main_source
    assert 'print(f"NOTE: {note}", file=sys.stderr)' in main_source
    # and how many lines TRL left out for having no trained token within MAX_LENGTH
    assert 'left_out = len(data[split]) - len(kept[split])' in main_source
    assert "NOTE: TRL left out {left_out} of" in main_source
    notes = ast.literal_eval(value)
    assert isinstance(notes, list)
    return notes


def test_jsonl_download_with_recipes(two_files: Library, tmp_path: Path) -> None:
    target = tmp_path / "trim.jsonl"
    written = export(two_files, "Trim", ExportFormat.JSONL, target, recipes=True)
    trl, axolotl = tmp_path / "trim.jsonl.trl.py", tmp_path / "trim.jsonl.axolotl.yml"
    assert written == [target, tmp_path / "trim.jsonl.manifest.json", trl, axolotl]
    script = trl.read_text(encoding="utf-8")
    constants = _constants(script)
    assert constants["TRAIN_FILE"] == "trim.jsonl"
    assert constants["EVAL_FILE"] is None
    assert constants["MAX_LENGTH"] == 3072  # the file's own budget
    assert "assistant_only_loss=True" in script and "max_length=MAX_LENGTH" in script
    assert "# NOTE" not in script and _notes(script) == []
    config = yaml.safe_load(axolotl.read_text(encoding="utf-8"))
    assert config["sequence_len"] == 3072
    (dataset,) = config["datasets"]
    assert dataset["path"] == "./trim.jsonl" and dataset["type"] == "chat_template"
    assert dataset["field_messages"] == "messages"
    assert dataset["roles_to_train"] == ["assistant"]
    assert "message_field_training" not in dataset
    manifest = orjson.loads(written[1].read_bytes())
    assert [f["file"] for f in manifest["files"] if f["role"] == "recipe"] == [
        trl.name, axolotl.name]


def test_weight0_recipes_use_the_weight_and_warn_about_trl(two_files: Library,
                                                          tmp_path: Path) -> None:
    export(two_files, "Weighted", ExportFormat.JSONL, tmp_path / "w.jsonl", recipes=True)
    script = (tmp_path / "w.jsonl.trl.py").read_text(encoding="utf-8")
    assert "TRL ignores that key" in script
    # A real run (TRL 1.16) trained the weight-0 reply: the user is told when it starts,
    # not only in a comment at the top of the script.
    (note,) = _notes(script)
    assert note.startswith("This file keeps cut-off replies") and "TRL ignores" in note
    config = yaml.safe_load((tmp_path / "w.jsonl.axolotl.yml").read_text(encoding="utf-8"))
    assert config["datasets"][0]["message_field_training"] == "weight"
    assert config["sequence_len"] == 4096


class _Splits(dict[str, list[dict[str, Any]]]):
    """What ``datasets.load_dataset`` gives the script: the lines of each split."""

    def select_columns(self, columns: list[str]) -> _Splits:
        return _Splits({k: [{c: line[c] for c in columns} for line in lines]
                        for k, lines in self.items()})

    def map(self, change: Any, remove_columns: Any = None) -> _Splits:
        return _Splits({k: [change(line) for line in lines] for k, lines in self.items()})


def _run_with_a_trl_that_drops_the_first_line(script: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """Run the TRL script's ``main`` on its real files, with stand-ins for torch, datasets,
    transformers and trl whose trainer keeps all but the first line of each dataset it is
    given, as TRL 1.16 keeps only lines with a trained token within ``max_length``."""
    def load_dataset(kind: str, data_files: dict[str, str]) -> _Splits:
        assert kind == "json"
        return _Splits({split: [orjson.loads(line) for line in Path(path).read_bytes()
                                .splitlines()] for split, path in data_files.items()})

    class Trainer:
        def __init__(self, train_dataset: list[Any], eval_dataset: list[Any] | None,
                     **_: object) -> None:
            self.train_dataset = train_dataset[1:]
            self.eval_dataset = None if eval_dataset is None else eval_dataset[1:]

        def train(self) -> object:
            return types.SimpleNamespace(global_step=1, training_loss=0.5)

    def pretrained(*_: object) -> object:
        return types.SimpleNamespace(chat_template="", pad_token=None, eos_token="</s>")

    stand_ins = {
        "torch": {"cuda": types.SimpleNamespace(is_available=lambda: False)},
        "datasets": {"load_dataset": load_dataset},
        "transformers": {"AutoModelForCausalLM": types.SimpleNamespace(from_pretrained=pretrained),
                         "AutoTokenizer": types.SimpleNamespace(from_pretrained=pretrained)},
        "trl": {"SFTConfig": types.SimpleNamespace, "SFTTrainer": Trainer},
    }
    for name, members in stand_ins.items():
        module = types.ModuleType(name)
        module.__dict__.update(members)
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "argv", [str(script), "--model", "stand-in", "--no-lora"])
    space: dict[str, Any] = {"__name__": "recipe", "__file__": str(script)}
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), space)
    space["main"]()


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


@pytest.mark.parametrize("fmt", [ExportFormat.SPLIT, ExportFormat.JSONL])
def test_the_trl_script_says_how_many_lines_trl_left_out_of_each_file(
        two_files: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], fmt: ExportFormat) -> None:
    """TRL drops, without a word, a line with no trained token within max_length: from the
    validation file of a split as from the training file, where it shrinks the evaluation
    set. The script says how many of each it left out."""
    out = tmp_path / "out"
    if fmt is ExportFormat.SPLIT:
        export(two_files, "Trim", fmt, out, 0.3, recipes=True)
        script, train = out / "train.trl.py", out / "train.jsonl"
    else:
        out.mkdir()
        train = out / "trim.jsonl"
        export(two_files, "Trim", fmt, train, recipes=True)
        script = out / "trim.jsonl.trl.py"
    capsys.readouterr()
    _run_with_a_trl_that_drops_the_first_line(script, monkeypatch)
    said = capsys.readouterr().err.splitlines()
    advice = ("none of their trained replies starts within MAX_LENGTH (3072) tokens. Raise "
              "the training file's maximum sequence length in LoRA Studio (lora-studio "
              "max-len) and download it again to use them.")
    expected = [f"NOTE: TRL left out 1 of {_lines(train)} training lines: {advice}"]
    if fmt is ExportFormat.SPLIT:
        assert _lines(out / "valid.jsonl") > 1
        expected.append(f"NOTE: TRL left out 1 of {_lines(out / 'valid.jsonl')} "
                        f"validation lines: {advice}")
    assert said == expected


def test_split_recipes_evaluate_on_the_validation_file(two_files: Library,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "split"
    written = export(two_files, "Trim", ExportFormat.SPLIT, folder, 0.2, recipes=True)
    assert folder / "train.trl.py" in written and folder / "train.axolotl.yml" in written
    constants = _constants((folder / "train.trl.py").read_text(encoding="utf-8"))
    assert (constants["TRAIN_FILE"], constants["EVAL_FILE"]) == ("train.jsonl", "valid.jsonl")
    config = yaml.safe_load((folder / "train.axolotl.yml").read_text(encoding="utf-8"))
    assert config["test_datasets"][0]["path"] == "./valid.jsonl"


@pytest.mark.parametrize("name", ["Trim", "Weighted"])
def test_evaluation_scores_exactly_what_training_learns(two_files: Library, tmp_path: Path,
                                                        name: str) -> None:
    """The validation set is read as the training set is: the same roles and, for a file
    whose cut-off replies carry "weight": 0, the same weight key, so evaluation never scores
    a reply that training leaves out (today's split keeps flagged conversations, those with
    cut-off replies, in training; the config must not depend on that)."""
    folder = tmp_path / "split"
    export(two_files, name, ExportFormat.SPLIT, folder, 0.3, recipes=True)
    config = yaml.safe_load((folder / "train.axolotl.yml").read_text(encoding="utf-8"))
    (trained,), (evaluated,) = config["datasets"], config["test_datasets"]
    assert (trained.pop("path"), evaluated.pop("path")) == ("./train.jsonl", "./valid.jsonl")
    assert evaluated.pop("split") == "train"  # a local JSON file loads as one "train" split
    assert evaluated == trained
    assert ("message_field_training" in evaluated) == (name == "Weighted")


def test_cli_recipes(two_files: Library, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    two_files.close()
    target = tmp_path / "cli.jsonl"
    capsys.readouterr()
    assert main(["--data-dir", str(two_files.root), "export", "Trim", "--format", "jsonl",
                 "-o", str(target), "--recipes"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {target}.trl.py" in out and f"wrote {target}.axolotl.yml" in out


def test_recipes_train_with_the_template_the_counts_assumed(two_files: Library,
                                                             tmp_path: Path) -> None:
    """A model's own template may differ from the one the library counted with (Mistral
    7B v0.3's writes the system prompt only before the last client turn, which a training
    line never has): both recipes carry the library's template itself."""
    template = chosen_template(two_files)
    assert template.key == "mistral" and "system" in template.source
    target = tmp_path / "trim.jsonl"
    export(two_files, "Trim", ExportFormat.JSONL, target, recipes=True)
    config = yaml.safe_load((tmp_path / "trim.jsonl.axolotl.yml").read_text(encoding="utf-8"))
    assert config["chat_template"] == "jinja"
    assert config["chat_template_jinja"] == template.source.rstrip("\n")
    script = (tmp_path / "trim.jsonl.trl.py").read_text(encoding="utf-8")
    assert _constants(script)["CHAT_TEMPLATE"] == template.source
    assert "tokenizer.chat_template = CHAT_TEMPLATE" in script
    compile(script, "trim.jsonl.trl.py", "exec")


@pytest.mark.parametrize("source", [
    *(bundled_template(key).source for key in sorted(BUNDLED)),
    "   {{- bos_token }}\n\n      \n{% for m in messages %}{{ m['content'] }}: {% endfor %}\n",
])
def test_the_axolotl_config_holds_any_template_exactly(source: str) -> None:
    spec = RecipeInput("F", "f.jsonl", None, 4096, "trim", False, source, "test")
    config = yaml.safe_load(axolotl_config(spec))
    assert config["chat_template_jinja"] == source.rstrip("\n")
    assert config["sequence_len"] == 4096
@pytest.mark.parametrize("name", ["Trim", "Weighted"])
def test_per_reply_recipes_train_only_the_reply_each_line_ends_on(
        two_files: Library, tmp_path: Path, name: str) -> None:
    target = tmp_path / "p.per-reply.jsonl"
    export(two_files, name, ExportFormat.PER_REPLY, target, recipes=True)
    config = yaml.safe_load((tmp_path / "p.per-reply.jsonl.axolotl.yml").read_text("utf-8"))
    (dataset,) = config["datasets"]
    # only what a line marks with weight 1; system and client messages carry no weight
    assert dataset["message_field_training"] == "weight"
    assert dataset["roles_to_train"] == [] and dataset["train_on_eos"] == "turn"
    script = (tmp_path / "p.per-reply.jsonl.trl.py").read_text(encoding="utf-8")
    assert "completion_only_loss=True" in script and "assistant_only_loss" not in script
    assert "# NOTE" not in script and _notes(script) == []  # only the completion: no weight
    # the script's own helper turns each real line into a prompt and its one reply
    tree = ast.parse(script)
    (helper,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)
                 and node.name == "as_prompt_and_completion"]
    space: dict[str, object] = {}
    exec(compile(ast.Module([helper], []), "recipe", "exec"), space)
    lines = [orjson.loads(raw) for raw in target.read_bytes().splitlines()]
    assert lines
    for line in lines:
        row = space["as_prompt_and_completion"](line)  # type: ignore[operator]
        trained = [m for m in line["messages"] if m.get("weight") == 1]
        assert row["completion"] == [{"role": "assistant", "content": trained[0]["content"]}]
        assert row["prompt"] == [{"role": m["role"], "content": m["content"]}
                                 for m in line["messages"][:-1]]


def test_a_failed_export_takes_back_the_recipe_it_wrote(two_files: Library,
                                                        tmp_path: Path) -> None:
    """The TRL script is written, then the Axolotl config is refused (its name is 5 bytes
    longer, past the file system's limit): the export fails before it has listed the
    script, which must not stay behind naming a JSONL that was taken back."""
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    name = "t" * (limit - len(".jsonl.trl.py")) + ".jsonl"  # its script fits, its config not
    target = tmp_path / "out" / name
    target.parent.mkdir()
    with pytest.raises(LibraryError, match="too long"):
        export(two_files, "Trim", ExportFormat.JSONL, target, recipes=True)
    assert list(target.parent.iterdir()) == []
