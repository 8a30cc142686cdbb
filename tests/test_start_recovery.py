"""At start, the work an earlier run or an older version left (here: a real v5 library's
builds still in files) is finished in a child process behind a progress dialog with
Cancel, before the first window; what was done is said, a cancel leaves the rest for the
next start."""

from __future__ import annotations

import multiprocessing
import os
import time
from functools import partial
from pathlib import Path

from held_jobs import finish_on_a_full_disk, held_finish
from held_writer import HeldWriter
from old_libraries import FILES, make_v5_library
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton
from scripted_dialogs import ScriptedDialogs

from app.library import Library
from app.recovery import needs_recovery
from app.trainingfiles import get_training_file
from ui.main import finish_interrupted_work_or_explain

FINISHING = "lora-studio finish_for_a_window"  # the child's name (``app.job_process``)


def finishing_dialogs() -> list[QProgressDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog)
            and w.labelText().startswith("Finishing work left by an earlier run")]


def test_the_start_moves_an_older_versions_builds_in_a_child_process_and_says_so(
        qtbot, tmp_path: Path) -> None:
    """The moves run in a child process, not a thread of the window's (whose moves held the
    interpreter lock for up to 0.3–0.55 s at a time), at a lower priority than the window.
    Seen while it runs: another program's write transaction holds the child at its first
    write, and the dialog is up meanwhile."""
    dialogs = ScriptedDialogs()
    with Library(make_v5_library(tmp_path / "lib")) as library:
        held = HeldWriter(library.db_path)
        children: list[str] = []

        ours = os.getpriority(os.PRIO_PROCESS, 0)
        give_up = time.monotonic() + 30

        def lower(child: multiprocessing.Process) -> bool:
            """Runs below the window's process: a busy machine schedules the window first."""
            return child.pid is not None and \
                os.getpriority(os.PRIO_PROCESS, child.pid) > ours

        def look() -> None:
            running = [child for child in multiprocessing.active_children()
                       if child.name == FINISHING and lower(child)]
            if (not [d for d in finishing_dialogs() if d.isVisible()] or not running) \
                    and time.monotonic() < give_up:
                QTimer.singleShot(20, look)
                return
            children.extend(child.name for child in running)
            held.release()

        QTimer.singleShot(20, look)
        try:
            done = finish_interrupted_work_or_explain(library, dialogs)
        finally:
            held.release()
        assert children == [FINISHING]
        assert [s for s in done if s.startswith("moved")] == [
            f"moved the training file '{name}' into the library database (its files from "
            "the older version are removed)" for name in FILES]
        assert not needs_recovery(library) and dialogs.warnings == []
        assert finish_interrupted_work_or_explain(library, dialogs) == []  # nothing left


def test_cancel_stops_after_the_step_under_way_and_the_next_start_finishes(
        qtbot, tmp_path: Path) -> None:
    gate = tmp_path / "gate"

    def press_cancel() -> None:
        shown = [d for d in finishing_dialogs() if d.isVisible()]
        if not Path(f"{gate}.held").exists() or not shown:
            QTimer.singleShot(20, press_cancel)
            return
        (dialog,) = shown  # shown once the work takes more than a moment
        assert "Moving the training file" in dialog.labelText()
        dialog.findChild(QPushButton).click()  # the person's Cancel

    dialogs = ScriptedDialogs()
    names = list(FILES)
    with Library(make_v5_library(tmp_path / "lib")) as library:
        QTimer.singleShot(20, press_cancel)
        done = finish_interrupted_work_or_explain(library, dialogs,
                                                  job=partial(held_finish, gate=str(gate)))
        # What was done before the Cancel is said with it (the first file moved in).
        assert done == [f"moved the training file '{names[0]}' into the library database "
                        "(its files from the older version are removed)",
                        "stopped finishing the work an earlier run or version left; the rest "
                        "is finished at the next start"]
        assert dialogs.warnings == []
        assert get_training_file(library, names[0]).built
        assert not get_training_file(library, names[1]).built
        assert needs_recovery(library)
        done = finish_interrupted_work_or_explain(library, dialogs)  # the next start
        assert any(s.startswith(f"moved the training file '{names[1]}'") for s in done)
        assert not needs_recovery(library)


def test_a_failure_is_one_sentence_and_the_library_opens_as_it_is(
        qtbot, tmp_path: Path) -> None:
    dialogs = ScriptedDialogs()
    with Library(make_v5_library(tmp_path / "lib")) as library:
        assert finish_interrupted_work_or_explain(library, dialogs,
                                                  job=finish_on_a_full_disk) == []
        ((title, message),) = dialogs.warnings
        assert title == "Interrupted work not finished"
        assert "next start" in message and "Traceback" not in message
        assert needs_recovery(library)


def test_switching_to_a_library_with_work_left_finishes_it_in_a_child_process_too(
        qtbot, switcher, tmp_path: Path) -> None:
    """File ▸ Open library on a library whose older builds are still in files: moved in
    by a child process while the window stays on its library, then said."""
    root = make_v5_library(tmp_path / "older")
    Library(root).close()  # upgraded, its builds not moved in yet
    held = HeldWriter(root / "library.sqlite3")
    seen: list[str] = []

    def look() -> None:  # (the window's own token count may run in a child beside it)
        if FINISHING not in [child.name for child in multiprocessing.active_children()]:
            QTimer.singleShot(20, look)
            return
        seen.append(FINISHING)
        held.release()

    QTimer.singleShot(20, look)
    try:
        with qtbot.waitSignal(switcher.switched, timeout=60000):
            switcher.open_location(str(root))
    finally:
        held.release()
    assert seen == [FINISHING]
    assert switcher.library.root == root
    [(title, message)] = switcher.dialogs.infos
    assert title == "Finished on opening the library"
    for name in FILES:
        assert (f"Moved the training file '{name}' into the library database (its files "
                "from the older version are removed).") in message
    assert switcher.dialogs.warnings == []
