"""The Reply openings tab of a training file's details: its most common reply openings and
the share of replies ending on a question (``app.reply_openings``).

Shows what was counted, never counts: the page counts on a worker and hands the result
here. An opening's row leads to its conversations (``select_conversations``), so the
person can read them, or remove some from the file, before training.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.reply_openings import NAME, OPENING_WORDS, WHY, WORD_CHOICES, FileOpenings, Opening
from ui.wording import agreeing, plural

COUNTING = "Counting the reply openings…"
HEADINGS = ("Opening", "Replies", "Share", "Conversations", "Most often as")
EVERY_REPLY = "Every trained reply"
FIRST_REPLIES = "First reply of each conversation"
SELECT_TIP = ("Select the conversations whose replies open so, in the Conversations tab: "
              "read them there, or Remove from file")


def summary_text(found: FileOpenings) -> str:
    """The counts in one sentence (two when the file owes a rebuild)."""
    counted = found.openings
    if not counted.replies:
        return "This file trains no reply, so no reply opening is counted."
    asking = counted.questions
    text = (f"{plural(counted.replies, 'trained reply', 'trained replies')}, "
            f"{counted.first_replies:,} of them the first reply of a conversation · "
            f"{asking:,} ({counted.share(asking):.0%}) {agreeing(asking, 'ends', 'end')} on a "
            "question")
    if found.owes_rebuild:
        text += ("\nCounted from the lines the file holds now: it owes a rebuild, which "
                 "may change them.")
    return text


def opening_text(item: Opening) -> str:
    """How an opening reads in the list: its words, then an ellipsis."""
    return f"{item.words or '(no word)'} …"


class ReplyOpeningsView(QWidget):
    """A summary line, a choice of replies and of words, and the most common openings."""

    select_conversations = Signal(str, object)  # (the opening, its conversation ids)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._found: FileOpenings | None = None
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setToolTip(WHY)
        self.replies_choice = QComboBox(self)
        self.replies_choice.addItems([EVERY_REPLY, FIRST_REPLIES])
        self.replies_choice.setToolTip(
            "The first reply of each conversation is where a generator's habits are "
            "strongest")
        self.replies_choice.setAccessibleName("Which replies' openings")
        self.words_choice = QComboBox(self)
        for words in WORD_CHOICES:
            self.words_choice.addItem(plural(words, "word"), words)
        self.words_choice.setCurrentIndex(WORD_CHOICES.index(OPENING_WORDS))
        self.words_choice.setToolTip(
            "Words an opening has: one shows a habit whose next word varies (\"First, "
            "let's…\", \"First, I'm…\"), three the exact phrase")
        self.words_choice.setAccessibleName("Words an opening has")
        self.select_button = QPushButton("Select their conversations", self)
        self.select_button.setToolTip(SELECT_TIP)
        self.select_button.setEnabled(False)
        self.table = QTableWidget(0, len(HEADINGS), self)
        self.table.setHorizontalHeaderLabels(list(HEADINGS))
        self.table.setAccessibleName("Most common reply openings")
        self.table.setToolTip(WHY)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setTabKeyNavigation(False)  # Tab leaves the list, as in the others
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        heading = self.table.horizontalHeader()
        for column in range(len(HEADINGS) - 1):
            heading.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        heading.setSectionResizeMode(len(HEADINGS) - 1, QHeaderView.ResizeMode.Stretch)
        self.replies_choice.currentIndexChanged.connect(self._fill)
        self.words_choice.currentIndexChanged.connect(self._fill)
        self.table.itemSelectionChanged.connect(
            lambda: self.select_button.setEnabled(bool(self._chosen_row())))
        self.table.doubleClicked.connect(lambda _index: self.select_chosen())
        self.select_button.clicked.connect(self.select_chosen)

        replies_label = QLabel("Openings &of", self)
        replies_label.setBuddy(self.replies_choice)
        words_label = QLabel("i&n", self)
        words_label.setBuddy(self.words_choice)
        controls = QHBoxLayout()
        controls.addWidget(replies_label)
        controls.addWidget(self.replies_choice)
        controls.addWidget(words_label)
        controls.addWidget(self.words_choice)
        controls.addStretch(1)
        controls.addWidget(self.select_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.summary)
        layout.addLayout(controls)
        layout.addWidget(self.table, 1)
        self.clear()

    # --- what the page hands over ----------------------------------------------------

    def clear(self, text: str = "") -> None:
        self._found = None
        self.summary.setText(text)
        self._fill()

    def show_counting(self) -> None:
        self.clear(COUNTING)

    def show_failed(self, sentence: str) -> None:
        self.clear(sentence)

    def show_openings(self, found: FileOpenings) -> None:
        self._found = found
        self.summary.setText(summary_text(found))
        self._fill()

    @property
    def found(self) -> FileOpenings | None:
        return self._found

    # --- the list ----------------------------------------------------------------------

    def _first(self) -> bool:
        return self.replies_choice.currentIndex() == 1

    def shown(self) -> tuple[Opening, ...]:
        """The openings listed, in order."""
        if self._found is None:
            return ()
        return self._found.openings.top(int(self.words_choice.currentData()), self._first())

    def rows(self) -> list[tuple[str, ...]]:
        """The list's cells as shown, row by row (for tests and for reading aloud)."""
        return [tuple(str(self.table.model().index(row, column).data())
                      for column in range(len(HEADINGS)))
                for row in range(self.table.rowCount())]

    def _fill(self) -> None:
        self.table.setRowCount(0)
        shown = self.shown()
        first = self._first()
        self.table.setRowCount(len(shown))
        for row, item in enumerate(shown):
            assert self._found is not None
            share = self._found.openings.share(item.replies, first)
            cells = (opening_text(item), f"{item.replies:,}", f"{share:.0%}",
                     f"{len(item.conversations):,}", f"{item.longer} …")
            counted = self._found.openings
            whole = (plural(counted.first_replies, "first reply", "first replies") if first
                     else plural(counted.replies, "trained reply", "trained replies"))
            tip = (f"{plural(item.replies, 'reply', 'replies')} of the {whole} "
                   f"{agreeing(item.replies, 'opens', 'open')} “{item.words} …”, in "
                   f"{plural(len(item.conversations), 'conversation')}; most often "
                   f"“{item.longer} …”")
            if item.words.startswith(NAME):
                tip += f"\n{NAME}: the client's first name"
            tip += f"\n{SELECT_TIP} (or double-click)."
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(tip)
                if column in (1, 2, 3):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        self.select_button.setEnabled(False)

    def _chosen_row(self) -> Opening | None:
        rows = self.table.selectionModel().selectedRows()
        shown = self.shown()
        if not rows or rows[0].row() >= len(shown):
            return None
        return shown[rows[0].row()]

    def choose(self, row: int) -> None:
        """Select the opening listed at ``row``."""
        self.table.selectRow(row)

    def select_chosen(self) -> None:
        item = self._chosen_row()
        if item is not None:
            self.select_conversations.emit(opening_text(item), item.conversations)
