"""Tab through a dialog's controls in the order they stand on screen.

``QDialogButtonBox`` sets its buttons out in the desktop's order (Add then Cancel here,
Cancel then Add on another desktop), but Tab follows the order they were made in: from
Cancel, Tab went back to Add on its left, and from Add up the dialog.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractButton, QDialogButtonBox, QWidget


def buttons_as_shown(box: QDialogButtonBox) -> list[QAbstractButton]:
    """The box's buttons, hidden or greyed ones included, in the order its layout shows them."""
    layout = box.layout()
    if layout is None:
        return []
    shown = []
    for n in range(layout.count()):
        item = layout.itemAt(n)
        widget = item.widget() if item is not None else None
        if isinstance(widget, QAbstractButton):
            shown.append(widget)
    return shown


def tab_through(controls: Sequence[QWidget]) -> None:
    """Tab goes from each of ``controls`` to the next."""
    for before, after in itertools.pairwise(controls):
        QWidget.setTabOrder(before, after)


def tab_as_shown(box: QDialogButtonBox, after: QWidget | None = None) -> None:
    """Tab from ``after`` (by default what came before the box) to each button in screen
    order. Call it once every button is in the box: adding one lays them out anew."""
    start = after if after is not None else box.previousInFocusChain()
    buttons = buttons_as_shown(box)
    tab_through([start, *buttons] if start is not None else buttons)
