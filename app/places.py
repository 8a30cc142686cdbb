"""Where in a file a problem is, in words a person reads: ``$.training_pairs[1].target_response``
→ "training pair 2, consultant reply"; ``$.messages[3].content`` → "message 4 (client), text".

Reasons are stored and passed on as ``"<where>: <what>"`` (``app.errors.Problem``), where
``where`` is a JSON path or "line L, column C". Machine output (the command's ``--json``)
keeps the path; what a person reads gets the words.
"""

from __future__ import annotations

import re

PATH = re.compile(r"\$(?:\.[\w-]+|\[\d+\])*")
STEP = re.compile(r"\.([\w-]+)|\[(\d+)\]")
# A list's items by the list's name; items of other lists are "<list> item N".
ITEMS = {"training_pairs": "training pair", "conversations": "conversation",
         "messages": "message", "conversation_history": "history message", "turns": "turn",
         "replies": "reply", "warnings": "warning"}
FIELDS = {"target_response": "consultant reply", "current_user_input": "client message",
          "content": "text", "conversation_id": "conversation id"}


def place_words(where: str) -> str:
    """``where`` (a JSON path, or already words such as "line 3, column 7") in words;
    "" for the whole file (``$``)."""
    if PATH.fullmatch(where) is None:
        return where
    words: list[str] = []
    key = ""  # the name of the list an index points into
    for name, index in STEP.findall(where[1:]):
        if name:
            key = name
            words.append(FIELDS.get(name, name.replace("_", " ")))
            continue
        listed = words.pop() if words and key else ""
        item = ITEMS.get(key) or (f"{listed} item" if listed else "item")
        words.append(f"{item} {int(index) + 1}" + (_speaker(int(index)) if key == "messages"
                                                   else ""))
        key = ""
    return ", ".join(words)


def _speaker(index: int) -> str:
    """Who writes message ``index``: in our format the roles alternate after the system
    message (the check of a file says so when they do not)."""
    if index == 0:
        return " (system prompt)"
    return " (client)" if index % 2 == 1 else " (consultant)"


def split_reason(reason: str) -> tuple[str, str]:
    """``"<where>: <what>"`` → (where, what); ("", reason) when it names no place."""
    where, colon, what = reason.partition(": ")
    if colon and (PATH.fullmatch(where) or where.startswith("line ")):
        return where, what
    return "", reason


def readable_reason(reason: str) -> str:
    """The reason with its place in words (nothing for the whole file)."""
    where, what = split_reason(reason)
    place = place_words(where) if where else ""
    return f"{place}: {what}" if place else what
