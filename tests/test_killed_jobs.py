"""A job killed after Cancel (its child did not stop within its grace) says what it may
have done and what to do, naming its file or batch: not "Cancelled: nothing was changed".

Each job here does its real work, then never looks at Cancel again, so the window's child
is really killed (``grace`` shortened) after the change is saved.
"""

from __future__ import annotations

import functools
import importlib
import shutil
import time
from pathlib import Path
from typing import Any

from conftest import ENRICHED, LEGACY, addable, ids_of, open_window, settle

from app import batch_jobs, batch_undo
from app.add_undo import add_recorded
from app.build import StoppedByForce
from app.importer import import_paths
from app.trainingfiles import (
    apply_addition,
    list_training_files,
    member_ids,
    plan_addition,
)
from ui import batch_flow, create_flow, import_flow
from ui.tasks import STOPPED_BY_FORCE, Task, in_child, jobs_of

WAIT_MS = 60000


def done_then_deaf(library: Any, *args: Any, job: str, marker: str, progress: Any = None,
                   cancelled: Any = None, **kwargs: Any) -> None:
    """In the window's child: the job named ``job`` (its module's own, not the patched
    name) to its end, then a wait that ignores Cancel."""
    module, name = job.rsplit(".", 1)
    getattr(importlib.import_module(module), name)(library, *args, **kwargs)
    Path(marker).write_text("done")
    while True:
        time.sleep(0.02)


def deaf(monkeypatch: Any, module: Any, name: str, job: Any, marker: Path) -> None:
    """``module.name`` becomes ``job`` done, then deaf to Cancel."""
    monkeypatch.setattr(module, name, functools.partial(
        done_then_deaf, job=f"{job.__module__}.{job.__name__}", marker=str(marker)))


def kill_it(qtbot: Any, window: Any, dialogs: Any, marker: Path) -> tuple[str, str]:
    """Cancel the window's job once its work is saved; the warning it ends with."""
    qtbot.waitUntil(marker.exists, timeout=WAIT_MS)
    (task,) = jobs_of(window)
    task.cancel()
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    settle(qtbot, window)
    (warning,) = dialogs.warnings
    return warning


def test_a_new_file_killed_after_cancel_says_it_may_exist(qtbot, two_batches, dialogs,
                                                          tmp_path, monkeypatch):
    ids = addable(ids_of(two_batches, "legacy-batch"))[:3]
    plan = plan_addition(two_batches, "Picks", ids, create=True)
    marker = tmp_path / "built"
    deaf(monkeypatch, create_flow, "add_recorded", add_recorded, marker)
    monkeypatch.setattr(create_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.creator.apply(plan)
    assert kill_it(qtbot, window, dialogs, marker) == ("Build failed", (
        "Stopped: creating the training file 'Picks' did not stop in time after Cancel, so "
        "it was ended. A new training file is kept only once it is complete, so 'Picks' "
        "either holds the 3 conversations or does not exist: look for it on the LoRA "
        "Training JSON Files page, and create it again if it is not there."))
    assert member_ids(two_batches, "Picks") == ids  # what the message allows for
    # the files page reads the list again (it shows the file the message sends one to)
    qtbot.waitUntil(lambda: window.training_files.model.row_of("Picks") is not None,
                    timeout=WAIT_MS)


def test_an_add_killed_after_cancel_says_the_file_holds_all_or_none(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    ids = addable(ids_of(two_batches, "legacy-batch"))
    plan = plan_addition(two_batches, "Picks", ids[:1], create=True)
    apply_addition(two_batches, plan)
    plan = plan_addition(two_batches, "Picks", ids[1:3])
    marker = tmp_path / "added"
    deaf(monkeypatch, create_flow, "add_recorded", add_recorded, marker)
    monkeypatch.setattr(create_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.creator.apply(plan)
    assert kill_it(qtbot, window, dialogs, marker) == ("Build failed", (
        "Stopped: adding 2 conversations to 'Picks' did not stop in time after Cancel, so "
        "it was ended. A training file changes all at once, so 'Picks' either holds all of "
        "them now or is as it was: check it on the LoRA Training JSON Files page, and add "
        "them again if they are not in it."))
    assert member_ids(two_batches, "Picks") == ids[:3]


def test_a_check_killed_after_cancel_says_nothing_was_added(qtbot, two_batches, dialogs,
                                                            tmp_path, monkeypatch):
    ids = ids_of(two_batches, "legacy-batch")
    marker = tmp_path / "checked"
    deaf(monkeypatch, create_flow, "plan_addition", plan_addition, marker)
    monkeypatch.setattr(create_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids[:3])
    dialogs.texts.append("Picks")
    assert window.creator.add_checked(None)
    assert kill_it(qtbot, window, dialogs, marker) == ("Cannot create the training file", (
        "Stopped: checking the conversations for 'Picks' did not stop in time after "
        "Cancel, so it was ended. 'Picks' was not created."))
    assert list_training_files(two_batches) == []


def test_an_import_killed_after_cancel_says_what_may_be_in(qtbot, library, dialogs, tmp_path,
                                                           monkeypatch):
    folder = tmp_path / "drop"
    folder.mkdir()
    for path in LEGACY:
        shutil.copy(path, folder / path.name)
    marker = tmp_path / "imported"
    deaf(monkeypatch, import_flow, "import_paths", import_paths, marker)
    monkeypatch.setattr(import_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.texts.append("picked")
    assert window.importer.start([folder])
    assert kill_it(qtbot, window, dialogs, marker) == ("Import failed", (
        "Stopped: the import did not stop in time after Cancel, so it was ended. It had "
        f"stored {len(LEGACY)} conversations from the files it had read, in batch 'picked' "
        f"({len(LEGACY)}): filter on batch 'picked' to see which. Import the same files "
        "again to add the rest: conversations already in the library are not added twice."))
    assert window.conversations.model.total == library.count() == len(LEGACY)


def test_an_import_killed_after_cancel_names_the_batches_it_chose(
        qtbot, library, dialogs, tmp_path, monkeypatch):
    """No batch typed: every folder became its own batch, and the message names each
    (read from the library after the kill), with how many it holds."""
    import_paths(library, [ENRICHED[0]], "before")  # stored earlier: not this import's
    folders = []
    for name, files in (("march-calls", ENRICHED[1:]), ("april-calls", LEGACY)):
        folder = tmp_path / "drop" / name
        folder.mkdir(parents=True)
        for path in files:
            shutil.copy(path, folder / path.name)
        folders.append(folder)
    marker = tmp_path / "imported"
    deaf(monkeypatch, import_flow, "import_paths", import_paths, marker)
    monkeypatch.setattr(import_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.texts.append("")  # every folder its own batch
    assert window.importer.start(folders)
    warning = kill_it(qtbot, window, dialogs, marker)
    march, april = len(ids_of(library, "march-calls")), len(LEGACY)
    assert warning == ("Import failed", (
        "Stopped: the import did not stop in time after Cancel, so it was ended. It had "
        f"stored {march + april} conversations from the files it had read, in batches "
        f"'april-calls' ({april}) and 'march-calls' ({march}): choose each in the Batch ID "
        "filter to see which. Import the same files again to add the rest: conversations "
        "already in the library are not added twice."))
    assert march > 0 and len(ids_of(library, "april-calls")) == april


def never_stores(library: Any, *args: Any, marker: str, **kwargs: Any) -> None:
    """In the window's child: an import that reads and never stores, deaf to Cancel."""
    Path(marker).write_text("reading")
    while True:
        time.sleep(0.02)


def test_an_import_killed_before_it_stored_anything_says_so(
        qtbot, library, dialogs, tmp_path, monkeypatch):
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(LEGACY[0], folder / LEGACY[0].name)
    marker = tmp_path / "reading"
    monkeypatch.setattr(import_flow, "import_paths",
                        functools.partial(never_stores, marker=str(marker)))
    monkeypatch.setattr(import_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.texts.append("")
    assert window.importer.start([folder])
    assert kill_it(qtbot, window, dialogs, marker) == ("Import failed", (
        "Stopped: the import did not stop in time after Cancel, so it was ended. No "
        "conversation of it was stored before it ended: import the files again."))
    assert library.count() == 0


def test_an_import_whose_batches_cannot_be_read_says_where_to_look():
    from app.stopped_jobs import import_stopped

    assert "(in batch 'picked')" in import_stopped("picked", None)
    assert ("(in batches named after the folders it read and the full training files: "
            "look in the Batch ID filter)") in import_stopped(None, None)


def test_a_batch_move_killed_after_cancel_says_it_is_all_or_none(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    ids = ids_of(two_batches, "legacy-batch")[:2]
    marker = tmp_path / "moved"
    deaf(monkeypatch, batch_jobs, "move_conversations", batch_jobs.move_conversations,
         marker)
    monkeypatch.setattr(batch_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids)
    dialogs.texts.append("elsewhere")
    assert window.batches.move_checked()
    assert kill_it(qtbot, window, dialogs, marker) == ("Move to batch", (
        "Stopped: moving 2 conversations to batch 'elsewhere' did not stop in time after "
        "Cancel, so it was ended. A move is saved all at once, so either all 2 are in batch "
        "'elsewhere' now or none are: filter on batch 'elsewhere' to see. If they moved, the "
        "training files holding them show the old batch until they are rebuilt, at the "
        "latest the next time LoRA Studio opens this library."))
    assert ids_of(two_batches, "elsewhere") == ids
    # the views read the library again: the batch chooser knows the new batch
    qtbot.waitUntil(lambda: window.conversations.set_batch_filter("elsewhere"),
                    timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.conversations.model.shown_count == 2


def test_a_batch_rename_killed_after_cancel_names_both_names(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    marker = tmp_path / "renamed"
    deaf(monkeypatch, batch_jobs, "rename_batch", batch_jobs.rename_batch, marker)
    monkeypatch.setattr(batch_flow, "in_child", functools.partial(in_child, grace=0.5))
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.set_batch_filter("legacy-batch")
    settle(qtbot, window)
    dialogs.texts.append("old-ones")
    assert window.batches.rename_current()
    assert kill_it(qtbot, window, dialogs, marker) == ("Rename batch", (
        "Stopped: renaming batch 'legacy-batch' to 'old-ones' did not stop in time after "
        "Cancel, so it was ended. A rename is saved all at once, so the conversations of "
        "batch 'legacy-batch' are either all in 'old-ones' now or all still in "
        "'legacy-batch': look in the Batch ID filter. If it was renamed, the training files "
        "holding its conversations show the old batch until they are rebuilt, at the "
        "latest the next time LoRA Studio opens this library."))
    assert sorted(b.batch_id for b in two_batches.batches()) == ["enriched-batch", "old-ones"]
    assert len(ENRICHED) == len(ids_of(two_batches, "enriched-batch"))


def test_an_undo_of_a_move_killed_after_cancel_says_it_is_all_or_none(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    ids = ids_of(two_batches, "legacy-batch")[:2]
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids)
    dialogs.texts.append("elsewhere")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
    marker = tmp_path / "moved back"
    deaf(monkeypatch, batch_flow, "undo_move", batch_undo.undo_move, marker)
    monkeypatch.setattr(batch_flow, "in_child", functools.partial(in_child, grace=0.5))
    assert window.batches.undo_last()
    assert kill_it(qtbot, window, dialogs, marker) == ("Undo", (
        "Stopped: moving 2 conversations back from batch 'elsewhere' did not stop in time "
        "after Cancel, so it was ended. An undo is saved all at once, so either all 2 are "
        "back in the batches they came from or all are still in batch 'elsewhere': filter "
        "on batch 'elsewhere' to see. If they went back, the training files holding them "
        "show the old batch until they are rebuilt, at the latest the next time LoRA "
        "Studio opens this library."))
    assert ids_of(two_batches, "legacy-batch")[:2] == ids
    assert "elsewhere" not in {b.batch_id for b in two_batches.batches()}


def test_any_other_job_killed_after_cancel_does_not_say_nothing_changed(qtbot):
    """A task whose flow says nothing of its own still does not claim "nothing was
    changed" after a kill."""
    def killed(_progress: Any, _cancelled: Any) -> None:
        raise StoppedByForce()

    task = Task(killed)
    with qtbot.waitSignal(task.signals.failed, timeout=WAIT_MS) as blocker:
        task.run()
    assert blocker.args == [STOPPED_BY_FORCE]
    assert "nothing was changed" not in STOPPED_BY_FORCE


def test_a_token_count_killed_after_cancel_says_its_counts_are_kept(
        qtbot, two_batches, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMainWindow

    from app.job_process import run_in_child
    from app.token_counts import count_missing
    from ui import token_count_flow
    from ui.changes import LibraryChanges

    marker = tmp_path / "counted"
    deaf(monkeypatch, token_count_flow, "count_missing", count_missing, marker)
    monkeypatch.setattr(token_count_flow, "run_in_child",
                        functools.partial(run_in_child, grace=0.5))
    window = QMainWindow()
    qtbot.addWidget(window)
    changes = LibraryChanges()
    flow = token_count_flow.TokenCountFlow(window, two_batches, changes)
    said: list[str] = []
    flow.status.connect(said.append)
    flow.start()
    qtbot.waitUntil(marker.exists, timeout=WAIT_MS)
    with qtbot.waitSignal(changes.tokens_changed, timeout=WAIT_MS):  # the counts show
        flow.cancel()
    qtbot.waitUntil(lambda: not flow.running, timeout=WAIT_MS)
    assert said == ["Token count cancelled: the counts made so far are kept; the rest are "
                    "counted at the next start."]
