"""A screen reader names every control a person can reach: a button that shows only an icon
or a symbol ("✕") and every list or table must carry an accessible name, or it is read out
as "button" or "table" with nothing to say what it does."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import settle
from keyboard_walk import label_of, spoken_name, tab_chain
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QWidget,
)

from ui.as_trained_preview import AsTrainedWindow
from ui.main import MainWindow
from ui.saved_banner import SavedBanner


@pytest.fixture
def window(window_with_a_set: MainWindow) -> MainWindow:
    return window_with_a_set


def _where(widget: QWidget) -> str:
    chain = []
    parent: QWidget | None = widget
    while parent is not None:
        chain.append(type(parent).__name__)
        parent = parent.parentWidget()
    return f"{'<'.join(chain[:5])} tip {widget.toolTip()!r}"


def _wordless(button: QAbstractButton) -> bool:
    return not any(ch.isalpha() for ch in button.text())


def _ours(widget: QWidget) -> bool:
    """Qt's own parts (a table's corner button, a header, a menu bar's overflow arrow, a
    search box's clear button) are named by Qt's accessibility layer, not by us."""
    parent = widget.parentWidget()
    return (parent is not None and not widget.objectName().startswith("qt_")
            and not isinstance(widget, QHeaderView)
            and not isinstance(parent, (QAbstractItemView, QLineEdit))
            and not _in_a_chooser(widget))


def _in_a_chooser(widget: QWidget) -> bool:
    """A chooser's drop-down list is the chooser's own part, read under its name."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox):
            return True
        parent = parent.parentWidget()
    return False


def _unnamed_wordless_buttons(window: MainWindow) -> list[str]:
    buttons = [b for b in window.findChildren(QAbstractButton)
               if _ours(b) and b.isVisibleTo(window) and _wordless(b)]
    return [_where(b) for b in buttons if not b.accessibleName().strip()]


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_every_wordless_button_has_an_accessible_name(qtbot, window: MainWindow,
                                                      tmp_path: Path) -> None:
    saved = tmp_path / "Set.json"
    saved.write_text("{}", encoding="utf-8")
    banners = window.findChildren(SavedBanner)
    assert banners
    for banner in banners:  # the "✕" that closes the saved message
        banner.show_saved([saved])
    window.pages.setCurrentWidget(window.training_files)
    settle(qtbot, window)
    assert _unnamed_wordless_buttons(window) == []
    window.pages.setCurrentIndex(0)
    settle(qtbot, window)
    assert _unnamed_wordless_buttons(window) == []


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_every_list_and_table_has_an_accessible_name(window: MainWindow) -> None:
    views = [v for v in window.findChildren(QAbstractItemView) if _ours(v)]
    assert len(views) >= 4, "conversations, files, members and the coverage grid"
    unnamed = [_where(v) for v in views if not v.accessibleName().strip()]
    assert unnamed == [], "\n".join(unnamed)


@pytest.mark.qt_log_ignore("propagateSizeHints")
@pytest.mark.parametrize(("page", "reading", "inner_tab"),
                         [(0, False, 0), (0, True, 0), (1, False, 0), (1, False, 1),
                          (1, False, 2), (1, False, 3)])
def test_everything_tab_reaches_is_spoken_by_a_name(qtbot, window: MainWindow, page: int,
                                                    reading: bool, inner_tab: int) -> None:
    """What a screen reader says as Tab arrives: the search field by a name, not by its
    placeholder; a chooser by its current choice, with its label (the buddy) or a
    description beside it.
    Tab comes back round in a few steps: the coverage grid took Tab cell by cell, so the
    keyboard was caught in it for a hundred presses."""
    window.activateWindow()
    window.pages.setCurrentIndex(page)
    # Conversations, Coverage, Charts, Reply openings
    window.training_files.tabs.setCurrentIndex(inner_tab)
    settle(qtbot, window)
    if reading:  # Down chooses the first row, Enter opens the reader on it
        table = window.conversations.table
        table.setFocus()
        QTest.keyClick(table, Qt.Key.Key_Down)
        QTest.keyClick(table, Qt.Key.Key_Return)
        settle(qtbot, window)
        assert window.conversations.reader.isVisible()
    chain = tab_chain(qtbot, window)
    assert len(chain) >= 5
    assert not reading or window.conversations.reader.messages_scroll in chain
    unnamed = [_where(w) for w in chain if not spoken_name(w)]
    assert unnamed == [], "\n".join(unnamed)
    choosers = [w for w in chain if isinstance(w, QComboBox)]
    assert page == 1 or len(choosers) >= 6
    unlabelled = [_where(c) for c in choosers
                  if not label_of(c) and not c.accessibleDescription()]
    assert unlabelled == [], "\n".join(unlabelled)


def test_tab_leaves_the_as_trained_table(qtbot, filled_library) -> None:
    """The As trained window's table of turns took Tab cell by cell (six columns a row):
    Tab now goes on to the next control, arrows move within the table. Each stop of its
    Tab round is spoken by a name (the table and the text had none)."""
    record = filled_library.record(filled_library.summaries()[0].conversation_id)
    preview = AsTrainedWindow(filled_library)
    qtbot.addWidget(preview)
    preview.show()
    with qtbot.waitSignal(preview.rendered, timeout=20_000):
        preview.show_record(record)
    assert preview.table.rowCount() >= 2
    preview.activateWindow()
    preview.table.setFocus()
    preview.table.setCurrentCell(0, 0)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is preview.table)
    QTest.keyClick(preview.table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not preview.table
    preview.table.setFocus()
    chain = tab_chain(qtbot, preview)
    assert preview.text in chain and len(chain) >= 5
    unnamed = [_where(w) for w in chain if not spoken_name(w)]
    assert unnamed == [], "\n".join(unnamed)
