"""Rename… of a training file, then Edit ▸ Undo: the file has its old name again (its
header too), a filter on it follows it back, and it is one step; greyed out with the
reason once another file took the old name; the rename undone at the command level is
refused once the file was renamed again."""

from __future__ import annotations

import pytest
from conftest import ids_of, open_window, settle
from stored import stored_bytes

from app.errors import LibraryError
from app.file_rename_undo import FileRenameUndo, undo_file_rename
from app.trainingfiles import (
    add_conversations,
    create_training_file,
    get_training_file,
    header,
    list_training_files,
    rename_training_file,
)
from ui.row_index import FileFilter, FileRule
from ui.undo_slot import NOTHING_TO_UNDO

WAIT_MS = 60000


def _renamed_in_the_window(qtbot, library, dialogs, tmp_path):
    ids = ids_of(library)[:4]
    add_conversations(library, "December", ids, create=True)
    window = open_window(qtbot, library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file("December")
    dialogs.texts.append("January")
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["rename"].trigger()
    assert [f.name for f in list_training_files(library)] == ["January"]
    return window, page, ids


def test_ctrl_z_names_the_file_as_before(qtbot, filled_library, dialogs, tmp_path):
    window, page, ids = _renamed_in_the_window(qtbot, filled_library, dialogs, tmp_path)
    undo = window.edit_menu.actions()[0]
    assert undo.isEnabled()
    assert undo.text() == "Undo rename of training file 'December' to 'January'"
    conversations = window.conversations
    settle(qtbot, window)
    assert conversations.set_file_filter(FileFilter(FileRule.IN, "January"))
    with qtbot.waitSignal(window.rename_undo.status, timeout=WAIT_MS) as said:
        undo.trigger()
    assert said.args == ["Undone: training file 'January' is 'December' again"]
    assert [f.name for f in list_training_files(filled_library)] == ["December"]
    assert header(filled_library, "December")["name"] == "December"
    assert b'"January"' not in stored_bytes(filled_library, "December")[0]
    assert get_training_file(filled_library, "December").conversations == len(ids)
    qtbot.waitUntil(lambda: page.model.row_of("December") is not None, timeout=WAIT_MS)
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"
    settle(qtbot, window)
    assert conversations.filter_bar.wanted().training_file == FileFilter(FileRule.IN,
                                                                         "December")
    assert conversations.model.shown_count == len(ids), "the filter follows the file"
    assert dialogs.warnings == []


def test_undo_is_greyed_out_once_the_old_name_is_taken(qtbot, filled_library, dialogs,
                                                       tmp_path):
    window, _page, _ids = _renamed_in_the_window(qtbot, filled_library, dialogs, tmp_path)
    create_training_file(filled_library, "december")  # the same name to a file system
    window.changes.training_files_changed.emit()
    undo = window.edit_menu.actions()[0]
    assert not undo.isEnabled()
    assert undo.toolTip() == (
        "Renaming training file 'December' to 'January' cannot be undone: a training file "
        "named 'december' was made since. Rename that one, then choose Undo again.")


def test_a_file_renamed_again_since_is_not_renamed_back(filled_library):
    add_conversations(filled_library, "December", ids_of(filled_library)[:2], create=True)
    info = rename_training_file(filled_library, "December", "January")
    undo = FileRenameUndo(info.file_id, "December", "January")
    rename_training_file(filled_library, "January", "February")
    with pytest.raises(LibraryError, match="it was renamed 'February' since"):
        undo_file_rename(filled_library, undo)
    assert [f.name for f in list_training_files(filled_library)] == ["February"]
