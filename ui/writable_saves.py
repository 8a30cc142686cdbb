"""A place to save that cannot be written is refused when it is chosen, and the chooser
opens again there.

A copy saved into a read-only folder failed after the export had run, with a good
sentence, and then the flow ended: the person started the download again from the menu
to choose another place. Trying the folder when it is chosen costs one small file made
and removed, and keeps the person in the flow."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget

from app.failures import os_advice
from app.trainingfiles import TrainingFileInfo
from ui.dialogs import Dialogs
from ui.file_settings import FileSettings, Forecast

PROBE_PREFIX = ".lora-studio-may-write-"


def why_not_writable(folder: Path) -> str | None:
    """Why nothing can be saved in ``folder`` (a sentence to show), or None when a file
    can be made there. Made and removed at once: permissions, a read-only disk and a
    full one answer alike on every system, which ``os.access`` does not."""
    if folder.is_file():  # (the probe would say only "Not a directory")
        return f"{folder} is a file, not a folder. Choose a folder to save in."
    try:
        with tempfile.NamedTemporaryFile(prefix=PROBE_PREFIX, dir=folder):
            return None
    except OSError as exc:
        advice = os_advice(exc, str(folder))
        if advice:
            return advice[:1].upper() + advice[1:]
        return (f"{folder} cannot be written to ({exc.strerror or exc}). Choose a place you "
                "may write to.")


class WritableSaves:
    """The window's questions (``Dialogs``), with a save place that cannot be written
    refused and asked for again, in the same folder with the same name."""

    def __init__(self, inner: Dialogs) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # what a test scripted on the dialogs it gave

    def save_path(self, parent: QWidget, title: str, default: Path, filters: str) -> Path | None:
        while True:
            chosen = self.inner.save_path(parent, title, default, filters)
            if chosen is None:
                return None
            why = why_not_writable(chosen.parent)
            if why is None:
                return chosen
            self.inner.warn(parent, title, f"{chosen.name} cannot be saved there. {why}")
            default = chosen

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]:
        return self.inner.open_files(parent, title, filters)

    def folder(self, parent: QWidget | None, title: str,
               start: Path | None = None) -> Path | None:
        return self.inner.folder(parent, title, start)

    def text(self, parent: QWidget, title: str, label: str, default: str = "") -> str | None:
        return self.inner.text(parent, title, label, default)

    def confirm(self, parent: QWidget | None, title: str, question: str) -> bool:
        return self.inner.confirm(parent, title, question)

    def confirm_destructive(self, parent: QWidget | None, title: str, question: str,
                            action: str, keep: str = "Cancel") -> bool:
        return self.inner.confirm_destructive(parent, title, question, action, keep)

    def inform(self, parent: QWidget, title: str, message: str) -> None:
        self.inner.inform(parent, title, message)

    def warn(self, parent: QWidget, title: str, message: str) -> None:
        self.inner.warn(parent, title, message)

    def training_settings(self, parent: QWidget, info: TrainingFileInfo,
                          forecast: Forecast | None = None) -> FileSettings | None:
        return self.inner.training_settings(parent, info, forecast)
