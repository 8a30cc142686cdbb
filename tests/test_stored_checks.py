"""Stored builds are used only as they were built: every stored piece carries a sha256 that
is checked each time the files are put together (``app.stored_builds``).

Real libraries, real damage in the database file (one byte changed without changing the
size, or a piece cut short), the real command in a child process and the real Training
files page.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from cli_process import run_cli
from conftest import ENRICHED
from scripted_dialogs import ScriptedDialogs
from stored import stored_bytes

from app.fragments import SHA_SIZE
from app.library import Library
from app.lock import LibraryLock
from app.paths import DATABASE_NAME
from app.trainingfiles import add_conversations, create_training_file
from ui.training_files_page import TrainingFilesPage

WAIT_MS = 60_000  # a job in a child process: a new Python that imports the app, slow when loaded
FORMATS = ["json", "jsonl", "jsonl-messages", "jsonl-per-reply", "jsonl-no-context", "split"]


def damage(root: Path, part: str, how: str = "flipped") -> None:
    """Change the first stored piece's ``part`` ("json" or "jsonl") behind the app's back:
    one letter (same size, still JSON) or cut short by 100 bytes."""
    conn = sqlite3.connect(root / DATABASE_NAME)
    try:
        key, data = conn.execute(f"SELECT key, {part} FROM build_fragments "
                                 "ORDER BY rowid LIMIT 1").fetchone()
        if how == "flipped":
            at = data.index(b'"content":') + len(b'"content":')
            while not data[at:at + 1].isalpha():
                at += 1
            data = data[:at] + (b"b" if data[at:at + 1] != b"b" else b"c") + data[at + 1:]
        else:
            data = data[:-100]
        conn.execute(f"UPDATE build_fragments SET {part} = ? WHERE key = ?", (data, key))
        conn.commit()
    finally:
        conn.close()


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


def test_every_stored_piece_records_the_sha256_of_its_bytes(built: Path) -> None:
    conn = sqlite3.connect(built / DATABASE_NAME)
    try:
        rows = conn.execute("SELECT sha256, json, jsonl FROM build_fragments").fetchall()
    finally:
        conn.close()
    assert len(rows) == 3
    for sha, json_part, jsonl_part in rows:
        assert sha[:SHA_SIZE] == hashlib.sha256(json_part).digest()
        assert sha[SHA_SIZE:] == hashlib.sha256(jsonl_part).digest()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_changed_byte_is_never_exported(built: Path, tmp_path: Path, fmt: str) -> None:
    damage(built, "json" if fmt == "json" else "jsonl")
    before = tree(built)
    target = tmp_path / ("out" if fmt == "split" else f"out.{fmt}")
    result = run_cli("--data-dir", built, "export", "base", "--format", fmt, "-o", target)
    text = result.stdout + result.stderr
    assert result.returncode == 1, text
    assert "Traceback" not in text
    for words in ("stored build of the training file 'base' is damaged", "checksum",
                  'lora-studio rebuild "base"'):
        assert words in text, text
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(built)
               and p.parent.name != "batch-a"]
    assert written == []  # no copy, no manifest, no temporary file
    assert tree(built) == before  # nothing stored changed or lost

    assert run_cli("--data-dir", built, "rebuild", "base").returncode == 0
    again = run_cli("--data-dir", built, "export", "base", "--format", fmt, "-o", target)
    assert again.returncode == 0, again.stderr


def test_a_cut_piece_is_refused_while_a_window_holds_the_library(
        built: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    assert run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o",
                   good).returncode == 0
    damage(built, "jsonl", "cut")
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
    assert "is damaged" in text and "lora-studio rebuild" in text, text
    assert not target.exists()
    assert run_cli("--data-dir", built, "rebuild", "base").returncode == 0
    result = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o", target)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == good.read_bytes()


# --- incremental builds keep checking ---------------------------------------------------


@pytest.mark.parametrize("part", ["json", "jsonl"])
def test_a_damaged_piece_is_still_caught_after_the_next_change(
        filled_library: Library, part: str) -> None:
    """An incremental build does not read the pieces it keeps, so it cannot spread damage
    into anything new: the damaged piece stays caught until a rebuild renders it again."""
    from test_incremental import assert_same_as_full_rebuild

    from app.errors import LibraryError
    from app.trainingfiles import rebuild_training_files

    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "base", ids[:4], create=True)
    damage(filled_library.root, part)
    add_conversations(filled_library, "base", ids[4:5])
    with pytest.raises(LibraryError, match="is damaged"):
        stored_bytes(filled_library, "base")
    rebuild_training_files(filled_library, ["base"], from_scratch=True)
    assert_same_as_full_rebuild(filled_library, "base")


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


@pytest.mark.parametrize("how", ["flipped", "cut"])
def test_the_window_saves_nothing_from_a_damaged_build_and_offers_a_rebuild(
        qtbot, page: TrainingFilesPage, dialogs: ScriptedDialogs, filled_library: Library,
        tmp_path: Path, how: str) -> None:
    damage(filled_library.root, "jsonl", how)
    target = tmp_path / "messages.jsonl"
    dialogs.save_paths.append(target)
    dialogs.confirms.append(False)  # do not rebuild

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as said:
        page.file_actions["messages"].trigger()

    kind, title, question = dialogs.asked[-1]
    assert (kind, title) == ("confirm_destructive", "Stored build damaged")
    assert "'Demo' is damaged" in question and "Rebuild 'Demo'" in question
    assert "Nothing was saved" in said.args[0]
    assert not target.exists()
    with pytest.raises(Exception, match="is damaged"):  # nothing stored changed unasked
        stored_bytes(filled_library, "Demo")


@pytest.mark.parametrize("how", ["flipped", "cut"])
def test_the_window_rebuilds_then_saves_when_asked(
        qtbot, page: TrainingFilesPage, dialogs: ScriptedDialogs, filled_library: Library,
        tmp_path: Path, how: str) -> None:
    original = stored_bytes(filled_library, "Demo")[1]
    damage(filled_library.root, "jsonl", how)
    target = tmp_path / "Demo.jsonl"
    dialogs.save_paths.append(target)
    dialogs.confirms.append(True)  # rebuild and save

    page.file_actions["jsonl"].trigger()
    qtbot.waitUntil(target.exists, timeout=WAIT_MS)

    assert target.read_bytes() == original  # rebuilt from the library, then copied
    assert stored_bytes(filled_library, "Demo")[1] == original
    assert not dialogs.warnings
