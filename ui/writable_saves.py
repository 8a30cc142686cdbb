"""A place to save that cannot be written is refused when it is chosen, and the chooser
opens again there.

A copy saved into a read-only folder failed after the export had run, with a good
sentence, and then the flow ended: the person started the download again from the menu
to choose another place. Trying the folder when it is chosen costs one small file made
and removed, and keeps the person in the flow. A folder chosen to save several files in
(a train / validation split) is tried the same way (``choose_save_folder``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget

from app.failures import os_advice
from app.full_found import FullFileFacts
from app.library_folder import nearest_folder, write_refusal
from app.trainingfiles import TrainingFileInfo
from ui.dialogs import Dialogs
from ui.file_settings import FileSettings, Forecast
from ui.full_import_question import FullImportAnswer


def why_not_writable(folder: Path) -> str | None:
    """Why nothing can be saved in ``folder`` (a sentence to show), or None when a file
    can be made there. Made and removed at once: permissions, a read-only disk and a
    full one answer alike on every system, which ``os.access`` does not."""
    if folder.is_file():  # (the probe would say only "Not a directory")
        return f"{folder} is a file, not a folder. Choose a folder to save in."
    if not folder.exists():  # typed in the chooser, or removed meanwhile
        return (f"The folder {folder} does not exist. Choose a folder that does, or make "
                "it first.")
    exc = write_refusal(folder)
    if exc is None:
        return None
    advice = os_advice(exc, str(folder))
    if advice:
        return advice[:1].upper() + advice[1:]
    return (f"{folder} cannot be written to ({exc.strerror or exc}). Choose a place you "
            "may write to.")


def choose_save_folder(dialogs: Dialogs, parent: QWidget, title: str, start: Path,
                       saved: str) -> Path | None:
    """A folder to save ``saved`` (what goes there, "train.jsonl and valid.jsonl") in,
    chosen with ``dialogs``; one that cannot be written is refused, saying why, and the
    chooser opens again there. None when the person cancels."""
    while True:
        chosen = dialogs.folder(parent, title, start)
        if chosen is None:
            return None
        why = why_not_writable(nearest_folder(chosen))
        if why is None:
            return chosen
        dialogs.warn(parent, title, f"{saved} cannot be saved there. {why}")
        start = chosen


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

    def text(self, parent: QWidget, title: str, label: str, default: str = "",
             choices: Sequence[str] = ()) -> str | None:
        return self.inner.text(parent, title, label, default, choices)

    def confirm(self, parent: QWidget | None, title: str, question: str,
                yes: str = "Yes", no: str = "No") -> bool:
        return self.inner.confirm(parent, title, question, yes, no)

    def confirm_destructive(self, parent: QWidget | None, title: str, question: str,
                            action: str, keep: str = "Cancel") -> bool:
        return self.inner.confirm_destructive(parent, title, question, action, keep)

    def inform(self, parent: QWidget, title: str, message: str) -> None:
        self.inner.inform(parent, title, message)

    def warn(self, parent: QWidget, title: str, message: str) -> None:
        self.inner.warn(parent, title, message)

    def full_import(self, parent: QWidget, facts: Sequence[FullFileFacts],
                    typed_batch: bool = False) -> FullImportAnswer | None:
        return self.inner.full_import(parent, facts, typed_batch)

    def training_settings(self, parent: QWidget, info: TrainingFileInfo,
                          forecast: Forecast | None = None) -> FileSettings | None:
        return self.inner.training_settings(parent, info, forecast)
