"""The status bar's passing messages. A filter that a change cleared (its batch emptied
by a removal or a move, its training file deleted) is said beside what the change itself
said, whichever of the two comes first: the filter's notice used to replace "Removed 3
conversations from the library; rebuilt 'December'", and the change's own line, arriving
after a rebuild, would hide the notice.

A notice that states a count ("4 conversations shown", "3 checked, as you left them") is
dropped at the first change of what it counts: beside a later message for 8 s, it said
"4 conversations shown" after an Undo had brought 40 back, while the counts beside it
said 40."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QStatusBar

SHOWN_MS = 8000  # how long a passing message stays, at the least
# A longer message stays as long as it takes to read (about 15 characters a second): one
# of 900 characters after a settings change was gone in 8 s.
READ_MS_PER_CHARACTER = 70
LONGEST_SHOWN_MS = 45_000


def shown_ms(text: str) -> int:
    """How long ``text`` stays in the status bar."""
    return min(max(SHOWN_MS, len(text) * READ_MS_PER_CHARACTER),
               max(SHOWN_MS, LONGEST_SHOWN_MS))

Holds = Callable[[], bool]  # whether a notice is still true


def joined(first: str, then: str) -> str:
    """Two messages as one line, each a sentence."""
    first = first.rstrip()
    if not first:
        return then
    return f"{first} {then}" if first.endswith((".", "!", "?")) else f"{first}. {then}"


def while_unchanged(state: Callable[[], object]) -> Holds:
    """True for as long as ``state()`` reads as it does now."""
    now = state()
    return lambda: state() == now


class StatusLine(QObject):
    """Says passing messages; a notice stays beside the messages that follow it for as
    long as it would have shown alone, and no longer than it holds."""

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.bar = bar
        self._notice = ""
        self._holds: Holds | None = None
        self._until = 0.0  # when the message showing now goes (time.monotonic)
        self._forget = QTimer(self)
        self._forget.setSingleShot(True)
        self._forget.timeout.connect(self._forget_notice)
        # A message longer than the room the permanent widgets leave (a laptop's 1093 px
        # holds about 60 characters beside the counts) is cut mid-word, with no "…": the
        # whole of it is the bar's tooltip while it shows.
        bar.messageChanged.connect(self._whole_in_tooltip)

    def say(self, text: str) -> None:
        """A message; a notice still fresh (and still true) follows it."""
        self.recheck()
        message = joined(text, self._notice) if self._notice else text
        self._show(message, shown_ms(message))

    def notice(self, text: str, holds: Holds | None = None) -> None:
        """A consequence of a change: after the message showing now, if one is. Dropped
        (``recheck``) once ``holds`` says it is no longer true."""
        current = self._without_notice(self.bar.currentMessage())  # replaced, not repeated
        self._notice, self._holds = text, holds
        self._forget.start(SHOWN_MS)
        self._show(joined(current, text), SHOWN_MS)

    def recheck(self) -> None:
        """Drops the notice, from the bar too, if what it says is no longer true (called
        at each change of what notices count)."""
        if not self._notice or self._holds is None or self._holds():
            return
        current = self.bar.currentMessage()
        rest = self._without_notice(current)
        self._forget.stop()
        self._forget_notice()
        if rest == current:
            return  # something else shows now
        left = int((self._until - time.monotonic()) * 1000)
        if rest and left > 0:
            self._show(rest, left)
        else:
            self.bar.clearMessage()

    def _without_notice(self, message: str) -> str:
        if self._notice and message.endswith(self._notice):
            return message[: -len(self._notice)].rstrip()
        return message

    def _show(self, text: str, shown_ms: int) -> None:
        self._until = time.monotonic() + shown_ms / 1000
        self.bar.showMessage(text, shown_ms)

    def _whole_in_tooltip(self, message: str) -> None:
        self.bar.setToolTip(message)

    def _forget_notice(self) -> None:
        self._notice, self._holds = "", None
