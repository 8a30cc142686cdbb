"""A library folder turned read-only after the window opened it (a disk remounted, its
permissions changed): the window's open database still takes writes, a job's own process
cannot open it. Every change is refused alike before it starts, with one sentence (what
cannot be done, why, what still works, what to do), and nothing is left half done: Mark
reviewed stored the marks and then could not rebuild, while Remove from file and Delete…
went through and Move refused.

The folder is made read-only for real: a read-only bind mount of it over itself, which
the files the window already holds open are not under (as after a remount) and every new
path through the folder is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ids_of, open_window
from PySide6.QtCore import QItemSelectionModel, Qt
from stored import stored_bytes

from app.library import Library
from app.recovery import needs_recovery
from app.trainingfiles import add_conversations, list_training_files, member_ids

WAIT_MS = 60000
NAME = "Kept"


def _can_mount() -> bool:
    return os.name != "nt" and os.geteuid() == 0 and shutil.which("mount") is not None


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` read-only from now on for every new path through it (files already open
    for writing keep being written, as after a remount or a change of permissions)."""
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)],
                          capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"cannot mount {folder} read-only: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, timeout=60)


def _shown_members(page) -> list[str]:
    model = page.members_model
    return [model.row_at(row).conversation_id for row in range(model.rowCount())]


def _refused(qtbot, window, dialogs, start) -> tuple[str, str]:
    """What the window said when ``start`` began a change (after any job it runs): a
    warning, or the status saying it was done."""
    done: list[str] = []
    for controller in (window.training_files, window.reviews, window.batches):
        controller.status.connect(done.append)
    said = len(dialogs.warnings)
    start()
    qtbot.waitUntil(lambda: len(dialogs.warnings) > said or bool(done), timeout=WAIT_MS)
    qtbot.wait(200)  # nothing more is said of it
    for controller in (window.training_files, window.reviews, window.batches):
        controller.status.disconnect(done.append)
    (warning,) = dialogs.warnings[said:] or [("", "")]
    done = [text for text in done if not (warning[1] and text.endswith(warning[1]))]
    # (the files page says a failure in the status bar too)
    assert not done, f"done in a read-only folder: {done}"
    return warning


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a folder read-only")
@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_every_change_is_refused_alike_once_the_folder_turned_read_only(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    library = filled_library
    ids = ids_of(library)[:6]
    add_conversations(library, NAME, ids, create=True)
    window = open_window(qtbot, library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file(NAME)
    qtbot.waitUntil(lambda: _shown_members(page) == ids, timeout=WAIT_MS)
    built = stored_bytes(library, NAME)
    batches = {row.conversation_id: row.batch_id for row in library.summaries()}
    window.reviews.settings.setValue("review/name", "Lee")  # asked once, remembered

    def mark_reviewed() -> None:
        window.conversations.model.set_checked_ids(ids[:2])
        window.mark_reviewed_action.trigger()

    def remove_from_file() -> None:
        selection = page.members.selectionModel()
        selection.clearSelection()
        selection.select(page.members_model.index(0, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
        dialogs.confirms.append(True)
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)

    def delete() -> None:
        dialogs.confirms.append(True)
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)

    def move() -> None:
        window.conversations.model.set_checked_ids(ids[:2])
        dialogs.texts.append("elsewhere")
        assert window.batches.move_checked()

    with read_only(library.root):
        said = [_refused(qtbot, window, dialogs, start)
                for start in (mark_reviewed, remove_from_file, delete, move)]

    assert [title for title, _text in said] == ["Review", "Cannot remove", "Cannot delete",
                                                "Move to batch"]
    sentence = (f"the library in {library.root} cannot be changed: its folder is on a "
                "read-only disk, so nothing was changed. Reading it still works (looking "
                "through the conversations and training files, saving copies of them); to "
                "change it, make the folder writable, or copy the library to a folder you "
                "may write to and open the copy.")
    assert [text for _title, text in said] == [sentence] * 4
    # Nothing half done: no mark, no member gone, the file there as it was built, no
    # conversation moved, and nothing owed to the next start.
    assert not [row for row in library.summaries() if row.reviewed_by]
    assert member_ids(library, NAME) == ids
    assert [info.name for info in list_training_files(library)] == [NAME]
    assert stored_bytes(library, NAME) == built
    assert {row.conversation_id: row.batch_id for row in library.summaries()} == batches
    assert not needs_recovery(library)
