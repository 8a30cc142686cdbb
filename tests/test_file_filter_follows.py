"""The Conversations page's training-file filter after the file it names is renamed or
deleted on the Training files page: a rename keeps the filter (on the new name), a deletion
clears it and says so, so Check all shown never silently checks the whole library."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import open_window, settle
from held_jobs import held_file_rename

from app.errors import LibraryError
from app.trainingfiles import add_conversations, create_training_file, rename_training_file
from ui import row_reader, training_files_page
from ui.row_index import FileFilter, FileRule, RowIndex

WAIT_MS = 60_000


@pytest.fixture(params=["small", "large"])
def size(request, monkeypatch) -> str:
    """As in a small library (rows re-read on a thread), or a large one (rows patched,
    ``ui.row_patch``, or read in a child)."""
    if request.param == "large":
        monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)
    return request.param


@pytest.fixture
def window(qtbot, size, filled_library, dialogs, tmp_path: Path):
    """The window on the fixtures, with 'fixt' holding five of them, shown on its page."""
    ids = [row.conversation_id for row in filled_library.summaries()][:5]
    create_training_file(filled_library, "fixt", cut_off_policy="keep")
    add_conversations(filled_library, "fixt", ids)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    window.training_files.refresh()
    assert window.training_files.select_file("fixt")
    return window


@pytest.mark.parametrize("rule", [FileRule.IN, FileRule.NOT_IN])
def test_a_renamed_file_keeps_the_filter_on_its_new_name(qtbot, window, dialogs, rule):
    page = window.conversations
    assert page.set_file_filter(FileFilter(rule, "fixt"))
    shown = {page.model.row_at(r).conversation_id for r in range(page.model.rowCount())}
    total = page.model.index_.count
    assert len(shown) == (5 if rule is FileRule.IN else total - 5)

    dialogs.texts.append("fixtures-renamed")
    with qtbot.waitSignal(window.training_files.status, timeout=WAIT_MS):
        window.training_files.file_actions["rename"].trigger()
    settle(qtbot, window)

    assert page.filter_bar.wanted().training_file == FileFilter(rule, "fixtures-renamed")
    assert page.filter_bar.files_filter.currentText().startswith(
        f"{'In' if rule is FileRule.IN else 'Not in'} fixtures-renamed")
    window.select_all_action.trigger()
    assert set(page.model.checked_ids()) == shown  # Check all shown checks the same rows


def test_a_deleted_file_clears_its_filter_and_says_so(qtbot, window, dialogs):
    page = window.conversations
    assert page.set_file_filter(FileFilter(FileRule.IN, "fixt"))
    assert page.model.rowCount() == 5
    messages: list[str] = []
    page.notice.connect(messages.append)
    shown: list[str] = []  # (read as shown: the bar forgets a message after 8 s)
    window.statusBar().messageChanged.connect(shown.append)

    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.training_files.status, timeout=60000):  # a job
        window.training_files.delete_button.click()
    settle(qtbot, window)

    assert page.filter_bar.wanted().training_file is None
    total = page.model.rowCount()
    assert total == page.model.index_.count
    assert messages == [f"Filter 'In fixt' cleared: training file 'fixt' was deleted. "
                        f"{total:,} conversations shown."]
    assert [text for text in shown if text][-1].endswith(messages[0])


def test_rows_read_before_a_rename_keep_the_filter_for_the_read_after_it(qtbot, window,
                                                                        filled_library):
    """A read that started before the rename hands over rows that know only the old name:
    the filter stays on it, then follows the file when the rows with the new name come."""
    page = window.conversations
    assert page.set_file_filter(FileFilter(FileRule.IN, "fixt"))
    read_before = RowIndex(filled_library.summaries())
    messages: list[str] = []
    page.notice.connect(messages.append)
    shown: list[str] = []  # (read as shown: the bar forgets a message after 8 s)
    window.statusBar().messageChanged.connect(shown.append)

    rename_training_file(filled_library, "fixt", "fixtures-renamed")
    window.changes.training_file_renamed.emit("fixt", "fixtures-renamed")
    page.row_loading.loaded.emit(read_before)  # the earlier read ends now
    assert page.filter_bar.wanted().training_file == FileFilter(FileRule.IN, "fixt")
    assert page.model.rowCount() == 5
    window.changes.training_files_changed.emit()
    settle(qtbot, window)

    assert page.filter_bar.wanted().training_file == FileFilter(FileRule.IN,
                                                                "fixtures-renamed")
    assert page.model.rowCount() == 5
    assert messages == []


def test_rows_read_after_the_write_but_before_the_announcement_follow_the_rename(
        qtbot, window, dialogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows read while the rename is written but not yet announced no longer hold the old
    name: the filter follows the rename being written instead of being cleared as if the
    file had been deleted."""
    page = window.conversations
    assert page.set_file_filter(FileFilter(FileRule.IN, "fixt"))
    shown = {page.model.row_at(r).conversation_id for r in range(page.model.rowCount())}
    messages: list[str] = []
    page.notice.connect(messages.append)
    gate = tmp_path / "rename-gate"
    monkeypatch.setattr(training_files_page, "rename_training_file",
                        functools.partial(held_file_rename, gate=str(gate)))

    dialogs.texts.append("fixtures-renamed")
    window.training_files.file_actions["rename"].trigger()
    qtbot.waitUntil(Path(f"{gate}.held").exists, timeout=WAIT_MS)  # written, not announced
    window.changes.conversations_changed.emit()  # a read of the rows, with the new name
    qtbot.waitUntil(lambda: not page.row_loading.loading, timeout=WAIT_MS)
    before_announcement = page.filter_bar.wanted().training_file, page.model.rowCount()
    with qtbot.waitSignal(window.training_files.status, timeout=WAIT_MS):
        gate.touch()  # now the rename is announced
    settle(qtbot, window)

    renamed = FileFilter(FileRule.IN, "fixtures-renamed")
    assert before_announcement == (renamed, 5)
    assert page.filter_bar.wanted().training_file == renamed
    window.select_all_action.trigger()
    assert set(page.model.checked_ids()) == shown
    assert messages == []


def test_a_refused_rename_is_not_followed(qtbot, window, dialogs, monkeypatch) -> None:
    """A rename refused (or cancelled) leaves no rename for a later read to follow: a file
    later created under the refused name would otherwise take the filter off the old file,
    which is still there."""
    page = window.conversations
    assert page.set_file_filter(FileFilter(FileRule.IN, "fixt"))

    def refused(*_args: object) -> None:
        raise LibraryError("the training file is locked by another window")

    monkeypatch.setattr(training_files_page, "rename_training_file", refused)
    dialogs.texts.append("fixtures-renamed")
    with qtbot.waitSignal(window.training_files.status, timeout=WAIT_MS):
        window.training_files.file_actions["rename"].trigger()
    settle(qtbot, window)

    assert page.row_loading.file_rename.current is None
    assert page.filter_bar.wanted().training_file == FileFilter(FileRule.IN, "fixt")
