"""The status bar's passing messages. A filter that a change cleared (its batch emptied
by a removal or a move, its training file deleted) is said beside what the change itself
said, whichever of the two comes first: the filter's notice used to replace "Removed 3
conversations from the library; rebuilt 'December'", and the change's own line, arriving
after a rebuild, would hide the notice."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QStatusBar

SHOWN_MS = 8000  # how long a passing message stays


def joined(first: str, then: str) -> str:
    """Two messages as one line, each a sentence."""
    first = first.rstrip()
    if not first:
        return then
    return f"{first} {then}" if first.endswith((".", "!", "?")) else f"{first}. {then}"


class StatusLine(QObject):
    """Says passing messages; a notice stays beside the messages that follow it for as
    long as it would have shown alone."""

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.bar = bar
        self._notice = ""
        self._forget = QTimer(self)
        self._forget.setSingleShot(True)
        self._forget.timeout.connect(self._forget_notice)
        # A message longer than the room the permanent widgets leave (a laptop's 1093 px
        # holds about 60 characters beside the counts) is cut mid-word, with no "…": the
        # whole of it is the bar's tooltip while it shows.
        bar.messageChanged.connect(self._whole_in_tooltip)

    def say(self, text: str) -> None:
        """A message; a notice still fresh follows it."""
        self.bar.showMessage(joined(text, self._notice) if self._notice else text, SHOWN_MS)

    def notice(self, text: str) -> None:
        """A consequence of a change: after the message showing now, if one is."""
        current = self.bar.currentMessage()
        if self._notice and current.endswith(self._notice):
            current = current[: -len(self._notice)].rstrip()  # replaced, not repeated
        self._notice = text
        self._forget.start(SHOWN_MS)
        self.bar.showMessage(joined(current, text), SHOWN_MS)

    def _whole_in_tooltip(self, message: str) -> None:
        self.bar.setToolTip(message)

    def _forget_notice(self) -> None:
        self._notice = ""
