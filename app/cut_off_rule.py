"""Whether a message was cut off by the generator, and why it looks so.

About one reply in twelve in generated conversations stops mid-word: the generator stopped
at an escape sequence, leaving a lone backslash. Replies (the consultant's, formal prose)
must end like a finished sentence. Client messages are informal ("ok thanks", "that makes
sense"), and under the default cut-off policy a cut-off client message drops every later
reply of its conversation from the JSONL, so a client message counts as cut off only on a
clear sign: a lone backslash or an unfinished escape, a trailing comma, colon, semicolon or
dash, a dangling article, possessive or conjunction ("the", "my", "and", "because"), or a
quotation mark or bracket it opens and never closes.

``is_cut_off`` runs per message per policy in every import, so it reads only the end of
the text (its last 64 characters; for a client message with no end mark, the last 256 for
an unclosed quote or bracket); ``looks_cut_off`` says why, in a sentence a person reads in
the reader and in the warnings.
"""

from __future__ import annotations

import re

# A finished sentence ends on one of these (a closing quote, bracket or markdown emphasis
# after its end mark).
END_MARKS = tuple('.!?…"\'”’)]*')
DASHES = frozenset("-‐‑‒–—―")
# A text ending on one of these stops in the middle of a sentence, whoever wrote it.
TRAILING = {",": "a comma", ":": "a colon", ";": "a semicolon",
            **{dash: "a dash" for dash in DASHES}}
# Openers: never the end of a message, even though they sit above U+2000 like emoji.
OPENERS = frozenset("“‘«‹([{")
# Words a sentence never ends on: articles, possessives and conjunctions, which need what
# follows. Prepositions are left out on purpose, as are other words that can end an
# informal sentence ("so", "that", "up", "her"): English ends sentences on them ("what I'm
# worried about", "I'd love to", "who do I talk to"), and a false cut costs a client
# message's every later reply under the default policy.
DANGLING = frozenset({
    "a", "an", "the", "my", "your", "our", "their", "its",
    "and", "or", "but", "nor", "because", "although", "unless", "whereas", "whether", "than",
})
# Two-word endings that finish an informal answer although their last word dangles.
FINISHED_PAIRS = frozenset({"oh my"})
UNFINISHED_ESCAPE = re.compile(r"\\u[0-9A-Fa-f]{0,3}\Z")
WORD_START = "([{\"'“‘«"
TAIL = 40  # characters of the text quoted in an explanation
END_WINDOW = 64  # characters the rule reads at the end of a text
OPEN_WINDOW = 256  # where a client message's unclosed quote or bracket is looked for
SMILEYS = (":(", ";(", ":-(", "=(")

BACKSLASH = "backslash"
ESCAPE = "escape"
TRAILING_MARK = "trailing"
DANGLING_WORD = "dangling"
OPEN_QUOTE = "quote"
OPEN_BRACKET = "bracket"
NO_END_MARK = "no_end"


def is_cut_off(text: str, role: str = "assistant") -> bool:
    """``looks_cut_off`` as a yes/no, without building the explanation."""
    return _sign(text, role) is not None


def looks_cut_off(text: str, role: str = "assistant") -> str | None:
    """Why a message (a reply unless ``role`` is "user") looks cut off, or None when it
    ends as its writer finished it."""
    sign = _sign(text, role)
    if sign is None:
        return None
    end = text.rstrip()
    quoted = f"…{end[-TAIL:]!r}"
    if sign == BACKSLASH:
        return "ends in a lone backslash (the generator cut it off)"
    if sign == ESCAPE:
        return f"ends in an unfinished escape sequence (the generator cut it off): {quoted}"
    if sign == TRAILING_MARK:
        return f"ends on {TRAILING[end[-1]]}, mid-sentence: {quoted}"
    if sign == DANGLING_WORD:
        return f"ends on the word '{_last_word(end)}', mid-sentence: {quoted}"
    if sign == OPEN_QUOTE:
        return f"opens a quotation mark that never closes: {quoted}"
    if sign == OPEN_BRACKET:
        return f"opens a bracket that never closes: {quoted}"
    return f"ends mid-sentence: {quoted}"


def _sign(text: str, role: str) -> str | None:
    """The clearest sign that the text was cut off (a constant above), or None."""
    end = text[-END_WINDOW:].rstrip() or text.rstrip()  # the end is all that matters
    if not end or end.endswith(END_MARKS):  # most messages: decided here
        return None
    last = end[-1]
    if last == "\\":
        return BACKSLASH
    if last in TRAILING:
        return TRAILING_MARK
    if last.isalnum():
        if "\\" in end[-6:] and UNFINISHED_ESCAPE.search(end):
            return ESCAPE
        if last.isalpha() and _dangles(end):
            return DANGLING_WORD
    if role == "user":
        return _unclosed(text)
    if ord(last) > 0x2000 and not last.isalnum() and last not in OPENERS:
        return None  # emoji and similar symbols are a legitimate end of a reply
    return NO_END_MARK


def _last_word(end: str) -> str:
    return end.rsplit(None, 1)[-1].lstrip(WORD_START)


def _dangles(end: str) -> bool:
    word = _last_word(end)
    if word.lower() not in DANGLING or word == "A":  # "Plan A", "Option A"
        return False
    pair = end.rsplit(None, 2)[-2:]
    return len(pair) < 2 or " ".join(pair).lower() not in FINISHED_PAIRS


def _unclosed(text: str) -> str | None:
    """A quotation mark or bracket the message opens in its last ``OPEN_WINDOW`` characters
    and never closes (smileys such as ":(" open nothing). A closing mark always follows
    its opening one, so counting in the window is exact for curly quotes and brackets;
    straight quotes, which open and close alike, are counted over the whole text."""
    window = text[-OPEN_WINDOW:]
    if '"' in window and text.count('"') % 2:
        return OPEN_QUOTE
    if "“" in window and window.count("“") > window.count("”"):
        return OPEN_QUOTE
    if "(" in window:
        smileys = sum(map(window.count, SMILEYS))
        if window.count("(") - smileys > window.count(")"):
            return OPEN_BRACKET
    if "[" in window and window.count("[") > window.count("]"):
        return OPEN_BRACKET
    return None
