"""Repair escape sequences that a generator left in message text as literal characters.

Some generated conversations were escaped twice: a paragraph break arrives as the two
characters ``\\`` ``n`` instead of a newline, a quote as ``\\"``, a curly apostrophe as
``\\u2019``. Trained as they are, they teach the model to print backslashes. This module
turns them back into what was meant, in the canonical record only (the source file is never
touched), and says what it changed. Half a surrogate pair (a ``\\ud83d`` without its low
half) means nothing on its own and is left as it is.

It is deliberately conservative. A conversation is repaired only when it shows clear signs
of double escaping somewhere (an escaped quote, an escaped blank line, or an escaped line
break right after a sentence's end). Text without such signs keeps every backslash, so a
message that mentions ``C:\\new\\taxes.xlsx`` or explains what ``\\n`` means is left alone;
in a repaired conversation, Windows paths keep their ``\\n``/``\\t`` too. A lone backslash at
the very end of a message (half an escape sequence: the generator cut the text off there)
is kept, as the visible mark of the cut that ``reply_cut_off`` reports.

Control characters are mended the same way, in any conversation that holds one: a Windows
line end (``\\r\\n``) or a lone ``\\r`` becomes a line break, and the other C0 control
characters and DEL are removed (a tab and a line break stay). A Windows-made generator writes
them; a model trained on them learns to print carriage returns, and a NUL or an escape
character is never meant as text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from app.quality import Warning_

# One escape sequence, read left to right so that "\\n" (an escaped backslash, then n)
# becomes a backslash followed by n, never a newline. A UTF-16 surrogate pair written as two
# \\u sequences is one character; it is tried before a single \\u sequence.
ESCAPE = re.compile(r'\\(["\\nt]|u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}'
                    r'|u[0-9a-fA-F]{4})')
# Clear signs that a text was escaped twice: an escaped quote or blank line anywhere, or an
# escaped line break right after a sentence's end (checked outside Windows paths).
EVIDENCE = re.compile(r'\\"|\\n\\n|\\n\\t')
AFTER_SENTENCE = re.compile(r'[.!?:;)\]]\\[nt]')
# Windows paths (drive letter or UNC share): their backslashes are real. A path segment
# never ends in sentence punctuation, so "C:\\new\\taxes.xlsx.\\n\\nThanks" stops at "xlsx".
_SEGMENT = r'[^\\/:*?"<>|\s]*[^\\/:*?"<>|\s.!?,;]'
WINDOWS_PATH = re.compile(rf'(?<![\w\\])[A-Za-z]:(?:\\{_SEGMENT})+'
                          rf'|(?<!\S)\\\\{_SEGMENT}(?:\\{_SEGMENT})*')
# Where a Windows path could start (the beginning of each WINDOWS_PATH form, with the same
# look-behind): a cheap test that spares the path search in most texts.
PATH_START = re.compile(r'(?<![\w\\])[A-Za-z]:\\|(?<!\S)\\\\')
MEANING = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
# How a sequence is named to people ("u": any \\uXXXX, a surrogate pair counted once).
SHOWN = {'"': '\\"', "\\": "\\\\", "n": "\\n", "t": "\\t", "u": "\\uXXXX",
         "\r\n": "\\r\\n", "\r": "\\r"}
# The control characters mended (``clean_controls``): C0 but tab and line feed, and DEL.
CONTROLS = "".join(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0D, 0x20), 0x7F]))
CONTROL = re.compile("\r\n?|[" + re.escape(CONTROLS) + "]")
# Every byte to 1, but a control character's to 0: UTF-8 never uses those bytes inside a
# longer character, so one translate and one search for 0, both in C, find any.
_CONTROL_BYTES = bytes(0 if chr(b) in CONTROLS else 1 for b in range(256))


def is_double_escaped(texts: Iterable[str]) -> bool:
    """Whether any of the texts shows clear signs of literal escape sequences."""
    return any(shows_double_escaping(text) for text in texts)


def shows_double_escaping(text: str) -> bool:
    """Whether one text shows clear signs of literal escape sequences (checked text by
    text while the import walks the pairs, see ``app.pairwalk``)."""
    return "\\" in text and _evidence(text)


def has_controls(text: str) -> bool:
    """Whether a text holds a carriage return or another control character to mend (checked
    text by text while the import walks the pairs; a clean text costs two passes in C and
    no Python loop)."""
    return 0 in text.encode("utf-8", "surrogatepass").translate(_CONTROL_BYTES)


def clean_controls(text: str, counts: Counter[str]) -> str:
    """The text with each Windows line end or lone ``\\r`` made a line break and the other
    control characters removed; ``counts`` says how many of each (``U+0000`` style for the
    removed ones)."""
    def mend(found: re.Match[str]) -> str:
        seen = found.group()
        if seen[0] == "\r":
            counts[seen] += 1
            return "\n"
        counts[f"U+{ord(seen):04X}"] += 1
        return ""

    return CONTROL.sub(mend, text)


def _evidence(text: str) -> bool:
    if EVIDENCE.search(text):
        return True
    if AFTER_SENTENCE.search(text) is None:
        return False
    if ":\\" in text or "\\\\" in text:  # take Windows paths out first
        text = WINDOWS_PATH.sub(" ", text)
    return AFTER_SENTENCE.search(text) is not None


def _unescape(segment: str, counts: Counter[str]) -> str:
    # split() hands back text and escaped letters alternately, all in C.
    parts = ESCAPE.split(segment)
    letters = parts[1::2]
    if not letters:
        return segment
    if "\\u" in segment:  # rare: a \\u sequence may be half a pair, left as it is
        parts[1::2] = [_meaning(letter, counts) for letter in letters]
    else:
        counts.update(letters)
        parts[1::2] = [MEANING[letter] for letter in letters]
    return "".join(parts)


def _meaning(sequence: str, counts: Counter[str]) -> str:
    """What one escape sequence (without its backslash) stands for, counted; half a
    surrogate pair means nothing on its own and is left as it is, uncounted."""
    if len(sequence) == 1:
        counts[sequence] += 1
        return MEANING[sequence]
    code = int(sequence[1:5], 16)
    if len(sequence) > 5:  # a surrogate pair: high, then "\\u", then low
        code = 0x10000 + ((code - 0xD800) << 10) + (int(sequence[7:], 16) - 0xDC00)
    elif 0xD800 <= code <= 0xDFFF:
        return "\\" + sequence
    counts["u"] += 1
    return chr(code)


def _may_hold_path(text: str) -> bool:
    """Whether a Windows path may start somewhere in ``text``: ``PATH_START`` tried only
    where its fixed characters are (``str.find`` runs in C; the regex scan of a whole
    text costs more than the rest of its repair)."""
    for marker, back in ((":\\", 1), ("\\\\", 0)):
        at = text.find(marker)
        while at != -1:
            if at >= back and PATH_START.match(text, at - back):
                return True
            at = text.find(marker, at + 1)
    return False


def repair_text(text: str) -> tuple[str, Counter[str]]:
    """The text with its escape sequences turned back, and how many of each were repaired.

    Call it only for a conversation that ``is_double_escaped``. Inside Windows paths only
    escaped backslashes are folded.
    """
    counts: Counter[str] = Counter()
    if "\\" not in text:
        return text, counts
    if not _may_hold_path(text):  # no drive letter or share: no path to spare
        return _unescape(text, counts), counts
    parts: list[str] = []
    start = 0
    for path in WINDOWS_PATH.finditer(text):
        parts.append(_unescape(text[start : path.start()], counts))
        folded = path.group().count("\\\\")
        if folded:
            counts["\\"] += folded
        parts.append(path.group().replace("\\\\", "\\"))
        start = path.end()
    parts.append(_unescape(text[start:], counts))
    return "".join(parts), counts


def describe(counts: Counter[str]) -> str:
    """Say what was repaired, e.g. ``4 × \\n, 2 × \\"``, or ``3 × \\r\\n, 1 × U+0000
    (control character, removed)``."""
    said = [f"{counts[key]} × {SHOWN[key]}" for key in ("n", '"', "t", "\\", "u", "\r\n", "\r")
            if counts[key]]
    removed = sorted(key for key in counts if key.startswith("U+") and counts[key])
    if removed:
        said += [f"{counts[key]} × {key}" for key in removed]
        said[-1] += (" (control characters, removed)" if len(removed) > 1
                     else " (control character, removed)")
    return ", ".join(said)


def mend_text(text: str, escaped: bool, controls: bool) -> tuple[str, Counter[str]]:
    """The text repaired as its conversation needs (``escaped``: double-escaped, see
    ``repair_text``; ``controls``: a text of it holds control characters, see
    ``clean_controls``), and how many of each thing were repaired. Escapes go first, so a
    control character written as ``\\u0000`` is removed too."""
    fixed, counts = repair_text(text) if escaped else (text, Counter[str]())
    if controls and has_controls(fixed):
        fixed = clean_controls(fixed, counts)
    return fixed, counts


class TextRepair:
    """Repairs a conversation's texts one at a time, in turn order (``mend_text``: its
    escape sequences when it is double-escaped, its control characters when it holds
    some), and keeps its ``text_repaired`` warnings: one per repaired message, a client
    message that enriched files repeat in the next pair reported once, at the turn where
    it first appears. Each distinct text is repaired once."""

    def __init__(self, escaped: bool = True, controls: bool = False) -> None:
        self.warnings: list[Warning_] = []
        self._escaped = escaped
        self._controls = controls
        self._memo: dict[str, tuple[str, Counter[str]]] = {}
        self._reported: set[str] = set()

    def _fix(self, text: str) -> tuple[str, Counter[str]]:
        found = self._memo.get(text)
        if found is None:
            found = self._memo[text] = mend_text(text, self._escaped, self._controls)
        return found

    def prompt(self, text: str) -> str:
        """The repaired system prompt (its warning names no turn)."""
        fixed, counts = self._fix(text)
        if counts:
            self.warnings.append(Warning_("text_repaired", None,
                                          f"system prompt: repaired {describe(counts)}"))
        return fixed

    def message(self, text: str, turn: int, who: str) -> str:
        """A repaired client message or reply (``who``: how the warning names it)."""
        if not text:
            return text
        fixed, counts = self._fix(text)
        if counts and text not in self._reported:
            self._reported.add(text)
            self.warnings.append(Warning_("text_repaired", turn,
                                          f"{who}: repaired {describe(counts)}"))
        return fixed

    def history(self, history: list[Any]) -> list[Any]:
        """A pair's ``conversation_history`` repaired silently, so that its copies still
        compare equal to the messages they copy."""
        return [
            {**entry, "content": self._fix(entry["content"])[0]}
            if isinstance(entry, dict) and isinstance(entry.get("content"), str) else entry
            for entry in history
        ]


CLIENT_MESSAGE, REPLY = "client message", "reply"  # how a warning names a repaired text
