"""Render every page and dialog to PNG files without a display.

    python -m ui.snapshot OUTDIR [--samples FOLDER] [--size WIDTHxHEIGHT]

Fills a temporary library with the sample conversations that ship in ``resources/samples``
(or another folder), then writes one PNG per view, so the UI can be reviewed anywhere.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QWidget

from app.bundle import resources_dir
from app.detect import Kind, detect_kind
from app.full_found import FullFileFacts, read_facts
from app.importer import import_paths
from app.library import Library
from app.paths import user_library_dir
from app.review_marks import mark_reviewed
from app.trainingfiles import (
    TrainingFileInfo,
    add_conversations,
    change_settings,
    delete_training_file,
    get_training_file,
    member_ids,
    read_build,
    rebuild_training_files,
)
from ui.conversation_view import ConversationView
from ui.conversations_model import Column
from ui.file_settings import WORKING_OUT, FileSettingsDialog, forecast_settings
from ui.full_import_question import FullImportAnswer, FullImportQuestion
from ui.home_folder import home_as_tilde
from ui.import_flow import ImportSummaryDialog
from ui.main import MainWindow
from ui.row_index import FileFilter, FileRule
from ui.themes import dark_palette, light_palette

SIZE = (1440, 880)  # the main window's size for the views not named by size (--size)


def window_size(text: str) -> tuple[int, int]:
    """``--size``: "1000x600" as (1000, 600)."""
    width, _, height = text.lower().replace("×", "x").partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) and int(height)):
        raise argparse.ArgumentTypeError(f"{text!r} is no size: write it as 1000x600")
    return int(width), int(height)


class QuietDialogs:
    """Answers every question with its default and never blocks."""

    def save_path(self, parent: QWidget, title: str, default: Path, filters: str) -> Path | None:
        return None

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]:
        return []

    def folder(self, parent: QWidget | None, title: str, start: Path | None = None) -> Path | None:
        return None

    def text(self, parent: QWidget, title: str, label: str, default: str = "",
             choices: Sequence[str] = ()) -> str | None:
        return default

    def confirm(self, parent: QWidget | None, title: str, question: str,
                yes: str = "Yes", no: str = "No") -> bool:
        return False

    def confirm_destructive(self, parent: QWidget | None, title: str, question: str,
                            action: str, keep: str = "Cancel") -> bool:
        return False

    def inform(self, parent: QWidget, title: str, message: str) -> None:
        pass

    def warn(self, parent: QWidget, title: str, message: str) -> None:
        pass

    def full_import(self, parent: QWidget, facts: Sequence[FullFileFacts],
                    typed_batch: bool = False) -> FullImportAnswer:
        return FullImportAnswer()

    def training_settings(self, parent: QWidget, info: TrainingFileInfo,
                          forecast: object = None) -> None:
        return None


def settle() -> None:
    """Let the window finish what it shows: every reader's bubbles built (they come a few
    at a turn of the event loop), laid out and painted."""
    for window in QApplication.topLevelWidgets():
        for reader in window.findChildren(ConversationView):
            reader.build_every_bubble()
    for _ in range(5):
        QApplication.processEvents()


def wait_for(done: Callable[[], bool], seconds: float = 30.0) -> None:
    """Process events until ``done`` (work on a worker has answered) or ``seconds`` pass."""
    end = time.monotonic() + seconds
    while not done() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def announce_everything(window: MainWindow) -> None:
    """The library changed behind the window's back: say so, and wait for the reload."""
    window.changes.everything()
    while window.conversations.loading:
        QApplication.processEvents()
    settle()


def wait_for_token_counts(window: MainWindow, limit: float = 120.0) -> None:
    """Let the background count fill the Tokens column, as a person sees it a moment after
    an import (the screenshots showed the column blank)."""
    give_up = time.monotonic() + limit
    while window.token_counts.pending and time.monotonic() < give_up:
        QApplication.processEvents()
        time.sleep(0.01)
    while window.conversations.loading:
        QApplication.processEvents()
    settle()


def save(widget: QWidget, path: Path) -> Path:
    settle()
    widget.grab().save(str(path))
    return path


def save_with_menu(window: QWidget, anchor: QWidget, menu: QWidget, path: Path,
                   left: int = 0) -> Path:
    """The window with a drop-down menu drawn open below its button (``left``: where the
    menu's title starts in ``anchor``, a menu bar)."""
    settle()
    picture: QPixmap = window.grab()
    menu.adjustSize()
    below = anchor.mapTo(window, QPoint(left, anchor.height()))
    painter = QPainter(picture)
    painter.drawPixmap(below, menu.grab())
    painter.end()
    picture.save(str(path))
    return path


def make_window(library: Library, settings_dir: Path) -> MainWindow:
    settings = QSettings(str(settings_dir / "snapshot.ini"), QSettings.Format.IniFormat)
    # (its checks are kept beside its settings, never in the user's own folder)
    window = MainWindow(library, QuietDialogs(), settings, settings_dir / "kept-checks")
    window.resize(*SIZE)
    window.show()
    return window


def render(out_dir: Path, samples: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "library")
        window = make_window(library, Path(tmp))
        # The place a first start uses, not this temporary folder (the README shows it).
        window.welcome.show_place(f"Library folder: {home_as_tilde(user_library_dir())}")
        written.append(save(window, out_dir / "01-empty-library.png"))
        written.append(save_with_menu(window, window.menuBar(), window.file_menu,
                                      out_dir / "01b-local-file-menu.png"))

        folders = [p for p in sorted(samples.iterdir()) if p.is_dir()] or [samples]
        broken = Path(tmp) / "broken-export.json"  # shows how a rejected file is reported
        broken.write_text('{"dataset_metadata": {"dataset_name": "cut off', encoding="utf-8")
        report = import_paths(library, [*folders, broken])
        announce_everything(window)
        wait_for_token_counts(window)
        dialog = ImportSummaryDialog(report, window)
        dialog.show()
        written.append(save(dialog, out_dir / "02-import-summary.png"))
        dialog.close()
        written += render_mixed_import_summary(window, samples, Path(tmp), out_dir)

        page = window.conversations
        written.append(save(window, out_dir / "03-conversations.png"))
        batches = [b.batch_id for b in library.batches()]
        page.set_batch_filter(batches[0])
        page.model.check_all_shown()
        page.table.sortByColumn(Column.CLIENT, Qt.SortOrder.AscendingOrder)
        if page.model.rowCount():
            page.select_conversation(page.model.row_at(0).conversation_id)
        written.append(save(window, out_dir / "04-filtered-checked-reading.png"))

        ids = [row.conversation_id for row in library.summaries() if row.replies_trained]
        add_conversations(library, "emotional-support-v1", ids[: max(1, len(ids) // 2)],
                          create=True)
        add_conversations(library, "all-samples", ids, create=True)
        announce_everything(window)
        button = window.create_button
        button.rebuild_menu()
        written.append(save_with_menu(window, button, button.menu_,
                                      out_dir / "05-create-training-files-menu.png"))

        window.pages.setCurrentWidget(window.training_files)
        window.training_files.refresh(select_name="all-samples")
        written.append(save(window, out_dir / "06-training-files.png"))
        written += render_training_file_question(library, Path(tmp), out_dir)
        files_page = window.training_files
        menu_button = getattr(files_page, "download_button", None)
        menu = getattr(files_page, "download_menu", None)
        if menu_button is not None and menu is not None:
            written.append(save_with_menu(window, menu_button, menu,
                                          out_dir / "07-download-menu.png"))
        written += render_reply_openings(window, out_dir)
        written += render_curation(window, out_dir)
        written += render_review_and_removal(window, library, out_dir)
        written += render_closing_during_a_job(window, out_dir)
        written += render_themes(window, library, out_dir)
        written += render_as_trained(window, library, out_dir)
        # last: it adds a conversation to the library the views above show
        written += render_near_duplicate_review(window, library, samples, Path(tmp), out_dir)
        written += render_near_duplicates_in_a_file(window, library, out_dir)
        written += render_saved_copies(window, library, Path(tmp), out_dir)
        window.close()
        library.close()
    return written


FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"  # in a checkout


def render_mixed_import_summary(window: MainWindow, samples: Path, tmp: Path,
                                out_dir: Path) -> list[Path]:
    """The summary of a drop that gives every outcome, imported into a library of its
    own (the other views keep the samples alone): files sent again, files of the older
    v3 format (from the checkout's test fixtures, when there), one file twice, files
    that cannot be imported and a file that is not read."""
    library = Library(tmp / "mixed-library")
    first = sorted(p for p in samples.rglob("*.json"))
    import_paths(library, [first[0].parent])
    drop = tmp / "mixed-drop"
    for folder in ("resent", "delivery-7", "odd"):
        (drop / folder).mkdir(parents=True)
    for path in first[:2]:
        (drop / "resent" / path.name).write_bytes(path.read_bytes())
    older = sorted((FIXTURES / "legacy").glob("*.json"))[:3]
    for path in [*older, *first[-2:]]:
        (drop / "delivery-7" / path.name).write_bytes(path.read_bytes())
    (drop / "delivery-7" / f"copy-of-{first[-1].name}").write_bytes(first[-1].read_bytes())
    # a re-generation of a stored one (another id, a word changed): stored, flagged near
    regenerated = json.loads(first[0].read_text(encoding="utf-8"))
    regenerated["dataset_metadata"]["dataset_name"] += "-regenerated"
    pair = regenerated["training_pairs"][0]
    pair["current_user_input"] = pair["current_user_input"].replace(" I ", " we ", 1)
    (drop / "delivery-7" / f"regenerated-{first[0].name}").write_text(
        json.dumps(regenerated), encoding="utf-8")
    (drop / "odd" / "broken-export.json").write_text(
        '{"dataset_metadata": {"dataset_name": "cut off', encoding="utf-8")
    (drop / "odd" / "empty.json").write_text("", encoding="utf-8")
    (drop / "odd" / "notes.txt").write_text("to do", encoding="utf-8")
    raw = FIXTURES / "bad" / "raw-not-enriched.json"
    if raw.is_file():
        (drop / "odd" / raw.name).write_bytes(raw.read_bytes())
    dialog = ImportSummaryDialog(import_paths(library, [drop]), window)
    dialog.show()
    written = [save(dialog, out_dir / "02b-import-summary-mixed.png")]
    dialog.close()
    library.close()
    return written


def render_reply_openings(window: MainWindow, out_dir: Path) -> list[Path]:
    """The selected file's Reply openings tab (counted on a worker): every trained reply's
    openings in two words at the window's size, then the first replies' in one word at
    the smallest size, 1000×600."""
    page = window.training_files
    view = page.openings_view
    page.tabs.setCurrentWidget(view)
    wait_for(lambda: view.found is not None)
    view.choose(0)
    written = [save(window, out_dir / "06e-reply-openings.png")]
    window.resize(1000, 600)
    view.replies_choice.setCurrentIndex(1)
    view.words_choice.setCurrentIndex(0)
    view.choose(0)
    written.append(save(window, out_dir / "06f-reply-openings-1000x600.png"))
    window.resize(*SIZE)
    view.replies_choice.setCurrentIndex(0)
    view.words_choice.setCurrentIndex(1)
    page.tabs.setCurrentIndex(0)
    return written


def render_training_file_question(library: Library, tmp: Path, out_dir: Path) -> list[Path]:
    """The question before importing a training file of ours: its saved full JSON, with
    settings other than the defaults (as a library rebuilt from it would import it)."""
    name = "sent-by-a-colleague"  # made, saved and removed again: the views stay as they are
    add_conversations(library, name, member_ids(library, "all-samples"),
                      create=True, cut_off_policy="weight0")
    change_settings(library, name, max_seq_len=2048)
    saved = tmp / f"{name}.json"
    with read_build(library, name) as build:
        saved.write_bytes(b"".join(build.json_chunks()))
    delete_training_file(library, name)
    facts = read_facts(saved)
    if facts is None:
        return []
    question = FullImportQuestion([facts])
    question.show()
    written = [save(question, out_dir / "06a-import-training-file-question.png")]
    question.close()
    return written


def render_curation(window: MainWindow, out_dir: Path) -> list[Path]:
    """Filters that match nothing, checked rows hidden by a filter, the column chooser,
    the collapsed reader, and the window on a small laptop (1093×614), at 1000×600 and on a
    full-HD screen (1920×1080)."""
    written: list[Path] = []
    page = window.conversations
    window.pages.setCurrentIndex(0)
    page.clear_filters()
    page.set_file_filter(FileFilter(FileRule.NOT_IN, "all-samples"))
    written.append(save(window, out_dir / "08-no-match-clear-filters.png"))
    page.clear_filters()
    batches = sorted({row.batch_id for row in page.rows()})
    page.set_batch_filter(batches[0])
    page.model.check_all_shown()
    page.set_batch_filter(None)
    page.set_file_filter(FileFilter(FileRule.NOT_IN, "emotional-support-v1"))
    written.append(save(window, out_dir / "09-checked-rows-hidden-by-the-filter.png"))
    menu = QMenu(window)
    page.fill_column_menu(menu)
    header = page.table.horizontalHeader()
    written.append(save_with_menu(window, header, menu, out_dir / "10-column-chooser.png"))
    page.clear_filters()
    if page.model.rowCount():
        page.select_conversation(page.model.row_at(1).conversation_id)
    page.set_reader_visible(False)
    written.append(save(window, out_dir / "11-reader-collapsed.png"))
    page.set_reader_visible(True)
    for width, height, name in ((1093, 614, "12-laptop-1093x614.png"),
                                (1000, 600, "14-smallest-1000x600.png"),
                                (1920, 1080, "15-full-hd-1920x1080.png")):
        window.resize(width, height)
        if width == 1000:  # nothing read yet: the reader shut, the table has the width
            reading = page.reader_conversation_id()
            page.table.selectionModel().clearSelection()
            page.table.selectionModel().clearCurrentIndex()
            written.append(save(window, out_dir / "14a-smallest-nothing-read.png"))
            if reading is not None:
                page.select_conversation(reading)
        written.append(save(window, out_dir / name))
        if width == 1093:
            window.pages.setCurrentWidget(window.training_files)
            written.append(save(window, out_dir / "13-laptop-training-files.png"))
            window.pages.setCurrentIndex(0)
    window.resize(*SIZE)
    return written


def render_review_and_removal(window: MainWindow, library: Library,
                              out_dir: Path) -> list[Path]:
    """The review before an add, and the question before a removal (issue 11)."""
    from app.removal import plan_removal
    from app.trainingfiles import plan_addition
    from ui.add_review import AddReviewDialog, conversation_names
    from ui.dialogs import destructive_box
    from ui.remove_flow import removal_question

    written: list[Path] = []
    ids = [row.conversation_id for row in library.summaries()]
    window.pages.setCurrentIndex(0)
    review = AddReviewDialog(plan_addition(library, "emotional-support-v1", ids,
                                           hidden=ids[-2:]), window,
                             conversation_names(window.conversations.model))
    review.show()
    written.append(save(review, out_dir / "15-review-before-adding.png"))
    review.show_in_table.connect(window.show_only)
    written.append(save_with_menu(review, review.show_button, review.show_menu,
                                  out_dir / "15c-review-show-in-table-menu.png"))
    # "Show in the table" on the ones already in the file: the review closes, the table
    # shows exactly them, the filter bar says so beside the way back
    [entry for entry in review.show_menu.actions() if entry.text()][-1].trigger()
    written.append(save(window, out_dir / "15d-skipped-shown-in-the-table.png"))
    window.conversations.filter_bar.back_from_only()
    plan = plan_removal(library, ids[:3])
    box, _go = destructive_box("Remove from library",
                               removal_question(plan, "the 3 conversations you checked"),
                               "Remove 3", window)
    box.show()
    written.append(save(box, out_dir / "16-remove-from-library.png"))
    box.close()
    return written


def _answered(pair: Any) -> bool:
    """A training pair with a reply to add a sentence to."""
    return isinstance(pair, dict) and isinstance(pair.get("target_response"), str) and bool(
        pair["target_response"].strip())


def _conversation_files(samples: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The conversation files under ``samples`` (enriched or legacy, with a reply), parsed;
    the others a folder of real files may hold (full training files, raw conversations,
    broken JSON) are passed over."""
    for path in sorted(samples.rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if (detect_kind(document) in (Kind.ENRICHED, Kind.LEGACY)
                and isinstance(document.get("dataset_metadata", {}), dict)
                and any(map(_answered, document["training_pairs"]))):
            yield path, document


def render_near_duplicate_review(window: MainWindow, library: Library, samples: Path,
                                 tmp: Path, out_dir: Path) -> list[Path]:
    """The review before an add with a near-duplicate in it: a sample conversation
    re-generated with one sentence added to its last reply, imported, then added with the
    others to a file that holds the original (its "Leave them out" checked). The original
    is the first conversation file whose conversation is in that file, else the first."""
    from app.trainingfiles import member_ids, plan_addition
    from ui.add_review import AddReviewDialog

    found = list(_conversation_files(samples))
    if not found:
        sys.stderr.write(f"no conversation file in {samples} to make a near-duplicate of, "
                         "so 15b-review-with-a-near-duplicate.png is not rendered: give "
                         "--samples a folder holding enriched or legacy conversation files\n")
        return []
    in_file = set(member_ids(library, "all-samples"))
    source, document = next(
        ((path, doc) for path, doc in found
         if (doc.get("dataset_metadata") or {}).get("dataset_name") in in_file), found[0])
    meta = document.setdefault("dataset_metadata", {})
    meta["dataset_name"] = f"{meta.get('dataset_name') or source.stem}-regenerated"
    reply = [pair for pair in document["training_pairs"] if _answered(pair)][-1]
    reply["target_response"] += " That is a fair question to ask."
    folder = tmp / "regenerated"
    folder.mkdir()
    (folder / source.name).write_text(json.dumps(document), encoding="utf-8")
    import_paths(library, [folder])
    ids = [row.conversation_id for row in library.summaries()]
    review = AddReviewDialog(plan_addition(library, "all-samples", ids), window)
    review.leave_out_near_duplicates.setChecked(True)
    review.show()
    written = [save(review, out_dir / "15b-review-with-a-near-duplicate.png")]
    review.close()
    return written


def render_near_duplicates_in_a_file(window: MainWindow, library: Library,
                                     out_dir: Path) -> list[Path]:
    """A training file holding a near-duplicate of another of its conversations (the
    re-generation ``render_near_duplicate_review`` imported, added after all): its warnings
    count it, and Select near-duplicates has selected it at the top of the list."""
    from app.trainingfiles import member_ids

    held = set(member_ids(library, "all-samples"))
    added = [row.conversation_id for row in library.summaries()
             if row.replies_trained and row.conversation_id not in held]
    if not added:
        return []
    add_conversations(library, "all-samples", added)
    announce_everything(window)
    window.pages.setCurrentWidget(window.training_files)
    page = window.training_files
    page.refresh(select_name="all-samples")
    settle()
    page.select_near_duplicates()
    return [save(window, out_dir / "06b-training-file-with-near-duplicates.png")]


def render_saved_copies(window: MainWindow, library: Library, tmp: Path,
                        out_dir: Path) -> list[Path]:
    """A file whose JSON was saved before a rebuild and whose JSONL after it: the line
    near Download says which saved copy is older than the file (``ui.saved_copies``)."""
    from app.export import ExportFormat, export
    from app.trainingfiles import member_ids

    name = "emotional-support-v1"
    held = set(member_ids(library, name))
    more = [row.conversation_id for row in library.summaries()
            if row.replies_trained and row.conversation_id not in held]
    if not more:
        return []
    saved = tmp / "saved"
    saved.mkdir(exist_ok=True)
    export(library, name, ExportFormat.JSON, saved / f"{name}.json", overwrite=True)
    add_conversations(library, name, more[:1])
    export(library, name, ExportFormat.JSONL, saved / f"{name}.jsonl", overwrite=True)
    announce_everything(window)
    window.pages.setCurrentWidget(window.training_files)
    window.training_files.refresh(select_name=name)
    settle()
    return [save(window, out_dir / "06c-saved-copy-out-of-date.png")]


def render_closing_during_a_job(window: MainWindow, out_dir: Path) -> list[Path]:
    """Closing the window while an import runs: the question, then the Stopping state."""
    from ui.close_guard import cancel_question, stopping_dialog
    from ui.dialogs import destructive_box
    from ui.tasks import Task

    jobs = {Task(lambda _progress, _cancelled: None): "Importing conversations"}
    box, _go = destructive_box("A job is still running",
                               cancel_question(jobs, "Closing the window"),
                               "Cancel the job and close", window, "Keep working")
    box.show()
    written = [save(box, out_dir / "36-close-while-a-job-runs.png")]
    box.close()
    stopping = stopping_dialog(window, jobs)
    stopping.show()
    written.append(save(stopping, out_dir / "37-stopping-before-closing.png"))
    stopping.end()  # (only the end of its jobs closes it)
    return written


THEME_SIZES = ((1440, 900), (1093, 614))


def _reading_example(library: Library) -> str:
    """A conversation worth showing: warnings on its turns and a planned arc, if any has."""
    rows = [row for row in library.summaries() if row.replies_trained]
    flagged = [row for row in rows if row.warning_codes]
    return (flagged or rows)[0].conversation_id


def render_themes(window: MainWindow, library: Library, out_dir: Path) -> list[Path]:
    """The reader and the LoRA Training JSON Files page, light and dark, at two sizes."""
    written: list[Path] = []
    chosen = _reading_example(library)
    rebuild_training_files(library, mark_reviewed(library, [chosen], "Sample Reviewer")
                           .stale_files)
    announce_everything(window)
    original_style = QApplication.style().name()
    QApplication.setStyle("Fusion")
    try:
        for theme, palette in (("light", light_palette()), ("dark", dark_palette())):
            QApplication.setPalette(palette)
            for width, height in THEME_SIZES:
                window.resize(width, height)
                page = window.conversations
                page.set_batch_filter(None)
                window.pages.setCurrentIndex(0)
                window.open_conversation(chosen)
                written.append(save(window, out_dir / f"20-reader-{theme}-{width}x{height}.png"))
                window.pages.setCurrentWidget(window.training_files)
                window.training_files.select_file("all-samples")
                written.append(save(window, out_dir /
                                    f"21-training-files-{theme}-{width}x{height}.png"))
                window.training_files.tabs.setCurrentWidget(window.training_files.coverage)
                written.append(save(window, out_dir /
                                    f"22-coverage-{theme}-{width}x{height}.png"))
                window.training_files.tabs.setCurrentIndex(0)
    finally:
        QApplication.setPalette(light_palette())
        QApplication.setStyle(original_style)
    window.resize(*SIZE)
    return written


def render_as_trained(window: MainWindow, library: Library, out_dir: Path) -> list[Path]:
    """The as-trained view, light and dark (a training file with a short maximum length, so
    the budget mark shows), with token boundaries, and the tokenizer settings dialog."""
    from app.trainingfiles import change_settings
    from ui.tokenizer_settings import TokenizerDialog

    written: list[Path] = []
    chosen = _reading_example(library)
    # A common trainer default, with longer lines written whole: what the view shows of a
    # line the trainer cuts (a file that ends such lines early has none to show).
    change_settings(library, "all-samples", max_seq_len=1024, over_budget="keep")
    announce_everything(window)
    window.pages.setCurrentIndex(0)
    window.open_conversation(chosen)
    window.show_as_trained(chosen)
    view = window.as_trained_window
    if view is None:
        return written
    view.resize(1180, 760)  # the size it opens at on a roomy screen
    view.select_training_file("all-samples")
    original_style = QApplication.style().name()
    QApplication.setStyle("Fusion")
    try:
        for theme, palette in (("light", light_palette()), ("dark", dark_palette())):
            QApplication.setPalette(palette)
            view.boundaries_check.setChecked(False)
            view.wait()
            written.append(save(view, out_dir / f"23-as-trained-{theme}.png"))
            if theme == "light":  # a narrow window: the reasons wrap, never cut
                view.resize(850, 650)
                written.append(save(view, out_dir / "27-as-trained-850-wide.png"))
                view.resize(1180, 760)
            if view.preview is not None and view.preview.cut_char is not None:
                view.table.selectRow(next(
                    (row for row, turn in enumerate(view.preview.rows) if turn.lost_tokens),
                    0))
                written.append(save(view, out_dir / f"24-as-trained-budget-{theme}.png"))
                view.table.selectRow(0)
            view.boundaries_check.setChecked(True)
            written.append(save(view, out_dir / f"25-as-trained-tokens-{theme}.png"))
        view.boundaries_check.setChecked(False)
        QApplication.setPalette(light_palette())
        dialog = TokenizerDialog(library, QuietDialogs(), window)
        dialog.show()
        dialog.wait()
        written.append(save(dialog, out_dir / "26-tokenizer-settings.png"))
        dialog.close()
        shown = get_training_file(library, "emotional-support-v1")
        settings = FileSettingsDialog(shown, window, functools.partial(
            forecast_settings, library, shown.name))
        settings.budget.setValue(2048)
        settings.show()
        wait_for(lambda: settings.effect_label.text() != WORKING_OUT)
        written.append(save(settings, out_dir / "38-training-file-settings.png"))
        settings.close()
    finally:
        QApplication.setPalette(light_palette())
        QApplication.setStyle(original_style)
    view.close()
    return written


def with_title_bar(window: QWidget, path: Path) -> Path:
    """The window under a plain strip with its title (offscreen windows have no frame, and
    the title is what says which library is open)."""
    settle()
    body = window.grab()
    strip = 30
    picture = QPixmap(body.width(), body.height() + strip)
    picture.fill(window.palette().window().color().darker(112))
    painter = QPainter(picture)
    painter.drawText(0, 0, body.width(), strip, Qt.AlignmentFlag.AlignCenter,
                     window.windowTitle())
    painter.drawPixmap(0, strip, body)
    painter.end()
    picture.save(str(path))
    return path


def render_team_library(out_dir: Path, team_url: str, samples: Path) -> list[Path]:
    """File ▸ Open team library… (where no keyring works, and where one does), a failed
    connection said in the dialog, and the window on the team library ``team_url`` (an
    empty database there is filled with the samples)."""
    from app import keychain
    from ui.library_switch import LibrarySwitcher

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "library")
        settings = QSettings(str(Path(tmp) / "snapshot.ini"), QSettings.Format.IniFormat)
        switcher = LibrarySwitcher(library, QuietDialogs(), settings)
        switcher.window.resize(*SIZE)
        switcher.window.show()
        dialog = switcher.ask_team_library()
        dialog.fill_from("postgresql://ann@db.example.org:5432/lora_team")
        if keychain.keyring_problem() is None:
            dialog.remember.setChecked(True)
        written.append(save(dialog, out_dir / "30-open-team-library.png"))
        dialog.failed("the server of the team library postgresql://ann:***@db.example.org:"
                      "5432/lora_team did not accept your login. Check the user name and "
                      "password, or ask whoever runs the server for access.")
        written.append(save(dialog, out_dir / "31-open-team-library-refused.png"))
        dialog.reject()
        menu = switcher.window.file_menu
        written.append(save_with_menu(switcher.window, switcher.window.menuBar(), menu,
                                      out_dir / "32-file-menu.png"))
        team = Library.open(team_url)
        if not team.count():
            import_paths(team, [p for p in sorted(samples.iterdir()) if p.is_dir()]
                         or [samples])
        switcher.window.close()
        window = make_window(team, Path(tmp))
        written.append(with_title_bar(window, out_dir / "33-team-library-window.png"))
        written.append(save_with_menu(
            window, window.menuBar(), window.help_menu, out_dir / "34-team-help-menu.png",
            left=window.menuBar().actionGeometry(window.help_menu.menuAction()).left()))
        about = QMessageBox(QMessageBox.Icon.Information, "About LoRA Studio",
                            window.about_text(), parent=window)
        about.show()
        written.append(save(about, out_dir / "35-team-about.png"))
        about.close()
        window.close()
        team.close()
        library.close()
    return written


def main(argv: list[str] | None = None) -> int:
    global SIZE
    parser = argparse.ArgumentParser(prog="python -m ui.snapshot", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--samples", type=Path, default=resources_dir() / "samples")
    parser.add_argument("--size", type=window_size, default=SIZE, metavar="WIDTHxHEIGHT",
                        help="the main window's size for the views not named by their size "
                             f"(default {SIZE[0]}x{SIZE[1]}; e.g. 1000x600, a small laptop)")
    parser.add_argument("--team", metavar="URL",
                        help="also render the team-library views, on this PostgreSQL library "
                             "(an empty database there is filled with the samples)")
    parser.add_argument("--team-only", action="store_true",
                        help="render the team-library views only")
    args = parser.parse_args(argv)
    SIZE = args.size
    if not args.samples.is_dir():
        sys.stderr.write(f"no sample folder at {args.samples}\n")
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LoRA Studio")
    written = [] if args.team_only else render(args.out_dir, args.samples)
    if args.team:
        written += render_team_library(args.out_dir, args.team, args.samples)
    for path in written:
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
