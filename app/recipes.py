"""Trainer recipes written beside a download: a TRL script and an Axolotl config (the
LLaMA-Factory and MLX-LM ones are in ``app.llamafactory_recipe`` and ``app.mlx_recipe``).

Both use the downloaded file as it is, train only the consultant's replies (TRL's
``assistant_only_loss``, Axolotl's ``roles_to_train``; for the one-line-per-reply export only
the reply a line ends on: TRL's ``completion_only_loss`` on a prompt and completion made
from the line, Axolotl's ``message_field_training: weight``), and take the maximum sequence
length from the training file's own budget (``training_files.max_seq_len``), so a run does
not silently cut conversations at a trainer's default length; the TRL script says how many
training and validation lines TRL leaves out (none of their trained tokens within that
length), which it does without a word. They are starting points:
the base model, LoRA rank and learning rate are the user's to choose. The TRL script saves
the adapter and the tokenizer it trained with (and a checkpoint at each epoch's end, to go on
from with ``--resume``), loads the model in bfloat16 where the GPU has it (float16 with mixed
precision for LoRA on an older GPU), honours ``"weight": 0`` through its chat template's
``{% generation %}`` marks, and says when the model's tokenizer counts the file's lines
otherwise than LoRA Studio did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app import __version__
from app.cutoff import CutOffPolicy

TRL_SUFFIX = ".trl.py"
AXOLOTL_SUFFIX = ".axolotl.yml"
LLAMAFACTORY_SUFFIX = ".llamafactory.yaml"
MLX_SUFFIX = ".mlx.yaml"
# LLaMA-Factory finds a dataset only by its entry in this file of its dataset_dir; an
# export adds its entries to one already there (``app.llamafactory_recipe``).
DATASET_INFO = "dataset_info.json"
# The chat template LoRA Studio counts with, for MLX-LM, which renders with the template in
# the model's folder (beside a split only, with the MLX-LM config).
CHAT_TEMPLATE_FILE = "chat_template.jinja"


@dataclass(frozen=True)
class RecipeInput:
    training_file: str
    train_file: str  # file name, beside the recipe
    eval_file: str | None  # the validation file of a split
    max_seq_len: int
    cut_off_policy: str
    last_reply_only: bool  # the one-line-per-reply export
    # The chat template the library counts tokens with, and its name; "" leaves the choice
    # to the model's own template.
    chat_template: str = ""
    chat_template_label: str = ""
    # The tokenizer the file's token counts (metadata.token_count) were made with.
    tokenizer_label: str = ""
    # A digest of the data files' bytes: Axolotl names its cache of the tokenized data after
    # the config and the file's path only, so a newer download under the same name would
    # otherwise train from the older one's cache without a word.
    data_digest: str = ""
    # The bundled template's key ("mistral", ...; "custom" or "" otherwise): LLaMA-Factory
    # renders with a template of its own, chosen by name.
    chat_template_key: str = ""
    train_lines: int = 0  # lines in the training file
    eval_lines: int = 0  # lines in the validation file (0: none)


def recipe_paths(destination: Path, writes_folder: bool) -> list[Path]:
    """The recipe files an export to ``destination`` writes, each replaced whole: the TRL
    script, the Axolotl and LLaMA-Factory configs and, in a split's folder, the MLX-LM
    config and its chat template. ``dataset_info.json`` is not among them: it is merged
    into (``dataset_info_path``)."""
    if writes_folder:
        return [destination / f"train{suffix}" for suffix in
                (TRL_SUFFIX, AXOLOTL_SUFFIX, LLAMAFACTORY_SUFFIX, MLX_SUFFIX)] + [
                    destination / CHAT_TEMPLATE_FILE]
    return [destination.with_name(destination.name + suffix)
            for suffix in (TRL_SUFFIX, AXOLOTL_SUFFIX, LLAMAFACTORY_SUFFIX)]


def dataset_info_path(destination: Path, writes_folder: bool) -> Path:
    """LLaMA-Factory's ``dataset_info.json`` beside an export to ``destination``."""
    return (destination if writes_folder else destination.parent) / DATASET_INFO


def _honours_weights(spec: RecipeInput) -> bool:
    """Whether the file marks cut-off replies with ``"weight": 0`` for the TRL script to
    leave untrained (one line per reply trains only the reply a line ends on, always
    weight 1, in TRL too)."""
    return spec.cut_off_policy == CutOffPolicy.WEIGHT0.value and not spec.last_reply_only


# What the TRL script says when the template it trains with cannot leave weight-0 replies
# untrained (it has no {% generation %} marks inside a loop over the messages).
WEIGHTS_IGNORED = ("This file keeps cut-off replies as context with \"weight\": 0, but the "
                   "chat template has no {% generation %} marks inside a loop over the "
                   "messages, so TRL would train them: use the Axolotl config, or set the "
                   "training file's cut-off policy to trim.")


def _trl_parts(spec: RecipeInput) -> tuple[str, str, str, str]:
    """What differs in the TRL script for the one-line-per-reply export: its docstring's
    sentence on what is trained, a helper, how the data is prepared and the loss setting.

    There only the reply a line ends on is trained: each line becomes TRL's conversational
    prompt and completion (everything before the reply, and the reply), and
    ``completion_only_loss`` keeps the loss on the completion. ``assistant_only_loss``
    would train every earlier reply again in each later line."""
    if not spec.last_reply_only:
        return (
            "Only the consultant's replies are trained (assistant_only_loss), which needs a "
            "chat template\nthat marks assistant turns with {% generation %}; pass "
            "--chat-template FILE (a Jinja\ntemplate) when the model's own template has no "
            "such marks.",
            "",
            'data = data.select_columns(["messages"])  # trainers need only the chat',
            "assistant_only_loss=True,")
    helper = """

def as_prompt_and_completion(row: dict) -> dict:
    \"\"\"A line as a prompt and a completion: the reply it ends on (its only reply with
    weight 1) is the completion, everything before it the prompt.\"\"\"
    chat = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    return {"prompt": chat[:-1], "completion": chat[-1:]}
"""
    return (
        "Each line trains only the reply it ends on: the line becomes a prompt (everything "
        "before\nthat reply) and a completion (the reply), and the loss is on the completion "
        "only\n(completion_only_loss). Earlier replies are history, never trained again.",
        helper,
        "data = data.map(as_prompt_and_completion,\n"
        "                    remove_columns=data[\"train\"].column_names)",
        "completion_only_loss=True,")


# Pure Python, so that it can be tried without torch: a weight-0 reply written outside the
# template's {% generation %} marks, which assistant_only_loss then leaves untrained.
_WEIGHT_HELPER = r'''
# A Jinja comment (left as it is: it may name the marks) or a {% generation %} block.
GENERATION = re.compile(r"(?P<comment>\{#.*?#\})|(?P<opening>\{%-?\s*generation\s*-?%\})"
                        r"(?P<body>.*?)(?P<closing>\{%-?\s*endgeneration\s*-?%\})", re.DOTALL)
# The start of a for loop (what it names, what it loops over) or its end.
LOOP = re.compile(r"\{%-?\s*(?:for\s+([\w\s,]+?)\s+in\s+(\w+)|(endfor))\b")
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def open_message_loop(before: str) -> str | None:
    """The name of the innermost loop over the messages still open at the end of
    ``before`` (a template's text up to a block), if any."""
    names: list[str] = []
    for name, over, end in LOOP.findall(COMMENT.sub("", before)):
        if end:
            if names:
                names.pop()
        else:
            names.append(name if over == "messages" and name.isidentifier() else "")
    return next((name for name in reversed(names) if name), None)


def honouring_weights(template: str) -> str | None:
    """The template with each {% generation %} block written twice: plain for a message
    whose "weight" is 0, marked (trained) otherwise; the text is the same either way. None
    when there is no block, or one is not inside a loop over the messages (no message to
    read the weight of)."""
    blocks = []

    def either(match: re.Match) -> str:
        if match["comment"]:
            return match["comment"]
        message = open_message_loop(template[:match.start()])
        if message is None:
            raise LookupError
        blocks.append(match)
        opening, body, closing = match["opening"], match["body"], match["closing"]
        left, right = "-" * opening.startswith("{%-"), "-" * opening.endswith("-%}")
        close_left, close_right = "-" * closing.startswith("{%-"), "-" * closing.endswith("-%}")
        return (f"{{%{left} if {message}['weight'] == 0 {right}%}}{body}"
                f"{{%{close_left} else %}}{opening}{body}{closing}{{% endif {close_right}%}}")

    try:
        weighted = GENERATION.sub(either, template)
    except LookupError:
        return None
    return weighted if blocks else None
'''

# Pure Python too: whether the model's tokenizer counts the file's lines as LoRA Studio did.
_TOKENIZER_HELPER = r'''

def counted_otherwise(tokenizer, lines, model: str) -> str:
    """A sentence when the model's tokenizer gives any of the first CHECKED_LINES lines
    another length than the line's metadata.token_count (what LoRA Studio counted, with
    TOKENIZER and CHAT_TEMPLATE); "" when they all agree."""
    checked, differing, first = 0, 0, None
    for number in range(min(len(lines), CHECKED_LINES)):
        row = lines[number]
        counted = (row.get("metadata") or {}).get("token_count")
        if not CHAT_TEMPLATE or not isinstance(counted, int):
            continue
        text = tokenizer.apply_chat_template(row["messages"], chat_template=CHAT_TEMPLATE,
                                             tokenize=False)
        length = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        checked += 1
        if length != counted:
            differing += 1
            first = first or (number + 1, length, counted)
    if not differing:
        return ""
    line, length, counted = first
    return (f"The tokenizer of {model} gives {differing} of the first {checked} lines another "
            f"length than LoRA Studio counted with {TOKENIZER} (line {line}: {length:,} "
            f"tokens, not {counted:,}), so the file's token counts and its length limit "
            f"(MAX_LENGTH, {MAX_LENGTH:,}) were made with another tokenizer: they are not "
            "this model's, and lines LoRA Studio showed within the limit may be cut; if you "
            "did not mean that, choose this model's tokenizer in LoRA Studio (lora-studio "
            "tokens) and download the file again.")
'''


def _weights_steps(spec: RecipeInput) -> str:
    """The lines of ``main`` that make the template leave weight-0 replies untrained."""
    if not _honours_weights(spec):
        return ""
    return f"""
    # Cut-off replies carry "weight": 0; TRL trains what the template marks with
    # {{% generation %}}, so a weight-0 reply is written outside those marks.
    weighted = honouring_weights(tokenizer.chat_template or "")
    if weighted is None:
        print("NOTE: " + {json.dumps(WEIGHTS_IGNORED)}, file=sys.stderr)
    else:
        tokenizer.chat_template = weighted"""


def trl_script(spec: RecipeInput) -> str:
    """A runnable TRL script for the file (``python <file>.trl.py --model NAME``)."""
    eval_line = (f"EVAL_FILE = {json.dumps(spec.eval_file)}\n" if spec.eval_file
                 else "EVAL_FILE = None\n")
    trained, helper, prepare, loss = _trl_parts(spec)
    weighted = _honours_weights(spec)
    if weighted:
        trained += ("\nA cut-off reply kept as context (\"weight\": 0) is written outside "
                    "the template's\n{% generation %} marks, so it is not trained.")
    helpers = (_WEIGHT_HELPER if weighted else "") + _TOKENIZER_HELPER + helper
    marks = (". --chat-template overrides it." if spec.last_reply_only else
             "; it\n# marks the replies with {% generation %} for assistant_only_loss. "
             "--chat-template overrides it.")
    return f'''"""Fine-tune a LoRA adapter with TRL on {spec.training_file!r}.

Written by LoRA Studio {__version__} beside the file it trains on. Run:

    python {{this file}} --model <a Hugging Face model name or a local model folder>

{trained}
Sequences are at most MAX_LENGTH tokens, the training file's own budget. The adapter and
the tokenizer (with the chat template it trained with) are saved in --output.
"""

from __future__ import annotations

import argparse
{"import re" + chr(10) if weighted else ""}import sys
from pathlib import Path

import torch
from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

HERE = Path(__file__).resolve().parent
TRAIN_FILE = {json.dumps(spec.train_file)}
{eval_line}MAX_LENGTH = {spec.max_seq_len}
# The tokenizer LoRA Studio counted each line's metadata.token_count with; the script
# checks that --model's tokenizer gives the first CHECKED_LINES lines the same lengths.
TOKENIZER = {json.dumps(spec.tokenizer_label or "LoRA Studio's tokenizer", ensure_ascii=False)}
CHECKED_LINES = 20
# The chat template LoRA Studio counted tokens with ({spec.chat_template_label or "none"}){marks}
CHAT_TEMPLATE = {json.dumps(spec.chat_template)}
{helpers}

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--output", default=str(HERE / "lora-output"))
    parser.add_argument("--chat-template", type=Path, help="a Jinja chat template to use")
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--no-lora", action="store_true", help="train all weights")
    parser.add_argument("--resume", action="store_true",
                        help="go on from the last checkpoint in --output (one is saved at "
                             "the end of each epoch)")
    args = parser.parse_args()

    files = {{"train": str(HERE / TRAIN_FILE)}}
    if EVAL_FILE:
        files["validation"] = str(HERE / EVAL_FILE)
    data = load_dataset("json", data_files=files)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    differs = counted_otherwise(tokenizer, data["train"], args.model)
    if differs:
        print(f"NOTE: {{differs}}", file=sys.stderr)
    {prepare}
    if args.chat_template:
        tokenizer.chat_template = args.chat_template.read_text(encoding="utf-8")
    elif CHAT_TEMPLATE:  # what LoRA Studio counted tokens with
        tokenizer.chat_template = CHAT_TEMPLATE
    chosen_template = tokenizer.chat_template  # saved with the adapter{_weights_steps(spec)}
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # 32-bit weights would not fit a 7B model in 24 GB: bfloat16 where the GPU has it; an
    # older GPU trains a LoRA adapter in float16 with mixed precision (the adapter itself
    # stays float32); all weights in float16 would not train, so --no-lora stays float32.
    gpu = torch.cuda.is_available()
    bf16 = gpu and torch.cuda.is_bf16_supported()
    fp16 = gpu and not bf16 and not args.no_lora
    if bf16:
        print("loading the model in bfloat16 (the GPU supports it)")
    elif fp16:
        print("loading the model in float16, training with mixed precision "
              "(this GPU has no bfloat16)")
    else:
        print("loading the model in float32 (" + (
            "no GPU: on the CPU" if not gpu else
            "this GPU has no bfloat16, and all weights do not train in float16") + ")")
    model = AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.bfloat16 if bf16 else torch.float16 if fp16 else torch.float32)

    peft_config = None
    if not args.no_lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05,
                                 target_modules="all-linear", task_type="CAUSAL_LM")
    config = SFTConfig(
        output_dir=args.output,
        {loss}
        max_length=MAX_LENGTH,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.batch_size,
        logging_steps=1,
        # a checkpoint at each epoch's end (the last two kept): --resume goes on from it
        save_strategy="epoch",
        save_total_limit=2,
        eval_strategy="epoch" if EVAL_FILE else "no",
        report_to=[],
        use_cpu=not gpu,
        bf16=bf16,
        fp16=fp16,
    )
    trainer = SFTTrainer(model=model, args=config, train_dataset=data["train"],
                         eval_dataset=data["validation"] if EVAL_FILE else None,
                         processing_class=tokenizer, peft_config=peft_config)
    # TRL drops, without a word, a line with no trained token within MAX_LENGTH (a
    # one-line-per-reply line whose history alone fills it), from the validation lines as
    # from the training lines (the evaluation then scores fewer): say how many of each.
    kept = {{"train": trainer.train_dataset, "validation": trainer.eval_dataset}}
    for split, what in (("train", "training"), ("validation", "validation")):
        if split not in data:
            continue
        left_out = len(data[split]) - len(kept[split])
        if left_out:
            print(f"NOTE: TRL left out {{left_out}} of {{len(data[split])}} {{what}} lines: none "
                  f"of their trained replies starts within MAX_LENGTH ({{MAX_LENGTH}}) tokens. "
                  "Raise the training file's length limit in LoRA Studio "
                  "(lora-studio max-len) and download it again to use them.", file=sys.stderr)
    steps = {{int(folder.name[len("checkpoint-"):]): folder
              for folder in Path(args.output).glob("checkpoint-*")
              if folder.name[len("checkpoint-"):].isdigit()}}
    resume_from = str(steps[max(steps)]) if args.resume and steps else None
    if args.resume:
        print(f"going on from {{resume_from}}" if resume_from else
              f"no checkpoint in {{args.output}} yet: training from the start")
    result = trainer.train(resume_from_checkpoint=resume_from)
    print(f"trained {{result.global_step}} steps, final loss {{result.training_loss:.4f}}")
    trainer.save_model(args.output)
    tokenizer.chat_template = chosen_template
    tokenizer.save_pretrained(args.output)
    saved = "the model" if args.no_lora else "the LoRA adapter"
    print(f"saved {{saved}} and the tokenizer with its chat template in {{args.output}}")


if __name__ == "__main__":
    main()
'''


def _axolotl_template(spec: RecipeInput) -> str:
    """The chat template lines: the library's own template, inline, so that Axolotl trains
    with what the token counts and the as-trained view assumed (a model's own template may
    differ: Mistral 7B v0.3's writes the system prompt only before the last client turn,
    which a training line never has)."""
    if not spec.chat_template:
        return "chat_template: tokenizer_default   # or a named template for your base model\n"
    # An explicit indentation (|2-): a template whose first line starts with spaces would
    # otherwise set the block's indentation itself.
    body = "".join(f"  {line}\n" for line in spec.chat_template.splitlines())
    return (f"# The chat template LoRA Studio counted tokens with ({spec.chat_template_label}); "
            "it must match your base model's\n# special tokens: change the tokenizer in "
            "LoRA Studio's settings, not here, to keep the counts true.\n"
            "chat_template: jinja\n"
            f"chat_template_jinja: |2-\n{body}")


def _axolotl_dataset(spec: RecipeInput, path: str, split: str | None = None) -> str:
    """One entry of ``datasets`` or ``test_datasets``: the same keys for both, so that
    evaluation scores exactly the messages training learns (with ``"weight": 0`` replies
    left out of both, not only of training)."""
    weighted = spec.last_reply_only or spec.cut_off_policy == CutOffPolicy.WEIGHT0.value
    weight = ("    message_field_training: weight   # weight 0 = context, 1 = trained\n"
              if weighted else "")
    # One line per reply: only what the line marks with weight 1 (the reply it ends on) is
    # trained; unmarked messages (system, client) fall back to roles_to_train: none.
    roles = ("    roles_to_train: []   # only messages with weight 1 are trained\n"
             "    train_on_eos: turn   # and the end-of-turn token after them\n"
             if spec.last_reply_only else "    roles_to_train: [\"assistant\"]\n")
    # Quoted as a JSON string (valid YAML): a name such as "Q4: review" stays one path.
    return (f"  - path: {json.dumps('./' + path, ensure_ascii=False)}\n"
            "    ds_type: json\n"
            + (f"    split: {split}\n" if split else "")
            + "    type: chat_template\n"
            "    field_messages: messages\n"
            "    message_property_mappings:\n"
            "      role: role\n"
            "      content: content\n"
            f"{roles}{weight}")


def _axolotl_prepared_path(spec: RecipeInput) -> str:
    """Where Axolotl keeps the tokenized data: a folder named after the data's bytes, so a
    download that replaced the file is tokenized again, never trained from a stale cache."""
    if not spec.data_digest:
        return ""
    return ("# Named after the data's contents: Axolotl would otherwise reuse the tokenized\n"
            "# data of an older download of the same name and train on that.\n"
            f"dataset_prepared_path: ./last_run_prepared/{spec.data_digest[:16]}\n")


def axolotl_config(spec: RecipeInput) -> str:
    """An Axolotl YAML config for the file (``axolotl train <file>.axolotl.yml``)."""
    evaluation = ("test_datasets:\n" + _axolotl_dataset(spec, spec.eval_file, "train")
                  if spec.eval_file else "val_set_size: 0\n")
    return (
        f"# Axolotl config for {spec.training_file!r}, written by LoRA Studio {__version__}.\n"
        "# Set base_model, then run from this folder (the data's path is relative to it):\n"
        "#   axolotl train this-file.yml\n"
        "base_model: REPLACE_WITH_YOUR_BASE_MODEL\n"
        f"{_axolotl_template(spec)}"
        "datasets:\n"
        f"{_axolotl_dataset(spec, spec.train_file)}"
        f"{evaluation}"
        f"{_axolotl_prepared_path(spec)}"
        f"sequence_len: {spec.max_seq_len}   # the training file's length limit\n"
        "train_on_inputs: false\n"
        "adapter: lora\n"
        "lora_r: 16\n"
        "lora_alpha: 32\n"
        "lora_dropout: 0.05\n"
        "lora_target_linear: true\n"
        "micro_batch_size: 1\n"
        "gradient_accumulation_steps: 8\n"
        "gradient_checkpointing: true   # long lines: activations recomputed, not all kept\n"
        "num_epochs: 2\n"
        "learning_rate: 0.0002\n"
        "optimizer: adamw_torch\n"
        "lr_scheduler: cosine\n"
        "output_dir: ./lora-output\n"
    )
