"""What the Download menu offers: each copy says in its label what it is for, and its size
when known; the tooltip is the export registry's own description (``app.export.FORMATS``).

The full JSON is for people to review; the JSONL is what a trainer reads. The variants
reshape the JSONL for stricter trainers and are made on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.export import FORMATS, ExportFormat
from app.trainingfiles import TrainingFileInfo
from ui.training_files_model import human_size

JSON_FILTER = "JSON (*.json);;All files (*)"
JSONL_FILTER = "JSON Lines (*.jsonl);;All files (*)"


@dataclass(frozen=True)
class Download:
    key: str  # names the menu action
    fmt: ExportFormat
    title: str  # what it is
    purpose: str  # who it is for
    dialog_title: str

    @property
    def tip(self) -> str:
        return FORMATS[self.fmt].description

    @property
    def suffix(self) -> str:
        return FORMATS[self.fmt].suffix


MAIN = (
    Download("json", ExportFormat.JSON, "JSON", "for people to review", "Save the full JSON"),
    Download("jsonl", ExportFormat.JSONL, "JSONL", "for the trainer", "Save the JSONL"),
)
VARIANTS = (
    Download("messages", ExportFormat.MESSAGES_ONLY, "JSONL, messages only",
             "for trainers that reject extra keys (OpenAI, Together)",
             "Save the JSONL with messages only"),
    Download("per_reply", ExportFormat.PER_REPLY, "JSONL, one line per reply",
             "for trainers that learn from the last message only",
             "Save the JSONL with one line per reply"),
    Download("no_context", ExportFormat.NO_SESSION_CONTEXT, "JSONL without session context",
             "for training on the bare system prompt",
             "Save the JSONL without session context"),
)
SPLIT = ExportFormat.SPLIT
SPLIT_TEXT = "Train / validation split…"
SPLIT_PURPOSE = "train.jsonl and valid.jsonl in a folder, for the trainer"
SPLIT_PER_REPLY = ExportFormat.SPLIT_PER_REPLY
SPLIT_PER_REPLY_TEXT = "Train / validation split, one line per reply…"
SPLIT_PER_REPLY_PURPOSE = "for MLX-LM"
RECIPES_TEXT = "Also save trainer recipes (TRL, Axolotl, LLaMA-Factory, MLX-LM)"
RECIPES_TIP = ("With every JSONL copy and split, also save beside it a runnable TRL script, "
               "an Axolotl config and a LLaMA-Factory config with its entries in "
               "dataset_info.json (added to one already there; its other entries are kept), "
               "and with a split an MLX-LM config and chat_template.jinja: set to this file's "
               "length limit and chat template, training the consultant's replies only "
               "(listed in the manifest). Not with the full JSON, which is for people.")


def menu_text(download: Download, info: TrainingFileInfo | None) -> str:
    """``JSON — for people to review (1.2 MB)``; variants give no size (made on the way)."""
    size = ""
    if info is not None and download.fmt is ExportFormat.JSON:
        size = f" ({human_size(info.json_bytes)})"
    elif info is not None and download.fmt is ExportFormat.JSONL:
        size = f" ({human_size(info.jsonl_bytes)})"
    return f"{download.title} — {download.purpose}{size}"
