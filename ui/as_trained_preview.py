"""The as-trained view: exactly what the trainer reads for the selected conversation.

The conversation's line is rendered with the chat template (the library's choice, or a
bundled one to compare), tokenized by the library's tokenizer, and shown with the tokens
that carry the loss highlighted and everything else dimmed; a table gives each message's
tokens and why it is not trained; a bar and the totals set the line against the chosen
training file's maximum sequence length, and mark where a trainer stops reading.

It is a window of its own rather than a dock: the rendered text needs width and height
that the table and the reader already share, it can sit on a second screen beside the
table, and it follows the selection while open (one window, reused). Rendering runs on a
one-thread pool of its own, so a long line never stalls the table and a newer selection
simply supersedes an older one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.chat_templates import BUNDLED, ChatTemplateError
from app.cutoff import policy_label
from app.errors import LibraryError
from app.library import Library
from app.tokenizer_choice import (
    CUSTOM_KEY,
    counter_for,
    counter_with_template,
    load_choice,
)
from app.trained_preview import (
    DEFAULT_SETTINGS,
    ROLE_LABELS,
    VARIANT_LABELS,
    FileSettings,
    Preview,
    Variant,
    build_preview,
    file_settings,
)
from app.wording import LENGTH_LIMIT
from ui.as_trained_bar import BudgetBar
from ui.as_trained_colours import AsTrainedColours, as_trained_colours
from ui.as_trained_text import TokenTextView
from ui.file_settings import choice_label
from ui.flow_layout import FlowLayout
from ui.reader_colours import NOT_TRAINED_HUE, readable
from ui.tasks import Task

LIBRARY_TEMPLATE = "library"  # the template combo's entry for the library's own choice
COLUMNS = ("#", "Role", "Tokens", "Trained", "Past limit", "Why not trained")
WHY = len(COLUMNS) - 1
WHY_MIN = 180  # px the reason keeps however narrow the window: it wraps, it is never cut
Key = tuple[Any, ...]


def _swatch(text: str, background: QColor, foreground: QColor, strike: bool = False) -> QLabel:
    label = QLabel(text)
    decoration = "line-through" if strike else "none"
    label.setStyleSheet(f"QLabel {{ background: {background.name()}; color: "
                        f"{foreground.name()}; padding: 1px 6px; border-radius: 3px; "
                        f"text-decoration: {decoration}; }}")
    return label


class AsTrainedWindow(QWidget):
    """One conversation's training line, explained; follows the selection while open."""

    rendered = Signal()  # a preview (or the reason there is none) is on screen

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.library = library
        self.record: Mapping[str, Any] | None = None
        self.preview: Preview | None = None
        self.error = ""
        self._settings: list[FileSettings] = [DEFAULT_SETTINGS]
        self._generation = 0
        self._shown_key: Key | None = None
        self._fitted = False
        self._tasks: dict[int, Task] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.colours: AsTrainedColours = as_trained_colours(self.palette())
        self.setWindowTitle("As trained")
        self.setObjectName("asTrainedWindow")

        self.title = QLabel()
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)  # a long conversation id must not set the window's width
        self.counted_with = QLabel()
        self.counted_with.setWordWrap(True)

        self.file_combo = QComboBox()
        self.file_combo.setToolTip(f"Whose settings apply: the {LENGTH_LIMIT} and the "
                                   "cut-off policy of a training file, or the defaults")
        self.template_combo = QComboBox()
        self.template_combo.setToolTip("Render with the library's chat template, or compare "
                                       "with a bundled one (tokenizer unchanged)")
        self.variant_combo = QComboBox()
        for variant, label in VARIANT_LABELS.items():
            self.variant_combo.addItem(label, variant.value)
        self.variant_combo.setToolTip(
            "Export variants that change what the trainer reads: the full line (also the "
            "messages-only and split exports), the line without the session context block, "
            "or one line per reply where only its last reply is trained")
        self.line_combo = QComboBox()
        self.line_combo.setToolTip("Which line of the one-line-per-reply export to show")
        self.line_combo.setVisible(False)
        self.boundaries_check = QCheckBox("Token boundaries")
        self.boundaries_check.setToolTip("Tint every other token, so each token's extent "
                                         "shows; hover a token for its id and text")
        self.copy_button = QPushButton("Copy text")
        self.copy_button.setToolTip("Copy the rendered line, exactly as the trainer reads it")

        for combo in (self.file_combo, self.template_combo, self.variant_combo,
                      self.line_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        controls_bar = QWidget()
        controls = FlowLayout(controls_bar)  # wraps on a small screen
        for caption, widget in (("Training file", self.file_combo),
                                ("Chat template", self.template_combo),
                                ("Export", self.variant_combo)):
            group = QWidget()
            group_layout = QHBoxLayout(group)
            group_layout.setContentsMargins(0, 0, 6, 0)
            caption_label = QLabel(caption)
            caption_label.setBuddy(widget)
            group_layout.addWidget(caption_label)
            group_layout.addWidget(widget)
            controls.addWidget(group)
        controls.addWidget(self.line_combo)
        controls.addWidget(self.boundaries_check)
        controls.addWidget(self.copy_button)

        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.bar = BudgetBar()
        self.message = QLabel()  # why there is no line, or what went wrong
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setObjectName("asTrainedMessage")

        self.text = TokenTextView()
        self.text.setAccessibleName("The training line as the trainer reads it")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # rows are chosen, not cells: Tab leaves
        self.table.setAccessibleName("Turns: tokens, trained or not, and why")
        self.table.setWordWrap(True)  # a long reason goes on over two or three lines
        rows = self.table.verticalHeader()
        rows.setMinimumSectionSize(self.table.fontMetrics().height() + 8)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.text)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([700, 460])

        legend_bar = QWidget()
        self.legend = FlowLayout(legend_bar, spacing=8)  # wraps: 840 px in one line

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.counted_with)
        layout.addWidget(controls_bar)
        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(rule)
        layout.addWidget(self.summary)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(legend_bar)
        self._build_legend()

        self.file_combo.currentIndexChanged.connect(lambda _i: self.request())
        self.template_combo.currentIndexChanged.connect(lambda _i: self.request())
        self.variant_combo.currentIndexChanged.connect(self._variant_changed)
        self.line_combo.currentIndexChanged.connect(lambda _i: self.request())
        self.boundaries_check.toggled.connect(self.text.set_boundaries)
        self.copy_button.clicked.connect(self.copy_text)
        self.table.currentCellChanged.connect(lambda row, _c, _pr, _pc: self.show_turn(row))
        self.bar.turn_clicked.connect(self.table.selectRow)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self, self.close)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self.reload_settings()
        self.resize(1180, 760)

    # --- what to show ------------------------------------------------------------------

    def reload_settings(self) -> None:
        """Re-read the training files and the library's tokenizer choice (after a change)."""
        try:
            self._settings = file_settings(self.library)
        except LibraryError:
            self._settings = [DEFAULT_SETTINGS]
        wanted = self.current_settings().name
        self.file_combo.blockSignals(True)
        self.file_combo.clear()
        for settings in self._settings:
            self.file_combo.addItem(choice_label(settings.name, settings.max_seq_len,
                                                 settings.policy), settings.name or "")
        index = self.file_combo.findData(wanted or "")
        self.file_combo.setCurrentIndex(max(0, index))
        self.file_combo.blockSignals(False)

        choice = load_choice(self.library)
        library_label = (choice.template_name or "your template"
                         if choice.template == CUSTOM_KEY
                         else BUNDLED.get(choice.template, BUNDLED["mistral"]).label)
        template = self.template_combo.currentData() or LIBRARY_TEMPLATE
        self.template_combo.blockSignals(True)
        self.template_combo.clear()
        self.template_combo.addItem(f"{library_label} (the library's)", LIBRARY_TEMPLATE)
        for key, spec in BUNDLED.items():
            if key != choice.template:
                self.template_combo.addItem(spec.label, key)
        self.template_combo.setCurrentIndex(max(0, self.template_combo.findData(template)))
        self.template_combo.blockSignals(False)
        self.counted_with.setText(
            f"Tokenizer: {choice.tokenizer_name}. Change it in Settings ▸ Tokenizer and chat "
            "template.")
        self._shown_key = None
        self.request()

    def current_settings(self) -> FileSettings:
        index = self.file_combo.currentIndex() if hasattr(self, "file_combo") else -1
        return self._settings[index] if 0 <= index < len(self._settings) else DEFAULT_SETTINGS

    def current_variant(self) -> Variant:
        return Variant(self.variant_combo.currentData() or Variant.FULL.value)

    def select_training_file(self, name: str | None) -> bool:
        index = self.file_combo.findData(name or "")
        if index >= 0:
            self.file_combo.setCurrentIndex(index)
        return index >= 0

    def select_template(self, key: str) -> bool:
        """Render with a bundled template (``LIBRARY_TEMPLATE`` for the library's own)."""
        index = self.template_combo.findData(key)
        if index < 0:
            choice = load_choice(self.library)
            index = 0 if key == choice.template else -1
        if index >= 0:
            self.template_combo.setCurrentIndex(index)
        return index >= 0

    def select_variant(self, variant: Variant) -> None:
        self.variant_combo.setCurrentIndex(self.variant_combo.findData(variant.value))

    def _variant_changed(self, _index: int) -> None:
        self.line_combo.blockSignals(True)
        self.line_combo.clear()
        self.line_combo.blockSignals(False)
        self.line_combo.setVisible(self.current_variant() is Variant.PER_REPLY)
        self.request()

    def show_record(self, record: Mapping[str, Any] | None) -> None:
        """Follow the reader: show this conversation (None: nothing selected)."""
        self.record = record
        if record is None:
            self.title.setText("As trained")
        else:
            client = (record.get("client") or {}).get("name") or "conversation"
            self.title.setText(f"As trained: {client} · {record.get('conversation_id')}")
            self.setWindowTitle(f"As trained: {record.get('conversation_id')}")
        self.request()

    # --- rendering off the GUI thread --------------------------------------------------

    def _key(self) -> Key:
        line = self.line_combo.currentIndex() if self.line_combo.count() else None
        # The id and the object's identity: a record read again is rendered again.
        record_id = ((str(self.record.get("conversation_id")), id(self.record))
                     if self.record is not None else None)
        return (record_id, self.current_settings(), self.template_combo.currentData(),
                self.current_variant(), line)

    def request(self) -> None:
        """Render the current choice in the background (a newer request wins)."""
        if self.record is None:
            self._show(None, "Select a conversation to see it as the trainer reads it.")
            return
        key = self._key()
        if key == self._shown_key or not self.isVisible():
            return
        self._generation += 1
        generation = self._generation
        record, library = self.record, self.library
        _record_id, settings, template, variant, line = key

        def work(_progress: object, _cancelled: object) -> tuple[int, Key, Any]:
            if generation != self._generation:
                return generation, key, None  # a newer request came: skip this one
            try:
                counter = (counter_for(library) if template in (None, LIBRARY_TEMPLATE)
                           else counter_with_template(library, str(template)))
                return generation, key, build_preview(record, counter, settings, variant,
                                                      line)
            except ChatTemplateError as exc:
                return generation, key, (f"The chat template cannot render this "
                                         f"conversation: {exc}")
            except LibraryError as exc:
                return generation, key, str(exc)

        task = Task(work)
        task.signals.succeeded.connect(self._rendered)
        task.signals.failed.connect(lambda text: self._show(None, text))
        task.signals.done.connect(lambda: self._tasks.pop(generation, None))
        self._tasks[generation] = task
        self._pool.start(task)

    def _rendered(self, result: tuple[int, Key, Any]) -> None:
        generation, key, outcome = result
        if generation != self._generation or outcome is None:
            return
        self._shown_key = key
        if isinstance(outcome, str):
            self._show(None, outcome)
        else:
            self._show(outcome, outcome.note)

    def wait(self) -> None:
        """Block until queued renders are done (for tests and snapshots)."""
        self._pool.waitForDone()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._fitted:  # never larger than the screen it opens on
            self._fitted = True
            screen = self.screen()
            if screen is not None:
                free = screen.availableGeometry().size() - QSize(16, 40)
                self.resize(self.size().boundedTo(free))
        self.request()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.colours = as_trained_colours(self.palette())
            self._build_legend()
            self._show(self.preview, self.error or (self.preview.note if self.preview else ""))

    # --- showing -----------------------------------------------------------------------

    def _show(self, preview: Preview | None, message: str) -> None:
        self.preview, self.error = preview, message if preview is None else ""
        boundaries = self.boundaries_check.isChecked()
        self.text.show_preview(preview, self.colours, boundaries)
        self.bar.set_preview(preview if preview and preview.shown else None, self.colours)
        self.bar.setVisible(bool(preview and preview.shown))
        self.message.setText(message)
        self.message.setVisible(bool(message))
        self.summary.setText(self._summary_html(preview))
        self.summary.setVisible(bool(preview and preview.shown))
        self.copy_button.setEnabled(bool(preview and preview.shown))
        self._fill_lines(preview)
        self._fill_table(preview)
        self.rendered.emit()

    def _fill_lines(self, preview: Preview | None) -> None:
        if preview is None or preview.variant is not Variant.PER_REPLY:
            return
        wanted = [f"Reply {n + 1} of {preview.lines}" for n in range(preview.lines)]
        current = [self.line_combo.itemText(i) for i in range(self.line_combo.count())]
        self.line_combo.blockSignals(True)
        if current != wanted:
            self.line_combo.clear()
            self.line_combo.addItems(wanted)
        self.line_combo.setCurrentIndex(preview.line)
        self.line_combo.blockSignals(False)
        self._shown_key = self._key()

    def _summary_html(self, preview: Preview | None) -> str:
        if preview is None or preview.shown is None:
            return ""
        limit = preview.settings.max_seq_len
        share = preview.trained_total / preview.total if preview.total else 0.0
        parts = [f"<b>{preview.total:,}</b> tokens in the line",
                 f"<b>{preview.trained_total:,}</b> trained ({share:.0%})",
                 f"{LENGTH_LIMIT} <b>{limit:,}</b> tokens ({preview.settings.name or 'default'}: "
                 f"{policy_label(preview.settings.policy)})"]
        if preview.cut_token is not None:
            window = self.palette().color(self.backgroundRole())
            colour = readable(NOT_TRAINED_HUE, window).name()
            parts.append(f"<span style='color:{colour}'><b>{preview.lost_tokens:,}</b> tokens "
                         f"past the limit are never read, <b>{preview.lost_trained:,}</b> of "
                         "them trained</span>")
        else:
            parts.append(f"fits, {limit - preview.total:,} tokens to spare")
        if preview.variant is Variant.PER_REPLY:
            parts.append(f"line {preview.line + 1} of {preview.lines}")
        return " · ".join(parts)

    def _fill_table(self, preview: Preview | None) -> None:
        table = self.table
        table.setRowCount(0)
        if preview is None:
            return
        rows = preview.rows
        table.setRowCount(len(rows) + (1 if preview.shown else 0))
        dim = QBrush(self.colours.context_text)
        for row, turn in enumerate(rows):
            trained = "yes" if turn.trained else "no"
            cells = (turn.number, turn.role,
                     f"{turn.tokens:,}" if turn.tokens is not None else "—", trained,
                     f"{turn.lost_tokens:,}" if turn.lost_tokens else "", turn.why_not)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (0, 2, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if column == 3 and turn.trained:
                    item.setBackground(QBrush(self.colours.trained_bg))
                    item.setForeground(QBrush(self.colours.trained_text))
                    item.setToolTip(f"{turn.trained_tokens:,} of its tokens carry the loss")
                elif not turn.in_line:
                    item.setForeground(dim)
                if column == WHY and text:
                    item.setToolTip(text)
                if column == 1:
                    item.setToolTip(ROLE_LABELS.get(turn.role, turn.role))
                table.setItem(row, column, item)
        if preview.shown is not None:
            bold = QFont(table.font())
            bold.setBold(True)
            total = ("", "Total", f"{preview.total:,}", f"{preview.trained_total:,}",
                     f"{preview.lost_tokens:,}" if preview.lost_tokens else "", "")
            for column, text in enumerate(total):
                item = QTableWidgetItem(text)
                item.setFont(bold)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                if column in (2, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(len(rows), column, item)
        table.setColumnHidden(4, not preview.lost_tokens)
        self._keep_room_for_reasons()

    def _keep_room_for_reasons(self) -> None:
        """The table never narrower than its short columns plus ``WHY_MIN`` for the
        reasons (at 850 px the splitter left the reason column 100 px, past the edge)."""
        table = self.table
        header = table.horizontalHeader()
        short = sum(max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
                    for c in range(WHY) if not table.isColumnHidden(c))
        scroll_bar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent,
                                               None, table)
        table.setMinimumWidth(short + WHY_MIN + scroll_bar + 2 * table.frameWidth())

    def _build_legend(self) -> None:
        while self.legend.count():
            item = self.legend.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        colours = self.colours
        self.legend.addWidget(_swatch("trained: carries the loss", colours.trained_bg,
                                      colours.trained_text))
        self.legend.addWidget(_swatch("context: read, not trained", colours.page,
                                      colours.context_text))
        self.legend.addWidget(_swatch("[chat template markup]", colours.page,
                                      colours.markup_text))
        self.legend.addWidget(_swatch(f"past the {LENGTH_LIMIT}: never read", colours.lost_bg,
                                      colours.lost_text, strike=True))
        self.legend.addWidget(_swatch("not in the line", colours.left_out_bg,
                                      colours.left_out_text))

    def show_turn(self, row: int) -> None:
        """Scroll the text to a turn (a row of the table)."""
        if self.preview is None or not 0 <= row < len(self.preview.rows):
            return
        turn = self.preview.rows[row]
        if turn.span is None:
            return
        cursor = self.text.textCursor()
        # (a turn past what a very long line shows: its end, where the view says so)
        cursor.setPosition(min(self.text.utf16.to_qt(turn.span[0]), self.text.line_length))
        self.text.setTextCursor(cursor)
        self.text.centerCursor()
        self.text.mark_span(*turn.span)

    def copy_text(self) -> None:
        if self.preview is not None and self.preview.shown is not None:
            QGuiApplication.clipboard().setText(self.preview.shown.text)
