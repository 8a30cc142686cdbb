"""Edit ▸ Undo after Settings… on the training files page: Ctrl+Z rebuilds the file with
the settings it had before (its JSONL byte for byte as before), named in the menu; refused
with nothing changed once the settings were changed again behind the window's back."""

from __future__ import annotations

import pytest
from conftest import ids_of, open_window, settle
from stored import stored_bytes

from app.cutoff import policy_label
from app.trainingfiles import add_conversations, change_settings, get_training_file
from ui.file_settings import FileSettings
from ui.undo_slot import NOTHING_TO_UNDO

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 60000
NAME = "Coaching A"


def _undo(window):
    """Edit ▸ Undo, as the menu holds it (its first entry)."""
    return window.edit_menu.actions()[0]


def _changed(qtbot, filled_library, dialogs, tmp_path):
    add_conversations(filled_library, NAME, ids_of(filled_library), create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    page = window.training_files
    window.pages.setCurrentWidget(page)
    assert page.select_file(NAME)
    before = stored_bytes(filled_library, NAME)
    undo = _undo(window)
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO
    dialogs.settings.append(FileSettings("weight0", 512, "keep"))
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.settings_button.click()
    assert stored_bytes(filled_library, NAME) != before
    return window, page, before, undo


def test_ctrl_z_puts_the_settings_back_with_a_rebuild(qtbot, filled_library, dialogs,
                                                      tmp_path):
    window, _page, before, undo = _changed(qtbot, filled_library, dialogs, tmp_path)
    assert undo.isEnabled(), undo.toolTip()
    assert undo.text() == f"Undo settings of '{NAME}'"
    assert undo.toolTip() == (f"Put back the settings '{NAME}' had before (length limit "
                              "4,096 tokens); its JSONL is rebuilt")
    settle(qtbot, window)

    with qtbot.waitSignal(window.settings_undo.status, timeout=WAIT_MS) as done:
        undo.trigger()
    assert done.args[0] == (f"Undone: '{NAME}' has its settings from before again "
                            "(4,096 tokens)")
    info = get_training_file(filled_library, NAME)
    assert (info.cut_off_policy, info.max_seq_len, info.over_budget) == ("trim", 4096, "fit")
    assert stored_bytes(filled_library, NAME)[1] == before[1]
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"


def test_undo_is_refused_once_the_settings_changed_again(qtbot, filled_library, dialogs,
                                                         tmp_path):
    window, _page, _before, undo = _changed(qtbot, filled_library, dialogs, tmp_path)
    change_settings(filled_library, NAME, max_seq_len=1024)  # a team member, say
    window.changes.training_files_changed.emit()
    settle(qtbot, window)
    assert not undo.isEnabled()
    assert undo.toolTip() == (f"The settings of '{NAME}' cannot be put back exactly: they "
                              "were changed again since (here or by a team member). Nothing "
                              "was changed: open its Settings… to choose them yourself.")
    assert get_training_file(filled_library, NAME).max_seq_len == 1024


def test_the_undo_asks_again_once_the_file_is_locked(filled_library):
    """What a team member changes between Undo's first look and the rebuild is seen under
    the file's lock: nothing changes, and the sentence says why."""
    from app.errors import LibraryError
    from app.settings_undo import SettingsUndo, undo_settings

    add_conversations(filled_library, NAME, ids_of(filled_library), create=True)
    info = get_training_file(filled_library, NAME)
    before = stored_bytes(filled_library, NAME)
    undo = SettingsUndo(info.file_id, NAME, ("weight0", 512, "keep"),
                        (info.cut_off_policy, info.max_seq_len, info.over_budget))

    with pytest.raises(LibraryError, match="changed again since"):
        change_settings(filled_library, NAME, max_seq_len=1024,
                        unless=lambda row: "changed again since" if row.max_seq_len else None)
    assert get_training_file(filled_library, NAME).max_seq_len == 4096
    assert stored_bytes(filled_library, NAME) == before
    undo_settings(filled_library, undo)  # still exact: done
    assert get_training_file(filled_library, NAME).max_seq_len == 512
    stale = SettingsUndo(info.file_id, NAME, (info.cut_off_policy, 4096, info.over_budget),
                         ("weight0", 2048, "keep"))
    with pytest.raises(LibraryError, match="cannot be put back exactly"):
        undo_settings(filled_library, stale)
    assert get_training_file(filled_library, NAME).max_seq_len == 512


def _offered(undo):
    return undo.text(), undo.isEnabled(), undo.toolTip()


def _settings(library):
    info = get_training_file(library, NAME)
    return info.cut_off_policy, info.max_seq_len, info.over_budget


def test_a_change_whose_rebuild_fails_keeps_the_undo_offered_before(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    """The second change's rebuild raises (the disk fills as its records are read): the
    file keeps the first change's settings and files, and Undo still puts back the
    settings from before the first change."""
    window, page, before, undo = _changed(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    offered = _offered(undo)
    assert offered[:2] == (f"Undo settings of '{NAME}'", True)
    changed = _settings(filled_library), stored_bytes(filled_library, NAME)
    _disk_full_while_building(monkeypatch)
    dialogs.settings.append(FileSettings("keep", 1024, "fit"))
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as said:
        page.settings_button.click()
    monkeypatch.undo()
    assert said.args[0].startswith("Cannot change the settings: "), said.args
    assert (_settings(filled_library), stored_bytes(filled_library, NAME)) == changed
    assert _offered(undo) == offered
    settle(qtbot, window)
    assert _offered(undo) == offered, "read again: still exact"

    with qtbot.waitSignal(window.settings_undo.status, timeout=WAIT_MS):
        undo.trigger()
    assert _settings(filled_library) == ("trim", 4096, "fit")
    assert stored_bytes(filled_library, NAME)[1] == before[1]


def _disk_full_while_building(monkeypatch):
    """Builds read one record, then the disk is full (a real failure of the rebuild)."""
    from app.library import Library

    original = Library.records_with_states

    def disk_full(self, pks, chunk=500):
        records = original(self, pks, chunk)
        yield next(records)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Library, "records_with_states", disk_full)


def test_a_failed_change_keeps_undo_offering_a_removal_from_the_file(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    """What Undo offered before may be of another kind: a removal from the file stays
    offered, and still puts the conversations back."""
    from test_member_undo_window import NAME as KEPT
    from test_member_undo_window import _on_page, _remove_picked

    from app.trainingfiles import member_ids

    window, page, ids = _on_page(qtbot, filled_library, dialogs, tmp_path)
    _remove_picked(qtbot, page, dialogs)
    settle(qtbot, window)
    undo = _undo(window)
    offered = _offered(undo)
    assert offered[:2] == (f"Undo removal of 2 conversations from '{KEPT}'", True)
    _disk_full_while_building(monkeypatch)
    dialogs.settings.append(FileSettings("keep", 1024, "fit"))
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.settings_button.click()
    monkeypatch.undo()
    assert get_training_file(filled_library, KEPT).max_seq_len == 4096
    assert _offered(undo) == offered
    with qtbot.waitSignal(window.removal_undo.status, timeout=WAIT_MS):
        undo.trigger()
    assert member_ids(filled_library, KEPT) == ids


def test_a_cancelled_change_keeps_the_undo_offered_before(
        qtbot, filled_library, dialogs, tmp_path, monkeypatch):
    """Cancel on the rebuild's progress dialog: Undo waits while it runs, then offers the
    first change's undo again, and the file keeps the first change's settings."""
    import time

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QProgressDialog, QPushButton

    from app import trainingfiles
    from ui import training_files_page
    from ui.tasks import job_over, jobs_of
    from ui.undo_slot import HELD

    window, page, _before, undo = _changed(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not jobs_of(window), timeout=WAIT_MS)
    offered = _offered(undo)
    changed = _settings(filled_library), stored_bytes(filled_library, NAME)

    def after_cancel(library, name, **kwargs):
        """The real change, started once Cancel was pressed (so it comes while it runs)."""
        give_up = time.monotonic() + WAIT_MS / 1000
        while not kwargs["cancelled"]() and time.monotonic() < give_up:
            time.sleep(0.02)
        return trainingfiles.change_settings(library, name, **kwargs)

    monkeypatch.setattr(training_files_page, "change_settings", after_cancel)
    dialogs.settings.append(FileSettings("keep", 1024, "fit"))
    page.settings_button.click()
    (task,) = jobs_of(window)
    assert _offered(undo) == ("Undo", False, HELD)

    def progress_dialog():
        shown = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
        return shown[0] if shown else None

    qtbot.waitUntil(lambda: progress_dialog() is not None, timeout=WAIT_MS)
    said: list[str] = []
    page.status.connect(said.append)
    qtbot.mouseClick(progress_dialog().findChild(QPushButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job_over(task), timeout=WAIT_MS)
    # The person's own Cancel is no failure: a status line, no warning box (it was one).
    assert dialogs.warnings == []
    kept = get_training_file(filled_library, NAME)
    assert said[-1] == (f"Cancelled: '{NAME}' keeps its settings (cut-off replies: "
                        f"{policy_label(kept.cut_off_policy)}; length limit "
                        f"{kept.max_seq_len:,} tokens)")
    assert (_settings(filled_library), stored_bytes(filled_library, NAME)) == changed
    assert _offered(undo) == offered
    settle(qtbot, window)
    assert _offered(undo) == offered
