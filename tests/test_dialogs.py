"""The questions' defaults, on the real message boxes: Enter and Escape never go ahead."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

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
