"""What the Download menu offers: each copy says what it is for, and its size when known.

The full JSON is for people to review; the JSONL is what a trainer reads. The variants
reshape the JSONL for stricter trainers and are made on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.export import ExportFormat
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
    tip: str
    suffix: str  # added to the file name offered
    dialog_title: str


MAIN = (
    Download("json", ExportFormat.JSON, "JSON", "for people to review",
             "The full training file: header, consultant profile and every conversation with "
             "its annotations", ".json", "Save the full JSON"),
    Download("jsonl", ExportFormat.JSONL, "JSONL", "for the trainer",
             "One line per conversation in chat format, exactly as stored: Axolotl, TRL, "
             "LLaMA-Factory, Unsloth and OpenAI read it as it is", ".jsonl", "Save the JSONL"),
)
VARIANTS = (
    Download("messages", ExportFormat.MESSAGES_ONLY, "JSONL, messages only",
             "for trainers that reject extra keys (OpenAI, Together)",
             "One line per conversation with only the messages key", ".messages.jsonl",
             "Save the JSONL with messages only"),
    Download("per_reply", ExportFormat.PER_REPLY, "JSONL, one line per reply",
             "for trainers that learn from the last message only",
             "One line per trainable reply, with the conversation so far as its prompt",
             ".per-reply.jsonl", "Save the JSONL with one line per reply"),
    Download("no_context", ExportFormat.NO_SESSION_CONTEXT, "JSONL without session context",
             "for training on the bare system prompt",
             "The system prompt without the client / arc / topic block",
             ".no-context.jsonl", "Save the JSONL without session context"),
)
SPLIT_TEXT = "Train / validation split…"
SPLIT_PURPOSE = "train.jsonl and valid.jsonl in a folder, for the trainer"


def menu_text(download: Download, info: TrainingFileInfo | None) -> str:
    """``JSON — for people to review (1.2 MB)``; variants give no size (made on the way)."""
    size = ""
    if info is not None and download.fmt is ExportFormat.JSON:
        size = f" ({human_size(info.json_bytes)})"
    elif info is not None and download.fmt is ExportFormat.JSONL:
        size = f" ({human_size(info.jsonl_bytes)})"
    return f"{download.title} — {download.purpose}{size}"
