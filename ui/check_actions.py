"""The words of the actions that check and uncheck conversations (Edit menu, toolbar, the
table's right-click menu): named for what they do, since they tick check boxes and never
select (highlight) rows, and their tips say how many conversations they would change."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from ui.wording import agreeing, plural, the_count

CHECK_ALL_SHOWN = "Check all shown"
UNCHECK_ALL = "Uncheck all"
INVERT_CHECKS = "Invert checks"


def check_all_shown_tip(shown: int, hidden_checked: int) -> str:
    """Ctrl+A checks every row the filter shows; checks it hides stay."""
    if not shown:
        return "Check the conversations the filter shows (it shows none)"
    tip = f"Check {the_count(shown, 'conversation')} shown"
    if hidden_checked:
        tip += (f"; {the_count(hidden_checked, 'checked conversation')} the filter hides "
                f"{agreeing(hidden_checked, 'stays', 'stay')} checked")
    return tip


def uncheck_all_tip(checked: int, hidden_checked: int) -> str:
    if not checked:
        return "Uncheck every conversation (none is checked)"
    if checked == 1:
        return "Uncheck the checked conversation" + (
            " (the filter hides it)" if hidden_checked else "")
    tip = f"Uncheck all {plural(checked, 'checked conversation')}"
    if hidden_checked == checked:
        return f"{tip} (the filter hides them all)"
    if hidden_checked:
        return (f"{tip} ({hidden_checked:,} of them "
                f"{agreeing(hidden_checked, 'is', 'are')} hidden by the filter)")
    return tip


def invert_checks_tip(shown: int) -> str:
    if not shown:
        return "Flip the checks of the conversations the filter shows (it shows none)"
    return (f"Flip the checks of {the_count(shown, 'conversation')} shown (those the filter "
            "hides keep theirs)")


def describe(action: QAction, tip: str) -> None:
    """The status bar's tip and the toolbar's tooltip (with the key) of ``action``."""
    action.setStatusTip(tip)
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip} ({keys})" if keys else tip)
