"""The import's batch question says what an empty answer does, naming the batches it
will make when it can, and fits a 1366 px laptop screen at 150 % (OK and Cancel on it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ENRICHED, LEGACY, open_window
from PySide6.QtWidgets import QInputDialog

from app.library import Library
from ui.import_flow import QUESTION_WIDTH, batch_question

LAPTOP_AT_150 = 1366 / 1.5  # logical pixels across a 1366 px screen at QT_SCALE_FACTOR=1.5


def test_files_chosen_from_one_folder_go_into_the_batch_the_question_names(
        qtbot, library: Library, dialogs, tmp_path: Path) -> None:
    folder = tmp_path / "november-calls"
    folder.mkdir()
    chosen = [Path(shutil.copy(path, folder / path.name)) for path in ENRICHED[:2]]
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append(chosen)
    dialogs.texts.append("")
    with qtbot.waitSignal(window.importer.finished, timeout=30000):
        window.import_files_action.trigger()
    window.importer.last_summary.close()
    assert "(here: 'november-calls')" in " ".join(dialogs.labels[-1].split())
    assert [b.batch_id for b in library.batches()] == ["november-calls"]


def test_the_question_names_each_folder_of_files_chosen_from_two() -> None:
    question = " ".join(batch_question([ENRICHED[0], LEGACY[0]]).split())
    assert "each folder becomes a batch named after it (here: 'enriched' and 'legacy')" \
        in question


def test_a_dropped_folder_is_not_named_before_it_is_read() -> None:
    question = batch_question([ENRICHED[0].parent.parent])
    assert question.startswith("Importing 1 folder.\n\n")
    assert "here:" not in question


def test_the_question_fits_a_laptop_screen_at_150_percent(qtbot) -> None:
    question = batch_question([ENRICHED[0].parent.parent, *ENRICHED, *LEGACY])
    assert max(len(line) for line in question.splitlines()) <= QUESTION_WIDTH
    dialog = QInputDialog()
    qtbot.addWidget(dialog)
    dialog.setWindowTitle("Import")
    dialog.setLabelText(question)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() < LAPTOP_AT_150 - 40, dialog.width()  # room for the frame
