"""Trainer recipes beside a download: the file, assistant-only loss, the file's own length."""

from __future__ import annotations

import ast
import os
import sys
import types
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hostile_corpus import cut_in_the_middle

from app.chat_templates import (
    BUNDLED,
    TRAINED_CLOSE,
    TRAINED_OPEN,
    ChatTemplate,
    bundled_template,
    compile_template,
)
from app.cli import main
from app.errors import LibraryError
from app.export import ExportFormat, export, weight_ignored_sentence
from app.importer import import_paths
from app.library import Library
from app.models import TrainingFile
from app.recipes import WEIGHTS_IGNORED, RecipeInput, axolotl_config
from app.tokenizer_choice import chosen_template
from app.tokens import default_counter
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


def test_jsonl_download_with_recipes(two_files: Library, tmp_path: Path) -> None:
    target = tmp_path / "trim.jsonl"
    written = export(two_files, "Trim", ExportFormat.JSONL, target, recipes=True)
    trl, axolotl = tmp_path / "trim.jsonl.trl.py", tmp_path / "trim.jsonl.axolotl.yml"
    llamafactory = tmp_path / "trim.jsonl.llamafactory.yaml"
    assert written == [target, tmp_path / "trim.jsonl.manifest.json", trl, axolotl,
                       llamafactory, tmp_path / "dataset_info.json"]
    script = trl.read_text(encoding="utf-8")
    constants = _constants(script)
    assert constants["TRAIN_FILE"] == "trim.jsonl"
    assert constants["EVAL_FILE"] is None
    assert constants["MAX_LENGTH"] == 3072  # the file's own budget
    assert "assistant_only_loss=True" in script and "max_length=MAX_LENGTH" in script
    assert "# NOTE" not in script
    config = yaml.safe_load(axolotl.read_text(encoding="utf-8"))
    assert config["sequence_len"] == 3072
    (dataset,) = config["datasets"]
    assert dataset["path"] == "./trim.jsonl" and dataset["type"] == "chat_template"
    assert dataset["field_messages"] == "messages"
    assert dataset["roles_to_train"] == ["assistant"]
    assert "message_field_training" not in dataset
    manifest = orjson.loads(written[1].read_bytes())
    assert [f["file"] for f in manifest["files"] if f["role"] == "recipe"] == [
        trl.name, axolotl.name, llamafactory.name, "dataset_info.json"]


def test_weight0_recipes_use_the_weight(two_files: Library, tmp_path: Path) -> None:
    export(two_files, "Weighted", ExportFormat.JSONL, tmp_path / "w.jsonl", recipes=True)
    script = (tmp_path / "w.jsonl.trl.py").read_text(encoding="utf-8")
    # TRL 1.16 trained a weight-0 reply when the script only warned about it: the script
    # now writes such a reply outside the template's {% generation %} marks.
    assert "TRL ignores" not in script and "# NOTE" not in script
    assert "weighted = honouring_weights(tokenizer.chat_template" in script
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


class _CountingTokenizer:
    """What ``AutoTokenizer`` gives the script for the model LoRA Studio counted with: the
    bundled tokenizer and chat template the library's counts came from."""

    def __init__(self) -> None:
        self.counter = default_counter()
        self.chat_template: str | None = "the model's own template"
        self.pad_token: str | None = None
        self.eos_token = "</s>"
        self.saved: list[tuple[str, str | None]] = []  # (folder, chat template)

    def apply_chat_template(self, messages: list[dict[str, Any]], chat_template: str,
                            tokenize: bool) -> str:
        assert chat_template == self.counter.template.source and not tokenize
        return self.counter.text(messages)

    def __call__(self, text: str, add_special_tokens: bool) -> dict[str, list[int]]:
        assert not add_special_tokens  # the template writes BOS itself
        return {"input_ids": self.counter.tokenizer.encode(text, add_special_tokens=False).ids}

    def save_pretrained(self, folder: str) -> None:
        self.saved.append((folder, self.chat_template))


class _WordTokenizer(_CountingTokenizer):
    """Another model's tokenizer: one token per word."""

    def __call__(self, text: str, add_special_tokens: bool) -> dict[str, list[int]]:
        return {"input_ids": list(range(len(text.split())))}


class _Run(types.SimpleNamespace):
    """What the script did with the stand-ins: how it loaded the model, which chat template
    the trainer got, what it saved."""


def _run_script(script: Path, monkeypatch: pytest.MonkeyPatch, *, gpu: bool = False,
                bf16: bool = False, tokenizer: _CountingTokenizer | None = None,
                args: tuple[str, ...] = ("--no-lora",)) -> _Run:
    """Run the TRL script's ``main`` on its real files, with stand-ins for torch, datasets,
    transformers and trl whose trainer keeps all but the first line of each dataset it is
    given, as TRL 1.16 keeps only lines with a trained token within ``max_length``."""
    run = _Run(tokenizer=tokenizer or _CountingTokenizer(), saved_model=[])

    def load_dataset(kind: str, data_files: dict[str, str]) -> _Splits:
        assert kind == "json"
        return _Splits({split: [orjson.loads(line) for line in Path(path).read_bytes()
                                .splitlines()] for split, path in data_files.items()})

    class Trainer:
        def __init__(self, train_dataset: list[Any], eval_dataset: list[Any] | None,
                     processing_class: _CountingTokenizer, args: object,
                     **_: object) -> None:
            self.train_dataset = train_dataset[1:]
            self.eval_dataset = None if eval_dataset is None else eval_dataset[1:]
            run.trained_with = processing_class.chat_template
            run.config = args

        def train(self, resume_from_checkpoint: str | None = None) -> object:
            run.resumed_from = resume_from_checkpoint
            return types.SimpleNamespace(global_step=1, training_loss=0.5)

        def save_model(self, folder: str) -> None:
            run.saved_model.append(folder)

    def model(name: str, **options: object) -> object:
        run.model_options = options
        return object()

    cuda = types.SimpleNamespace(is_available=lambda: gpu, is_bf16_supported=lambda: bf16)
    stand_ins = {
        "torch": {"cuda": cuda, "bfloat16": "bfloat16", "float16": "float16",
                  "float32": "float32"},
        "datasets": {"load_dataset": load_dataset},
        "transformers": {"AutoModelForCausalLM": types.SimpleNamespace(from_pretrained=model),
                         "AutoTokenizer": types.SimpleNamespace(
                             from_pretrained=lambda name: run.tokenizer)},
        "trl": {"SFTConfig": types.SimpleNamespace, "SFTTrainer": Trainer},
        "peft": {"LoraConfig": types.SimpleNamespace},
    }
    for name, members in stand_ins.items():
        module = types.ModuleType(name)
        module.__dict__.update(members)
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "argv", [str(script), "--model", "stand-in", *args])
    space: dict[str, Any] = {"__name__": "recipe", "__file__": str(script)}
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), space)
    space["main"]()
    return run


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
    _run_script(script, monkeypatch)
    said = capsys.readouterr().err.splitlines()
    advice = ("none of their trained replies starts within MAX_LENGTH (3072) tokens. Raise "
              "the training file's length limit in LoRA Studio (lora-studio "
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
    assert "# NOTE" not in script and "honouring_weights" not in script  # no weight 0
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


def _script_of(library: Library, name: str, folder: Path) -> Path:
    export(library, name, ExportFormat.JSONL, folder / "f.jsonl", recipes=True)
    return folder / "f.jsonl.trl.py"


@pytest.mark.parametrize(("args", "what"), [((), "the LoRA adapter"),
                                            (("--no-lora",), "the model")])
def test_the_trl_script_saves_what_it_trained(
        two_files: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], args: tuple[str, ...], what: str) -> None:
    """Training without saving lost the adapter: the script saves it, and the tokenizer
    with the chat template it trained with, in --output, and says where."""
    script = _script_of(two_files, "Trim", tmp_path)
    output = str(tmp_path / "adapter")
    run = _run_script(script, monkeypatch, args=("--output", output, *args))
    assert run.saved_model == [output]
    assert run.tokenizer.saved == [(output, chosen_template(two_files).source)]
    assert (f"saved {what} and the tokenizer with its chat template in {output}"
            in capsys.readouterr().out.splitlines())


def _weight_helper(script: str) -> Any:
    """The script's own ``honouring_weights``, run without torch."""
    wanted = {"re", "GENERATION", "LOOP", "COMMENT", "open_message_loop", "honouring_weights"}

    def names(node: ast.stmt) -> set[str]:
        if isinstance(node, ast.Import):
            return {alias.name for alias in node.names}
        if isinstance(node, ast.Assign):
            return {t.id for t in node.targets if isinstance(t, ast.Name)}
        return {node.name} if isinstance(node, ast.FunctionDef) else set()

    needed = [node for node in ast.parse(script).body if names(node) & wanted]
    space: dict[str, Any] = {}
    exec(compile(ast.Module(needed, []), "recipe", "exec"), space)
    return space["honouring_weights"]


def _trained_texts(source: str, template: ChatTemplate, messages: list[dict[str, Any]]
                   ) -> tuple[str, list[str]]:
    """The rendered text and the text of each {% generation %} block in it."""
    plain, marking = compile_template(replace(template, source=source))
    tokens = {"bos_token": template.bos_token, "eos_token": template.eos_token}
    text = plain.render(messages=messages, add_generation_prompt=False, **tokens)
    marked = marking.render(messages=messages, add_generation_prompt=False, **tokens)
    blocks = [part.split(TRAINED_CLOSE)[0] for part in marked.split(TRAINED_OPEN)[1:]]
    return text, blocks


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_a_weight0_reply_is_written_outside_the_generation_marks(
        two_files: Library, tmp_path: Path, key: str) -> None:
    """TRL trains what a template marks with {% generation %} (assistant_only_loss) and
    passes the messages to the template as the file has them, "weight" included: the
    script's template marks a reply only when its weight is not 0, and writes the same
    text as the template LoRA Studio counted with."""
    honouring_weights = _weight_helper(_script_of(two_files, "Weighted", tmp_path)
                                       .read_text(encoding="utf-8"))
    line = orjson.loads((tmp_path / "f.jsonl").read_bytes().splitlines()[0])
    messages = line["messages"]
    replies = [m for m in messages if m["role"] == "assistant"]
    assert len(replies) > 1 and all(m["weight"] == 1 for m in replies)
    replies[0]["weight"] = 0  # a cut-off reply kept as context
    template = bundled_template(key)
    weighted = honouring_weights(template.source)
    text, blocks = _trained_texts(weighted, template, messages)
    original_text, original_blocks = _trained_texts(template.source, template, messages)
    assert text == original_text
    assert len(original_blocks) == len(replies) and len(blocks) == len(replies) - 1
    assert not any(replies[0]["content"] in block for block in blocks)
    assert all(any(m["content"] in block for block in blocks) for m in replies[1:])


def test_templates_the_weights_cannot_be_honoured_with(two_files: Library,
                                                      tmp_path: Path) -> None:
    honouring_weights = _weight_helper(_script_of(two_files, "Weighted", tmp_path)
                                       .read_text(encoding="utf-8"))
    assert honouring_weights("{% for m in messages %}{{ m['content'] }}{% endfor %}") is None
    # a block outside any loop over the messages has no message to read the weight of
    assert honouring_weights("{% generation %}{{ messages[-1]['content'] }}"
                             "{% endgeneration %}") is None
    # nor one after the loop has ended, nor one in a loop over something else
    assert honouring_weights("{% for m in messages %}{{ m['content'] }}{% endfor %}"
                             "{% generation %}{{ messages[-1]['content'] }}"
                             "{% endgeneration %}") is None
    assert honouring_weights("{% for m in messages %}{% for i, part in m['parts'] %}"
                             "{% endfor %}{% endfor %}{% for part in parts %}"
                             "{% generation %}{{ part }}{% endgeneration %}{% endfor %}") is None
    # in a loop nested in the loop over the messages, the message's weight is read
    assert "{% if m['weight'] == 0 %}" in honouring_weights(
        "{% for m in messages %}{% for part in m['parts'] %}{% generation %}{{ part }}"
        "{% endgeneration %}{% endfor %}{% endfor %}")
    # a comment naming the marks is left as it is; the block in the loop is weighed
    source = ("{#- {% generation %} marks what is trained -#}{% for turn in messages %}"
              "{%- generation -%} {{ turn['content'] }} {% endgeneration %}{% endfor %}")
    assert honouring_weights(source) == (
        "{#- {% generation %} marks what is trained -#}{% for turn in messages %}"
        "{%- if turn['weight'] == 0 -%} {{ turn['content'] }} {% else %}"
        "{%- generation -%} {{ turn['content'] }} {% endgeneration %}{% endif %}{% endfor %}")


def test_the_weight0_script_trains_with_the_weighted_template_and_saves_the_plain_one(
        two_files: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    script = _script_of(two_files, "Weighted", tmp_path)
    source = chosen_template(two_files).source
    run = _run_script(script, monkeypatch)
    assert run.trained_with == _weight_helper(script.read_text(encoding="utf-8"))(source)
    assert run.trained_with != source and "['weight'] == 0" in run.trained_with
    assert [template for _, template in run.tokenizer.saved] == [source]
    assert "weight" not in capsys.readouterr().err
    # a template of the person's own without the marks: TRL would train every reply
    own = tmp_path / "own.jinja"
    own.write_text("{% for m in messages %}{{ m['content'] }}{% endfor %}", encoding="utf-8")
    run = _run_script(script, monkeypatch, args=("--no-lora", "--chat-template", str(own)))
    assert run.trained_with == own.read_text(encoding="utf-8")
    assert f"NOTE: {WEIGHTS_IGNORED}" in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(("gpu", "bf16", "lora", "dtype", "mixed", "said"), [
    (True, True, True, "bfloat16", "bf16", "bfloat16 (the GPU supports it)"),
    (True, True, False, "bfloat16", "bf16", "bfloat16 (the GPU supports it)"),
    (True, False, True, "float16", "fp16",
     "float16, training with mixed precision (this GPU has no bfloat16)"),
    (True, False, False, "float32", None,
     "float32 (this GPU has no bfloat16, and all weights do not train in float16)"),
    (False, False, True, "float32", None, "float32 (no GPU: on the CPU)"),
])
def test_the_trl_script_loads_the_model_in_bfloat16_where_the_gpu_has_it(
        two_files: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], gpu: bool, bf16: bool, lora: bool, dtype: str,
        mixed: str | None, said: str) -> None:
    """Loaded without a dtype, transformers before 5 gives 32-bit weights (a 7B model
    does not fit 24 GB) and 5 gives the checkpoint's, whatever the device: the script
    chooses, and says which. A LoRA adapter on a GPU without bfloat16 trains in float16
    with mixed precision (all weights would not: their gradients cannot be unscaled)."""
    run = _run_script(_script_of(two_files, "Trim", tmp_path), monkeypatch, gpu=gpu,
                      bf16=bf16, args=() if lora else ("--no-lora",))
    assert run.model_options == {"dtype": dtype}
    assert (run.config.bf16, run.config.fp16) == (mixed == "bf16", mixed == "fp16")
    assert f"loading the model in {said}" in capsys.readouterr().out.splitlines()


def test_the_trl_script_saves_checkpoints_and_goes_on_from_the_last(
        two_files: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A run of hours lost to a closed laptop lid starts again from nothing unless the
    script keeps checkpoints and can go on from them."""
    script = _script_of(two_files, "Trim", tmp_path)
    output = tmp_path / "run"
    run = _run_script(script, monkeypatch, args=("--output", str(output)))
    assert (run.config.save_strategy, run.config.save_total_limit) == ("epoch", 2)
    assert run.resumed_from is None
    run = _run_script(script, monkeypatch, args=("--output", str(output), "--resume"))
    assert run.resumed_from is None
    assert (f"no checkpoint in {output} yet: training from the start"
            in capsys.readouterr().out.splitlines())
    for name in ("checkpoint-9", "checkpoint-120", "checkpoint-40", "checkpoint-x"):
        (output / name).mkdir(parents=True)
    run = _run_script(script, monkeypatch, args=("--output", str(output)))
    assert run.resumed_from is None  # only when asked
    run = _run_script(script, monkeypatch, args=("--output", str(output), "--resume"))
    assert run.resumed_from == str(output / "checkpoint-120")
    assert f"going on from {output / 'checkpoint-120'}" in capsys.readouterr().out.splitlines()


def test_the_trl_script_says_when_the_model_counts_tokens_otherwise(
        two_files: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Each line's metadata.token_count is what LoRA Studio counted; another model's
    tokenizer gives other lengths, so the budget means something else: said, not refused."""
    script = _script_of(two_files, "Trim", tmp_path)
    _run_script(script, monkeypatch)  # the tokenizer LoRA Studio counted with
    assert "tokenizer" not in capsys.readouterr().err
    run = _run_script(script, monkeypatch, tokenizer=_WordTokenizer())
    lines = [orjson.loads(raw) for raw in (tmp_path / "f.jsonl").read_bytes().splitlines()]
    first = len(run.tokenizer.counter.text(lines[0]["messages"]).split())
    counted = lines[0]["metadata"]["token_count"]
    assert first != counted and run.saved_model  # it trained all the same
    (note,) = [said for said in capsys.readouterr().err.splitlines() if "tokenizer" in said]
    assert note == (
        f"NOTE: The tokenizer of stand-in gives {len(lines)} of the first {len(lines)} lines "
        "another length than LoRA Studio counted with Mistral 7B v0.3 (bundled) (line 1: "
        f"{first:,} tokens, not {counted:,}), so the file's token counts and its length limit "
        "(MAX_LENGTH, 3,072) were made with another tokenizer: they are not this model's, "
        "and lines LoRA Studio showed within the limit may be cut; if you did not mean "
        "that, choose this model's tokenizer in LoRA Studio (lora-studio tokens) and "
        "download the file again.")


@pytest.mark.parametrize("fmt", [ExportFormat.JSONL, ExportFormat.MESSAGES_ONLY,
                                 ExportFormat.NO_SESSION_CONTEXT, ExportFormat.SPLIT,
                                 ExportFormat.PER_REPLY])
def test_a_weight0_export_says_which_trainers_would_train_its_cut_off_replies(
        two_files: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        fmt: ExportFormat) -> None:
    """LLaMA-Factory and Unsloth ignore "weight": a weight0 file's lines would teach them
    the cut-off endings the policy keeps untrained. The export says so where the person
    reads (the manifest, the command line), not only in FORMATS.md; the one-line-per-reply
    export's weights are meant for trainers that read them, and a trim file has none."""
    extra = tmp_path / "extra"
    extra.mkdir()
    import_paths(two_files, [cut_in_the_middle(extra)])
    add_conversations(two_files, "Weighted", ["fp_conversation_cut_in_the_middle"])
    two_files.close()
    folder = tmp_path / fmt.value
    target = folder if fmt is ExportFormat.SPLIT else folder / f"w.{fmt.value}.jsonl"
    for name in ("Weighted", "Trim"):
        capsys.readouterr()
        out = folder / name
        where = out if fmt is ExportFormat.SPLIT else out / target.name
        assert main(["--data-dir", str(two_files.root), "export", name, "--format",
                     fmt.value, "-o", str(where), "--valid-fraction", "0.3"]) == 0
        said = capsys.readouterr().out
        manifest = orjson.loads(next(out.glob("*manifest.json")).read_bytes())
        warned = name == "Weighted" and fmt is not ExportFormat.PER_REPLY
        assert (weight_ignored_sentence(name) in said) is warned, said
        assert (weight_ignored_sentence(name) in manifest.get("notes", [])) is warned
        if fmt is ExportFormat.SPLIT:
            assert (out / "valid.jsonl").exists()  # a note is no reason to take it away
    assert "LLaMA-Factory, Unsloth and MLX-LM ignore \"weight\" and would train them" in \
        weight_ignored_sentence("Weighted")


def test_axolotl_tokenizes_a_newer_download_again(two_files: Library, tmp_path: Path) -> None:
    """Axolotl names its tokenized-data cache after the config and the data's path: the
    config names it after the data's bytes, so a download that replaced the file under the
    same name is never trained from the older one's cache."""
    target = tmp_path / "trim.jsonl"
    export(two_files, "Trim", ExportFormat.JSONL, target, recipes=True)
    config_path = tmp_path / "trim.jsonl.axolotl.yml"
    first = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert first["gradient_checkpointing"] is True
    some = [row.conversation_id for row in two_files.summaries()][:3]
    add_conversations(two_files, "Fewer", some, create=True)
    with two_files.session() as session, session.begin():
        session.query(TrainingFile).filter_by(name="Fewer").one().max_seq_len = 3072
    export(two_files, "Fewer", ExportFormat.JSONL, target, recipes=True, overwrite=True)
    second = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert first["dataset_prepared_path"].startswith("./last_run_prepared/")
    assert second["dataset_prepared_path"].startswith("./last_run_prepared/")
    assert first["dataset_prepared_path"] != second["dataset_prepared_path"]
    # The same bytes, the same cache: a second download of an unchanged file reuses it.
    export(two_files, "Fewer", ExportFormat.JSONL, target, recipes=True, overwrite=True)
    third = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert third["dataset_prepared_path"] == second["dataset_prepared_path"]
    assert {k: v for k, v in first.items() if k != "dataset_prepared_path"} == {
        k: v for k, v in second.items() if k != "dataset_prepared_path"}


@pytest.mark.parametrize("data_file",
                         ["Q4: review.jsonl", "#1 pick.jsonl", "a 'quoted' \"name\".jsonl"])
def test_the_axolotl_config_names_any_data_file_as_one_path(data_file: str) -> None:
    """A name YAML would read otherwise (a colon and space, a leading #, quotes) is still
    the one relative path of the data."""
    spec = RecipeInput("F", data_file, "valid: set.jsonl", 4096, "trim", False,
                       bundled_template(sorted(BUNDLED)[0]).source, "test")
    config = yaml.safe_load(axolotl_config(spec))
    assert config["datasets"][0]["path"] == f"./{data_file}"
    assert config["test_datasets"][0]["path"] == "./valid: set.jsonl"
