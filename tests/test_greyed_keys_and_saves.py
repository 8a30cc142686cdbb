"""A shortcut that cannot apply says why in the status bar (Ctrl+N with nothing checked
did nothing and said nothing), and a save place that cannot be written is asked for again
instead of ending the download."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import open_window, settle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from stored import stored_bytes

from app.library import Library
from app.library_folder import PROBE_PREFIX
from app.trainingfiles import add_conversations
from ui.writable_saves import why_not_writable

WAIT_MS = 30000


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A real folder this user cannot write in: one without write permission, or, for
    root (whom permissions do not bind), a folder of the kernel's."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        kernel = Path("/sys/kernel")
        if not kernel.is_dir() or why_not_writable(kernel) is None:
            pytest.skip("no folder refuses root here")
        yield kernel
        return
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if why_not_writable(folder) is None:
        pytest.skip("this system lets the owner write in a read-only folder")
    yield folder
    folder.chmod(stat.S_IRWXU)


def test_ctrl_n_with_nothing_checked_says_why_in_the_status_bar(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    page = window.conversations
    page.table.setFocus()
    assert not window.new_file_action.isEnabled()
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == (
        "Ctrl+N makes a new training file from the checked conversations, and none is "
        "checked: Space checks the selected rows, Ctrl+A every row shown.")
    assert not dialogs.asked, "nothing asked"

    window.pages.setCurrentWidget(window.training_files)  # Ctrl+M from the other page
    qtbot.keyClick(window.training_files, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == (
        "Ctrl+M moves the checked conversations to another batch, and none is checked: on "
        "the Conversations page, Space checks the selected rows, Ctrl+A every row shown.")

    window.pages.setCurrentWidget(page)  # checked: the key is the action's again
    page.table.setFocus()
    page.model.set_checked_ids([filled_library.summaries()[0].conversation_id])
    assert window.new_file_action.isEnabled()
    dialogs.texts.append(None)  # the name question, cancelled
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(asked[:2] == ("text", "New training file")
                                for asked in dialogs.asked), timeout=WAIT_MS)


def test_a_copy_saved_where_it_cannot_be_written_asks_for_another_place(
        qtbot, filled_library: Library, dialogs, tmp_path: Path, unwritable: Path) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Pilot", ids, create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    window.pages.setCurrentWidget(window.training_files)
    qtbot.waitUntil(lambda: window.training_files.select_file("Pilot") is not False,
                    timeout=WAIT_MS)
    qtbot.waitUntil(window.download_jsonl_action.isEnabled, timeout=WAIT_MS)
    writable = tmp_path / "saved"
    writable.mkdir()
    dialogs.save_paths.extend([unwritable / "Pilot.jsonl", writable / "Pilot.jsonl"])
    with qtbot.waitSignal(window.training_files.status, timeout=WAIT_MS):
        window.download_jsonl_action.trigger()
    ((title, message),) = dialogs.warnings
    assert title == "Save the JSONL"
    assert message.startswith("Pilot.jsonl cannot be saved there. ") and str(unwritable) \
        in message, message
    save_asks = [a for a in dialogs.asked if a[0] == "save_path"]
    assert len(save_asks) == 2 and save_asks[1][2] == unwritable / "Pilot.jsonl", \
        "asked again, where the refused answer was"
    assert (writable / "Pilot.jsonl").read_bytes() == stored_bytes(filled_library, "Pilot")[1]
    assert not any(p.name.startswith(PROBE_PREFIX) for p in writable.iterdir())


def test_a_folder_that_does_not_exist_is_said_so(tmp_path: Path) -> None:
    """A path typed into the chooser with a folder that is not there read "cannot be
    written to (No such file or directory)"."""
    missing = tmp_path / "no-such-folder"
    assert why_not_writable(missing) == (
        f"The folder {missing} does not exist. Choose a folder that does, or make it first.")
    assert why_not_writable(missing / "deeper") is not None
    assert why_not_writable(tmp_path) is None


def test_the_save_as_trained_and_rename_keys_say_why_while_greyed(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    """Audit K2: with no training file, Ctrl+S, Ctrl+Shift+S said nothing; Ctrl+T with
    nothing read and F2 with no batch chosen neither."""
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    table = window.conversations.table
    table.setFocus()

    def said_after(key: Qt.Key, modifiers: Qt.KeyboardModifier) -> str:
        window.statusBar().clearMessage()
        qtbot.keyClick(table, key, modifiers)
        return window.statusBar().currentMessage()

    control = Qt.KeyboardModifier.ControlModifier
    assert not window.download_jsonl_action.isEnabled()
    assert said_after(Qt.Key.Key_S, control) == (
        "Ctrl+S saves the selected training file's JSONL, and there is no training file "
        "yet: check conversations on the Conversations page, then Ctrl+N makes one.")
    assert said_after(Qt.Key.Key_S, control | Qt.KeyboardModifier.ShiftModifier).startswith(
        "Ctrl+Shift+S saves the selected training file's full JSON, and there is no "
        "training file yet")
    assert not window.as_trained_action.isEnabled()
    assert said_after(Qt.Key.Key_T, control).endswith(
        "and none is being read: select a row on the Conversations page to read it.")
    assert not window.rename_batch_action.isEnabled(), "no batch chosen, no row selected"
    assert said_after(Qt.Key.Key_F2, Qt.KeyboardModifier.NoModifier).startswith(
        "F2 renames the batch chosen in the Batch ID filter")
    assert not dialogs.asked, "nothing asked"
