"""Opening a library that cannot be opened: the window explains why and offers another folder.

Every case goes through ``open_library_or_explain`` with scripted answers; none may end in
a traceback or change the folder that could not be opened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hostile_corpus import hold_library
from scripted_dialogs import ScriptedDialogs

from app.db import SCHEMA_VERSION
from app.library import Library
from app.lock import LOCK_NAME
from app.paths import DATABASE_NAME
from ui.main import open_library_or_explain

GARBAGE = b"this is not an SQLite database at all\n" * 100


@pytest.fixture
def dialogs(qtbot) -> ScriptedDialogs:  # qtbot: a QApplication exists, as in the real app
    return ScriptedDialogs()


def garbage_library(root: Path) -> Path:
    root.mkdir(parents=True)
    database = root / DATABASE_NAME
    database.write_bytes(GARBAGE)
    return database


def newer_library(root: Path) -> Path:
    Library(root).close()
    database = root / DATABASE_NAME
    conn = sqlite3.connect(database)
    try:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
    finally:
        conn.close()
    return database


def questions(dialogs: ScriptedDialogs) -> list[str]:
    return [question for kind, _title, question in dialogs.asked if kind == "confirm"]


def assert_explained(dialogs: ScriptedDialogs, *words: str) -> None:
    (question,) = questions(dialogs)
    for word in words:
        assert word in question, question
    assert "Traceback" not in question
    assert dialogs.warnings == [], "an error dialog was shown"


def test_a_damaged_library_is_explained_and_declining_opens_nothing(
    dialogs: ScriptedDialogs, tmp_path: Path
) -> None:
    database = garbage_library(tmp_path / "library")
    dialogs.confirms.append(False)
    assert open_library_or_explain(str(tmp_path / "library"), dialogs) is None
    assert_explained(dialogs, "not a LoRA Studio library", str(database))
    assert [kind for kind, _, _ in dialogs.asked] == ["confirm"]
    assert database.read_bytes() == GARBAGE
    # Nothing but the (harmless, empty-when-free) lock file appeared beside it.
    assert {p.name for p in database.parent.iterdir()} <= {DATABASE_NAME, LOCK_NAME}


def test_a_damaged_library_can_be_left_for_a_new_folder(
    dialogs: ScriptedDialogs, tmp_path: Path
) -> None:
    database = garbage_library(tmp_path / "library")
    elsewhere = tmp_path / "new library"
    dialogs.confirms.append(True)
    dialogs.folders.append(elsewhere)
    library = open_library_or_explain(str(tmp_path / "library"), dialogs)
    assert library is not None
    try:
        assert library.root == elsewhere
        assert (elsewhere / DATABASE_NAME).exists()
        assert library.count() == 0
    finally:
        library.close()
    assert_explained(dialogs, "not a LoRA Studio library")
    assert [kind for kind, _, _ in dialogs.asked] == ["confirm", "folder"]
    assert database.read_bytes() == GARBAGE


def test_cancelling_the_folder_choice_opens_nothing(
    dialogs: ScriptedDialogs, tmp_path: Path
) -> None:
    garbage_library(tmp_path / "library")
    dialogs.confirms.append(True)
    dialogs.folders.append(None)
    assert open_library_or_explain(str(tmp_path / "library"), dialogs) is None


def test_a_second_bad_folder_is_explained_again(dialogs: ScriptedDialogs, tmp_path: Path) -> None:
    garbage_library(tmp_path / "library")
    other = tmp_path / "also-newer"
    newer_library(other)
    dialogs.confirms.extend([True, False])
    dialogs.folders.append(other)
    assert open_library_or_explain(str(tmp_path / "library"), dialogs) is None
    first, second = questions(dialogs)
    assert "not a LoRA Studio library" in first
    assert "newer" in second


def test_a_newer_library_is_explained(dialogs: ScriptedDialogs, tmp_path: Path) -> None:
    database = newer_library(tmp_path / "library")
    before = database.read_bytes()
    dialogs.confirms.append(False)
    assert open_library_or_explain(str(tmp_path / "library"), dialogs) is None
    assert_explained(dialogs, "newer", f"version {SCHEMA_VERSION + 1}")
    assert database.read_bytes() == before


def test_a_library_open_elsewhere_is_explained(dialogs: ScriptedDialogs, tmp_path: Path) -> None:
    root = tmp_path / "library"
    Library(root).close()
    with hold_library(root, tmp_path / "holder") as holder:
        dialogs.confirms.append(False)
        assert open_library_or_explain(str(root), dialogs) is None
        assert_explained(dialogs, "already open", f"process {holder.pid}")
    # Once the other LoRA Studio has closed it, the same call opens it without a question.
    library = open_library_or_explain(str(root), dialogs)
    assert library is not None
    library.close()
    assert len(questions(dialogs)) == 1


@pytest.mark.parametrize(("dropped", "said"), [
    (["profiles"], "the table profiles is missing"),
    (["batches", "profiles"], "the tables batches, profiles are missing"),
])
def test_an_incomplete_library_names_its_missing_tables_in_agreeing_words(
        tmp_path: Path, dropped: list[str], said: str) -> None:
    from app.errors import LibraryError

    root = tmp_path / "library"
    Library(root).close()
    conn = sqlite3.connect(root / DATABASE_NAME)
    try:
        for table in dropped:
            conn.execute(f"DROP TABLE {table}")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(LibraryError) as refused:
        Library.open(root).close()
    assert f"{root / DATABASE_NAME} is an incomplete LoRA Studio library: {said}." \
        in str(refused.value)


def test_the_question_names_its_answers(dialogs: ScriptedDialogs, tmp_path: Path) -> None:
    """Audit R2: a library in use (or damaged) was answered "Yes" / "No"; the buttons now
    say what they do, and the real box shows them with "Quit" the default."""
    from PySide6.QtWidgets import QMessageBox

    from ui.dialogs import question_box

    garbage_library(tmp_path / "library")
    dialogs.confirms.append(False)
    assert open_library_or_explain(str(tmp_path / "library"), dialogs) is None
    assert dialogs.answers_named == [("Use another folder…", "Quit")]
    box = question_box("Cannot open the library", "…", None, "Use another folder…", "Quit")
    assert box.button(QMessageBox.StandardButton.Yes).text() == "Use another folder…"
    assert box.button(QMessageBox.StandardButton.No).text() == "Quit"
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
