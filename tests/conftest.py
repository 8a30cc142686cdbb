"""Shared fixtures: a fresh library per test, the real fixture files, offscreen Qt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ENRICHED = sorted((FIXTURES / "enriched").glob("*.json"))
LEGACY = sorted((FIXTURES / "legacy").glob("*.json"))
BAD = sorted((FIXTURES / "bad").glob("*.json"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real user-data folder or QSettings."""
    monkeypatch.setenv("LORA_STUDIO_HOME", str(tmp_path / "default-library"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def library(tmp_path: Path) -> Iterator[object]:
    from app.library import Library

    lib = Library(tmp_path / "library")
    yield lib
    lib.close()


@pytest.fixture
def fixture_folder(tmp_path: Path) -> Path:
    """A copy of the good fixtures in a folder named like a user's batch folder."""
    import shutil

    folder = tmp_path / "batch-2025-12"
    folder.mkdir()
    for path in ENRICHED + LEGACY:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def filled_library(library: object, fixture_folder: Path) -> object:
    from app.importer import import_paths

    report = import_paths(library, [fixture_folder])  # type: ignore[arg-type]
    assert report.imported == len(ENRICHED) + len(LEGACY)
    return library


@pytest.fixture
def dialogs() -> object:
    """Scripted answers for the window's questions (``tests/scripted_dialogs.py``)."""
    from scripted_dialogs import ScriptedDialogs

    return ScriptedDialogs()


@pytest.fixture
def two_batches(library: object, tmp_path: Path) -> object:
    """The library with the enriched fixtures in one batch and the legacy ones in another."""
    import shutil

    from app.importer import import_paths

    for name, files in (("enriched-batch", ENRICHED), ("legacy-batch", LEGACY)):
        folder = tmp_path / name
        folder.mkdir()
        for path in files:
            shutil.copy(path, folder / path.name)
        import_paths(library, [folder])  # type: ignore[arg-type]
    return library


def ids_of(library: object, batch: str | None = None) -> list[str]:
    """The library's conversation ids (of one batch), in table order."""
    return [r.conversation_id for r in library.summaries(batch)]  # type: ignore[attr-defined]


def open_window(qtbot: object, library: object, dialogs: object, tmp_path: Path) -> object:
    """The real main window on ``library``, shown, with its settings in ``tmp_path``."""
    from PySide6.QtCore import QSettings

    from ui.main import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(library, dialogs, settings)  # type: ignore[arg-type]
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1200, 760)
    window.show()
    return window
