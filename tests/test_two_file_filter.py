"""The Conversations page's second training-file chooser ("and"): with "In A" in the first,
"Not in B" in the second shows what A has and B has not yet (a second file made from a
first), counted like every chooser, remembered at the next start, and cleared, said, when its
file is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_window, settle
from scripted_dialogs import ScriptedDialogs

from app.trainingfiles import add_conversations
from ui import row_reader
from ui.conversation_filters import NO_FILE, file_data
from ui.main import MainWindow
from ui.row_index import FileFilter, FileRule

WAIT_MS = 60_000


@pytest.fixture(params=["small", "large"])
def size(request, monkeypatch) -> str:
    """As in a small library (rows re-read on a thread), or a large one (rows patched or
    read in a child)."""
    if request.param == "large":
        monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)
    return request.param


def _shown(window: MainWindow) -> set[str]:
    model = window.conversations.model
    return {model.row_at(i).conversation_id for i in range(model.rowCount())}


def _two_files(library) -> tuple[set[str], set[str]]:
    """Coaching A holds the first 8 conversations, Coaching B the 5th to the 12th."""
    ids = [row.conversation_id for row in library.summaries()]
    a, b = ids[:8], ids[4:12]
    add_conversations(library, "Coaching A", a, create=True)
    add_conversations(library, "Coaching B", b, create=True)
    return set(a), set(b)


def _item_text(chooser, rule: FileFilter) -> str:
    return chooser.itemText(chooser.findData(file_data(rule)))


def _a_but_not_b(window: MainWindow) -> None:
    page = window.conversations
    assert page.set_file_filter(FileFilter(FileRule.IN, "Coaching A"))
    assert page.filter_bar.set_and_file(FileFilter(FileRule.NOT_IN, "Coaching B"))


def test_in_a_and_not_in_b_shows_what_a_has_and_b_has_not(qtbot, filled_library, dialogs,
                                                          tmp_path: Path) -> None:
    a, b = _two_files(filled_library)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    bar = window.conversations.filter_bar
    assert bar.and_file_box.isVisible()
    _a_but_not_b(window)

    assert _shown(window) == a - b and len(a - b) == 4
    assert bar.wanted().and_file == FileFilter(FileRule.NOT_IN, "Coaching B")
    # Each chooser counts given the other: the second's "Not in B" says the rows shown, its
    # "In B" what A shares with B; the first's "In A" the rows shown, "In B" nothing.
    and_file = bar.and_file_filter
    assert _item_text(and_file, FileFilter(FileRule.NOT_IN, "Coaching B")) == \
        "Not in Coaching B (4)"
    assert _item_text(and_file, FileFilter(FileRule.IN, "Coaching B")) == \
        f"In Coaching B ({len(a & b)})"
    assert and_file.findData(NO_FILE) < 0 <= bar.files_filter.findData(NO_FILE)  # first only
    assert _item_text(bar.files_filter, FileFilter(FileRule.IN, "Coaching A")) == \
        "In Coaching A (4)"
    assert _item_text(bar.files_filter, FileFilter(FileRule.IN, "Coaching B")) == \
        "In Coaching B (0)"

    window.conversations.clear_filters_button.click()
    assert bar.wanted().and_file is None and bar.and_file_filter.value() is None
    assert len(_shown(window)) == window.conversations.model.index_.count
    assert _item_text(bar.and_file_filter, FileFilter(FileRule.IN, "Coaching B")) == \
        f"In Coaching B ({len(b)})"


def test_the_second_rule_is_remembered_at_the_next_start(qtbot, filled_library,
                                                         tmp_path: Path) -> None:
    a, b = _two_files(filled_library)
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, window)
    _a_but_not_b(window)
    state = window.conversations.filter_bar.state()
    assert set(state) == {"training_file", "and_file"}
    window.save_settings()
    window.close()

    again = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, again)
    assert again.conversations.filter_bar.state() == state
    assert _shown(again) == a - b


def test_a_deleted_file_clears_the_second_rule_and_says_so(qtbot, size, filled_library,
                                                           dialogs, tmp_path: Path) -> None:
    a, _b = _two_files(filled_library)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    _a_but_not_b(window)
    page = window.conversations
    messages: list[str] = []
    page.notice.connect(messages.append)

    window.training_files.refresh()
    assert window.training_files.select_file("Coaching B")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(window.training_files.status, timeout=60000):  # a job
        window.training_files.delete_button.click()
    settle(qtbot, window)

    assert page.filter_bar.wanted().and_file is None
    assert page.filter_bar.and_file_filter.value() is None
    assert page.filter_bar.wanted().training_file == FileFilter(FileRule.IN, "Coaching A")
    assert _shown(window) == a
    assert messages == ["Filter 'Not in Coaching B' cleared: training file 'Coaching B' was "
                        "deleted. 8 conversations shown."]
    assert not page.filter_bar.and_file_box.isVisible()  # one file left: nothing to combine


def test_a_renamed_file_keeps_the_second_rule_on_its_new_name(qtbot, size, filled_library,
                                                              dialogs, tmp_path: Path) -> None:
    a, b = _two_files(filled_library)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    _a_but_not_b(window)
    page = window.conversations

    window.training_files.refresh()
    assert window.training_files.select_file("Coaching B")
    dialogs.texts.append("Coaching B2")
    with qtbot.waitSignal(window.training_files.status, timeout=WAIT_MS):
        window.training_files.file_actions["rename"].trigger()
    settle(qtbot, window)

    assert page.filter_bar.wanted().and_file == FileFilter(FileRule.NOT_IN, "Coaching B2")
    assert page.filter_bar.and_file_filter.currentText().startswith("Not in Coaching B2")
    assert _shown(window) == a - b
