"""A message that stays after a download: what was saved, where, and the two things one
does next (open the folder, copy the path). It stays until closed or the next download."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from ui.reader_colours import POSITIVE_HUE, blend, readable
from ui.training_files_model import human_size

MANIFEST_ENDING = "manifest.json"


def split_manifest(paths: list[Path]) -> tuple[list[Path], Path | None]:
    """The files a person asked for, and the manifest written beside them (listed last)."""
    if paths and paths[-1].name.endswith(MANIFEST_ENDING):
        return paths[:-1], paths[-1]
    return paths, None


def saved_text(paths: list[Path], notes: Sequence[str] = ()) -> str:
    """What was saved and where; then ``notes``, what else the export has to say."""
    files, manifest = split_manifest(paths)
    sizes = []
    for path in files:
        try:
            sizes.append(f"{path.name} ({human_size(path.stat().st_size)})")
        except OSError:
            sizes.append(path.name)
    text = f"Saved {' and '.join(sizes)} in {files[0].parent}"
    if manifest is not None:
        text += f", with {manifest.name} (what was exported, from what, with checksums)"
    return " ".join([f"{text}.", *notes]) if notes else text


class SavedBanner(QFrame):
    folder_opened = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("savedBanner")
        self.paths: list[Path] = []
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open folder", self)
        self.open_button.clicked.connect(self.open_folder)
        self.copy_button = QPushButton("Copy path", self)
        self.copy_button.clicked.connect(self.copy_path)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close this message")
        self.close_button.setAccessibleName("Close this message")  # not "multiplication x"
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.copy_button)
        layout.addWidget(self.close_button)
        self.hide()

    def show_saved(self, paths: list[Path], notes: Sequence[str] = ()) -> None:
        self.paths = list(paths)
        self.label.setText(saved_text(self.paths, notes))
        base = self.palette().color(QPalette.ColorRole.Base)
        background = blend(base, POSITIVE_HUE, 0.18)
        text = readable(self.palette().color(QPalette.ColorRole.Text), background)
        self.setStyleSheet(f"QFrame#savedBanner {{ background-color: {background.name()}; "
                           "border-radius: 6px; }"
                           f"QFrame#savedBanner > QLabel {{ color: {text.name()}; }}")
        self.show()

    def path_text(self) -> str:
        """One file: its path; several (a split): the folder holding them."""
        files, _manifest = split_manifest(self.paths)
        if not files:
            return ""
        return str(files[0] if len(files) == 1 else files[0].parent)

    def copy_path(self) -> None:
        QGuiApplication.clipboard().setText(self.path_text())

    def open_folder(self) -> None:
        if self.paths:
            folder = self.paths[0].parent
            self.folder_opened.emit(folder)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
