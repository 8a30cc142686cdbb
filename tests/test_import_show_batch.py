"""After an import into one batch, the summary's "Show batch" goes straight to that batch:
the Batch ID chooser of a library of many batches was the only way there."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ENRICHED, LEGACY, open_window, settle
from PySide6.QtGui import QKeySequence

from app.importer import import_paths
from app.library import Library
from ui.import_flow import ImportSummaryDialog


def folder_of(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    return folder


def test_show_batch_shows_only_the_imported_batch_with_the_other_filters_cleared(
        qtbot, library: Library, dialogs, tmp_path: Path) -> None:
    import_paths(library, [folder_of(LEGACY, tmp_path / "older-run")])
    window = open_window(qtbot, library, dialogs, tmp_path)
    page = window.conversations
    page.arc_filter.setCurrentIndex(1)  # a filter left from earlier work: one arc
    assert page.arc_filter.value() is not None
    new_run = folder_of(ENRICHED, tmp_path / "new-run")
    dialogs.folders.append(new_run)
    dialogs.texts.append("")  # the folder names the batch
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as done:
        window.import_folder_action.trigger()
    stored = len(done.args[0].stored_ids)
    summary = window.importer.last_summary
    button = summary.show_batch_button
    assert button is not None and button.text() == "Show batch 'new-run'"
    button.click()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: page.batch_filter.value() == "new-run", timeout=30000)
    assert not summary.isVisible()
    assert page.arc_filter.value() is None, "the arc filter would hide part of the batch"
    assert page.model.shown_count == stored
    assert {page.model.row_at(r).batch_id for r in range(page.model.rowCount())} == {"new-run"}
    assert window.pages.currentIndex() == 0
    assert window.focusWidget() is page.table  # (the keyboard there once the window is active)
    assert page.reader_conversation_id() == page.model.row_at(0).conversation_id


def test_no_show_batch_button_when_the_import_made_several_batches(
        qtbot, library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, library, dialogs, tmp_path)
    drop = tmp_path / "drop"
    folder_of(ENRICHED, drop / "run-a")
    folder_of(LEGACY, drop / "run-b")
    dialogs.folders.append(drop)
    dialogs.texts.append("")
    with qtbot.waitSignal(window.importer.finished, timeout=30000):
        window.import_folder_action.trigger()
    assert window.importer.last_summary.show_batch_button is None
    assert {b.batch_id for b in library.batches()} == {"run-a", "run-b"}
    window.importer.last_summary.close()


def test_an_ampersand_in_the_batch_name_shows_on_the_button(qtbot, library: Library,
                                                           tmp_path: Path) -> None:
    """A button's '&' marks its Alt key and is not shown: a folder 'Q&A' read 'Show batch
    'QA'' with Alt+A taken."""
    report = import_paths(library, [folder_of(ENRICHED, tmp_path / "Q&A")])
    summary = ImportSummaryDialog(report)
    qtbot.addWidget(summary)
    button = summary.show_batch_button
    assert button is not None
    assert QKeySequence.mnemonic(button.text()).isEmpty()
    assert button.text().replace("&&", "&") == "Show batch 'Q&A'"
