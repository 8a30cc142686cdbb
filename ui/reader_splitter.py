"""The splitter between the Conversations table and the reading panel. The table has the
priority for width: until the person drags the splitter, the reader gets what the table's
columns leave (within bounds), worked out again whenever the window changes size, so on a
1366 or 1440 px laptop the table's columns show without scrolling sideways while the
reader stays beside it; on a wide screen the reader has everything the columns do not
need (not the table's last column, which would stretch over it). Once the person drags
it, the reader keeps the width they chose (the window remembers it) and the table takes
whatever the window gains or loses.

With nothing to read the reader takes no width the table's columns want: on a 1000 px
window its "Select a conversation" took 400 px while the columns were cut to 7 characters.
It is shut then, and opens at its width when a conversation is read; where the columns
leave it that width anyway (1440 px and wider) it shows, and reading moves nothing. The
person can close it for the conversation being read (Esc, its Close button: the next one
read opens it again) or turn it off (Ctrl+R, or dragged shut)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QWidget

READER_MIN = 400  # px: the reader's width beside a table that wants more, where there is room
# On a smaller window the reader has this share of it (367 px at 1000 px): its messages show
# whole down to about 340 px, and the 33 px make the table's Client column show a name.
SMALL_WINDOW_SHARE = (3, 8)


def fitted_reader_width(total: int, table_wants: int) -> int:
    """The reader's width while the person has chosen none: all that the table's columns
    leave of ``total``, no less than ``READER_MIN`` (or 3/8 of a window too small for
    that). (It was at most 40 % of the window: on a 1920 px screen the rest went to the
    table's last column, a Warnings column of short counts stretched to twice its width,
    while the reader's messages wrapped short.)"""
    share, of = SMALL_WINDOW_SHARE
    return max(total - table_wants, min(READER_MIN, total * share // of))


class ReaderSplitter(QSplitter):
    """Table (takes the width) | reader (fitted, or as wide as the person chose; shut
    while it has nothing to read and the table wants the room).
    ``table_wants`` says how wide the table would like to be to show every column."""

    def __init__(self, table: QWidget, reader: QWidget, table_wants: Callable[[], int],
                 parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.addWidget(table)
        self.addWidget(reader)
        self.setStretchFactor(0, 1)  # the table takes what the window gains or loses
        self.setStretchFactor(1, 0)
        self.setCollapsible(0, False)
        self.setCollapsible(1, True)
        self._table_wants = table_wants
        self.chosen_width: int | None = None  # dragged by the person; None: fitted
        self.reader_hidden = False  # Ctrl+R, or dragged shut
        self.reading: str | None = None  # the conversation the reader shows
        # The person's word on the conversation being read: True opened (dragged out, or
        # shown with Ctrl+R), False closed (Esc, Close); None: open while reading.
        self.held: bool | None = None
        self.splitterMoved.connect(self._moved)

    def reader_width(self) -> int:
        """How wide the reader is when it shows."""
        if self.chosen_width:
            return self.chosen_width
        return fitted_reader_width(sum(self.sizes()), self._table_wants())

    def reader_open(self) -> bool:
        """Whether the reader has width now (or would, laid out)."""
        if self.reader_hidden or self.held is False:
            return False
        if self.held or self.reading is not None:
            return True
        # nothing to read: only width the table's columns do not want
        return sum(self.sizes()) - self._table_wants() >= self.reader_width()

    def set_reading(self, conversation_id: str | None) -> None:
        """The reader now shows this conversation (None: nothing): another one opens the
        reader again after the person closed it for the last."""
        if conversation_id == self.reading:
            return
        self.reading = conversation_id
        self.held = None
        self.fit()

    def show_reader(self, shown: bool) -> None:
        """Bring the reader back at its width (with nothing to read too: the person asked
        for it), or collapse it until shown again (the table takes it all)."""
        self.reader_hidden = not shown
        self.held = True if shown else None
        self.fit()

    def close_reading(self) -> None:
        """Shut the reader until another conversation is read (the table takes it all)."""
        self.held = False
        self.fit()

    def fit(self) -> None:
        """The reader at its width, or shut (after the window, the table's wanted width or
        what is read changed)."""
        total = sum(self.sizes())
        reader = min(self.reader_width(), total) if self.reader_open() else 0
        if self.sizes() != [total - reader, reader]:
            self.setSizes([total - reader, reader])

    def _moved(self, _pos: int, _index: int) -> None:
        reader = self.sizes()[1]
        self.reader_hidden = reader == 0
        self.held = True if reader else None
        if reader:
            self.chosen_width = reader

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()  # the table takes the difference
