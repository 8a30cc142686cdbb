"""The rendered line in a monospace view: trained tokens highlighted, context dimmed, the
template's markup in its own colour, tokens past the budget struck through, and (on
request) every other token tinted so token boundaries show. A tooltip names the token
under the mouse: its position, id, piece and text.

The text is set once; colours are applied by a ``QSyntaxHighlighter`` from a list of runs
(character ranges with one look), so a line of thousands of tokens shows in milliseconds
and switching the boundaries on or off only re-applies formats.

Offsets from the tokenizer count code points; Qt counts UTF-16 units. ``Utf16`` converts,
so emoji and other characters outside the Basic Multilingual Plane cannot shift a colour.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, replace
from enum import Enum

from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QHelpEvent,
    QPainter,
    QPaintEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QPlainTextEdit, QToolTip, QWidget

from app.tokens import AsTrained
from app.trained_preview import ROLE_LABELS, Preview
from app.wording import LENGTH_LIMIT
from ui.as_trained_colours import AsTrainedColours

LEFT_OUT_HEADING = "──── Not in the training line ────"
# A line is shown up to this many tokens past the length limit, and never more than
# ``SHOWN_TOKENS_AT_MOST`` in all: a pasted 3 MB reply (a million tokens) held the window
# over 30 s while each token's colour was worked out on the GUI thread and laid out. What
# is not shown is said, and Copy line still copies all of it.
SHOWN_PAST_THE_LIMIT = 2_000
SHOWN_TOKENS_AT_MOST = 40_000


def shown_tokens(preview: Preview) -> int:
    """How many of the line's tokens the view shows (all, unless the line is very long)."""
    total = preview.total
    cut = preview.cut_token
    return min(total, SHOWN_TOKENS_AT_MOST,
               cut + SHOWN_PAST_THE_LIMIT if cut is not None else total)


def shortened(preview: Preview) -> tuple[Preview, str]:
    """``preview`` with its line ended after ``shown_tokens`` tokens, and the words that
    say what is not shown (the same preview and "" when it is all shown)."""
    shown = preview.shown
    count = shown_tokens(preview) if shown is not None else 0
    if shown is None or count >= preview.total:
        return preview, ""
    end = shown.offsets[count][0]
    line = replace(
        shown, text=shown.text[:end], offsets=shown.offsets[:count],
        token_texts=shown.token_texts[:count], trained=shown.trained[:count],
        ids=shown.ids[:count],
        contents=[(index, start, min(stop, end)) for index, start, stop in shown.contents
                  if start < end])
    rest = preview.total - count
    where = (f"past the {LENGTH_LIMIT} of {preview.settings.max_seq_len:,} tokens: the "
             "trainer never reads them" if preview.cut_token is not None
             else "they are in the line, as Copy line copies it")
    return (replace(preview, shown=line),
            f"\n\n… {rest:,} more tokens ({len(shown.text) - end:,} characters) of this "
            f"line are not shown here, {where}.")


class Look(Enum):
    TRAINED = "trained"
    CONTEXT = "context"
    MARKUP = "markup"
    LEFT_OUT = "left out"
    HEADING = "heading"


@dataclass(frozen=True)
class Style:
    look: Look
    alternate: bool = False  # the other tint of a token-boundary pair
    lost: bool = False  # past the maximum sequence length


class Utf16:
    """Code point offsets of a text as UTF-16 offsets (Qt's), and back."""

    def __init__(self, text: str) -> None:
        self.identity = all(ord(ch) <= 0xFFFF for ch in text) if not text.isascii() else True
        self.before: list[int] = [] if self.identity else list(itertools.accumulate(
            (2 if ord(ch) > 0xFFFF else 1 for ch in text), initial=0))

    def to_qt(self, offset: int) -> int:
        if self.identity:
            return offset
        return self.before[min(offset, len(self.before) - 1)]

    def from_qt(self, position: int) -> int:
        if self.identity:
            return position
        return max(0, bisect.bisect_right(self.before, position) - 1)


def token_styles(shown: AsTrained, cut_token: int | None) -> list[Style]:
    """One style per token: trained, a message's text as context, or template markup."""
    contents = sorted((start, end) for _index, start, end in shown.contents)
    starts = [start for start, _end in contents]
    styles = []
    for index, ((start, end), trained) in enumerate(
            zip(shown.offsets, shown.trained, strict=True)):
        if trained:
            look = Look.TRAINED
        else:
            at = bisect.bisect_right(starts, start) - 1
            inside = at >= 0 and start < contents[at][1] and end > contents[at][0]
            if not inside and at + 1 < len(contents):
                inside = end > contents[at + 1][0] and start < contents[at + 1][1]
            look = Look.CONTEXT if inside else Look.MARKUP
        styles.append(Style(look, bool(index % 2),
                            cut_token is not None and index >= cut_token))
    return styles


@dataclass
class Runs:
    """Ranges of the document (UTF-16 offsets) with one style each, in order."""

    starts: list[int]
    ends: list[int]
    styles: list[Style]


def line_runs(preview: Preview, boundaries: bool, utf16: Utf16) -> Runs:
    """Runs covering the rendered line: each token from its start to the next token's start
    (so gaps between token offsets take the colour of the token before them); neighbours
    of the same look are merged unless boundaries are shown."""
    shown = preview.shown
    runs = Runs([], [], [])
    if shown is None or not shown.offsets:
        return runs
    styles = token_styles(shown, preview.cut_token)
    edges = [0] + [start for start, _end in shown.offsets[1:]] + [len(shown.text)]
    for index, style in enumerate(styles):
        start, end = utf16.to_qt(edges[index]), utf16.to_qt(edges[index + 1])
        if end <= start:
            continue
        if not boundaries:
            style = Style(style.look, False, style.lost)
            if runs.styles and runs.styles[-1] == style and runs.ends[-1] == start:
                runs.ends[-1] = end
                continue
        runs.starts.append(start)
        runs.ends.append(end)
        runs.styles.append(style)
    return runs


def left_out_text(preview: Preview) -> str:
    """The messages that are not in the line, after it, each under its role."""
    rows = [row for row in preview.rows if not row.in_line]
    if not rows:
        return ""
    parts = [f"\n\n{LEFT_OUT_HEADING}\n"]
    for row in rows:
        parts.append(f"\n[{ROLE_LABELS.get(row.role, row.role)} · {row.why_not}]\n"
                     f"{row.content}\n")
    return "".join(parts)


def char_formats(colours: AsTrainedColours) -> dict[Style, QTextCharFormat]:
    formats: dict[Style, QTextCharFormat] = {}
    for look in Look:
        for alternate in (False, True):
            for lost in (False, True):
                fmt = QTextCharFormat()
                if look is Look.TRAINED:
                    fmt.setBackground(colours.trained_alt_bg if alternate
                                      else colours.trained_bg)
                    fmt.setForeground(colours.trained_text)
                elif look in (Look.CONTEXT, Look.MARKUP):
                    if alternate:
                        fmt.setBackground(colours.context_alt_bg)
                    fmt.setForeground(colours.context_text if look is Look.CONTEXT
                                      else colours.markup_text)
                else:
                    fmt.setBackground(colours.left_out_bg)
                    fmt.setForeground(colours.left_out_text)
                    fmt.setFontItalic(look is Look.LEFT_OUT)
                    fmt.setFontWeight(QFont.Weight.Bold if look is Look.HEADING
                                      else QFont.Weight.Normal)
                if lost:
                    fmt.setBackground(colours.lost_bg)
                    fmt.setForeground(colours.lost_text)
                    fmt.setFontStrikeOut(True)
                    if look is Look.TRAINED:  # a target the trainer never reaches
                        fmt.setFontUnderline(True)
                        fmt.setUnderlineColor(colours.budget_line)
                formats[Style(look, alternate, lost)] = fmt
    return formats


class RunHighlighter(QSyntaxHighlighter):
    """Applies the runs to each block of the document."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.runs = Runs([], [], [])
        self.formats: dict[Style, QTextCharFormat] = {}

    def set_runs(self, runs: Runs, formats: dict[Style, QTextCharFormat]) -> None:
        self.runs, self.formats = runs, formats
        self.rehighlight()

    def highlightBlock(self, _text: str) -> None:
        block = self.currentBlock()
        first, length = block.position(), block.length() - 1  # UTF-16 units, no separator
        last = first + length
        runs = self.runs
        at = max(0, bisect.bisect_right(runs.starts, first) - 1)
        while at < len(runs.starts) and runs.starts[at] < last:
            start, end = max(runs.starts[at], first), min(runs.ends[at], last)
            if end > start:
                self.setFormat(start - first, end - start, self.formats[runs.styles[at]])
            at += 1


class TokenTextView(QPlainTextEdit):
    """The rendered line; paints where the budget cuts and names the token under the
    mouse."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.highlighter = RunHighlighter(self.document())
        self.preview: Preview | None = None
        self.utf16 = Utf16("")
        self.boundaries = False
        self.colours: AsTrainedColours | None = None
        self.line_length = 0  # UTF-16 length of the rendered line (left-out text follows)
        self.marked: tuple[int, int] | None = None  # a turn's span (UTF-16), barred at left
        self.document().setDocumentMargin(8)  # room for the turn bar
        self._token_starts: list[int] = []
        self.not_shown = ""  # what the view leaves out of a very long line, in words

    def show_preview(self, preview: Preview | None, colours: AsTrainedColours,
                     boundaries: bool) -> None:
        not_shown = ""
        if preview is not None:
            preview, not_shown = shortened(preview)
        self.not_shown = not_shown
        self.preview, self.colours, self.boundaries = preview, colours, boundaries
        line = preview.shown.text if preview is not None and preview.shown else ""
        tail = not_shown + (left_out_text(preview) if preview is not None else "")
        self.utf16 = Utf16(line)
        self._token_starts = ([start for start, _end in preview.shown.offsets]
                              if preview is not None and preview.shown else [])
        self.marked = None
        self.highlighter.set_runs(Runs([], [], []), {})  # no formats while the text changes
        self.setPlainText(line + tail)
        self.line_length = self.utf16.to_qt(len(line))
        self._apply(tail)

    def set_boundaries(self, shown: bool) -> None:
        if shown != self.boundaries and self.colours is not None:
            self.boundaries = shown
            tail = self.not_shown + (left_out_text(self.preview) if self.preview is not None
                                     else "")
            self._apply(tail)

    def _apply(self, tail: str) -> None:
        if self.colours is None:
            return
        runs = (line_runs(self.preview, self.boundaries, self.utf16) if self.preview
                else Runs([], [], []))
        if tail and LEFT_OUT_HEADING in tail:
            heading_at = self.line_length + tail.index(LEFT_OUT_HEADING)
            heading_end = heading_at + len(LEFT_OUT_HEADING)
            runs.starts += [self.line_length, heading_at, heading_end]
            runs.ends += [heading_at, heading_end, self.line_length + len(tail)]
            runs.styles += [Style(Look.LEFT_OUT), Style(Look.HEADING), Style(Look.LEFT_OUT)]
        elif tail:  # only what is not shown of a very long line
            runs.starts.append(self.line_length)
            runs.ends.append(self.line_length + len(tail))
            runs.styles.append(Style(Look.LEFT_OUT))
        self.highlighter.set_runs(runs, char_formats(self.colours))
        self.viewport().update()

    # --- the token under the mouse -----------------------------------------------------

    def token_at(self, position: int) -> int | None:
        """The token holding the character at a document position (UTF-16), if any."""
        if self.preview is None or self.preview.shown is None or position >= self.line_length:
            return None
        char = self.utf16.from_qt(position)
        index = bisect.bisect_right(self._token_starts, char) - 1
        return index if index >= 0 else None

    def token_description(self, index: int) -> str:
        assert self.preview is not None and self.preview.shown is not None
        shown = self.preview.shown
        start, end = shown.offsets[index]
        piece = shown.token_texts[index]
        token_id = shown.ids[index] if index < len(shown.ids) else -1
        text = shown.text[start:end]
        state = "trained (carries the loss)" if shown.trained[index] else "context (no loss)"
        cut = self.preview.cut_token
        if cut is not None and index >= cut:
            state += (f"; past the {LENGTH_LIMIT} of {self.preview.settings.max_seq_len:,} "
                      "tokens: never read")
        return (f"Token {index + 1:,} of {shown.total:,}\nid {token_id} · piece {piece!r}\n"
                f"text {text!r}\n{state}")

    def character_under(self, point: QPoint) -> int | None:
        """The document position of the character under a viewport point, if any."""
        cursor = self.cursorForPosition(point)
        rect = self.cursorRect(cursor)
        if not rect.top() - 1 <= point.y() <= rect.bottom() + 1:
            return None
        position = cursor.position()
        if point.x() < rect.left() and position > 0:
            position -= 1  # the mouse is on the left half of the next character
        block = cursor.block()
        if position >= block.position() + block.length() - 1 and point.x() > rect.right() + 8:
            return None  # past the end of the line
        return position

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            position = self.character_under(event.pos())
            index = self.token_at(position) if position is not None else None
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.token_description(index),
                                  self.viewport())
            return True
        return super().viewportEvent(event)

    # --- the budget mark ---------------------------------------------------------------

    def budget_rect(self) -> QRect | None:
        """Where the maximum sequence length cuts, in viewport coordinates."""
        if self.preview is None or self.preview.cut_char is None:
            return None
        cursor = QTextCursor(self.document())
        cursor.setPosition(self.utf16.to_qt(self.preview.cut_char))
        return self.cursorRect(cursor)

    def mark_span(self, start: int, end: int) -> None:
        """Bar the lines of a span (code points in the line) in the left margin: the turn
        chosen in the table or the bar."""
        self.marked = (self.utf16.to_qt(start), self.utf16.to_qt(end))
        self.viewport().update()

    def _paint_mark(self, painter: QPainter) -> None:
        if self.marked is None or self.colours is None:
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(min(self.marked[0], self.document().characterCount() - 1))
        top = self.cursorRect(cursor).top()
        cursor.setPosition(min(self.marked[1], self.document().characterCount() - 1))
        bottom = self.cursorRect(cursor).bottom()
        if bottom >= 0 and top <= self.viewport().height():
            painter.fillRect(QRect(1, top, 4, bottom - top + 1), self.colours.bar_trained)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.marked is not None:
            painter = QPainter(self.viewport())
            self._paint_mark(painter)
            painter.end()
        rect = self.budget_rect()
        if rect is None or self.colours is None or not self.viewport().rect().intersects(
                rect.adjusted(-60, -20, 200, 20)):
            return
        painter = QPainter(self.viewport())
        colour = QColor(self.colours.budget_line)
        painter.fillRect(QRect(rect.left() - 1, rect.top() - 2, 3, rect.height() + 4), colour)
        label = (f" {LENGTH_LIMIT} {self.preview.settings.max_seq_len:,} " if self.preview
                 else "")
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        # The tag sits on the lost text right after the cut (never over what is read),
        # or at the start of the next line when the cut is near the end of a line.
        width = metrics.horizontalAdvance(label)
        box = QRect(rect.left() + 3, rect.center().y() - metrics.height() // 2, width,
                    metrics.height())
        if box.right() > self.viewport().width() - 4:
            margin = int(self.document().documentMargin())
            box.moveTo(margin, rect.bottom() + 2)
        painter.fillRect(box, colour)
        painter.setPen(QColor("white") if colour.lightnessF() < 0.6 else QColor("black"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.end()
