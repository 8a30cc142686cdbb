"""A window that closes reads its library no more: the outcome of a read still under way
when it closed (already queued for the GUI thread, or still arriving from a child) is
dropped, so nothing it sets off (the samples banner's count, the table's swap) reaches the
library after the library closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_window
from scripted_dialogs import ScriptedDialogs
from sqlalchemy import event

from app.library import Library
from ui import row_reader
from ui.conversations_page import ConversationsPage
from ui.main import MainWindow
from ui.row_reader import ChildRowRead
from ui.tasks import Task

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def used_after_close(library: Library) -> list[str]:
    """Close ``library`` and note every connection taken from it afterwards."""
    library.close()
    taken: list[str] = []
    event.listen(library.engine.pool, "checkout", lambda *_args: taken.append("checkout"))
    return taken


def read_under_way(page: ConversationsPage) -> Task | ChildRowRead:
    """Start a re-read now (not on the reload timer) and return what runs it."""
    page.request_reload()
    page.row_loading._reload_timer.stop()
    page.row_loading._start_reload()
    loader = page.row_loading._loader
    assert isinstance(loader, Task | ChildRowRead)
    return loader


def test_a_read_that_ended_as_the_window_closed_is_not_delivered(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    """The worker's answer is queued for the GUI thread when the window closes: before,
    the closed window swapped it in and refreshed the samples banner on the closed
    library."""
    window: MainWindow = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path,
                                     show=False)
    page = window.conversations
    shown = page.model.index_
    task = read_under_way(page)
    assert isinstance(task, Task)
    assert task.ended.wait(60)  # its answer waits in the GUI thread's queue
    window.close()
    taken = used_after_close(filled_library)
    reloads: list[None] = []
    page.reloaded.connect(lambda: reloads.append(None))
    qtbot.waitUntil(lambda: not page.loading, timeout=30000)  # the queue is handled
    assert taken == [] and reloads == []
    assert page.model.index_ is shown


def test_a_child_read_under_way_as_the_window_closed_is_not_delivered(
        qtbot, filled_library: Library, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A large library's read in a child: its rows, arriving after the window closed,
    are neither indexed nor swapped in."""
    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)
    window: MainWindow = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path,
                                     show=False)
    page = window.conversations
    qtbot.waitUntil(lambda: not page.loading, timeout=60000)  # the first read, in a child
    shown = page.model.index_
    reader = read_under_way(page)
    assert isinstance(reader, ChildRowRead)
    assert reader.task.ended.wait(60)  # every part and the end wait in the queue
    window.close()
    taken = used_after_close(filled_library)
    finished: list[object] = []
    reader.finished.connect(finished.append)
    reloads: list[None] = []
    page.reloaded.connect(lambda: reloads.append(None))
    qtbot.waitUntil(lambda: not page.loading, timeout=30000)
    assert taken == [] and reloads == [] and finished == []
    assert page.model.index_ is shown


def test_a_child_read_cancelled_after_its_child_ended_still_ends(
        qtbot, filled_library: Library) -> None:
    """Cancelled while only its indexing steps were left (the child had ended), a read
    still says it is done, so whoever waits to close the library is not kept waiting,
    and it never hands over rows."""
    from ui.row_index import Filter

    class CancelledOnceAllIsIn(ChildRowRead):
        """Cancelled in the very slot that learns the child has ended: its parts may still
        wait to be indexed, and the finishing steps have not run. (A second slot on the
        task's ``succeeded`` is not enough: the worker thread posts the two calls one after
        the other, and the GUI thread may run the first and finish the read in between.)"""

        def _received_all(self, result: object) -> None:
            super()._received_all(result)
            self.cancel()

    reader = CancelledOnceAllIsIn(filled_library, Filter(), -1, None)
    finished: list[object] = []
    reader.finished.connect(finished.append)
    with qtbot.waitSignal(reader.done, timeout=60000):
        reader.start()
    assert finished == []


def test_a_samples_count_that_ended_as_the_window_closed_is_not_delivered(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    """The samples banner's count (``ui.following_read``) answered on a worker thread just
    as the window closed: the closed window neither shows it nor reads again."""
    window: MainWindow = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path,
                                     show=False)
    page = window.conversations
    qtbot.waitUntil(lambda: not page.loading, timeout=60000)
    following = page._following
    assert following is not None
    answers: list[object] = []
    following.answered.connect(answers.append)
    following.request()
    following.request()  # asked again while it runs: would read once more after it
    task = following._task
    assert task is not None and task.ended.wait(60)  # its answer waits in the queue
    window.close()
    taken = used_after_close(filled_library)
    qtbot.waitUntil(lambda: not page.loading, timeout=30000)
    assert taken == [] and answers == []
