"""Edit ▸ Undo of an addition to a training file, or of its creation (audit59 F8): an
addition by mistake left a person to find the added conversations among the members by
hand, and Ctrl+Z right after it undid the change before it instead (a batch move). Real
library, real builds: the undo gives back the file's bytes from before the addition, a
created file is deleted again, and a file changed since is left alone, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ids_of, open_window, settle
from stored import stored_bytes

from app.add_undo import add_recorded, refused, undo_addition
from app.errors import LibraryError
from app.library import Library
from app.trainingfiles import (
    list_training_files,
    member_ids,
    plan_addition,
    rename_training_file,
)
from ui.undo_slot import NOTHING_TO_UNDO

NAME = "Advisors"
WAIT_MS = 60000


def added(library: Library, ids: list[str], create: bool = False):
    plan = plan_addition(library, NAME, ids, create=create)
    return add_recorded(library, plan)


def test_undoing_an_addition_gives_back_the_file_byte_for_byte(filled_library: Library) -> None:
    ids = ids_of(filled_library)
    assert len(ids) >= 6
    added(filled_library, ids[:3], create=True)
    before = stored_bytes(filled_library, NAME), member_ids(filled_library, NAME)
    addition, undo = added(filled_library, ids[3:6])
    assert addition.added == 3 and not undo.created
    assert undo.label == f"Undo adding 3 conversations to '{NAME}'"
    assert member_ids(filled_library, NAME) == ids[:6]
    with filled_library.session() as session:
        assert refused(session, undo) is None
    undo_addition(filled_library, undo)
    assert (stored_bytes(filled_library, NAME), member_ids(filled_library, NAME)) == before


def test_undoing_a_creation_deletes_the_file_and_keeps_the_conversations(
        filled_library: Library) -> None:
    ids = ids_of(filled_library)
    _addition, undo = added(filled_library, ids[:4], create=True)
    assert undo.created and undo.label == f"Undo creating training file '{NAME}'"
    assert "its 4 conversations stay in the library" in undo.tip
    assert undo_addition(filled_library, undo) is None
    assert [f.name for f in list_training_files(filled_library)] == []
    assert ids_of(filled_library) == ids


def test_a_file_changed_since_is_left_alone_saying_why(filled_library: Library) -> None:
    ids = ids_of(filled_library)
    added(filled_library, ids[:2], create=True)
    _addition, undo = added(filled_library, ids[2:4])
    added(filled_library, ids[4:5])  # another addition after it
    with filled_library.session() as session:
        why = refused(session, undo)
    assert why is not None and "was changed or rebuilt since" in why
    assert "Remove from file" in why
    kept = stored_bytes(filled_library, NAME)
    with pytest.raises(LibraryError, match="cannot be undone exactly"):
        undo_addition(filled_library, undo)
    assert stored_bytes(filled_library, NAME) == kept
    rename_training_file(filled_library, NAME, "Renamed")
    with filled_library.session() as session:
        assert "was renamed 'Renamed' since" in str(refused(session, undo))


def test_ctrl_z_after_an_addition_in_the_window_takes_it_back(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    """The window's Create training files offers its undo in Edit ▸ Undo: after creating
    a file, Undo reads so and deletes it again; after adding to it, it takes the addition
    out, the file as it was."""
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    undo = window.undo.action
    ids = ids_of(filled_library)
    creator = window.creator

    def build(create: bool, chosen: list[str]) -> None:
        plan = plan_addition(filled_library, NAME, chosen, create=create)
        with qtbot.waitSignal(creator.built, timeout=WAIT_MS):
            creator.apply(plan)
        settle(qtbot, window)

    build(True, ids[:3])
    assert undo.isEnabled() and undo.text() == f"Undo creating training file '{NAME}'"
    first = stored_bytes(filled_library, NAME)
    build(False, ids[3:5])
    assert undo.text() == f"Undo adding 2 conversations to '{NAME}'"
    with qtbot.waitSignal(window.addition_undo.status, timeout=WAIT_MS) as said:
        undo.trigger()
    assert said.args[0].startswith(f"Undone: 2 conversations taken out of '{NAME}' again")
    assert stored_bytes(filled_library, NAME) == first
    settle(qtbot, window)
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"


def test_ctrl_z_after_creating_a_file_in_the_window_deletes_it_again(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    ids = ids_of(filled_library)
    plan = plan_addition(filled_library, NAME, ids[:3], create=True)
    with qtbot.waitSignal(window.creator.built, timeout=WAIT_MS):
        window.creator.apply(plan)
    settle(qtbot, window)
    with qtbot.waitSignal(window.addition_undo.status, timeout=WAIT_MS) as said:
        window.undo.action.trigger()
    assert said.args[0] == (f"Undone: training file '{NAME}' is deleted again; its 3 "
                            "conversations stay in the library")
    settle(qtbot, window)
    assert list_training_files(filled_library) == []
    assert window.training_files.model.rowCount() == 0
    assert ids_of(filled_library) == ids


def failing_addition(library: Library, plan: object, progress: object = None,
                     cancelled: object = None) -> None:
    """The addition's job, failing before it changes anything (a full disk, say)."""
    raise LibraryError("the disk is full")


def test_an_addition_that_fails_gives_undo_back_to_the_change_before(
        qtbot, filled_library: Library, dialogs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo waits while an addition builds; failed, it offers again what it offered
    before (here the file's creation), exactly as before."""
    from ui import create_flow

    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    ids = ids_of(filled_library)
    plan = plan_addition(filled_library, NAME, ids[:2], create=True)
    with qtbot.waitSignal(window.creator.built, timeout=WAIT_MS):
        window.creator.apply(plan)
    settle(qtbot, window)
    undo = window.undo.action
    offered = undo.text(), undo.isEnabled()
    assert offered == (f"Undo creating training file '{NAME}'", True)
    monkeypatch.setattr(create_flow, "add_recorded", failing_addition)
    more = plan_addition(filled_library, NAME, ids[2:4])
    window.creator.apply(more)
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    assert dialogs.warnings[-1][0] == "Build failed" and "disk is full" in dialogs.warnings[-1][1]
    settle(qtbot, window)
    assert (undo.text(), undo.isEnabled()) == offered
    assert member_ids(filled_library, NAME) == ids[:2]
