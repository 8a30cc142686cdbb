"""The questions the UI asks the user, behind one small interface.

Pages ask through a ``Dialogs`` object instead of calling ``QFileDialog`` and friends
directly, so tests can hand in scripted answers while the real widgets run unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from app.full_found import FullFileFacts
from app.trainingfiles import TrainingFileInfo
from ui.file_settings import FileSettings, FileSettingsDialog, Forecast
from ui.full_import_question import FullImportAnswer, FullImportQuestion


class Dialogs(Protocol):
    def save_path(self, parent: QWidget, title: str, default: Path, filters: str) -> Path | None:
        """Ask where to save a file; None when the user cancels."""
        ...

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]: ...

    def folder(self, parent: QWidget | None, title: str,
               start: Path | None = None) -> Path | None: ...

    def text(self, parent: QWidget, title: str, label: str, default: str = "",
             choices: Sequence[str] = ()) -> str | None:
        """Ask for a line of text; None when the user cancels. ``choices``: answers to pick
        from a list (the person may still type another)."""
        ...

    def confirm(self, parent: QWidget | None, title: str, question: str,
                yes: str = "Yes", no: str = "No") -> bool:
        """A question answered by ``yes`` or ``no`` (better a verb than "Yes": "Use
        another folder…", "Quit"); ``no``, the default, changes nothing."""
        ...

    def confirm_destructive(self, parent: QWidget | None, title: str, question: str,
                            action: str, keep: str = "Cancel") -> bool:
        """Ask before changing or removing what is stored; ``action`` labels the button
        that goes ahead ("Remove 12"), ``keep`` the default one, which changes nothing
        ("Keep working" where "Cancel" could be read as cancelling the job)."""
        ...

    def inform(self, parent: QWidget, title: str, message: str) -> None: ...

    def warn(self, parent: QWidget, title: str, message: str) -> None: ...

    def full_import(self, parent: QWidget, facts: Sequence[FullFileFacts],
                    typed_batch: bool = False) -> FullImportAnswer | None:
        """Before importing training files of ours (``facts``): keep their conversations'
        batches or not, recreate the files or not; None when the user cancels."""
        ...

    def training_settings(self, parent: QWidget, info: TrainingFileInfo,
                          forecast: Forecast | None = None) -> FileSettings | None:
        """Ask for a training file's cut-off policy and length limit (``forecast``: what
        the chosen ones would do, said before OK); None when the user cancels."""
        ...


# "$", "$.training_pairs[3].target_response", "$.input_parameters.persona_key" and the like,
# as ``Problem.__str__`` writes them between the file name and the reason.
JSON_PATH = re.compile(r"(?<![\w$])\$(?:\.[\w*-]+|\[[^\]]*\])*: ")


def plain_and_details(message: str) -> tuple[str, str]:
    """The message a person reads, without JSON paths, and (when there were any) the
    original with every path for the message box's details section."""
    plain = JSON_PATH.sub("", message)
    if plain == message:
        return message, ""
    return plain, "Where in the file (JSON paths):\n" + message.replace("; ", "\n")


# A first word in plain lower-case letters ("the name cannot be empty"): the library's
# messages are written to follow a file name or a colon, so a box alone starts them with a
# capital. A file name, an id or a command ("broken.json:", "fp_conversation_1",
# "lora-studio …") is left exactly as it is.
FIRST_WORD = re.compile(r"[a-z]+(?=[ ,;:])")


def as_sentence(message: str) -> str:
    """The message starting with a capital letter, when its first word is a plain word."""
    return message[0].upper() + message[1:] if FIRST_WORD.match(message) else message


def message_box(icon: QMessageBox.Icon, title: str, message: str,
                parent: QWidget | None) -> QMessageBox:
    """A message box whose text is plain sentences; JSON paths go under Show Details."""
    plain, details = plain_and_details(message)
    box = QMessageBox(icon, title, as_sentence(plain), parent=parent)
    # Messages quote file names and file contents: never read them as HTML (<b>, <img>).
    box.setTextFormat(Qt.TextFormat.PlainText)
    if details:
        box.setDetailedText(details)
    return box


def destructive_box(title: str, question: str, action: str, parent: QWidget | None,
                    keep: str = "Cancel") -> tuple[QMessageBox, QPushButton]:
    """A question whose default (Enter, Escape) is Cancel (or the ``keep`` button);
    returns the box and the button that goes ahead."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, question, parent=parent)
    go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    cancel = (box.addButton(QMessageBox.StandardButton.Cancel) if keep == "Cancel"
              else box.addButton(keep, QMessageBox.ButtonRole.RejectRole))
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box, go


def question_box(title: str, question: str, parent: QWidget | None, yes: str = "Yes",
                 no: str = "No") -> QMessageBox:
    """A Yes / No question (its buttons named ``yes`` and ``no``) whose default (Enter,
    Escape) is No: nothing happens unless the person says Yes. Questions that change or
    remove what is stored use ``destructive_box`` instead, whose button names the action."""
    box = message_box(QMessageBox.Icon.Question, title, question, parent)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    for button, text in ((QMessageBox.StandardButton.Yes, yes),
                         (QMessageBox.StandardButton.No, no)):
        box.button(button).setText(text)
    return box


class QtDialogs:
    """The real, native dialogs."""

    def save_path(self, parent: QWidget, title: str, default: Path, filters: str) -> Path | None:
        chosen, _ = QFileDialog.getSaveFileName(parent, title, str(default), filters)
        return Path(chosen) if chosen else None

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]:
        chosen, _ = QFileDialog.getOpenFileNames(parent, title, "", filters)
        return [Path(c) for c in chosen]

    def folder(self, parent: QWidget | None, title: str,
               start: Path | None = None) -> Path | None:
        chosen = QFileDialog.getExistingDirectory(parent, title, str(start or ""))
        return Path(chosen) if chosen else None

    def text(self, parent: QWidget, title: str, label: str, default: str = "",
             choices: Sequence[str] = ()) -> str | None:
        if choices:
            items = list(choices) if default in choices else [default, *choices]
            value, ok = QInputDialog.getItem(parent, title, label, items,
                                             items.index(default), True)
        else:
            value, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal,
                                             default)
        return value if ok else None

    def confirm(self, parent: QWidget | None, title: str, question: str,
                yes: str = "Yes", no: str = "No") -> bool:
        return question_box(title, question, parent, yes, no).exec() == \
            QMessageBox.StandardButton.Yes

    def confirm_destructive(self, parent: QWidget | None, title: str, question: str,
                            action: str, keep: str = "Cancel") -> bool:
        box, go = destructive_box(title, question, action, parent, keep)
        box.exec()
        return box.clickedButton() is go

    def inform(self, parent: QWidget, title: str, message: str) -> None:
        message_box(QMessageBox.Icon.Information, title, message, parent).exec()

    def warn(self, parent: QWidget, title: str, message: str) -> None:
        message_box(QMessageBox.Icon.Warning, title, message, parent).exec()

    def full_import(self, parent: QWidget, facts: Sequence[FullFileFacts],
                    typed_batch: bool = False) -> FullImportAnswer | None:
        dialog = FullImportQuestion(facts, typed_batch, parent)
        return dialog.answer() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def training_settings(self, parent: QWidget, info: TrainingFileInfo,
                          forecast: Forecast | None = None) -> FileSettings | None:
        dialog = FileSettingsDialog(info, parent, forecast)
        return dialog.chosen() if dialog.exec() == QDialog.DialogCode.Accepted else None
