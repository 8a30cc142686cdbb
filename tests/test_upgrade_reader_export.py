"""A reading command asked for a copy of a build an older version kept as files with no
sha256 beside them (``tests/data/library-v5``, a real v5 library: see
``tests/old_libraries.py``) says why none is made and what to do, not that the build is
damaged: nothing is wrong with it, and the first command that may change the library
moves it into the database, after which the copy is made."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from old_libraries import make_v5_library

from app.cli import main
from app.paths import DATABASE_NAME


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_from_an_older_library_says_to_open_it_for_writing_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_v5_library(tmp_path / "lib")
    before = _sha(root / DATABASE_NAME)
    target = tmp_path / "out" / "base.jsonl"
    assert main(["--library", str(root), "export", "base", "--format", "jsonl",
                 "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert "damaged" not in err
    assert "'base' is stored as files from an older LoRA Studio" in err
    assert "Open the library for writing once" in err
    assert 'lora-studio rebuild "base"' in err and "Nothing was written." in err
    assert not target.exists()
    assert _sha(root / DATABASE_NAME) == before  # a reader: the library is as it was
    # What the sentence says to do works: the rebuild moves the builds in, then a copy.
    assert main(["--library", str(root), "rebuild", "base"]) == 0
    capsys.readouterr()
    assert main(["--library", str(root), "export", "base", "--format", "jsonl",
                 "-o", str(target)]) == 0
    assert target.stat().st_size > 0


def test_a_reading_command_says_the_library_is_older_and_what_would_upgrade_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_v5_library(tmp_path / "lib")
    before = _sha(root / DATABASE_NAME)
    assert main(["--library", str(root), "batches"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"note: {root} was written by an older LoRA Studio: this command reads it as it is "
        "and changes nothing. The first command that changes it, or opening it in the "
        "window, upgrades it (backing up library.sqlite3 beside it first) and says what "
        "else it brings up to date.\n")
    assert captured.out  # the batches, read from the library as it is
    assert _sha(root / DATABASE_NAME) == before
    assert main(["--library", str(root), "rebuild", "base"]) == 0  # a writer upgrades it
    capsys.readouterr()
    assert main(["--library", str(root), "batches"]) == 0
    assert capsys.readouterr().err == ""  # no longer older
