"""Closing the window, or quitting, while a long job runs (``ui/close_guard.py``): it asks
first, naming the job; on a yes the window closes only once the job has really ended; what
a job returns after its window closed reaches nothing; quitting never closes a library
that a job still writes into."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import ENRICHED, LEGACY, open_window
from hostile_corpus import conversation, dump
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from scripted_dialogs import ScriptedDialogs

from app.library import Library
from ui import close_guard
from ui.close_guard import finish_app
from ui.main import MainWindow
from ui.tasks import Task, job_over, jobs_of, run_with_progress, running_jobs

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

ALL = len(ENRICHED) + len(LEGACY)


def start_held_import(qtbot, window: MainWindow, folder: Path, gate: Path) -> Task:
    assert window.importer.start([folder], ask_batch=False)
    (task,) = jobs_of(window)
    qtbot.waitUntil(Path(f"{gate}.held").exists, timeout=60000)  # the child is in the job
    return task


def children_left() -> list[str]:
    return [child.name for child in multiprocessing.active_children()
            if child.name.startswith("lora-studio")]


def thread_job(window: MainWindow, gate: threading.Event, *, stops: bool,
               outcomes: list[str]) -> Task:
    """A job in a worker thread that waits for ``gate`` (and, if it ``stops``, for a
    cancel too), then says it is done; its outcome lands in ``outcomes``."""

    def work(_progress, cancelled) -> str:
        while not gate.wait(0.01):  # never through qtbot: that is the GUI thread's
            if stops and cancelled():
                return "stopped"
        return "finished"

    return run_with_progress(window, "Rebuilding emotional-support-v1", work,
                             lambda result: outcomes.append(result),
                             lambda why: outcomes.append(why))


class Stuck(NamedTuple):
    window: MainWindow
    dialogs: ScriptedDialogs
    gate: threading.Event  # set: the job ends
    outcomes: list[str]  # what reached the window from it
    task: Task


def stuck_job(qtbot, library: Library, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Stuck:
    """A window running a job that will not stop before ``gate`` is set, and a close guard
    without patience: its second question (close anyway?) comes at once."""
    monkeypatch.setattr(close_guard, "STOP_PATIENCE_S", 0.0)
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, library, dialogs, tmp_path)
    gate = threading.Event()
    outcomes: list[str] = []
    task = thread_job(window, gate, stops=False, outcomes=outcomes)
    return Stuck(window, dialogs, gate, outcomes, task)


def test_closing_with_no_job_closes_at_once(qtbot, own_library: Library, tmp_path: Path) -> None:
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, own_library, dialogs, tmp_path)
    window.close()
    assert not window.isVisible()
    assert dialogs.asked == []


def test_no_keeps_the_window_and_the_import_stores_everything(
        qtbot, own_library: Library, fixture_folder: Path, held: Path, tmp_path: Path) -> None:
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, own_library, dialogs, tmp_path)
    task = start_held_import(qtbot, window, fixture_folder, held)
    dialogs.confirms.append(False)
    window.close()
    kind, title, question = dialogs.asked[-1]
    assert (kind, title) == ("confirm_destructive", "A job is still running")
    assert question.startswith("Importing conversations: still running in this library. "
                               "Closing the window cancels it first (a cancelled job keeps "
                               "what it had finished, or changes nothing).")
    assert window.isVisible() and not task.is_cancelled()
    with qtbot.waitSignal(window.importer.finished, timeout=60000) as finished:
        held.touch()
    report = finished.args[0]
    assert report.imported == ALL and not report.cancelled
    assert own_library.count() == ALL
    window.close()  # now nothing runs: it closes without asking again
    assert not window.isVisible() and len(dialogs.asked) == 1


def test_yes_closes_once_the_import_has_ended_and_keeps_what_it_finished(
        qtbot, own_library: Library, fixture_folder: Path, held: Path, tmp_path: Path) -> None:
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, own_library, dialogs, tmp_path)
    task = start_held_import(qtbot, window, fixture_folder, held)
    summaries: list[object] = []
    window.importer.finished.connect(summaries.append)
    dialogs.confirms.append(True)
    window.close()
    assert task.is_cancelled()
    # Not closed yet: the job has not ended; the window says it is stopping it.
    assert window.isVisible()
    indicator = window.close_guard.indicator
    assert indicator is not None and indicator.isVisible()
    assert indicator.labelText().startswith("Stopping Importing conversations…")
    # Escape and its close button hid it, and the window looked idle while the job stopped
    QTest.keyClick(indicator, Qt.Key.Key_Escape)
    indicator.close()
    assert indicator.isVisible()
    window.close()  # asked again meanwhile: no second question, still waiting
    assert len(dialogs.asked) == 1
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
    assert task.ended.is_set() and job_over(task) and children_left() == []
    assert summaries == [] and dialogs.warnings == []  # nothing reached the closing window
    own_library.close()  # as the app does after its window

    with Library.open(own_library.root) as again:
        stored = again.summaries()
        # The import stores what it had read when it was cancelled (here its first file),
        # every one of those whole, and nothing else.
        assert 0 < len(stored) < ALL
        for row in stored:
            assert again.record(row.conversation_id)["conversation_id"] == row.conversation_id
        from app.importer import import_paths

        rest = import_paths(again, [fixture_folder])  # the rest comes in as new
        assert rest.imported == ALL - len(stored) and rest.duplicates == len(stored)


def test_two_jobs_are_asked_about_in_words_that_agree_with_two(
        qtbot, own_library: Library, tmp_path: Path) -> None:
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, own_library, dialogs, tmp_path)
    gate = threading.Event()
    outcomes: list[str] = []
    jobs = [thread_job(window, gate, stops=True, outcomes=outcomes) for _ in range(2)]
    dialogs.confirms.extend([False, True])  # keep working; then cancel them and close
    try:
        window.close()
        kind, title, question = dialogs.asked[-1]
        assert (kind, title) == ("confirm_destructive", "2 jobs are still running")
        assert question.startswith("Rebuilding emotional-support-v1: still running in this "
                                   "library. Closing the window cancels them first")
        assert window.isVisible() and not any(task.is_cancelled() for task in jobs)
        window.close()
        assert all(task.is_cancelled() for task in jobs)
        indicator = window.close_guard.indicator
        assert indicator is not None
        assert indicator.labelText().endswith("The window closes when they have stopped.")
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
    finally:
        gate.set()  # (a failing test leaves no job behind)
    qtbot.waitUntil(lambda: all(job_over(task) for task in jobs), timeout=60000)
    assert outcomes == []


def test_a_job_here_and_the_opening_of_another_library_are_each_said_where_they_run() -> None:
    importing = Task(lambda _progress, _cancelled: None)
    opening = Task(lambda _progress, _cancelled: None)
    opening.in_this_library = False
    question = close_guard.cancel_question(
        {importing: "Importing conversations",
         opening: "Opening the team library postgresql://ann@db.example.org/lora_team"},
        "Closing the window")
    assert question == (
        "Importing conversations: still running in this library. Opening the team library "
        "postgresql://ann@db.example.org/lora_team: still running. Closing the window "
        "cancels them first (a cancelled job keeps what it had finished, or changes "
        "nothing).")


def test_a_job_that_will_not_stop_is_named_and_closing_anyway_leaves_it_nothing_to_touch(
        qtbot, own_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, dialogs, gate, outcomes, task = stuck_job(qtbot, own_library, tmp_path,
                                                      monkeypatch)
    heard: list[str] = []
    for name in ("conversations_changed", "training_files_changed", "batches_changed"):
        getattr(window.changes, name).connect(lambda name=name: heard.append(name))
    dialogs.confirms.extend([True, True])  # cancel it and close; then close anyway
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
    assert [asked[1] for asked in dialogs.asked] == ["A job is still running",
                                                      "A job has not stopped"]
    assert dialogs.asked[1][2].startswith("Rebuilding emotional-support-v1: asked to stop")
    assert running_jobs() == {task: "Rebuilding emotional-support-v1"}
    gate.set()  # it ends after its window closed
    qtbot.waitUntil(lambda: job_over(task), timeout=60000)
    assert outcomes == [] and heard == []


def test_two_jobs_that_will_not_stop_are_named_in_words_that_agree_with_two(
        qtbot, own_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(close_guard, "STOP_PATIENCE_S", 0.0)
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, own_library, dialogs, tmp_path)
    gate = threading.Event()
    outcomes: list[str] = []
    jobs = [thread_job(window, gate, stops=False, outcomes=outcomes) for _ in range(2)]
    dialogs.confirms.extend([True, True])  # cancel them and close; then close anyway
    try:
        window.close()
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
        _kind, title, question = dialogs.asked[1]
        assert title == "2 jobs have not stopped"
        assert "Close anyway? The jobs are then ended when LoRA Studio quits, as if the " \
               "computer had stopped: what they had saved stays, what they had not is " \
               "rolled back." in question
    finally:
        gate.set()  # (a failing test leaves no job behind)
    qtbot.waitUntil(lambda: all(job_over(task) for task in jobs), timeout=60000)
    assert outcomes == []


def test_a_job_that_stops_late_is_waited_for_when_the_person_keeps_waiting(
        qtbot, own_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, dialogs, gate, outcomes, task = stuck_job(qtbot, own_library, tmp_path,
                                                      monkeypatch)
    dialogs.confirms.extend([True, False])  # cancel it and close; then keep waiting
    window.close()
    qtbot.waitUntil(lambda: len(dialogs.asked) == 2, timeout=60000)
    monkeypatch.setattr(close_guard, "STOP_PATIENCE_S", 3600.0)  # asked once is enough
    assert window.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
    assert job_over(task) and outcomes == []


def test_quitting_cancels_a_job_and_closes_the_library_only_after_it_ended(qtbot) -> None:
    from PySide6.QtWidgets import QWidget

    owner = QWidget()
    qtbot.addWidget(owner)
    gate = threading.Event()  # never set: only the cancel ends it
    outcomes: list[str] = []
    task = thread_job(owner, gate, stops=True, outcomes=outcomes)  # type: ignore[arg-type]
    closed: list[bool] = []
    ended: list[int] = []
    status = finish_app(3, lambda: closed.append(task.ended.is_set()), ended.append)
    assert status == 3 and closed == [True] and ended == []
    assert task.is_cancelled()
    qtbot.waitUntil(lambda: job_over(task), timeout=60000)
    assert outcomes == []  # its outcome, handled after the app's end, reached no one


def test_quitting_with_a_job_that_will_not_stop_ends_the_process_with_the_library_open(
        qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QWidget

    monkeypatch.setattr(close_guard, "EXIT_PATIENCE_S", 0.0)
    owner = QWidget()
    qtbot.addWidget(owner)
    gate = threading.Event()
    outcomes: list[str] = []
    task = thread_job(owner, gate, stops=False, outcomes=outcomes)  # type: ignore[arg-type]
    closed: list[bool] = []
    ended: list[int] = []
    finish_app(0, lambda: closed.append(True), ended.append)
    assert ended == [0] and closed == []  # the library is not let go under a writer
    gate.set()
    qtbot.waitUntil(lambda: job_over(task), timeout=60000)
    assert outcomes == []


def _closed_during_import(qtbot, library: Library, folder: Path, gate: Path,
                          tmp_path: Path) -> int:
    """A real window that imports ``folder`` and is closed (yes: cancel it) while the
    import is held after its first file; the library is then let go as the app does.
    Returns how many conversations the cancelled import stored."""
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, library, dialogs, tmp_path)
    start_held_import(qtbot, window, folder, gate)
    dialogs.confirms.append(True)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
    stored = library.count()
    library.close()
    return stored


def test_an_import_cancelled_by_closing_the_window_is_said_at_the_next_start_not_one_cancelled_by_its_button(  # noqa: E501
        qtbot, own_library: Library, fixture_folder: Path, held: Path, tmp_path: Path) -> None:
    """Closing the window cancelled the import and the next start said nothing of the
    batch it left part-imported (audit55 W3), though a killed import is said. An import
    cancelled with its own Cancel is said then, by its window, and not again."""
    from PySide6.QtWidgets import QProgressDialog, QPushButton

    from ui.main import finish_interrupted_work_or_explain

    dialogs = ScriptedDialogs()
    window = open_window(qtbot, own_library, dialogs, tmp_path)
    other = tmp_path / "other-batch"
    other.mkdir()
    for n in range(3):  # none of them a fixture's duplicate
        (other / f"own-{n}.json").write_bytes(dump(conversation(f"cancelled_by_button_{n}")))
    start_held_import(qtbot, window, other, held)
    [progress] = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
    [cancel] = progress.findChildren(QPushButton)
    with qtbot.waitSignal(window.importer.finished, timeout=60000) as finished:
        cancel.click()
    assert finished.args[0].cancelled
    assert "were not reached" in window.importer.last_summary.headline.text()
    window.importer.last_summary.accept()
    window.close()
    assert not window.isVisible()
    Path(f"{held}.held").unlink()
    before = own_library.count()

    stored = _closed_during_import(qtbot, own_library, fixture_folder, held, tmp_path) - before
    with Library.open(own_library.root) as again:
        done = finish_interrupted_work_or_explain(again, ScriptedDialogs())
        assert done == [
            f"found that an import of {ALL} files from {fixture_folder} was cancelled when "
            f"its window closed (1 of its {ALL} files read, {stored} conversation"
            f"{'s' if stored != 1 else ''} of it stored): import the same folder again "
            "(drop it on the window) to finish it; the conversations already stored are "
            "skipped"]
        assert finish_interrupted_work_or_explain(again, ScriptedDialogs()) == [], "said once"
        from app.importer import import_paths

        rest = import_paths(again, [fixture_folder])  # and it does finish it
        assert rest.imported == ALL - stored and rest.duplicates == stored


def test_the_command_line_says_an_import_its_window_cancelled_as_it_closed(
        qtbot, own_library: Library, fixture_folder: Path, held: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    stored = _closed_during_import(qtbot, own_library, fixture_folder, held, tmp_path)
    capsys.readouterr()
    assert main(["--data-dir", str(own_library.root), "batches"]) == 0
    assert (f"note: found that an import of {ALL} files from {fixture_folder} was cancelled "
            f"when its window closed (1 of its {ALL} files read, ") in capsys.readouterr().err
    assert stored > 0
    assert main(["--data-dir", str(own_library.root), "batches"]) == 0
    assert "note:" not in capsys.readouterr().err, "said once"
