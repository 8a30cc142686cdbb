"""Walking a window with Tab as a keyboard user does, and what a screen reader says at
each stop (``test_accessible_names``, ``test_dialog_keyboard``)."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAccessible
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QRadioButton,
    QWidget,
)


def tab_chain(qtbot, window: QWidget, limit: int = 40) -> list[QWidget]:
    """The widgets Tab visits, from the one with the keyboard round to it again."""
    chain: list[QWidget] = []
    for _ in range(limit):
        widget = QApplication.focusWidget()
        assert widget is not None, "Tab left the window"
        if chain and widget is chain[0]:
            return chain
        assert widget not in chain, f"Tab is caught in a loop at {describe(widget)}"
        chain.append(widget)
        QTest.keyClick(widget, Qt.Key.Key_Tab)
        qtbot.wait(1)
    raise AssertionError("Tab never came back to where it started")


def spoken_name(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return interface.text(QAccessible.Text.Name).strip()


def label_of(widget: QWidget) -> str:
    """The label a screen reader reports beside a control (a buddy, a form row's label,
    a group box's title)."""
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return " ".join(other.text(QAccessible.Text.Name)
                    for other, _ in interface.relations(QAccessible.RelationFlag.Label))


def describe(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QAbstractButton) else ""
    return f"{type(widget).__name__} {text!r} {spoken_name(widget)!r}"


def reachable(window: QWidget) -> list[QWidget]:
    """The controls Tab ought to reach: shown, not greyed, taking focus from Tab, not part
    of another control, and of a group of option buttons the one chosen (arrows move
    between them)."""
    found = []
    for widget in window.findChildren(QWidget):
        if (widget.window() is not window or not widget.isVisible() or not widget.isEnabled()
                or widget.focusProxy() is not None
                or not widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value):
            continue
        if isinstance(widget, QRadioButton) and widget.autoExclusive() and not widget.isChecked():
            continue
        found.append(widget)
    return found


def place(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def out_of_reading_order(chain: list[QWidget], window: QWidget) -> list[str]:
    """Each step of the Tab round that does not go on the way the eye reads: to the right
    on the same line, or further down. The round is read from its top left control, so
    the one step back up to it is the end of the round, not a step out of order."""
    places = [place(widget, window) for widget in chain]
    start = min(range(len(chain)), key=lambda n: (places[n].top(), places[n].left()))
    order = list(range(start, len(chain))) + list(range(start))
    wrong = []
    for before, after in itertools.pairwise(order):
        a, b = places[before], places[after]
        same_line = b.top() < a.bottom() and a.top() < b.bottom()
        if not ((same_line and b.left() > a.left()) or b.top() >= a.bottom()):
            wrong.append(f"{describe(chain[before])} → {describe(chain[after])}")
    return wrong
