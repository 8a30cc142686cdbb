"""Each chooser of the filter bar is named as the heading of the column it filters on, so a
person finds the two together: the chooser of warnings and near-duplicates is
"Warnings", as its column is, not "Quality" (the column of the score, which no chooser
filters). The real window on a real library."""

from __future__ import annotations

from conftest import open_window, settle
from PySide6.QtWidgets import QLabel

from app.library import Library
from ui.conversations_model import HEADERS, Column


def chooser_names(window) -> dict[str, str]:
    """Each chooser's facet and the label a person reads beside it."""
    bar = window.conversations.filter_bar
    facet_of = {id(chooser): facet for facet, chooser in bar.choosers.items()}
    return {facet_of[id(label.buddy())]: as_read(label.text())
            for label in bar.findChildren(QLabel)
            if label.buddy() is not None and id(label.buddy()) in facet_of}


def as_read(text: str) -> str:
    """A label's text as shown: its "&" marks the Alt key's letter, "&&" is one "&"."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def test_each_filter_is_named_as_the_column_it_filters_on(qtbot, filled_library: Library,
                                                          dialogs, tmp_path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    names = chooser_names(window)
    headings = {HEADERS[column] for column in Column}
    assert names == {"batch_id": "Batch ID", "arc": "Arc", "topic": "Topic",
                     "archetype": "Persona", "warnings": "Warnings", "reviewed": "Review",
                     "training_file": "In files", "and_file": "and"}
    # ("and": the second training-file rule, read on from "In files" beside it)
    assert {name for name in names.values() if name not in headings} == {"Review", "and"}
    assert "Quality" not in names.values()  # (a score: no chooser filters on it)


def test_the_warnings_chooser_says_what_it_leaves_out_and_what_it_offers(
        qtbot, filled_library: Library, dialogs, tmp_path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    chooser = window.conversations.warnings_filter
    total = filled_library.count()
    texts = [chooser.itemText(i) for i in range(chooser.count())]
    assert texts[0] == f"With or without ({total})"
    assert [text.rsplit(" (", 1)[0] for text in texts[1:]] == [
        "Ready to add: no harmful warning, not a near-duplicate", "Without warnings",
        "With warnings", "Near-duplicates"]
    assert not any("quality" in text.casefold() for text in texts)


def test_alt_and_a_filter_label_s_letter_puts_the_keyboard_on_its_chooser(
        qtbot, filled_library: Library, dialogs, tmp_path) -> None:
    """Audit K1: from the table, the Batch ID chooser was three Tabs away, the others
    more; each label now has an Alt key of its own, none a menu's."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=30000)
    bar = window.conversations.filter_bar
    letters = {}
    for label in bar.findChildren(QLabel):
        text = label.text().replace("&&", "")
        if label.buddy() is not None and "&" in text:
            letters[text[text.index("&") + 1].upper()] = label.buddy()
    menus = {action.text()[action.text().index("&") + 1].upper()
             for action in window.menuBar().actions() if "&" in action.text()}
    assert len(letters) == len(bar.choosers), "every chooser has its own letter"
    assert not set(letters) & menus, "no menu's letter"
    shown = {letter: chooser for letter, chooser in letters.items() if chooser.isVisible()}
    assert len(shown) >= 7, "the \"and\" chooser shows only beside a first file rule"
    for letter, chooser in shown.items():
        window.conversations.table.setFocus()
        qtbot.keyClick(window.conversations.table, getattr(Qt.Key, f"Key_{letter}"),
                       Qt.KeyboardModifier.AltModifier)
        assert QApplication.focusWidget() is chooser or chooser.isAncestorOf(
            QApplication.focusWidget()), letter
