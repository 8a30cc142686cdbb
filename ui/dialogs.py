"""The questions the UI asks the user, behind one small interface.

Pages ask through a ``Dialogs`` object instead of calling ``QFileDialog`` and friends
directly, so tests can hand in scripted answers while the real widgets run unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget


class Dialogs(Protocol):
    def save_path(self, parent: QWidget, title: str, default: Path, filters: str) -> Path | None:
        """Ask where to save a file; None when the user cancels."""
        ...

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]: ...

    def folder(self, parent: QWidget | None, title: str,
               start: Path | None = None) -> Path | None: ...

    def text(self, parent: QWidget, title: str, label: str, default: str = "") -> str | None:
        """Ask for a line of text; None when the user cancels."""
        ...

    def confirm(self, parent: QWidget | None, title: str, question: str) -> bool: ...

    def inform(self, parent: QWidget, title: str, message: str) -> None: ...

    def warn(self, parent: QWidget, title: str, message: str) -> None: ...


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

    def text(self, parent: QWidget, title: str, label: str, default: str = "") -> str | None:
        value, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, default)
        return value if ok else None

    def confirm(self, parent: QWidget | None, title: str, question: str) -> bool:
        answer = QMessageBox.question(parent, title, question)
        return answer == QMessageBox.StandardButton.Yes

    def inform(self, parent: QWidget, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, message, parent=parent)
        box.setTextInteractionFlags(box.textInteractionFlags())
        box.exec()

    def warn(self, parent: QWidget, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=parent)
        box.exec()
