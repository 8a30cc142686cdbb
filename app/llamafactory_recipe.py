"""LLaMA-Factory beside a download: the ``dataset_info.json`` entries it loads the data by,
and a training YAML (``llamafactory-cli train <file>.llamafactory.yaml``).

LLaMA-Factory reads a dataset only through its entry in the ``dataset_info.json`` of its
``dataset_dir``; without one the person writes it by hand. The entries read each line's
``messages`` as "sharegpt" with the OpenAI-style tags (role, content, user, assistant,
system), which LLaMA-Factory 0.9.5 was seen to load and train, replies and ``</s>`` only.

A folder may already hold a ``dataset_info.json`` (LLaMA-Factory's own data folder holds
dozens of entries): its other entries are the person's, so ours are merged in, never the
file replaced. An entry of the same name for another file is someone else's too: the
export is refused before it writes anything, saying which.

The file is shared by every download into the folder, so a download's manifest records
only what it owns there: each of its entries' canonical sha256 (``owned_entries``), which
a later download's merge leaves as it was and an edit of the entry changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app import __version__
from app.errors import LibraryError
from app.recipes import RecipeInput

# LoRA Studio's bundled chat templates and the LLaMA-Factory template that writes a line's
# text as they do. Mistral's was seen token for token (each row's length is the line's
# metadata.token_count); ChatML's and Llama 3's were compared by their text only.
TEMPLATES = {"mistral": "mistral", "chatml": "chatml", "llama3": "llama3"}
SEEN_TOKEN_FOR_TOKEN = frozenset({"mistral"})
OUTPUT_DIR = "./lora-output-llamafactory"


def dataset_name(file_name: str) -> str:
    """A data file's name in ``dataset_info.json``: the file's name without ``.jsonl``.
    LLaMA-Factory splits its ``dataset`` setting at commas, so a comma cannot stay."""
    return file_name.removesuffix(".jsonl").replace(",", "_").strip() or file_name


def dataset_entry(file_name: str) -> dict[str, Any]:
    """One ``dataset_info.json`` entry: our lines' ``messages`` as sharegpt."""
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"},
    }


def dataset_entries(train_file: str, eval_file: str | None) -> dict[str, dict[str, Any]]:
    """The entries an export adds: its training file and a split's validation file."""
    files = [train_file, *([eval_file] if eval_file else [])]
    return {dataset_name(name): dataset_entry(name) for name in files}


def entry_digest(entry: object) -> str:
    """The sha256 of an entry as canonical JSON (keys sorted, no spaces), so the same entry
    gives the same digest however the file around it is indented or ordered."""
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def owned_entries(entries: Mapping[str, object]) -> dict[str, str]:
    """What a manifest records of the entries a download wrote: each name's digest."""
    return {name: entry_digest(entry) for name, entry in entries.items()}


def _read_existing(path: Path) -> dict[str, Any]:
    """The ``dataset_info.json`` already at ``path`` ({} when there is none)."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return {}  # none yet (a folder on the way that is a file is said when writing)
    except OSError as exc:
        raise LibraryError(
            f"{path} cannot be read ({exc.strerror or exc}), so LoRA Studio cannot add this "
            "download's LLaMA-Factory entries to it. Let LoRA Studio read it, or save the "
            "download in another folder. Nothing was exported.") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        document = None
    if not isinstance(document, dict):
        raise LibraryError(
            f"{path} is not a JSON object of dataset entries, so LoRA Studio cannot add "
            "this download's LLaMA-Factory entries to it. Correct or move that file, or "
            "save the download in another folder. Nothing was exported.")
    return document


def check_dataset_info(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse, before anything is written, a ``dataset_info.json`` the entries cannot go
    into: one that does not read as entries, or that names another file under one of
    our names (that entry is someone's own)."""
    existing = _read_existing(path)
    for name, entry in entries.items():
        theirs = existing.get(name)
        if theirs is None:
            continue
        if not isinstance(theirs, dict) or theirs.get("file_name") != entry["file_name"]:
            other = theirs.get("file_name") if isinstance(theirs, dict) else None
            what = f"the file {other}" if other else "something else"
            raise LibraryError(
                f"{path} already has a dataset named '{name}' for {what}, not for "
                f"{entry['file_name']}, and LoRA Studio would have to replace it. Rename "
                "that entry, or save the download under another name or in another "
                "folder. Nothing was exported.")


def merged_dataset_info(path: Path, entries: Mapping[str, Mapping[str, Any]],
                        dropped: Mapping[str, str] | None = None) -> bytes:
    """The ``dataset_info.json`` at ``path`` with ``entries`` added (ours replaced, every
    other entry kept as it was, in its place). ``dropped``: names of entries to take out
    when they still name their file (a split's ``valid`` after a split without one)."""
    check_dataset_info(path, entries)
    document = _read_existing(path)
    for name, file_name in (dropped or {}).items():
        theirs = document.get(name)
        if isinstance(theirs, dict) and theirs.get("file_name") == file_name:
            del document[name]
    document.update({name: dict(entry) for name, entry in entries.items()})
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _quoted(text: str) -> str:
    """A YAML scalar for any text (a JSON string is a YAML double-quoted scalar)."""
    return json.dumps(text, ensure_ascii=False)


def _template_lines(spec: RecipeInput) -> str:
    name = TEMPLATES.get(spec.chat_template_key)
    if name and spec.chat_template_key in SEEN_TOKEN_FOR_TOKEN:
        return ("# LLaMA-Factory's own template that renders lines as LoRA Studio's "
                f"{spec.chat_template_label or name}\n# template, which the token counts "
                "were made with: change the tokenizer in LoRA Studio's settings, not here.\n"
                f"template: {name}\n")
    if name:
        return ("# LLaMA-Factory's own template that writes the same text as LoRA Studio's "
                f"{spec.chat_template_label or name}\n# template (compared by text, not "
                "trained): check that a line's length in LLaMA-Factory is its\n"
                "# metadata.token_count with your base model's tokenizer.\n"
                f"template: {name}\n")
    return ("# LoRA Studio counted tokens with its own chat template "
            f"({spec.chat_template_label or 'none'}), which LLaMA-Factory cannot take:\n"
            "# set the LLaMA-Factory template of your base model that renders as it does.\n"
            "template: REPLACE_WITH_A_LLAMAFACTORY_TEMPLATE\n")


def llamafactory_config(spec: RecipeInput) -> str:
    """A LLaMA-Factory training YAML for the file, reading it through ``dataset_info.json``
    beside it; what to set (the base model) is marked."""
    entries = dataset_entries(spec.train_file, spec.eval_file)
    train_name, *eval_names = entries
    evaluation = ""
    if eval_names:
        evaluation = (f"eval_dataset: {_quoted(eval_names[0])}\n"
                      "per_device_eval_batch_size: 1\n"
                      "eval_strategy: epoch\n")
    history = ("mask_history: true   # each line trains only the reply it ends on; earlier "
               "replies are history\n" if spec.last_reply_only else "")
    return (
        f"# LLaMA-Factory config for {spec.training_file!r}, written by LoRA Studio "
        f"{__version__}.\n"
        "# Set model_name_or_path, then run from this folder (dataset_dir is this folder, "
        "where\n# dataset_info.json names the data files):\n"
        "#   llamafactory-cli train this-file.yaml\n"
        "model_name_or_path: REPLACE_WITH_YOUR_BASE_MODEL\n"
        "stage: sft\n"
        "do_train: true\n"
        "finetuning_type: lora\n"
        "lora_target: all\n"
        "lora_rank: 16\n"
        "lora_alpha: 32\n"
        "lora_dropout: 0.05\n"
        "dataset_dir: .\n"
        f"dataset: {_quoted(train_name)}   # its entry is in dataset_info.json\n"
        f"{evaluation}"
        f"{_template_lines(spec)}"
        f"cutoff_len: {spec.max_seq_len}   # the training file's length limit\n"
        f"{history}"
        "overwrite_cache: true   # a newer download under the same name is read again\n"
        f"output_dir: {OUTPUT_DIR}\n"
        "per_device_train_batch_size: 1\n"
        "gradient_accumulation_steps: 8\n"
        "learning_rate: 2.0e-4\n"
        "num_train_epochs: 2.0\n"
        "lr_scheduler_type: cosine\n"
        "bf16: true   # false on a GPU without bfloat16 (set fp16: true there) or on the CPU\n"
        "logging_steps: 10\n"
        "save_strategy: epoch\n"
        "report_to: none\n"
    )
