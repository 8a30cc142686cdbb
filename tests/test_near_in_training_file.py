"""Near-duplicates within a training file, on the LoRA Training JSON Files page: a real
library holding real fixtures, a re-generation and a shorter copy of one of them, real
widgets. The file's warnings say how many members nearly repeat another of the file, the
list marks them and selects them, and the count follows adds and removals."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt, QThreadPool
from shorter_copy import LONG_ID, SHORT_ID, shorter_copy
from test_add_review import near_twin_file

from app.importer import import_paths
from app.near_in_file import near_members
from app.similar import own_warnings
from app.trainingfiles import add_conversations, create_training_file, remove_conversations
from ui import training_files_page
from ui.members_model import MEMBER_WARNINGS
from ui.training_files_page import COUNTING_NEAR

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 15_000
TWIN = "fp_conversation_near"  # enriched-1.json with one sentence added to its last reply


@pytest.fixture
def near_library(filled_library, tmp_path):
    """The fixtures, a re-generation of enriched-1.json and a copy of it cut short."""
    import_paths(filled_library, [near_twin_file(tmp_path / "twin"),
                                  shorter_copy(tmp_path / "short", 4)])
    return filled_library


def others(library) -> list[str]:
    """The fixtures that are near none of the others, in the library's order."""
    return [row.conversation_id for row in library.summaries()
            if row.conversation_id not in {LONG_ID, TWIN, SHORT_ID}]


def make_file(library, name: str, ids: list[str]) -> None:
    create_training_file(library, name, cut_off_policy="keep")
    add_conversations(library, name, ids)


def warnings_line(page) -> str:
    return page.quality_label.text().splitlines()[1]


def test_the_members_that_repeat_an_earlier_one_each_with_the_one_it_repeats(near_library):
    """In file order, as an add would judge them: the re-generation and the shorter copy
    each repeat the original before them; the original and the rest repeat nothing."""
    rest = others(near_library)
    make_file(near_library, "Mixed", [rest[0], LONG_ID, rest[1], TWIN, *rest[2:], SHORT_ID])
    found = near_members(near_library, "Mixed")
    assert found.repeats == {TWIN: LONG_ID, SHORT_ID: LONG_ID}
    assert found.members[:4] == (rest[0], LONG_ID, rest[1], TWIN)
    make_file(near_library, "Twin first", [TWIN, LONG_ID])
    assert near_members(near_library, "Twin first").repeats == {LONG_ID: TWIN}
    make_file(near_library, "Clean", rest)
    assert near_members(near_library, "Clean").repeats == {}


def test_the_warnings_count_the_near_duplicates_and_the_list_marks_them(qtbot, page,
                                                                        near_library):
    """A file of otherwise clean conversations was "Warnings: none"; now it says how many
    nearly repeat another in the file, and the list marks each one, naming its twin."""
    clean = [row.conversation_id for row in near_library.summaries()  # twins included
             if not own_warnings(row.warning_codes) and row.conversation_id != LONG_ID]
    assert TWIN in clean and SHORT_ID in clean
    make_file(near_library, "Twins", [LONG_ID, *clean, SHORT_ID])
    page.refresh(select_name="Twins")
    assert warnings_line(page) == ("Warnings: 2 conversations are near-duplicates of another "
                                   "in this file (≈ in the Warnings column)")
    assert "extra weight in training" in page.quality_label.toolTip()
    model = page.members_model
    marks = {model.row_at(r).conversation_id: model.index(r, MEMBER_WARNINGS).data()
             for r in range(model.rowCount())}
    assert marks == {cid: ("≈" if cid in {TWIN, SHORT_ID} else "") for cid in marks}
    twin_row = next(r for r in range(model.rowCount()) if model.row_at(r).conversation_id == TWIN)
    tip = model.index(twin_row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert f"≈ Near-duplicate in this file: nearly repeats {LONG_ID} (" in tip
    assert page.near_button.isVisibleTo(page)
    assert page.near_button.text() == "Select 2 near-duplicates"


def test_own_warnings_and_near_duplicates_are_said_together(page, near_library):
    make_file(near_library, "Everything", [row.conversation_id
                                           for row in near_library.summaries()])
    page.refresh(select_name="Everything")
    line = warnings_line(page)
    assert line.startswith("Warnings: 4 conversations with warnings (")
    assert line.endswith(" · 2 conversations are near-duplicates of another in this file "
                         "(≈ in the Warnings column)")
    make_file(near_library, "Clean", others(near_library)[:3])
    page.refresh(select_name="Clean")
    assert warnings_line(page) == "Warnings: none"
    assert not page.near_button.isVisibleTo(page)
    assert page.quality_label.toolTip() == ""


def test_select_near_duplicates_then_remove_them_leaves_one_of_each(qtbot, page, dialogs,
                                                                    near_library):
    """The button sorts them to the top and selects exactly them; removing them keeps the
    original, and the warnings say none again. Adding a twin back counts it again."""
    rest = others(near_library)[:4]
    make_file(near_library, "Curated", [rest[0], LONG_ID, TWIN, *rest[1:], SHORT_ID])
    page.refresh(select_name="Curated")
    qtbot.mouseClick(page.near_button, Qt.MouseButton.LeftButton)
    assert page.selected_member_ids() == [TWIN, SHORT_ID]
    model = page.members_model
    assert {model.row_at(0).conversation_id, model.row_at(1).conversation_id} == {
        TWIN, SHORT_ID}, "sorted together at the top"
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert page.members_model.rowCount() == 5
    assert warnings_line(page) == "Warnings: none"
    assert not page.near_button.isVisibleTo(page)
    add_conversations(near_library, "Curated", [TWIN])
    page.changes.training_files_changed.emit()
    assert warnings_line(page) == ("Warnings: 1 conversation is a near-duplicate of another "
                                   "in this file (≈ in the Warnings column)")


def test_a_large_files_near_duplicates_are_counted_on_a_worker(qtbot, page, near_library,
                                                               monkeypatch):
    """From DETAILS_IN_WORKER_FROM members on, the count runs off the GUI thread: the
    details say it is being counted, then the count and the marks come; a removal
    elsewhere is counted again when the page hears of it."""
    rest = others(near_library)
    make_file(near_library, "Large", [LONG_ID, TWIN, *rest, SHORT_ID])
    monkeypatch.setattr(training_files_page, "DETAILS_IN_WORKER_FROM", 10)
    may_count = threading.Event()
    counted_on: list[str] = []
    real = training_files_page.near_members

    def held(library, name, **kwargs):
        counted_on.append(threading.current_thread().name)
        may_count.wait(WAIT_MS / 1000)
        return real(library, name, **kwargs)

    monkeypatch.setattr(training_files_page, "near_members", held)
    page.refresh(select_name="Large")
    qtbot.waitUntil(lambda: page.members_model.rowCount() == 17, timeout=WAIT_MS)
    own, near = warnings_line(page).split(" · ")
    assert own.startswith("Warnings: 4 conversations with warnings (")
    assert near == COUNTING_NEAR == "looking for near-duplicates in this file…"
    assert page.members_model.near_ids() == [] and not page.near_button.isVisibleTo(page)
    may_count.set()
    qtbot.waitUntil(lambda: COUNTING_NEAR not in page.quality_label.text(), timeout=WAIT_MS)
    assert warnings_line(page) == (f"{own} · 2 conversations are near-duplicates of another "
                                   "in this file (≈ in the Warnings column)")
    assert page.members_model.near_ids() == [TWIN, SHORT_ID]
    assert page.near_button.isVisibleTo(page)
    assert counted_on and threading.current_thread().name not in counted_on
    remove_conversations(near_library, "Large", [TWIN])
    page.changes.training_files_changed.emit()
    qtbot.waitUntil(lambda: page.members_model.rowCount() == 16
                    and COUNTING_NEAR not in page.quality_label.text(), timeout=WAIT_MS)
    assert page.members_model.near_ids() == [SHORT_ID]
    assert warnings_line(page) == (f"{own} · 1 conversation is a near-duplicate of another "
                                   "in this file (≈ in the Warnings column)")
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0,
                    timeout=WAIT_MS)


def test_a_count_nobody_waits_for_is_stopped(qtbot, page, near_library, monkeypatch):
    """Choosing another large file stops the count of the one before (it would keep a
    worker busy for nothing); the file chosen gets its own."""
    rest = others(near_library)
    make_file(near_library, "First", [LONG_ID, TWIN, *rest])
    make_file(near_library, "Second", [*rest, LONG_ID, SHORT_ID])
    monkeypatch.setattr(training_files_page, "DETAILS_IN_WORKER_FROM", 10)
    may_count = threading.Event()
    asked: list[tuple[str, object]] = []
    real = training_files_page.near_members

    def held(library, name, cancelled):
        asked.append((name, cancelled))
        may_count.wait(WAIT_MS / 1000)
        return real(library, name, cancelled=cancelled)

    monkeypatch.setattr(training_files_page, "near_members", held)
    page.refresh(select_name="First")
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT_MS)
    page.refresh(select_name="Second")
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=WAIT_MS)
    assert [(name, cancelled()) for name, cancelled in asked] == [("First", True),
                                                                  ("Second", False)]
    may_count.set()
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: COUNTING_NEAR not in page.quality_label.text(), timeout=WAIT_MS)
    # The chosen file's count lands through a queued signal after its worker ends (under
    # load, after the checks above): wait for it, then see no stale count replace it.
    qtbot.waitUntil(lambda: page.members_model.near_ids() == [SHORT_ID], timeout=WAIT_MS)
    qtbot.wait(200)
    assert page.members_model.near_ids() == [SHORT_ID]
    assert warnings_line(page).endswith("1 conversation is a near-duplicate of another in "
                                        "this file (≈ in the Warnings column)")


def test_a_medium_files_near_duplicates_are_counted_on_a_worker(qtbot, page, near_library,
                                                                monkeypatch):
    """From NEAR_AT_ONCE_BELOW members on, the details are still read at once but the
    count runs on a worker: "looking for …" until it comes."""
    make_file(near_library, "Medium", [LONG_ID, *others(near_library), TWIN])
    monkeypatch.setattr(training_files_page, "NEAR_AT_ONCE_BELOW", 10)
    may_count = threading.Event()
    counted_on: list[str] = []
    real = training_files_page.near_members

    def held(library, name, **kwargs):
        counted_on.append(threading.current_thread().name)
        may_count.wait(WAIT_MS / 1000)
        return real(library, name, **kwargs)

    monkeypatch.setattr(training_files_page, "near_members", held)
    page.refresh(select_name="Medium")
    assert page.members_model.rowCount() == 16, "the details at once"
    assert warnings_line(page).endswith(f" · {COUNTING_NEAR}")
    page.members.sortByColumn(MEMBER_WARNINGS, Qt.SortOrder.DescendingOrder)
    assert page.members_model.row_at(0).conversation_id != TWIN
    may_count.set()
    qtbot.waitUntil(lambda: COUNTING_NEAR not in page.quality_label.text(), timeout=WAIT_MS)
    assert page.members_model.near_ids() == [TWIN]
    assert page.members_model.row_at(0).conversation_id == TWIN, "a sort by Warnings takes it in"
    assert counted_on and threading.current_thread().name not in counted_on


def test_a_count_of_members_counted_before_is_stopped_once_they_are_read(
        qtbot, page, near_library, monkeypatch):
    """A large file's count starts beside the read of its members; when those members are
    the ones counted before (the file shown again, an Undo that put them back), the count
    is stopped as soon as they are read, and what was counted before is shown."""
    rest = others(near_library)
    make_file(near_library, "Again", [LONG_ID, TWIN, *rest])
    monkeypatch.setattr(training_files_page, "DETAILS_IN_WORKER_FROM", 10)
    page.refresh(select_name="Again")
    qtbot.waitUntil(lambda: page.members_model.near_ids() == [TWIN], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0,
                    timeout=WAIT_MS)
    may_count = threading.Event()
    asked: list[object] = []
    real = training_files_page.near_members

    def held(library, name, cancelled):
        asked.append(cancelled)
        may_count.wait(WAIT_MS / 1000)
        return real(library, name, cancelled=cancelled)

    monkeypatch.setattr(training_files_page, "near_members", held)
    page.changes.training_files_changed.emit()  # read again: the same members
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: asked[0](), timeout=WAIT_MS)  # stopped, not left to run
    assert page.members_model.near_ids() == [TWIN]
    assert page.near_button.isVisibleTo(page)
    may_count.set()
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0,
                    timeout=WAIT_MS)
    qtbot.wait(100)
    assert page.members_model.near_ids() == [TWIN]
