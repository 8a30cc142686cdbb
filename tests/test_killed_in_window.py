"""An import or an add killed in an open window (Cancel, then a SIGKILL of its real child
process past its grace) is said once: by the window then, not again at the next start
(``app.running_work``'s record of it is settled by the window that said it). Real
library, real child processes, real window."""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from pathlib import Path

import pytest
from conftest import addable, open_window, settle
from hostile_corpus import conversation

from app import importer, running_work
from app.importer import import_paths
from app.recovery import finish_interrupted_work
from app.trainingfiles import apply_addition_counted, list_training_files, plan_addition
from ui import create_flow, import_flow
from ui.tasks import in_child, jobs_of

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX-only")

WAIT_MS = 90_000


def _stalling(progress, marker: str, after: int):
    """A progress that hangs for good (never looking at Cancel) once ``after`` is done."""
    def slow(done: int, total: int, current: str) -> None:
        if progress is not None:
            progress(done, total, current)
        if done >= after:
            Path(marker).write_text(str(os.getpid()))  # (this child's)
            while True:
                time.sleep(0.02)

    return slow


def import_then_hang(library, paths, batch, progress=None, cancelled=None, *, marker: str,
                     after: int):
    """The real import (in the window's child), deaf to Cancel past ``after`` files."""
    return import_paths(library, paths, batch, progress=_stalling(progress, marker, after),
                        workers=1)


def add_then_hang(library, plan, progress=None, cancelled=None, *, marker: str):
    """The real build of an add (in the window's child), deaf to Cancel at its first step."""
    return apply_addition_counted(library, plan, progress=_stalling(progress, marker, 0))


def _killed(qtbot, window, dialogs, marker: Path) -> None:
    """Cancel once the child hangs; it is killed past its grace and the window says so."""
    qtbot.waitUntil(marker.exists, timeout=WAIT_MS)
    (task,) = jobs_of(window)
    task.cancel()
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not jobs_of(window), timeout=WAIT_MS)
    settle(qtbot, window)


def _importing(qtbot, library, dialogs, tmp_path, monkeypatch) -> tuple[Path, Path, object]:
    """A window importing a folder of 1.5 chunks, its child hanging after the first."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    total = importer.CHUNK + importer.CHUNK // 2
    for i in range(total):
        name = f"killed_in_window_{i:04d}"
        (folder / f"{name}.json").write_text(json.dumps(conversation(name)), "utf-8")
    marker = tmp_path / "importing"
    monkeypatch.setattr(import_flow, "import_paths", functools.partial(
        import_then_hang, marker=str(marker), after=importer.CHUNK + importer.CHUNK // 5))
    monkeypatch.setattr(import_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, library, dialogs, tmp_path)
    settle(qtbot, window)
    assert window.importer.start([folder], ask_batch=False)
    return folder, marker, window


def test_an_import_killed_in_the_window_is_not_said_again_at_the_next_start(
        qtbot, library, dialogs, tmp_path, monkeypatch):
    _folder, marker, window = _importing(qtbot, library, dialogs, tmp_path, monkeypatch)
    total = importer.CHUNK + importer.CHUNK // 2
    _killed(qtbot, window, dialogs, marker)

    ((title, said),) = dialogs.warnings
    assert title == "Import failed"
    assert said.startswith("Stopped: the import did not stop in time after Cancel")
    assert 0 < library.count() < total  # a chunk of it stored, as the window said
    assert running_work.interrupted(library.root) == []
    assert not [line for line in finish_interrupted_work(library) if "import" in line]


def test_an_add_killed_in_the_window_is_not_said_again_at_the_next_start(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    ids = addable([row.conversation_id for row in two_batches.summaries()])[:4]
    plan = plan_addition(two_batches, "Picks", ids, create=True)
    marker = tmp_path / "building"
    monkeypatch.setattr(create_flow, "add_recorded",
                        functools.partial(add_then_hang, marker=str(marker)))
    monkeypatch.setattr(create_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    window.creator.apply(plan)
    _killed(qtbot, window, dialogs, marker)

    ((title, said),) = dialogs.warnings
    assert title == "Build failed"
    assert said.startswith("Stopped: creating the training file 'Picks' did not stop in time")
    assert list_training_files(two_batches) == []  # killed before its switch
    assert running_work.interrupted(two_batches.root) == []
    assert not [line for line in finish_interrupted_work(two_batches) if "Picks" in line]


def test_an_import_killed_by_another_program_says_what_it_stored_once(
        qtbot, library, dialogs, tmp_path, monkeypatch):
    """Not Cancel: its child is killed from outside (as the system does when memory runs
    out). The window says what the next start would have said, and the start does not."""
    folder, marker, window = _importing(qtbot, library, dialogs, tmp_path, monkeypatch)
    qtbot.waitUntil(marker.exists, timeout=WAIT_MS)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not jobs_of(window), timeout=WAIT_MS)
    settle(qtbot, window)

    ((title, said),) = dialogs.warnings
    stored = library.count()
    assert title == "Import failed"
    assert said == (
        "the background process doing this stopped unexpectedly (SIGKILL: killed, by the "
        "system when memory ran out or by another program). Nothing it had not finished was "
        "kept; try again, and close other programs if it happens again. LoRA Studio found "
        f"that an import of {importer.CHUNK + importer.CHUNK // 2:,} files from {folder} was "
        f"interrupted ({stored:,} conversations of it stored): import the same folder again "
        "(drop it on the window) to finish it; the conversations already stored are skipped.")
    assert running_work.interrupted(library.root) == []
    assert not [line for line in finish_interrupted_work(library) if "import" in line]


def test_an_import_killed_as_its_window_closes_is_said_at_the_next_start(
        qtbot, library, dialogs, tmp_path, monkeypatch):
    """Closing the window cancels the import and lets its outcome go unsaid: the kill is
    then the next start's to say, as before."""
    folder, marker, window = _importing(qtbot, library, dialogs, tmp_path, monkeypatch)
    qtbot.waitUntil(marker.exists, timeout=WAIT_MS)
    dialogs.confirms.append(True)  # "A job is still running": cancel it and close
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert dialogs.warnings == []  # nothing said by the window that closed

    stored = library.count()
    assert f"found that an import of {importer.CHUNK + importer.CHUNK // 2:,} files from " \
        f"{folder} was interrupted ({stored:,} conversations of it stored)" in \
        finish_interrupted_work(library)[0]
