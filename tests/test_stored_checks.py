"""Stored builds are used only as they were built: size and sha256, checked on every read.

Real libraries, real files edited on disk (one byte flipped without changing the size, or
cut short), the real command in a child process and the real Training files page.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from cli_process import run_cli
from conftest import ENRICHED
from scripted_dialogs import ScriptedDialogs

from app.integrity import RECORD_NAME, read_record
from app.library import Library
from app.lock import LibraryLock
from app.trainingfiles import (
    add_conversations,
    create_training_file,
    get_training_file,
)
from ui.training_files_page import TrainingFilesPage

WAIT_MS = 30_000
FORMATS = ["json", "jsonl", "jsonl-messages", "jsonl-per-reply", "jsonl-no-context", "split"]


def flip_a_letter(path: Path, after: bytes = b'"content":') -> bytes:
    """Change one letter inside the first text after ``after``: same size, still JSON.
    Returns the bytes as they were."""
    data = path.read_bytes()
    at = data.index(after) + len(after)
    while not data[at:at + 1].isalpha():
        at += 1
    changed = b"b" if data[at:at + 1] != b"b" else b"c"
    path.write_bytes(data[:at] + changed + data[at + 1:])
    assert path.stat().st_size == len(data)
    return data


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "library.lock"
            and not p.name.endswith(("-wal", "-shm"))}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A library with one training file, 'base', made by the real command."""
    folder = tmp_path / "batch-a"
    folder.mkdir()
    for path in ENRICHED[:3]:
        shutil.copy(path, folder)
    root = tmp_path / "lib"
    assert run_cli("--data-dir", root, "import", folder).returncode == 0
    assert run_cli("--data-dir", root, "add", "--new", "base", "--all").returncode == 0
    return root


def stored(root: Path, suffix: str) -> Path:
    return next((root / "training-files").glob(f"*/base{suffix}"))


def test_a_build_records_the_sha256_of_what_it_wrote(built: Path) -> None:
    json_file, jsonl_file = stored(built, ".json"), stored(built, ".jsonl")
    record = read_record(json_file.parent)
    assert record == {
        json_file.name: hashlib.sha256(json_file.read_bytes()).hexdigest(),
        jsonl_file.name: hashlib.sha256(jsonl_file.read_bytes()).hexdigest(),
    }
    if shutil.which("sha256sum"):  # the record is in the format the standard tool checks
        check = subprocess.run(["sha256sum", "-c", RECORD_NAME], cwd=json_file.parent,
                               capture_output=True, text=True, timeout=60, check=False)
        assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_flipped_byte_is_never_exported(built: Path, tmp_path: Path, fmt: str) -> None:
    edited = stored(built, ".json" if fmt == "json" else ".jsonl")
    flip_a_letter(edited)
    before = tree(built)
    target = tmp_path / ("out" if fmt == "split" else f"out.{fmt}")
    result = run_cli("--data-dir", built, "export", "base", "--format", fmt, "-o", target)
    text = result.stdout + result.stderr
    assert result.returncode == 1, text
    assert "Traceback" not in text
    for words in (str(edited), "changed outside LoRA Studio", 'lora-studio rebuild "base"'):
        assert words in text, text
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(built)
               and p.parent.name != "batch-a"]
    assert written == []  # no copy, no manifest, no temporary file
    assert tree(built) == before  # nothing stored changed or lost

    assert run_cli("--data-dir", built, "rebuild", "base").returncode == 0
    again = run_cli("--data-dir", built, "export", "base", "--format", fmt, "-o", target)
    assert again.returncode == 0, again.stderr


def test_a_truncated_file_is_refused_while_a_window_holds_the_library(
        built: Path, tmp_path: Path) -> None:
    jsonl = stored(built, ".jsonl")
    original = jsonl.read_bytes()
    jsonl.write_bytes(original[: len(original) // 2])
    target = tmp_path / "copy.jsonl"
    lock = LibraryLock(built)  # what an open window holds: the command only reads
    lock.acquire()
    try:
        result = run_cli("--data-dir", built, "export", "base", "--format",
                         "jsonl-messages", "-o", target)
    finally:
        lock.release()
    text = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in text
    assert str(jsonl) in text and f"{len(original):,} were written" in text, text
    assert not target.exists()
    assert jsonl.read_bytes() == original[: len(original) // 2]

    # Free to change, the next command rebuilds it from the library first and says so.
    result = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o", target)
    assert result.returncode == 0, result.stderr
    assert "rebuilt the training file 'base'" in result.stderr
    assert target.read_bytes() == original == stored(built, ".jsonl").read_bytes()


def test_a_build_without_a_record_is_rebuilt_before_use(built: Path, tmp_path: Path) -> None:
    """Builds of older versions have no sha256 record: the next command rebuilds them."""
    jsonl = stored(built, ".jsonl")
    original = jsonl.read_bytes()
    (jsonl.parent / RECORD_NAME).unlink()
    target = tmp_path / "copy.jsonl"
    result = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o", target)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == original
    assert RECORD_NAME in {p.name for p in stored(built, ".jsonl").parent.iterdir()}


# --- incremental builds never copy a changed fragment ---------------------------------


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_changed_previous_build_is_not_copied_into_the_next(
        filled_library: Library, suffix: str) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()]
    create_training_file(filled_library, "base")
    add_conversations(filled_library, "base", ids[:4])
    info = get_training_file(filled_library, "base")
    path = info.json_path if suffix == ".json" else info.jsonl_path
    assert path is not None
    original = path.read_bytes()
    flip_a_letter(path)

    add_conversations(filled_library, "base", ids[4:5])  # would copy the first four
    grown = get_training_file(filled_library, "base")
    assert grown.json_path is not None and grown.jsonl_path is not None
    if suffix == ".jsonl":  # the first four lines as built, not as edited
        assert grown.jsonl_path.read_bytes().startswith(original)
    else:
        before = orjson.loads(original)["conversations"]
        after = orjson.loads(grown.json_path.read_bytes())["conversations"]
        assert after[:4] == before
    record = read_record(grown.jsonl_path.parent)
    for built_file in (grown.json_path, grown.jsonl_path):
        assert record[built_file.name] == hashlib.sha256(built_file.read_bytes()).hexdigest()


# --- the window's download paths -------------------------------------------------------


@pytest.fixture
def page(qtbot, filled_library: Library, dialogs: ScriptedDialogs) -> TrainingFilesPage:
    ids = [row.conversation_id for row in filled_library.summaries()]
    create_training_file(filled_library, "Demo")
    add_conversations(filled_library, "Demo", ids)
    widget = TrainingFilesPage(filled_library, dialogs)
    qtbot.addWidget(widget)
    widget.refresh()
    return widget


def _damage(path: Path, how: str) -> None:
    if how == "flipped":
        flip_a_letter(path)
    else:
        path.write_bytes(path.read_bytes()[:-100])


@pytest.mark.parametrize("how", ["flipped", "truncated"])
def test_the_window_saves_nothing_from_a_changed_file_and_offers_a_rebuild(
        qtbot, page: TrainingFilesPage, dialogs: ScriptedDialogs, filled_library: Library,
        tmp_path: Path, how: str) -> None:
    info = get_training_file(filled_library, "Demo")
    assert info.jsonl_path is not None
    original = info.jsonl_path.read_bytes()
    _damage(info.jsonl_path, how)
    damaged = info.jsonl_path.read_bytes()
    target = tmp_path / "messages.jsonl"
    dialogs.save_paths.append(target)
    dialogs.confirms.append(False)  # do not rebuild

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as said:
        page.file_actions["messages"].trigger()

    kind, title, question = dialogs.asked[-1]
    assert (kind, title) == ("confirm_destructive", "Stored file changed")
    assert str(info.jsonl_path) in question and "Rebuild 'Demo'" in question
    assert "Nothing was saved" in said.args[0]
    assert not target.exists()
    assert info.jsonl_path.read_bytes() == damaged  # nothing stored changed unasked
    assert original != damaged


@pytest.mark.parametrize("how", ["flipped", "truncated"])
def test_the_window_rebuilds_then_saves_when_asked(
        qtbot, page: TrainingFilesPage, dialogs: ScriptedDialogs, filled_library: Library,
        tmp_path: Path, how: str) -> None:
    info = get_training_file(filled_library, "Demo")
    assert info.jsonl_path is not None
    original = info.jsonl_path.read_bytes()
    _damage(info.jsonl_path, how)
    target = tmp_path / "Demo.jsonl"
    dialogs.save_paths.append(target)
    dialogs.confirms.append(True)  # rebuild and save

    page.file_actions["jsonl"].trigger()
    qtbot.waitUntil(target.exists, timeout=WAIT_MS)

    assert target.read_bytes() == original  # rebuilt from the library, then copied
    rebuilt = get_training_file(filled_library, "Demo")
    assert rebuilt.jsonl_path is not None and rebuilt.jsonl_path.read_bytes() == original
    assert not dialogs.warnings
