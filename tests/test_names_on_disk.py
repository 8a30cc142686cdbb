"""Training-file names that every file system we ship to can store, checked in bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_process import run_cli
from conftest import ENRICHED

from app.errors import LibraryError
from app.trainingfiles import MAX_NAME_UNITS, check_name


@pytest.fixture
def cli_library(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    folder = tmp_path / "batch"
    folder.mkdir()
    for path in ENRICHED[:2]:
        shutil.copy(path, folder)
    assert run_cli("--data-dir", root, "import", folder).returncode == 0
    return root


def test_a_name_too_long_in_bytes_is_refused_and_leaves_no_ghost(cli_library: Path) -> None:
    name = "日" * 79  # 79 characters pass the 80-character rule; 237 bytes do not fit
    result = run_cli("--data-dir", cli_library, "add", "--new", name, "--all")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "too long for a file name" in result.stderr, result.stderr
    listed = run_cli("--data-dir", cli_library, "files")
    assert listed.stdout == "", "a refused name left a training file behind"


def test_the_longest_accepted_name_really_builds_and_downloads(cli_library: Path,
                                                               tmp_path: Path) -> None:
    """The byte limit is not a guess: a name right at it builds, and its copies save under
    the names the window suggests (``<name>.json``, ``<name>.jsonl``), manifests beside."""
    name = "日" * (MAX_NAME_UNITS // 3)
    assert check_name(name) == name
    result = run_cli("--data-dir", cli_library, "add", "--new", name, "--all")
    assert result.returncode == 0, result.stderr
    for fmt, suffix in (("json", ".json"), ("jsonl", ".jsonl")):
        target = tmp_path / "out" / f"{name}{suffix}"
        saved = run_cli("--data-dir", cli_library, "export", name, "--format", fmt,
                        "-o", target)
        assert saved.returncode == 0, saved.stderr
        assert target.stat().st_size > 0
        assert target.with_name(target.name + ".manifest.json").stat().st_size > 0


@pytest.mark.parametrize("name", ["COM¹", "com²", "LPT³", "lpt¹.backup", "CON", "nul.x",
                                  "COM0", "LPT9"])
def test_windows_device_names_are_refused(name: str) -> None:
    with pytest.raises(LibraryError, match="reserved device name") as refused:
        check_name(name)
    assert "choose another name" in str(refused.value)  # what to do, not only why


@pytest.mark.parametrize("name", ["com10", "COMPANY", "console", "COM¹x", "Ünïcödé 名前"])
def test_names_that_only_look_like_devices_are_fine(name: str) -> None:
    assert check_name(name) == name


def test_decomposed_forms_count_too() -> None:
    """HFS+ stores names decomposed: one Hangul syllable becomes three letters."""
    name = "한" * 60  # 180 bytes as written, 540 decomposed
    with pytest.raises(LibraryError, match="too long"):
        check_name(name)
