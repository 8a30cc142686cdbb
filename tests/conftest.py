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
