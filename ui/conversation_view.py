"""The reader: one conversation as chat bubbles, with the client's emotions made visible.

A fixed head says whose conversation it is, whether it was reviewed, and offers the review
mark and the as-trained view; below it scroll the intensity chart, the system prompt
(folded), and the messages. What to show is worked out in ``app.reading``; this module only
lays it out, in colours taken from the palette (``ui.reader_colours``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QScrollBar,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.labels import display_name
from app.reading import (
    ReadingMessage,
    arc_plan,
    client_intensity,
    nothing_trained,
    reading_messages,
)
from app.review import review_mark
from ui.emotion_chart import EmotionArcChart
from ui.message_bubble import MessageBubble, warning_label
from ui.reader_colours import ReaderColours, reader_colours
from ui.training_files_model import local_time_text

BUBBLE_SHARE = 6  # a bubble takes 6 parts of the width, the gap beside it 1


FIRST_BUBBLES = 2  # built with the conversation: what the reader shows at its top
BUBBLES_A_TURN = 1  # built at each later turn of the event loop


class ConversationView(QWidget):
    """Read-only rendering of the selected conversation."""

    PLACEHOLDER = "Select a conversation to read it here."
    as_trained_requested = Signal(str)  # conversation id: show what the trainer sees
    review_requested = Signal(str, bool)  # conversation id, True = mark, False = take away
    record_shown = Signal(object)  # the record now shown, or None (the as-trained view follows)
    close_requested = Signal()  # the person closed the reader (its Close button)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record: Mapping[str, Any] | None = None
        self._bubbles: list[MessageBubble] = []
        # The messages not built yet (who says each), built a few at each turn of the event
        # loop after the first ones (``FIRST_BUBBLES``): built and laid out all at once,
        # each current-row change held the window 0.1-0.4 s on an idle machine (0.2-0.27 s
        # at every arrow key at 100,000 rows on a busy one).
        self._unbuilt: list[tuple[ReadingMessage, str | None]] = []
        self._build_more = QTimer(self, interval=0)
        self._build_more.timeout.connect(lambda: self._build(BUBBLES_A_TURN))
        self._colours: ReaderColours = reader_colours(self.palette())

        self.placeholder = QLabel(self.PLACEHOLDER)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.title = QLabel()
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.25)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.id_label = self._build_id_label()
        self.nothing_trained_label = QLabel()  # shown only when no reply is trained
        self.nothing_trained_label.setWordWrap(True)
        self.nothing_trained_label.setObjectName("nothingTrained")
        self.review_label = QLabel()
        self.review_label.setWordWrap(True)
        self.review_button = QPushButton("Mark reviewed")
        self.review_button.clicked.connect(self._review_clicked)
        self.as_trained_button = QPushButton("As trained…")
        self.as_trained_button.setToolTip(
            "Show exactly what the trainer reads for this conversation")
        self.as_trained_button.clicked.connect(self._as_trained_clicked)

        self.close_button = QToolButton()
        self.close_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self.close_button.setAutoRaise(True)
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # (Esc from the keyboard)
        self.close_button.setToolTip("Close the reader (Esc): the table has its width "
                                     "until you read another conversation")
        self.close_button.setAccessibleName("Close the reader")
        self.close_button.clicked.connect(self.close_requested)

        head = QWidget()
        head_layout = QVBoxLayout(head)
        head_layout.setContentsMargins(10, 8, 10, 6)
        head_layout.setSpacing(3)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        head_layout.addLayout(title_row)
        head_layout.addWidget(self.facts)
        head_layout.addWidget(self.id_label)
        head_layout.addWidget(self.nothing_trained_label)
        actions = QHBoxLayout()
        actions.addWidget(self.review_label, 1)
        actions.addWidget(self.review_button)
        actions.addWidget(self.as_trained_button)
        head_layout.addLayout(actions)

        self.chart = EmotionArcChart()
        self.session_label = QLabel()
        self.session_label.setWordWrap(True)
        self.session_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.loose_warnings = QVBoxLayout()
        self.system_toggle = QToolButton()
        self.system_toggle.setCheckable(True)
        self.system_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.system_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.system_toggle.setAutoRaise(True)
        self.system_toggle.toggled.connect(self._fold_system_prompt)
        self.system_text = QLabel()
        self.system_text.setWordWrap(True)
        self.system_text.setTextFormat(Qt.TextFormat.PlainText)
        self.system_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.system_text.setVisible(False)
        self.system_text.setObjectName("systemPrompt")

        self.body = QWidget()
        self.body.setBackgroundRole(QPalette.ColorRole.Base)
        self.body.setAutoFillBackground(True)
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(10, 6, 10, 10)
        self.body_layout.setSpacing(8)
        self.body_layout.addWidget(self.session_label)
        self.body_layout.addLayout(self.loose_warnings)
        self.body_layout.addWidget(self.chart)
        self.body_layout.addWidget(self.system_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.body_layout.addWidget(self.system_text)
        self.messages_layout = QVBoxLayout()
        self.messages_layout.setSpacing(8)
        self.body_layout.addLayout(self.messages_layout)
        self.body_layout.addStretch(1)
        self.messages_scroll = QScrollArea()
        self.messages_scroll.setAccessibleName("The conversation's messages")  # a Tab stop
        self.messages_scroll.setWidget(self.body)
        self.messages_scroll.setWidgetResizable(True)
        self.messages_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.messages_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.setSpacing(0)
        content_layout.addWidget(head)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        content_layout.addWidget(line)
        content_layout.addWidget(self.messages_scroll, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.setMinimumWidth(280)

    def _build_id_label(self) -> QLabel:
        """The conversation's id, small under what a person knows it by: messages (a
        duplicate's, the command line's) name conversations by id, so it can be selected
        and copied, but it is no name to read (it was the header's second line)."""
        label = QLabel()
        small = QFont(label.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        label.setFont(small)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # (an id has no space to wrap at: in a narrow reader its end is cut, never the
        # reader made wider; Copy id copies all of it)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        label.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.copy_id_action = QAction("Copy id", label)
        self.copy_id_action.triggered.connect(self.copy_id)
        label.addAction(self.copy_id_action)
        return label

    def copy_id(self) -> None:
        """The conversation's id on the clipboard (whole: a double-click selects a part)."""
        conversation_id = self.conversation_id()
        if conversation_id is not None:
            QGuiApplication.clipboard().setText(conversation_id)

    # --- showing -------------------------------------------------------------------

    def verticalScrollBar(self) -> QScrollBar:
        """The scroll bar of the messages (the reader scrolls like a text view)."""
        return self.messages_scroll.verticalScrollBar()

    def conversation_id(self) -> str | None:
        return str(self.record["conversation_id"]) if self.record is not None else None

    def show_record(self, record: Mapping[str, Any] | None) -> None:
        self.record = record
        self.record_shown.emit(record)
        self._clear_messages()
        if record is None:
            self.stack.setCurrentIndex(0)
            return
        self._colours = reader_colours(self.palette())
        self._show_head(record)
        messages, loose = reading_messages(record)
        untrained = nothing_trained(messages)
        self.nothing_trained_label.setText(f"⚠ {untrained}" if untrained else "")
        self.nothing_trained_label.setVisible(untrained is not None)
        self.nothing_trained_label.setStyleSheet(
            f"QLabel#nothingTrained {{ color: {self._colours.warning_text.name()}; "
            f"background: {self._colours.warning_bg.name()}; padding: 3px; }}")
        for warning in loose:
            label = warning_label(warning, self._colours)
            self.loose_warnings.addWidget(label)
        intensities = client_intensity(messages)
        names = [display_name(m.emotion.primary) if m.emotion else ""
                 for m in messages if m.role == "user" and m.emotion is not None
                 and m.emotion.intensity is not None]
        self.chart.set_colours(self._colours)
        self.chart.set_data(intensities, arc_plan(record), names)
        system = next((m for m in messages if m.role == "system"), None)
        self.system_toggle.setVisible(system is not None)
        if system is not None:
            self.system_text.setText(system.content)
        self.system_toggle.setChecked(False)
        self._fold_system_prompt(False)
        muted = self._colours.muted.name()
        self.system_text.setStyleSheet(f"QLabel#systemPrompt {{ color: {muted}; }}")
        consultant = self._consultant_name(record)
        client = (record.get("client") or {}).get("name")
        for message in messages:
            if message.role == "system":
                continue
            is_reply = message.role == "assistant"
            speaker = consultant if is_reply else client
            who = f"{speaker} ({'consultant' if is_reply else 'client'})" if speaker else None
            self._unbuilt.append((message, who))
        self._build(FIRST_BUBBLES)
        self.stack.setCurrentIndex(1)
        self.messages_scroll.verticalScrollBar().setValue(0)

    @property
    def bubbles(self) -> list[MessageBubble]:
        """The conversation's message bubbles, every one (those not built yet are built
        now: whoever asks wants what the reader shows)."""
        self.build_every_bubble()
        return self._bubbles

    def build_every_bubble(self) -> None:
        """Build now the bubbles that would come a few at a turn (a screenshot, a copy)."""
        self._build(len(self._unbuilt))

    def _build(self, count: int) -> None:
        """Build the next ``count`` bubbles; build the rest later, a few at a turn."""
        making, self._unbuilt = self._unbuilt[:count], self._unbuilt[count:]
        for message, who in making:
            bubble = MessageBubble(message, self._colours, who)
            row = QHBoxLayout()
            if message.role == "assistant":
                row.addStretch(1)
                row.addWidget(bubble, BUBBLE_SHARE)
            else:
                row.addWidget(bubble, BUBBLE_SHARE)
                row.addStretch(1)
            self.messages_layout.addLayout(row)
            self._bubbles.append(bubble)
        if self._unbuilt:
            self._build_more.start()
        else:
            self._build_more.stop()

    @staticmethod
    def _consultant_name(record: Mapping[str, Any]) -> str | None:
        profile = record.get("consultant_profile") or {}
        name = profile.get("name") if isinstance(profile, Mapping) else None
        return str(name).split(",")[0] if name else None

    def _show_head(self, record: Mapping[str, Any]) -> None:
        client = record.get("client") or {}
        scaffolding = record.get("scaffolding") or {}
        source = (record.get("source") or {}).get("file_name")
        name = (client.get("name") or client.get("persona") or source
                or record["conversation_id"])
        archetype = client.get("archetype_name") or display_name(
            scaffolding.get("persona_archetype"))
        self.title.setText(f"{name} — {archetype}" if archetype else str(name))
        # (a no-break space keeps "batch" and "from" on the line of what they name: a
        # narrow reader put "batch" at a line's end and the batch's name below it)
        what = [scaffolding.get("emotional_arc"), scaffolding.get("training_topic")]
        where = [f"batch\u00a0{record['batch_id']}" if record.get("batch_id") else None,
                 f"from\u00a0{source}" if source else None]
        self.facts.setText("\n".join(line for line in (
            " · ".join(str(v) for v in what if v), " · ".join(v for v in where if v)) if line))
        self.facts.setStyleSheet(f"color: {self._colours.muted.name()};")
        self.id_label.setText(f"id {record['conversation_id']}")
        self.id_label.setToolTip(f"{record['conversation_id']}\nThe conversation's id, as "
                                 "messages and the command line name it (right-click: "
                                 "Copy id)")
        self.id_label.setStyleSheet(f"color: {self._colours.muted.name()};")
        session = client.get("session_context")
        self.session_label.setText(f"Session: {session}" if session else "")
        self.session_label.setVisible(bool(session))
        self.session_label.setStyleSheet(f"color: {self._colours.muted.name()};")
        self._show_review(record)

    def _show_review(self, record: Mapping[str, Any]) -> None:
        mark = review_mark(record)
        quality = record.get("quality") or {}
        if mark is not None:
            who, when = mark
            self.review_label.setText(
                f"✓ Reviewed by {who}" + (f" on {local_time_text(when)}" if when else ""))
            self.review_button.setText("Undo review")
            self.review_button.setToolTip("Take your review mark away (the library keeps "
                                          "marks; the source file is never changed)")
        else:
            self.review_label.setText("Reviewed in the source file" if quality.get(
                "human_reviewed") else "Not reviewed yet")
            self.review_button.setText("Mark reviewed")
            self.review_button.setToolTip(
                "Record that you read this conversation; training files that hold it are "
                "rebuilt so their human_reviewed says so")

    def _fold_system_prompt(self, shown: bool) -> None:
        text = self.system_text.text()
        self.system_text.setVisible(shown)
        self.system_toggle.setArrowType(Qt.ArrowType.DownArrow if shown
                                        else Qt.ArrowType.RightArrow)
        self.system_toggle.setText(("Hide" if shown else "Show") +
                                   f" the system prompt ({len(text):,} characters)")

    def _clear_messages(self) -> None:
        self._bubbles = []
        self._unbuilt = []
        self._build_more.stop()
        for layout in (self.messages_layout, self.loose_warnings):
            while layout.count():
                item = layout.takeAt(0)
                if item is None:
                    break
                widget = item.widget()
                inner = item.layout()
                if inner is not None:
                    while inner.count():
                        child = inner.takeAt(0)
                        child_widget = child.widget() if child is not None else None
                        if child_widget is not None:
                            _discard(child_widget)
                    inner.deleteLater()
                if widget is not None:
                    _discard(widget)

    # --- actions -------------------------------------------------------------------

    def _review_clicked(self) -> None:
        if self.record is not None:
            self.review_requested.emit(str(self.record["conversation_id"]),
                                       review_mark(self.record) is None)

    def _as_trained_clicked(self) -> None:
        if self.record is not None:
            self.as_trained_requested.emit(str(self.record["conversation_id"]))

    def changeEvent(self, event: QEvent) -> None:
        """A new palette (light ↔ dark) redraws the conversation in its colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.record is not None:
            self.show_record(self.record)

    def toPlainText(self) -> str:
        """Everything the reader shows, as text (for tests, copying and screen readers)."""
        if self.record is None:
            return ""
        parts = [self.title.text(), self.facts.text(), self.id_label.text(),
                 self.review_label.text()]
        for index in range(self.loose_warnings.count()):
            item = self.loose_warnings.itemAt(index)
            if item is not None and isinstance(item.widget(), QLabel):
                parts.append(item.widget().text())  # type: ignore[union-attr]
        parts.append(self.system_toggle.text())
        parts.extend(bubble.plain_text() for bubble in self.bubbles)
        return "\n\n".join(p for p in parts if p)


def _discard(widget: QWidget) -> None:
    """Out of sight at once (deleteLater waits for the event loop), then deleted."""
    widget.hide()
    widget.deleteLater()
