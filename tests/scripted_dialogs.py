"""A Dialogs implementation for tests: answers come from queues, warnings are recorded."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget


class ScriptedDialogs:
    def __init__(self) -> None:
        self.save_paths: deque[Path | None] = deque()
        self.opened: deque[list[Path]] = deque()
        self.folders: deque[Path | None] = deque()
        self.texts: deque[str | None] = deque()
        self.confirms: deque[bool] = deque()
        self.asked: list[tuple[str, str, Any]] = []
        self.answers_named: list[tuple[str, str]] = []  # each confirm's (yes, no) buttons
        self.labels: list[str] = []  # the words of each text question
        self.choices: list[list[str]] = []  # the answers each text question listed
        self.warnings: list[tuple[str, str]] = []
        self.infos: list[tuple[str, str]] = []
        self.settings: deque[Any] = deque()  # ui.file_settings.FileSettings or None
        self.forecasts: list[Any] = []  # what each Settings… dialog was given to forecast with
        # ui.full_import_question.FullImportAnswer or None, and what each question was about
        self.full_imports: deque[Any] = deque()
        self.full_import_asked: list[tuple[list[Any], bool]] = []

    @staticmethod
    def _next(queue: deque, what: str) -> Any:
        if not queue:
            raise AssertionError(f"the UI asked for {what} but the test scripted no answer")
        return queue.popleft()

    def save_path(self, parent: QWidget, title: str, default: Path, filters: str) -> Path | None:
        self.asked.append(("save_path", title, default))
        return self._next(self.save_paths, "a save path")

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]:
        self.asked.append(("open_files", title, filters))
        return self._next(self.opened, "files to open")

    def folder(self, parent: QWidget, title: str, start: Path | None = None) -> Path | None:
        self.asked.append(("folder", title, start))
        return self._next(self.folders, "a folder")

    def text(self, parent: QWidget, title: str, label: str, default: str = "",
             choices: Sequence[str] = ()) -> str | None:
        self.asked.append(("text", title, default))
        self.labels.append(label)
        self.choices.append(list(choices))
        return self._next(self.texts, "text")

    def confirm(self, parent: QWidget, title: str, question: str, yes: str = "Yes",
                no: str = "No") -> bool:
        self.asked.append(("confirm", title, question))
        self.answers_named.append((yes, no))
        return self._next(self.confirms, "a confirmation")

    def confirm_destructive(self, parent: QWidget, title: str, question: str,
                            action: str, keep: str = "Cancel") -> bool:
        self.asked.append(("confirm_destructive", title, question))
        return self._next(self.confirms, "a confirmation")

    def inform(self, parent: QWidget, title: str, message: str) -> None:
        self.infos.append((title, message))

    def warn(self, parent: QWidget, title: str, message: str) -> None:
        self.warnings.append((title, message))

    def full_import(self, parent: QWidget, facts: Sequence[Any], typed_batch: bool = False
                    ) -> Any:
        self.asked.append(("full_import", "", list(facts)))
        self.full_import_asked.append((list(facts), typed_batch))
        return self._next(self.full_imports, "the answer to the training-file import question")

    def training_settings(self, parent: QWidget, info: Any, forecast: Any = None) -> Any:
        self.asked.append(("training_settings", info.name, info))
        self.forecasts.append(forecast)
        return self._next(self.settings, "training settings")
