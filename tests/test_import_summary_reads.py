"""The import summary as a first-hour user reads it: counts in their own units (files,
folders, conversations), duplicates named by their file, client and batch, files of the
older v3 format counted in one line, each entry a row of its own that wraps whole, and the
whole summary copied as text. Real files, a real library, the real dialog."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ENRICHED, FIXTURES, LEGACY
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.importer import Verdict, import_paths
from app.library import Library
from ui.import_flow import OLDER_LISTED, ImportSummaryDialog
from ui.import_summary_view import wrapped

FULL = FIXTURES / "full" / "user-full-file-3-conversations.json"
OLDER = ("in the older v3 format (hand-written pairs, no scaffolding) were converted as they "
         "were imported; the files themselves are not changed")


def copied(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    return folder


def a_drop_with_one_of_each_problem(root: Path) -> list[Path]:
    """Two conversation files (one twice), a broken file, a full training file one of
    whose three conversations is broken; and a folder without conversations."""
    drop = copied(ENRICHED[:2], root / "drop")
    shutil.copy(ENRICHED[0], drop / "again-the-first.json")
    (drop / "broken.json").write_text("{", encoding="utf-8")
    full = json.loads(FULL.read_text(encoding="utf-8"))
    full["conversations"][1]["training_pairs"] = "lost"
    (drop / "full").mkdir()
    (drop / "full" / FULL.name).write_text(json.dumps(full), encoding="utf-8")
    (empty := root / "drop-2" / "empty-folder").mkdir(parents=True)
    return [drop, empty]


def rows(dialog: ImportSummaryDialog) -> dict[str, list[str]]:
    """The summary's rows as the view lists them: each heading, and the lines below it."""
    model = dialog.sections
    found: dict[str, list[str]] = {}
    for row in range(model.rowCount()):
        text = model.data(model.index(row, 0))
        if model.is_heading(row):
            found[text] = lines = []
        else:
            lines.append(text)
    return found


def headings(dialog: ImportSummaryDialog) -> list[str]:
    return list(rows(dialog))


def lines_under(dialog: ImportSummaryDialog, heading: str) -> list[str]:
    return rows(dialog)[heading]


def test_counts_are_said_in_files_folders_and_conversations(
        qtbot, library: Library, tmp_path: Path) -> None:
    drop, empty = a_drop_with_one_of_each_problem(tmp_path)
    report = import_paths(library, [drop, empty])
    assert report.summary() == (
        "4 conversations imported, 1 conversation repeating another of this import "
        "(skipped), 1 file, 1 folder and 1 conversation could not be imported.")
    dialog = ImportSummaryDialog(report)
    qtbot.addWidget(dialog)
    assert headings(dialog)[:2] == [
        "1 file, 1 folder and 1 conversation could not be imported",
        "1 conversation repeats another of this import (skipped)"]
    assert dialog.headline.text() == report.summary()

    again = import_paths(library, [drop / ENRICHED[1].name])
    assert again.summary() == ("0 conversations imported, 1 conversation already in the "
                               "library (skipped).")


def test_a_duplicate_is_named_by_its_file_its_client_and_where_its_copy_is(
        qtbot, library: Library, tmp_path: Path) -> None:
    import_paths(library, [copied(ENRICHED[:1], tmp_path / "delivery-1")])
    (stored,) = library.summaries()
    assert stored.persona_name  # the fixture names its client
    later = copied(ENRICHED[:1], tmp_path / "delivery-2")
    shutil.copy(ENRICHED[0], later / "resent.json")
    dialog = ImportSummaryDialog(import_paths(library, [later]))
    qtbot.addWidget(dialog)
    name = ENRICHED[0].name
    assert lines_under(dialog, "2 conversations were already in the library (skipped)") == [
        f"delivery-2/{name}: {stored.persona_name}'s conversation is already in the library "
        f"(batch 'delivery-1', from {name}); skipped. Conversation id "
        f"{stored.conversation_id}",
        f"delivery-2/resent.json: {stored.persona_name}'s conversation is already in the "
        f"library (batch 'delivery-1', from {name}); skipped. Conversation id "
        f"{stored.conversation_id}"]


def test_files_of_the_older_format_are_counted_in_one_line_and_named_when_few(
        qtbot, library: Library, tmp_path: Path) -> None:
    few = LEGACY[:2]
    report = import_paths(library, [copied([*few, ENRICHED[0]], tmp_path / "few")])
    assert report.summary() == ("3 conversations imported. 2 files in the older v3 format "
                                "were converted as they were imported.")
    dialog = ImportSummaryDialog(report)
    qtbot.addWidget(dialog)
    assert lines_under(dialog, f"2 files {OLDER}") == [f"few/{path.name}" for path in few]

    many = copied(LEGACY[2:], tmp_path / "many" / "batch-1")
    copied(LEGACY[:1], tmp_path / "many" / "batch-2")  # stored already: not converted
    report = import_paths(library, [many.parent])
    assert len(LEGACY[2:]) > OLDER_LISTED
    dialog = ImportSummaryDialog(report)
    qtbot.addWidget(dialog)
    assert lines_under(dialog, f"{len(LEGACY[2:])} files {OLDER}") == [
        f"in batch-1/ ({len(LEGACY[2:])} files)"]
    assert report.count(Verdict.DUPLICATE) == 1


def test_each_entry_is_a_row_of_its_own_whose_wrapped_text_it_holds_whole(
        qtbot, library: Library, tmp_path: Path) -> None:
    """On a laptop at 150 % (1366×768 is 911×512 in the window's pixels) the summary
    fits, and an entry that wraps takes the lines it needs: nothing runs into the next."""
    dialog = ImportSummaryDialog(import_paths(library, a_drop_with_one_of_each_problem(
        tmp_path)))
    qtbot.addWidget(dialog)
    hint = dialog.minimumSizeHint()
    assert hint.width() <= 911 and hint.height() <= 470, hint
    dialog.resize(560, 470)
    dialog.show()
    qtbot.waitExposed(dialog)
    view, model = dialog.details, dialog.sections
    QApplication.processEvents()
    every = [model.index(row, 0) for row in range(model.rowCount())]
    shown = [index for index in every if view.visualRect(index).intersects(
        view.viewport().rect())]
    assert len(shown) >= 4
    wrapped_rows = 0
    for above, below in itertools.pairwise(shown):
        assert view.visualRect(above).bottom() < view.visualRect(below).top()
    for index in shown:
        text = model.data(index)
        font = view.font()
        if model.data(index, Qt.ItemDataRole.FontRole) is not None:
            font = model.data(index, Qt.ItemDataRole.FontRole)
        _layout, height = wrapped(text, font, view.text_width(index))
        one_line = view.fontMetrics().height()
        assert view.visualRect(index).height() >= height, text
        wrapped_rows += height > 1.5 * one_line
    assert wrapped_rows >= 1, "the drop's reasons are long enough to wrap at this width"


def test_copy_puts_the_whole_summary_on_the_clipboard_and_escape_closes(
        qtbot, library: Library, tmp_path: Path) -> None:
    report = import_paths(library, a_drop_with_one_of_each_problem(tmp_path))
    dialog = ImportSummaryDialog(report)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied_text = QApplication.clipboard().text()
    assert copied_text.startswith(
        report.summary() + "\n\n1 file, 1 folder and 1 conversation could not be "
        "imported\n  drop-2/empty-folder: the folder holds no .json files\n")
    for verdict in report.verdicts:  # every rejected one, with its reason
        if verdict.verdict is Verdict.REJECTED:
            assert Path(verdict.path).name.split(" [")[0] in copied_text

    # Ctrl+C copies the rows selected
    view, model = dialog.details, dialog.sections
    first = model.index(1, 0)  # the first line under the first heading
    view.setFocus()
    view.setCurrentIndex(first)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == f"  {model.data(first)}"

    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_a_duplicate_stored_meanwhile_by_a_team_member_is_said_so() -> None:
    """A team library: the copy was stored by another member during this import (the
    verdicts as the importer gives them, its batch and file read after it)."""
    from app.importer import MEANWHILE, FileVerdict
    from ui.import_report_lines import duplicate_line

    told = {"conversation_id": "c1", "stored_as": "c1", "stored_batch": "b-7",
            "stored_file": "x.json", "client": "Ann Lee"}
    by_id = FileVerdict("/d/batch/x.json", Verdict.DUPLICATE,
                        "conversation c1 was stored meanwhile by another member of the team",
                        repeats="id", **told)
    by_content = FileVerdict("/d/batch/y.json", Verdict.DUPLICATE,
                             "the same content as conversation c1 (already in the library: "
                             f"batch 'b-7', from x.json){MEANWHILE}", repeats="content", **told)
    assert [duplicate_line(v, lambda path: Path(path).name) for v in (by_id, by_content)] == [
        "x.json: Ann Lee's conversation was stored meanwhile by another member of the team "
        "(batch 'b-7', from x.json); skipped. Conversation id c1",
        "y.json: Ann Lee's conversation was stored meanwhile by another member of the team "
        "(batch 'b-7', from x.json); skipped. Conversation id c1"]


def test_the_window_makes_the_summarys_lines_off_its_own_thread(
        qtbot, library: Library, dialogs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines of 100,000 entries take half a second to make: made on the import's
    worker thread as it ends, the window's thread only shows them."""
    import threading

    from conftest import open_window

    from ui import import_flow

    made_on: list[threading.Thread] = []
    make = import_flow.report_sections

    def recorded(report, kept: bool = False):  # type: ignore[no-untyped-def]
        made_on.append(threading.current_thread())
        return make(report, kept)

    monkeypatch.setattr(import_flow, "report_sections", recorded)
    drop = a_drop_with_one_of_each_problem(tmp_path)[0]
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.folders.append(drop)
    dialogs.texts.append("")
    with qtbot.waitSignal(window.importer.finished, timeout=30000):
        window.import_folder_action.trigger()
    summary = window.importer.last_summary
    assert summary is not None and "1 file and 1 conversation could not be imported" in \
        summary.text()
    assert made_on and threading.main_thread() not in made_on


@pytest.mark.skipif(sys.platform == "win32", reason="Windows names hold no line break")
def test_a_name_with_a_line_break_stays_one_entry(qtbot, library: Library,
                                                  tmp_path: Path) -> None:
    """A file named "line\\nbreak.json" (a script made it) read as two entries, "…/line"
    and "break.json: not an enriched conversation …": its break shows as ⏎."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "line\nbreak.json").write_text('{"not": "a conversation"}', encoding="utf-8")
    dialog = ImportSummaryDialog(import_paths(library, [drop]))
    qtbot.addWidget(dialog)
    model = dialog.sections
    texts = [model.text(row) for row in range(model.rowCount())]
    assert not any("\n" in text for text in texts)
    assert any("line⏎break.json" in text for text in texts), texts
