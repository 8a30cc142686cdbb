"""The Conversations page's batch filter when its batch is renamed while a read of the rows
runs: whether the read's rows or the rename's announcement lands first, the filter ends on
the new name (dropped, it would silently show, and Check all shown check, every conversation)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import open_window, settle
from held_jobs import held_batch_rename

from app.library import ConversationRow, Library
from app.trainingfiles import add_conversations, create_training_file
from ui import batch_flow
from ui.main import MainWindow
from ui.row_index import RowIndex

WAIT_MS = 60_000
OLD, NEW = "batch-2025-12", "renamed-batch"


class HeldSummaries:
    """``library.summaries`` that, once armed, waits off the GUI thread until released and
    then reads: a read of the rows already running when the rename is written."""

    def __init__(self, library: Library) -> None:
        self._real: Callable[..., list[ConversationRow]] = library.summaries
        self.armed = False
        self.entered, self.released = threading.Event(), threading.Event()

    def __call__(self, batch_id: str | None = None) -> list[ConversationRow]:
        if self.armed and threading.current_thread() is not threading.main_thread():
            self.armed = False
            self.entered.set()
            self.released.wait(WAIT_MS / 1000)
        return self._real(batch_id)


@pytest.fixture
def window(qtbot, filled_library, dialogs, tmp_path: Path) -> MainWindow:
    """The window on the fixtures (batch OLD), its table filtered on OLD, with a training
    file holding some of them (the rename rebuilds it, as in a real library)."""
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    create_training_file(filled_library, "fixt", cut_off_policy="keep")
    add_conversations(filled_library, "fixt", ids)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    assert window.conversations.set_batch_filter(OLD)
    return window


def test_rows_read_after_the_write_but_before_the_announcement_follow_the_rename(
        qtbot, window, filled_library, dialogs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    page = window.conversations
    messages: list[str] = []
    page.status.connect(messages.append)
    held = HeldSummaries(filled_library)
    monkeypatch.setattr(filled_library, "summaries", held)
    gate = tmp_path / "rename-gate"
    monkeypatch.setattr(batch_flow.batch_jobs, "rename_batch",
                        functools.partial(held_batch_rename, gate=str(gate)))

    held.armed = True
    window.changes.conversations_changed.emit()  # a read of every row starts, and waits
    qtbot.waitUntil(held.entered.is_set, timeout=WAIT_MS)
    dialogs.texts.append(NEW)
    assert window.batches.rename_current()
    qtbot.waitUntil(Path(f"{gate}.held").exists, timeout=WAIT_MS)  # written, not announced
    held.released.set()  # the running read reads the renamed rows and lands first
    qtbot.waitUntil(lambda: not page.row_loading.loading, timeout=WAIT_MS)
    before_announcement = page.batch_filter.value(), page.model.rowCount()
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        gate.touch()  # now the rename is announced
    settle(qtbot, window)

    assert before_announcement == (NEW, filled_library.count())
    assert page.batch_filter.value() == NEW
    assert page.model.rowCount() == filled_library.count()
    assert not [message for message in messages if "cleared" in message]


def test_rows_read_before_the_rename_keep_the_filter_for_the_read_after_it(
        qtbot, window, filled_library) -> None:
    """Rows read before the rename, handed over after its announcement, know only the old
    name: the filter stays on it, then follows the batch when the renamed rows come."""
    page = window.conversations
    messages: list[str] = []
    page.status.connect(messages.append)
    read_before = RowIndex(filled_library.summaries())

    filled_library.rename_batch(OLD, NEW)
    window.changes.batch_renamed.emit(OLD, NEW)
    page.row_loading.loaded.emit(read_before)  # the earlier read ends now
    assert page.batch_filter.value() == OLD
    assert page.model.rowCount() == filled_library.count()
    window.changes.batches_changed.emit()
    settle(qtbot, window)

    assert page.batch_filter.value() == NEW
    assert page.model.rowCount() == filled_library.count()
    assert messages == []
