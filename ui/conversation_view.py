"""The reading panel: one conversation's messages in order, with each turn's context."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from PySide6.QtWidgets import QTextBrowser, QWidget

ROLE_LABEL = {"system": "System", "user": "Client", "assistant": "Consultant"}
ROLE_COLOUR = {"system": "#6b7280", "user": "#1d4ed8", "assistant": "#047857"}


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br>")


def _emotion_line(context: Mapping[str, Any] | None) -> str:
    detected = (context or {}).get("detected_emotions") or {}
    parts = []
    if detected.get("primary"):
        intensity = detected.get("intensity")
        level = f" ({intensity:.2f})" if isinstance(intensity, int | float) else ""
        parts.append(f"{detected['primary']}{level}")
    if detected.get("secondary"):
        parts.append(f"also {detected['secondary']}")
    if detected.get("valence"):
        parts.append(f"valence {detected['valence']}")
    return ", ".join(parts)


def _message_html(message: Mapping[str, Any]) -> str:
    role = message["role"]
    turn = f" · turn {message['turn_number']}" if message.get("turn_number") else ""
    head = (f"<span style='color:{ROLE_COLOUR[role]};font-weight:600'>"
            f"{ROLE_LABEL[role]}</span><span style='color:#6b7280'>{turn}</span>")
    notes = []
    emotion = _emotion_line(message.get("emotional_context"))
    if emotion:
        label = "Client's state" if role == "user" else "Emotional context"
        notes.append(f"{label}: {escape(emotion)}")
    if message.get("conversation_phase"):
        notes.append(f"Phase: {escape(str(message['conversation_phase']))}")
    score = (message.get("training_metadata") or {}).get("quality_score")
    if role == "assistant" and score is not None:
        notes.append(f"Quality {escape(str(score))}")
    strategy = ((message.get("annotations") or {}).get("response_strategy") or {})
    if isinstance(strategy, Mapping) and strategy.get("primary_strategy"):
        notes.append(f"Strategy: {escape(str(strategy['primary_strategy']))}")
    note_html = (f"<div style='color:#6b7280;font-size:small'>{' · '.join(notes)}</div>"
                 if notes else "")
    body = _text(message["content"])
    if role == "system":
        body = f"<span style='color:#4b5563'>{body}</span>"
    return f"<div style='margin:10px 0'>{head}{note_html}<div>{body}</div></div>"


def conversation_html(record: Mapping[str, Any]) -> str:
    """Render a canonical record as HTML for the reading panel."""
    client = record.get("client") or {}
    scaffolding = record.get("scaffolding") or {}
    quality = record.get("quality") or {}
    facts = [
        ("Conversation", record.get("conversation_id")),
        ("Batch", record.get("batch_id")),
        ("Client", client.get("persona")),
        ("Persona archetype", scaffolding.get("persona_archetype")),
        ("Emotional arc", scaffolding.get("emotional_arc")),
        ("Training topic", scaffolding.get("training_topic")),
        ("Session", client.get("session_context")),
        ("Source file", (record.get("source") or {}).get("file_name")),
    ]
    rows = "".join(
        f"<tr><td style='color:#6b7280;padding-right:8px'>{escape(k)}</td>"
        f"<td>{escape(str(v))}</td></tr>"
        for k, v in facts if v
    )
    warnings = "".join(
        f"<li>{'Turn ' + str(w['turn_number']) + ': ' if w.get('turn_number') else ''}"
        f"{escape(w['message'])}</li>"
        for w in quality.get("warnings") or []
    )
    warning_html = (f"<div style='color:#b45309'><b>Quality warnings</b><ul>{warnings}</ul></div>"
                    if warnings else "")
    messages = "".join(_message_html(m) for m in record.get("messages") or [])
    return f"<table>{rows}</table>{warning_html}<hr>{messages}"


class ConversationView(QTextBrowser):
    """Read-only, selectable rendering of the selected conversation."""

    PLACEHOLDER = "Select a conversation to read it here."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setPlaceholderText(self.PLACEHOLDER)

    def show_record(self, record: Mapping[str, Any] | None) -> None:
        if record is None:
            self.clear()
        else:
            self.setHtml(conversation_html(record))
