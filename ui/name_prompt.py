"""Asking for a training file's name (or any typed answer, such as a validation share)
until it is one the library takes, or the person cancels: a refused answer is offered
again as typed, with the reason above it, so a typo costs one edit rather than the whole
flow."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import TypeVar

from PySide6.QtWidgets import QWidget

from app.errors import LibraryError
from ui.dialogs import Dialogs, as_sentence

T = TypeVar("T")

REASON_WIDTH = 72  # characters a line: the question's box does not wrap its words


def refused_label(label: str, reason: str) -> str:
    """The question again, after why the last answer was refused (as a sentence)."""
    return f"{textwrap.fill(as_sentence(reason.rstrip('.')) + '.', REASON_WIDTH)}\n\n{label}"


def ask_name(dialogs: Dialogs, parent: QWidget, title: str, label: str, default: str,
             check: Callable[[str], T], choices: Sequence[str] = ()) -> T | None:
    """What ``check`` makes of the answer it accepts (a name's cleaned form, a share's
    value), or None when the person cancels. ``check`` raises ``LibraryError`` with the
    reason for an answer it refuses. ``choices``: answers listed to pick from."""
    typed, question = default, label
    while True:
        answer = dialogs.text(parent, title, question, typed, choices)
        if answer is None:
            return None
        try:
            return check(answer)
        except LibraryError as exc:
            typed, question = answer, refused_label(label, str(exc))
