"""One message of the reader as a chat bubble: who and which turn, the client's emotion as
chips, the text with its markdown rendered, and the warnings about it.

Markdown goes through Qt's own reader (``QTextDocument.setMarkdown``, md4c inside Qt): it
ships with PySide6, follows CommonMark with GitHub's tables and lists, and with
``MarkdownNoHTML`` shows any HTML in a message as the text it is instead of obeying it. A
separate Python markdown library would add a dependency and still need its HTML cleaned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.reading import Emotion, ReadingMessage
from ui.elided_label import ElidedLabel
from ui.flow_layout import FlowLayout
from ui.reader_colours import ReaderColours

ROLE_LABEL = {"system": "System", "user": "Client", "assistant": "Consultant"}
# A message longer than this shows its beginning, with a link to the whole text: laid out
# as rich text in the bubble, 20,000 characters held the window 0.2 s, 100,000 a second and
# a pasted 3 MB reply 43 s. The enriched replies are 1,000-4,000 characters.
SHOWN_UP_TO = 6_000
SHOW_ALL = "show-all"


def shown_part(text: str, limit: int = SHOWN_UP_TO) -> str:
    """The beginning of a long message, ended at a paragraph, line or word break before
    ``limit`` characters where one is near (the whole text when it is not longer)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    for mark in ("\n\n", "\n", " "):
        cut = head.rfind(mark)
        if cut > limit * 0.8:
            return head[:cut].rstrip()
    return head


def markdown_html(text: str, font: QFont) -> str:
    """The message's markdown as the rich text a QLabel shows (raw HTML stays text)."""
    document = QTextDocument()
    document.setDefaultFont(font)
    document.setMarkdown(text, QTextDocument.MarkdownFeature.MarkdownNoHTML)
    return document.toHtml()


def plain_words(code: str | None) -> str:
    """``cautious_hope`` → ``cautious hope``."""
    return (code or "").replace("_", " ").strip()


def _css(colour: Any) -> str:
    return colour.name()


class IntensityBar(QWidget):
    """A short bar filled to the emotion's intensity (0 to 1)."""

    def __init__(self, intensity: float, colours: ReaderColours,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intensity = max(0.0, min(intensity, 1.0))
        self._colours = colours
        self.setFixedSize(QSize(44, 8))
        self.setToolTip(f"Intensity {intensity:.2f} of 1")
        self.setAccessibleName(f"intensity {intensity:.2f}")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self._colours.bar_track)
            painter.drawRoundedRect(QRectF(self.rect()), 3, 3)
            painter.setBrush(self._colours.bar_fill)
            filled = QRectF(0, 0, max(self.width() * self.intensity, 2), self.height())
            painter.drawRoundedRect(filled, 3, 3)
        finally:
            painter.end()


def chip(text: str, colour: Any, background: Any, tip: str = "",
         parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("chip")
    label.setStyleSheet(f"QLabel#chip {{ color: {_css(colour)}; background-color: "
                        f"{_css(background)}; border-radius: 8px; padding: 1px 7px; }}")
    label.setToolTip(tip)
    return label


def emotion_row(emotion: Emotion, colours: ReaderColours) -> QWidget:
    """Primary emotion with its intensity bar, the secondary one, and the valence."""
    row = QWidget()
    # Wraps: three chips on one line made a bubble 400 px wide, wider than the reader at
    # its narrowest (its right side was cut).
    layout = FlowLayout(row)
    if emotion.primary:
        primary = QFrame(row)
        primary.setObjectName("primaryChip")
        primary.setStyleSheet(f"QFrame#primaryChip {{ background-color: {_css(colours.chip)};"
                              " border-radius: 8px; }")
        inner = QHBoxLayout(primary)
        inner.setContentsMargins(7, 1, 7, 1)
        inner.setSpacing(6)
        name = QLabel(plain_words(emotion.primary), primary)
        name.setStyleSheet(f"color: {_css(colours.chip_text)}; font-weight: 600;")
        inner.addWidget(name)
        if emotion.intensity is not None:
            inner.addWidget(IntensityBar(emotion.intensity, colours, primary))
            level = QLabel(f"{emotion.intensity:.2f}", primary)
            level.setStyleSheet(f"color: {_css(colours.chip_text)};")
            inner.addWidget(level)
        primary.setToolTip("The client's main emotion and how strong it is (0 to 1)")
        layout.addWidget(primary)
    if emotion.secondary:
        layout.addWidget(chip(f"also {plain_words(emotion.secondary)}", colours.chip_text,
                              colours.chip, "Secondary emotion", row))
    if emotion.valence:
        layout.addWidget(chip(plain_words(emotion.valence), colours.valence(emotion.valence),
                              colours.chip, "Valence: how the feeling leans", row))
    return row


class MessageBubble(QFrame):
    """A chat bubble; client bubbles and consultant bubbles differ in tint and label."""

    def __init__(self, message: ReadingMessage, colours: ReaderColours,
                 speaker: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        consultant = message.role == "assistant"
        self.setObjectName("consultantBubble" if consultant else "clientBubble")
        background = colours.consultant_bubble if consultant else colours.client_bubble
        label_colour = colours.consultant_label if consultant else colours.client_label
        muted = colours.muted_on(background)
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background-color: {_css(background)}; "
            "border-radius: 10px; }"
            f"QLabel {{ color: {_css(colours.text)}; background: transparent; }}")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(6)

        head = QHBoxLayout()
        head.setSpacing(8)
        who = speaker or ROLE_LABEL[message.role]
        self.role_label = QLabel(who, self)
        self.role_label.setStyleSheet(f"color: {_css(label_colour)}; font-weight: 700;")
        head.addWidget(self.role_label)
        turn = QLabel(f"turn {message.number}", self)
        turn.setStyleSheet(f"color: {_css(muted)};")
        if message.source_turn is not None and message.source_turn != message.number:
            turn.setToolTip(f"turn_number {message.source_turn} in the source file")
        head.addWidget(turn)
        self.phase_label: ElidedLabel | None = None
        if message.phase:  # a long phase ends in "…" in a narrow bubble, whole on hover
            phase = ElidedLabel(plain_words(message.phase), self, tip="Conversation phase")
            phase.setStyleSheet(f"color: {_css(muted)};")
            head.addWidget(phase, 1)
            self.phase_label = phase
        else:
            head.addStretch(1)
        self.badge: QLabel | None = None
        if message.not_trained:
            self.badge = chip("not trained", colours.badge_text, colours.badge_bg,
                              message.not_trained[:1].upper() + message.not_trained[1:], self)
            head.addWidget(self.badge)
        layout.addLayout(head)

        if message.emotion is not None and message.role == "user":
            layout.addWidget(emotion_row(message.emotion, colours))

        self.body = QLabel(self)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        shown = shown_part(message.content)
        self.body.setText(markdown_html(shown, self.font()))
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout.addWidget(self.body)
        self.more: QLabel | None = None
        if len(shown) < len(message.content):  # the rest on demand, in a window of its own
            rest = len(message.content) - len(shown)
            self.more = QLabel(
                f"… {rest:,} more characters (this message has {len(message.content):,}). "
                f'<a href="{SHOW_ALL}">Show the whole message</a>', self)
            self.more.setTextFormat(Qt.TextFormat.RichText)
            self.more.setWordWrap(True)
            self.more.setStyleSheet(f"color: {_css(muted)};")
            self.more.setTextInteractionFlags(
                Qt.TextInteractionFlag.LinksAccessibleByMouse
                | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
            self.more.linkActivated.connect(lambda _link: self.show_whole())
            layout.addWidget(self.more)

        notes = []
        if message.strategy:
            notes.append(f"Strategy: {plain_words(message.strategy)}")
        if message.quality_score is not None:
            notes.append(f"Quality {message.quality_score:g}")
        if notes:
            footer = QLabel(" · ".join(notes), self)
            footer.setWordWrap(True)
            footer.setStyleSheet(f"color: {_css(muted)};")
            layout.addWidget(footer)

        self.warning_labels: list[QLabel] = []
        for warning in message.warnings:
            label = warning_label(warning, colours, self)
            self.warning_labels.append(label)
            layout.addWidget(label)

    def show_whole(self) -> None:
        """The whole message as plain text in a window of its own: a plain text view lays
        out only what it shows, so megabytes open at once."""
        whole = WholeMessage(self.message, self.role_label.text(), self.window())
        whole.show()
        self.whole = whole

    def plain_text(self) -> str:
        parts = [f"{self.role_label.text()} · turn {self.message.number}"]
        if self.message.not_trained:
            parts.append(f"[not trained: {self.message.not_trained}]")
        parts.append(self.message.content)
        parts.extend(label.text() for label in self.warning_labels)
        return "\n".join(parts)


class WholeMessage(QDialog):
    """One long message, whole, read-only and selectable."""

    def __init__(self, message: ReadingMessage, who: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{who} · turn {message.number}: the whole message")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setPlainText(message.content)
        self.text.setAccessibleName(f"The whole message of {who}, turn {message.number}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(800, 600)


def warning_label(warning: Mapping[str, Any], colours: ReaderColours,
                  parent: QWidget | None = None) -> QLabel:
    label = QLabel(f"⚠ {warning.get('message', '')}", parent)
    label.setObjectName("warning")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setStyleSheet(f"QLabel#warning {{ color: {_css(colours.warning_text)}; "
                        f"background-color: {_css(colours.warning_bg)}; border-radius: 6px; "
                        "padding: 3px 6px; }")
    label.setToolTip(str(warning.get("code", "")))
    return label
