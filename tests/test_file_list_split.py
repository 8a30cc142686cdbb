"""The LoRA Training JSON Files page gives its width to the selected file's conversations:
the file list is as wide as its names and counts (it took a fixed 2/7 of the page, some
30 % at 1366 px, while the conversations' topics were cut), until the person drags the
handle; then it keeps the width chosen, also after a restart. In the conversations, the
Warnings column takes what its texts need (up to a third of the room), not an equal share
with Arc and Topic. The real window on a real library of the fixtures, with its settings
in a real ini file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.library import Library
from app.trainingfiles import add_conversations
from ui.cell_width import widest_cell
from ui.main import MainWindow
from ui.members_model import MEMBER_ARC, MEMBER_TOPIC, MEMBER_WARNINGS
from ui.training_files_model import CONVERSATIONS, NAME

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 15_000
NAMES = ("Pilot", "emotional-support-v1")


def files_window(qtbot, library: Library, dialogs, tmp_path: Path,
                 size: tuple[int, int], shown: str = NAMES[1]) -> MainWindow:
    """The window at ``size`` on the files page, showing the file ``shown``."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(library, dialogs, settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    page = window.training_files
    window.pages.setCurrentWidget(page)
    qtbot.waitUntil(lambda: page.select_file(shown), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.name_label.text() == shown
                    and page.members_model.rowCount() > 0, timeout=WAIT_MS)
    QApplication.processEvents()
    return window


@pytest.fixture
def two_files(filled_library: Library) -> Library:
    ids = [row.conversation_id for row in filled_library.summaries()]
    for name in NAMES:
        add_conversations(filled_library, name, ids[:4], create=True)
    return filled_library


@pytest.mark.parametrize("size", [(1366, 768), (1093, 614), (1920, 1080)])
def test_the_list_is_as_wide_as_its_names_and_the_conversations_take_the_rest(
        qtbot, two_files: Library, dialogs, tmp_path: Path, size: tuple[int, int]) -> None:
    window = files_window(qtbot, two_files, dialogs, tmp_path, size)
    page = window.training_files
    table = page.table
    listed, details = page.splitter.sizes()
    assert listed <= (listed + details) // 4, "the list takes no more than a quarter"
    heading = table.horizontalHeader()
    assert heading.sectionSize(NAME) >= widest_cell(table, NAMES), "every name shows whole"
    assert heading.sectionSize(CONVERSATIONS) >= heading.sectionSizeHint(CONVERSATIONS)
    assert not table.horizontalScrollBar().isVisible()
    assert details == page.details.width()


def test_a_dragged_list_keeps_its_width_as_the_window_changes_and_after_a_restart(
        qtbot, two_files: Library, dialogs, tmp_path: Path) -> None:
    window = files_window(qtbot, two_files, dialogs, tmp_path, (1366, 768))
    splitter = window.training_files.splitter
    fitted = splitter.sizes()[0]
    splitter.moveSplitter(fitted + 120, 1)  # the person wants longer names whole
    chosen = splitter.sizes()[0]
    assert chosen > fitted + 100
    window.resize(1600, 900)
    QApplication.processEvents()
    assert splitter.sizes()[0] == chosen, "the details took what the window gained"
    window.close()

    again = files_window(qtbot, two_files, dialogs, tmp_path, (1366, 768))
    assert again.training_files.splitter.sizes()[0] == chosen
    again.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert int(settings.value("training_files/list_width")) == chosen


def test_a_list_never_dragged_is_fitted_again_after_a_restart(
        qtbot, two_files: Library, dialogs, tmp_path: Path) -> None:
    """Only a width the person chose is remembered: a window first opened small fits its
    list again when it opens larger."""
    window = files_window(qtbot, two_files, dialogs, tmp_path, (1000, 600))
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value("training_files/list_width") is None
    again = files_window(qtbot, two_files, dialogs, tmp_path, (1920, 1080))
    listed, details = again.training_files.splitter.sizes()
    table = again.training_files.table
    assert table.horizontalHeader().sectionSize(NAME) >= widest_cell(table, NAMES)
    assert listed <= (listed + details) // 4


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_warnings_take_what_they_need_and_arc_and_topic_the_rest(
        qtbot, two_files: Library, dialogs, tmp_path: Path, size: tuple[int, int]) -> None:
    every = [row.conversation_id for row in two_files.summaries()]
    add_conversations(two_files, "Everything", every, create=True)
    window = files_window(qtbot, two_files, dialogs, tmp_path, size, "Everything")
    page = window.training_files
    table, model = page.members, page.members_model
    heading = table.horizontalHeader()
    texts = [model.index(r, MEMBER_WARNINGS).data() for r in range(model.rowCount())]
    assert any(texts), "some of them carry a warning"
    warnings = heading.sectionSize(MEMBER_WARNINGS)
    assert warnings >= widest_cell(table, texts), "every warning shows whole"
    assert warnings == max(widest_cell(table, texts), heading.sectionSizeHint(MEMBER_WARNINGS))
    assert heading.sectionSize(MEMBER_ARC) == heading.sectionSize(MEMBER_TOPIC) > warnings
    assert not table.horizontalScrollBar().isVisible()
