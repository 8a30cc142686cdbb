"""The flow layout (the filter bar's) places its items left to right, wraps them when the
width runs out, and follows a change of an item's size or visibility; it reads the items'
size hints once per change, not on each of the several questions Qt asks a layout pass."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QLineEdit, QSizePolicy, QWidget, QWidgetItem

from ui.flow_layout import FlowLayout


class Sized(QWidget):
    """A widget of a given size hint that counts how often it was asked for it."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.hint = QSize(width, height)
        self.asked = 0

    def sizeHint(self) -> QSize:
        self.asked += 1
        return QSize(self.hint)

    def resize_hint(self, width: int) -> None:
        self.hint = QSize(width, self.hint.height())
        self.updateGeometry()


def bar_of(qtbot, *widgets: QWidget) -> tuple[QWidget, FlowLayout]:
    bar = QWidget()
    qtbot.addWidget(bar)
    layout = FlowLayout(bar, spacing=6)
    for widget in widgets:
        layout.addWidget(widget)
    return bar, layout


def rects(*widgets: QWidget) -> list[tuple[int, int, int, int]]:
    return [(w.x(), w.y(), w.width(), w.height()) for w in widgets]


def test_items_wrap_and_the_expanding_one_takes_the_rest_of_its_line(qtbot) -> None:
    a, b, c = Sized(100, 20), Sized(120, 30), Sized(90, 20)
    search = QLineEdit()
    search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    search.setMinimumWidth(150)
    _bar, layout = bar_of(qtbot, a, b, c, search)
    hint = search.sizeHint()
    assert layout.heightForWidth(400) == 30 + 6 + hint.height()
    layout.setGeometry(QRect(0, 0, 400, layout.heightForWidth(400)))
    # one line as tall as its tallest item, smaller ones centred in it
    assert rects(a, b, c) == [(0, 5, 100, 20), (106, 0, 120, 30), (232, 5, 90, 20)]
    assert rects(search) == [(0, 36, 400, hint.height())]  # wrapped, and the line's width
    assert layout.heightForWidth(1000) == 30  # all on one line
    layout.setGeometry(QRect(0, 0, 1000, 30))
    assert search.geometry() == QRect(328, (30 - hint.height()) // 2, 672, hint.height())
    assert layout.minimumSize().width() == 150  # the widest single item's minimum


def test_a_changed_or_hidden_item_is_placed_anew(qtbot) -> None:
    a, b, c = Sized(100, 20), Sized(120, 20), Sized(90, 20)
    bar, layout = bar_of(qtbot, a, b, c)
    bar.resize(330, 100)
    bar.show()
    qtbot.waitUntil(lambda: c.x() == 232)
    assert layout.heightForWidth(330) == 20
    b.resize_hint(200)  # a longer label: c no longer fits the line
    assert layout.heightForWidth(330) == 46
    layout.setGeometry(QRect(0, 0, 330, 46))
    assert rects(a, b, c) == [(0, 0, 100, 20), (106, 0, 200, 20), (0, 26, 90, 20)]
    b.hide()  # the others close up
    assert layout.heightForWidth(330) == 20
    layout.setGeometry(QRect(0, 0, 330, 20))
    assert rects(a, c) == [(0, 0, 100, 20), (106, 0, 90, 20)]
    b.show()
    assert layout.heightForWidth(330) == 46
    later = Sized(300, 24)
    layout.addWidget(later)  # an item added later (shown once events run): a line of its own
    qtbot.waitUntil(later.isVisible)
    assert layout.heightForWidth(330) == 20 + 6 + 20 + 6 + 24


class CountedItem(QWidgetItem):
    """A widget's place in the layout, counting how often the layout asked its size: each
    ask is a call into Qt (which a busy worker thread can make the GUI thread wait for)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.asked = 0

    def sizeHint(self) -> QSize:
        self.asked += 1
        return super().sizeHint()


def test_a_layout_pass_reads_each_items_hint_once(qtbot) -> None:
    widgets = [Sized(100 + 10 * n, 20) for n in range(6)]
    bar, layout = bar_of(qtbot)
    items = [CountedItem(widget) for widget in widgets]
    for widget, item in zip(widgets, items, strict=True):
        widget.setParent(bar)
        layout.addItem(item)
    for _ in range(5):  # as Qt asks, for the width it lays out at
        height = layout.heightForWidth(500)
    layout.heightForWidth(300)
    layout.setGeometry(QRect(0, 0, 500, height))
    assert [item.asked for item in items] == [1] * 6
    assert rects(*widgets[:4]) == [(0, 0, 100, 20), (106, 0, 110, 20), (222, 0, 120, 20),
                                   (348, 0, 130, 20)]
    widgets[0].resize_hint(150)  # a change: read again, once
    layout.setGeometry(QRect(0, 0, 500, layout.heightForWidth(500)))
    assert [item.asked for item in items] == [2] * 6
    assert widgets[3].pos().y() == 26  # no longer fits the first line
