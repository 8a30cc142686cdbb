"""What the trainer reads for one conversation: its JSONL line, shown as indented JSON.

A plain view for the reader's "As trained…" button until a richer as-trained view (token
counts, trained and untrained messages) takes its place through the same signal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.jsonl import jsonl_lines

PREVIEW_FILE = "(preview)"


def as_trained_text(record: Mapping[str, Any]) -> str:
    lines = list(jsonl_lines(record, PREVIEW_FILE))
    if not lines:
        return "This conversation has no reply to train on, so it gets no JSONL line."
    return "\n\n".join(orjson.dumps(line, option=orjson.OPT_INDENT_2).decode()
                       for line in lines)


class AsTrainedDialog(QDialog):
    def __init__(self, record: Mapping[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"As trained: {record['conversation_id']}")
        note = QLabel("The JSONL line a trainer reads for this conversation: messages, then "
                      "metadata (trainers ignore metadata).")
        note.setWordWrap(True)
        self.text = QPlainTextEdit(as_trained_text(record))
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(760, 640)
