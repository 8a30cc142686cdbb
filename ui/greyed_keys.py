"""A greyed-out action's shortcut says why it does nothing.

Qt drops the key of a disabled action without a sound: Ctrl+N with no conversation
checked did nothing and said nothing, and the person could not tell a missed key from a
refused one. While the action is greyed, a shortcut of the same key in its place puts the
reason in the status bar (as Delete on the table does)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def key_name(action: QAction) -> str:
    """The action's shortcut as the platform writes it ("Ctrl+N", "⌘N")."""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def nothing_checked(action: QAction, does: str, elsewhere: bool) -> str:
    """Why an action on the checked conversations is greyed: none is, and how to check
    some (``elsewhere``: from another page than the Conversations page)."""
    where = "on the Conversations page, " if elsewhere else ""
    return (f"{key_name(action)} {does}, and none is checked: {where}Space checks the "
            "selected rows, Ctrl+A every row shown.")


def say_why_greyed(window: QWidget, action: QAction, why: Callable[[], str],
                   say: Callable[[str], None]) -> QShortcut:
    """While ``action`` is disabled its key calls ``say(why())``; enabled, the key is the
    action's alone (two live shortcuts of one key would both be ambiguous and silent)."""
    stand_in = QShortcut(action.shortcut(), window)
    stand_in.setContext(Qt.ShortcutContext.WindowShortcut)
    stand_in.activated.connect(lambda: say(why()))

    def follow() -> None:
        stand_in.setEnabled(not action.isEnabled())

    action.changed.connect(follow)
    follow()
    return stand_in


def no_file_selected(action: QAction, does: str, files: int, no_lines: str | None) -> str:
    """Why a save of the selected training file is greyed: there is none yet (and how to
    make one), none is selected, or (``no_lines``) its JSONL has no line to save."""
    if no_lines:
        return f"{key_name(action)} {does}, and it cannot: {no_lines}"
    if not files:
        return (f"{key_name(action)} {does}, and there is no training file yet: check "
                "conversations on the Conversations page, then Ctrl+N makes one.")
    return (f"{key_name(action)} {does}, and none is selected: choose one on the LoRA "
            "Training JSON Files page (Ctrl+2).")


def nothing_read(action: QAction) -> str:
    """Why As trained… is greyed: no conversation is open in the reader."""
    return (f"{key_name(action)} shows the conversation being read as the trainer reads it, "
            "and none is being read: select a row on the Conversations page to read it.")


def no_batch_chosen(action: QAction, has_rows: bool) -> str:
    """Why Rename batch… is greyed: no batch is chosen, or the library is empty."""
    if not has_rows:
        return (f"{key_name(action)} renames a batch, and the library has none yet: import "
                "conversations first (Ctrl+O).")
    return (f"{key_name(action)} renames the batch chosen in the Batch ID filter, or the "
            "selected conversation's, and none is: choose a batch there or select a row.")
