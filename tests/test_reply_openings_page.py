"""The Reply openings tab of the LoRA Training JSON Files page: counted off the GUI thread
when the tab is shown, listed with counts and shares, and leading to the conversations (to
remove them from the file)."""

from __future__ import annotations

import threading

import pytest
from conftest import addable
from PySide6.QtCore import Qt

from app.library import Library
from app.reply_openings import WHY
from app.trainingfiles import add_conversations, get_training_file
from ui import training_files_page
from ui.training_files_page import TrainingFilesPage

WAIT_MS = 20_000


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each count of a file's openings: the file, and whether it ran on the GUI thread."""
    done: list[tuple[str, bool]] = []
    real = training_files_page.file_openings

    def recorded(library: Library, name: str, *args: object, **kwargs: object) -> object:
        done.append((name, threading.current_thread() is threading.main_thread()))
        return real(library, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(training_files_page, "file_openings", recorded)
    return done


@pytest.fixture
def shown(qtbot, filled_library: Library, dialogs) -> TrainingFilesPage:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "All", addable(ids), create=True)
    page = TrainingFilesPage(filled_library, dialogs)
    qtbot.addWidget(page)
    page.resize(1000, 600)
    page.show()
    page.select_file("All")
    return page


def _counted(qtbot, page: TrainingFilesPage) -> None:
    page.tabs.setCurrentWidget(page.openings_view)
    qtbot.waitUntil(lambda: page.openings_view.found is not None, timeout=WAIT_MS)


def test_openings_are_counted_off_the_gui_thread_only_when_their_tab_is_shown(
        qtbot, shown: TrainingFilesPage, counts: list[tuple[str, bool]]) -> None:
    view = shown.openings_view
    assert counts == [] and view.rows() == []  # the Conversations tab is shown: no count
    _counted(qtbot, shown)
    assert counts == [("All", False)]
    assert view.summary.text() == ("46 trained replies, 13 of them the first reply of a "
                                   "conversation · 28 (61%) end on a question")
    assert view.rows()[0] == ("i love …", "8", "17%", "6", "i love that you …")
    assert len(view.rows()) == 10
    assert view.summary.toolTip() == WHY
    assert "the model will open (or end) nearly every reply that way" in WHY
    tab = shown.tabs.indexOf(view)
    assert shown.tabs.tabToolTip(tab) == WHY
    # the first replies, one word: the generator's "First, …"
    view.replies_choice.setCurrentIndex(1)
    view.words_choice.setCurrentIndex(0)
    assert view.rows()[0] == ("first …", "8", "62%", "8", "first let me say …")
    assert "8 replies of the 13 first replies open “first …”" in \
        view.table.item(0, 0).toolTip()
    # back to the conversations and again: the count is kept for the file as it is
    shown.tabs.setCurrentIndex(0)
    shown.tabs.setCurrentWidget(view)
    assert counts == [("All", False)]


def test_an_opening_selects_its_conversations_to_remove_them(
        qtbot, shown: TrainingFilesPage, filled_library: Library, dialogs) -> None:
    _counted(qtbot, shown)
    view = shown.openings_view
    view.replies_choice.setCurrentIndex(1)
    view.words_choice.setCurrentIndex(0)
    first = view.found.openings.top(1, first=True)[0]
    assert first.words == "first"
    assert not view.select_button.isEnabled()
    view.choose(0)
    assert view.select_button.isEnabled()
    with qtbot.waitSignal(shown.status, timeout=WAIT_MS) as said:
        qtbot.mouseClick(view.select_button, Qt.MouseButton.LeftButton)
    assert shown.tabs.currentIndex() == 0
    assert sorted(shown.selected_member_ids()) == sorted(first.conversations)
    # brought to the top, in the order shown before, so the selection is one range (Qt
    # merges scattered rows in quadratic time: 5,000 of them froze the window 0.3 s)
    ranges = shown.members.selectionModel().selection()
    assert [(r.top(), r.bottom()) for r in ranges] == [(0, 7)]
    model = shown.members_model
    assert [model.row_at(n).conversation_id for n in range(8)] == list(first.conversations)
    assert shown.members.horizontalHeader().sortIndicatorSection() == -1
    assert said.args[0].startswith("Selected 8 conversations with a trained reply opening "
                                   "“first …”")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(shown.members_removed, timeout=WAIT_MS):
        shown.remove_button.click()
    assert get_training_file(filled_library, "All").conversations == 5
    # shown again, the file as it is now is counted again: no first reply opens so
    _counted(qtbot, shown)
    qtbot.waitUntil(lambda: view.found is not None
                    and view.found.openings.first_replies == 5, timeout=WAIT_MS)
    assert "first" not in {item.words for item in view.found.openings.top(1, first=True)}
    assert view.rows()[0][0] != "first …"


def test_a_damaged_build_is_said_in_the_tab_naming_the_file(
        qtbot, shown: TrainingFilesPage, filled_library: Library) -> None:
    with filled_library.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE build_fragments SET jsonl = substr(jsonl, 1, 100)")
    _counted_or_said(qtbot, shown)
    said = shown.openings_view.summary.text()
    assert said.startswith("Could not count the reply openings of 'All': ")
    assert "'All'" in said and "checksum" in said and "Traceback" not in said
    assert shown.openings_view.rows() == []


def _counted_or_said(qtbot, page: TrainingFilesPage) -> None:
    page.tabs.setCurrentWidget(page.openings_view)
    qtbot.waitUntil(lambda: page.openings_view.summary.text().startswith("Could not"),
                    timeout=WAIT_MS)


def test_a_count_for_a_file_no_longer_shown_is_not_shown(
        qtbot, shown: TrainingFilesPage, filled_library: Library) -> None:
    ids = addable([row.conversation_id for row in filled_library.summaries()])
    add_conversations(filled_library, "Few", ids[:3], create=True)
    shown.refresh(select_name="All")
    shown.tabs.setCurrentWidget(shown.openings_view)  # "All" starts counting ...
    shown.select_file("Few")  # ... and "Few" is chosen before it is shown
    qtbot.waitUntil(lambda: not shown._readers, timeout=WAIT_MS)  # every count ended
    found = shown.openings_view.found
    assert found is not None and found.name == "Few"
    assert found.openings.first_replies == 3
    assert found.openings.replies == get_training_file(filled_library, "Few").trainable_replies
