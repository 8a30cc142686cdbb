"""At start, the work an earlier run or an older version left (here: a real v5 library's
builds still in files) is finished off the GUI thread behind a progress dialog with
Cancel, before the first window; what was done is said, a cancel leaves the rest for the
next start."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from old_libraries import FILES, make_v5_library
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton
from scripted_dialogs import ScriptedDialogs

from app import recovery
from app.library import Library
from app.recovery import needs_recovery
from app.trainingfiles import get_training_file
from ui.main import finish_interrupted_work_or_explain


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The thread each move of an older build ran on."""
    threads: list[threading.Thread] = []
    real = recovery.move_into_database

    def move(library: Library, name: str) -> bool:
        threads.append(threading.current_thread())
        return real(library, name)

    monkeypatch.setattr(recovery, "move_into_database", move)
    return threads


def test_the_start_moves_an_older_versions_builds_off_the_gui_thread_and_says_so(
        qtbot, tmp_path: Path, moves: list[threading.Thread]) -> None:
    dialogs = ScriptedDialogs()
    with Library(make_v5_library(tmp_path / "lib")) as library:
        done = finish_interrupted_work_or_explain(library, dialogs)
        assert [s for s in done if s.startswith("moved")] == [
            f"moved the training file '{name}' into the library database (its files from "
            "the older version are removed)" for name in FILES]
        assert len(moves) == len(FILES)
        assert all(thread is not threading.main_thread() for thread in moves)
        assert not needs_recovery(library) and dialogs.warnings == []
        assert finish_interrupted_work_or_explain(library, dialogs) == []  # nothing left


def test_cancel_stops_after_the_step_under_way_and_the_next_start_finishes(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first_moved, cancelled = threading.Event(), threading.Event()
    real = recovery.move_into_database

    def move(library: Library, name: str) -> bool:
        moved = real(library, name)
        first_moved.set()
        assert cancelled.wait(60), "the test never pressed Cancel"
        return moved

    def press_cancel() -> None:
        shown = [w for w in QApplication.topLevelWidgets()
                 if isinstance(w, QProgressDialog) and w.isVisible()]
        if not first_moved.is_set() or not shown:
            QTimer.singleShot(20, press_cancel)
            return
        (dialog,) = shown  # shown once the work takes more than a moment
        assert "Moving the training file" in dialog.labelText()
        dialog.findChild(QPushButton).click()  # the person's Cancel
        cancelled.set()

    monkeypatch.setattr(recovery, "move_into_database", move)
    dialogs = ScriptedDialogs()
    names = list(FILES)
    with Library(make_v5_library(tmp_path / "lib")) as library:
        QTimer.singleShot(20, press_cancel)
        done = finish_interrupted_work_or_explain(library, dialogs)
        # What was done before the Cancel is said with it (the first file moved in).
        assert done == [f"moved the training file '{names[0]}' into the library database "
                        "(its files from the older version are removed)",
                        "stopped finishing the work an earlier run or version left; the rest "
                        "is finished at the next start"]
        assert dialogs.warnings == []
        assert get_training_file(library, names[0]).built
        assert not get_training_file(library, names[1]).built
        assert needs_recovery(library)
        monkeypatch.setattr(recovery, "move_into_database", real)
        done = finish_interrupted_work_or_explain(library, dialogs)  # the next start
        assert any(s.startswith(f"moved the training file '{names[1]}'") for s in done)
        assert not needs_recovery(library)


def test_a_failure_is_one_sentence_and_the_library_opens_as_it_is(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(_library: Library, _name: str) -> bool:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recovery, "move_into_database", full_disk)
    dialogs = ScriptedDialogs()
    with Library(make_v5_library(tmp_path / "lib")) as library:
        assert finish_interrupted_work_or_explain(library, dialogs) == []
        ((title, message),) = dialogs.warnings
        assert title == "Interrupted work not finished"
        assert "next start" in message and "Traceback" not in message
        assert needs_recovery(library)
