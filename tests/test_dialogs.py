"""The questions' defaults, on the real message boxes: Enter and Escape never go ahead."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QInputDialog, QMessageBox

from ui.dialogs import QtDialogs, destructive_box, question_box

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def _press_when_shown(qtbot, key: Qt.Key) -> None:
    """Press ``key`` on the question once it is on screen (it runs its own event loop)."""
    def press() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(20, press)
            return
        qtbot.keyClick(box, key)
    QTimer.singleShot(0, press)


def test_a_question_defaults_to_no(qtbot) -> None:
    box = question_box("Replace?", "Replace the file?", None)
    qtbot.addWidget(box)
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    assert box.escapeButton() is box.button(QMessageBox.StandardButton.No)
    assert box.textFormat() == Qt.TextFormat.PlainText


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Escape])
def test_enter_or_escape_on_a_question_answers_no(qtbot, key: Qt.Key) -> None:
    _press_when_shown(qtbot, key)
    assert QtDialogs().confirm(None, "Open elsewhere?", "Open another folder?") is False


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Escape])
def test_enter_or_escape_on_a_destructive_question_cancels(qtbot, key: Qt.Key) -> None:
    box, go = destructive_box("Replace files", "Replace train.jsonl?", "Replace", None)
    qtbot.addWidget(box)
    assert box.defaultButton() is not go and box.escapeButton() is not go
    _press_when_shown(qtbot, key)
    assert QtDialogs().confirm_destructive(None, "Replace files", "Replace them?",
                                           "Replace") is False


def _answer_list_question(qtbot, seen: list[list[str]], pick: int | None,
                          typed: str | None) -> None:
    """Once the list question is on screen: note its entries, pick one or type a new one,
    then press Enter."""
    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(20, answer)
            return
        combo = dialog.findChild(QComboBox)
        seen.append([combo.itemText(i) for i in range(combo.count())])
        assert combo.isEditable()
        if pick is not None:
            combo.setCurrentIndex(pick)
        if typed is not None:
            combo.setEditText(typed)
        qtbot.keyClick(combo, Qt.Key.Key_Return)
    QTimer.singleShot(0, answer)


def test_a_text_question_with_choices_lists_them_and_takes_a_new_answer(qtbot) -> None:
    seen: list[list[str]] = []
    _answer_list_question(qtbot, seen, pick=2, typed=None)
    assert QtDialogs().text(None, "Move to batch", "Batch:", "b-2",
                            ["b-1", "b-2", "b-10"]) == "b-10"
    assert seen[-1] == ["b-1", "b-2", "b-10"]  # the default is one of them: listed once
    _answer_list_question(qtbot, seen, pick=None, typed="b-11")
    assert QtDialogs().text(None, "Move to batch", "Batch:", "", ["b-1"]) == "b-11"
    assert seen[-1] == ["", "b-1"]  # a default that is none of them is listed first
