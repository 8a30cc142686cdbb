"""Importing from the window: drops and menu choices end here, in one function each."""

from __future__ import annotations

import contextlib
import functools
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.exc import SQLAlchemyError

from app import killed_work
from app.errors import LibraryError
from app.full_found import Found, FullFileFacts, full_files_in
from app.full_restore import import_and_restore
from app.idtext import readable_name
from app.importer import (
    FileVerdict,
    ImportReport,
    Verdict,
    batches_stored_after,
    chosen_files_batches,
    import_paths,
    last_stored_pk,
)
from app.library import Library, clean_batch_id
from app.loader import is_json_name
from app.places import readable_reason
from app.stopped_jobs import import_stopped
from app.wording import first_few
from ui.button_order import tab_as_shown
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.full_import_question import offered
from ui.import_report_lines import (
    EXAMPLES,
    duplicate_line,
    duplicates_group,
    folder_and_name,
    folder_labels,
    grouped_lines,
    imported_group,
    near_group,
    near_line,
    repeats_group,
)
from ui.import_summary_view import Section, SectionsModel, SummaryView
from ui.name_prompt import ask_name
from ui.replace_flow import ReplaceController, Replacement
from ui.tasks import (
    Work,
    in_child,
    run_with_progress,
    said_by_its_window,
    saying_if_killed,
    wait_behind_progress,
)
from ui.wording import agreeing, and_list, plural


def paths_from_mime(mime: QMimeData) -> list[Path]:
    """The local files and folders carried by a drag (other URLs are ignored)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def what_is_dropped(paths: list[Path]) -> str:
    """"1 folder", "2 folders and 3 files": what an import was handed, in words."""
    folders = sum(1 for path in paths if path.is_dir())
    parts = [plural(count, noun) for count, noun in ((folders, "folder"),
                                                     (len(paths) - folders, "file")) if count]
    return and_list(parts)


QUESTION_WIDTH = 72  # characters a line (ui.name_prompt): the question's box never wraps


def batch_question(paths: list[Path]) -> str:
    """The import's batch question, wrapped to fit a laptop screen at 150 %: what an
    empty answer does, with the batches it makes when they are known before the walk
    (files chosen by name: their folders)."""
    chosen = chosen_files_batches(paths)
    known = (f" (here: {and_list([repr(name) for name in chosen])})"
             if chosen and len(chosen) <= 3 and all(not p.is_dir() for p in paths) else "")
    question = (f"Batch name: leave it empty and each folder becomes a batch named after "
                f"it{known}, each full training file a batch named after the file (one of "
                "LoRA Studio's keeps the batches its conversations name). A name you type "
                "puts everything in that one batch, except files and conversations that "
                "name their own batch.")
    return (f"Importing {what_is_dropped(paths)}.\n\n"
            + textwrap.fill(question, QUESTION_WIDTH))


LOOKING = "Looking for training files made by LoRA Studio among the files to import"


def worth_a_look(paths: list[Path]) -> bool:
    """Whether the import may read a training file of ours: a folder, or a .json file."""
    return any(path.is_dir() or is_json_name(path.name) for path in paths)


def _short(path: str) -> str:
    """The file with its folder: enough to find it, short enough to read."""
    folder, name = folder_and_name(path)
    above = folder_and_name(folder)[1]
    return f"{above}/{name}" if above else name


# The changed conversations' section: its heading and what happens to them, said once
# above their list, while the Replace question is on screen beside the summary ("asked"),
# once the person answered Replace until the replace is done ("replacing"), and after they
# answered Cancel ("kept"). Done, they are listed under "Replaced".
CHANGED_TITLES = {"asked": "Changed (not replaced yet)",
                  "replacing": "Changed (being replaced)",
                  "kept": "Changed (kept as stored)"}


def changed_said(answer: str, n: int) -> str:
    """What happens to ``n`` changed conversations, given the answer (``CHANGED_TITLES``)."""
    def word(one: str, many: str) -> str:
        return agreeing(n, one, many)
    if answer == "replacing":
        return (f"You answered Replace: {word('this version is', 'these versions are')} "
                f"replacing the stored {word('one', 'ones')}, and the training files that "
                f"hold {word('it', 'them')} are being rebuilt. This summary says when it is "
                "done.")
    if answer == "kept":
        return (f"Already in the library with different content: you kept the stored "
                f"{word('version', 'versions')} (to use {word('this one', 'these')}, import "
                f"the {word('file', 'files')} again and answer Replace).")
    return (f"Already in the library with different content: the stored "
            f"{word('version stays', 'versions stay')} unless you answer Replace to the "
            "question about changed conversations.")


def _reason(verdict: FileVerdict, described: Mapping[str, str] | None = None) -> str:
    """Why a file got its verdict, in the window's words; a changed one is named by its
    conversation, as the Replace question named it once it was asked (``described``: client
    · batch: what differs), what happens to it being said once above the list
    (``changed_said``)."""
    if verdict.verdict is Verdict.CHANGED:
        cid = str(verdict.conversation_id)
        return (described or {}).get(cid) or f"conversation {cid}"
    return _readable_reason(verdict.reason)


# A drop of thousands of broken files gives a few reasons many times: each is put in
# words once.
_readable_reason = functools.lru_cache(maxsize=4096)(readable_reason)


def _reason_line(verdict: FileVerdict, short: Callable[[str], str] = _short,
                 described: Mapping[str, str] | None = None) -> str:
    return f"{short(verdict.path)}: {_reason(verdict, described)}"


def _shortener(report: ImportReport) -> Callable[[str], str]:
    """``_short``, but a folder whose name another folder of the report shares is shown
    with the folders above it that tell them apart (delivery-A/batch-000/x.json)."""
    labels = folder_labels(sorted({folder_and_name(v.file)[0] for v in report.verdicts}))

    def short(path: str) -> str:
        folder, name = folder_and_name(path)
        label = labels.get(folder)
        return f"{label}/{name}" if label else _short(path)
    return short


COPIED_SHOWN_MS = 1500  # the Copy button says "Copied" this long
OLDER_LISTED = 5  # files in the older format named one by one; more are one line


def report_sections(report: ImportReport, changed: str = "asked",
                    described: Mapping[str, str] | None = None) -> list[Section]:
    """Every verdict, by outcome, what needs a person first: a section a kind, headed by
    its count in its own unit (files, conversations, batches); ``changed``: what the
    person answered about replacing the changed ones, a key of ``CHANGED_TITLES``;
    ``described``: the changed ones as the Replace question named them."""
    sections: list[Section] = []
    short = _shortener(report)

    def add(heading: str, lines: list[str]) -> None:
        sections.append(Section(heading, lines))

    def of(verdict: Verdict) -> list[FileVerdict]:
        return [v for v in report.verdicts if v.verdict is verdict]

    if rejected := report.rejected_units():  # each needs its own reason read
        add(f"{and_list(rejected)} could not be imported",
            [_reason_line(v, short) for v in of(Verdict.REJECTED)])
    if report.skipped:  # one line a kind: a dropped folder may hold thousands of others
        count = sum(kind.count for kind in report.skipped)
        add(f"{plural(count, 'file')} {agreeing(count, 'was', 'were')} not read",
            [kind.sentence(_short) for kind in report.skipped])
    if changed_ones := report.changed:  # what happens to them is said once, above them
        add(f"{CHANGED_TITLES[changed]}: {plural(len(changed_ones), 'conversation')}",
            [changed_said(changed, len(changed_ones)),
             *(_reason_line(v, short, described) for v in changed_ones)])
    if replaced := of(Verdict.REPLACED):
        add(f"{plural(len(replaced), 'conversation')} replaced the stored "
            f"{agreeing(len(replaced), 'version', 'versions')}",
            [f"{short(v.path)} → batch {v.batch_id}" for v in replaced])
    if stored := report.in_library:
        before = all(v.imported_before for v in stored)  # a folder dropped again: no problem
        add(f"{plural(len(stored), 'conversation')} {agreeing(len(stored), 'was', 'were')} "
            + ("imported before, from files of the same names (skipped)" if before
               else "already in the library (skipped)"),
            grouped_lines(stored, lambda v: duplicate_line(v, short), duplicates_group,
                          short))
    if repeats := report.repeats:
        add(f"{plural(len(repeats), 'conversation')} "
            f"{agreeing(len(repeats), 'repeats', 'repeat')} another of this import (skipped)",
            grouped_lines(repeats, lambda v: duplicate_line(v, short), repeats_group(short),
                          short))
    if near := report.near_duplicates:
        add(f"{plural(len(near), 'imported conversation')} "
            f"{agreeing(len(near), 'nearly repeats', 'nearly repeat')} another (flagged "
            f"near_duplicate, ≈ in the Warnings column): {agreeing(len(near), 'its', 'their')} "
            f"replies would be trained twice; an add can leave {agreeing(len(near), 'it', 'them')}"
            " out",
            grouped_lines(near, lambda v: near_line(v, short), near_group, short))
    if older := report.older_format_files:
        add(f"{plural(len(older), 'file')} in the older v3 format (hand-written pairs, no "
            f"scaffolding) {agreeing(len(older), 'was', 'were')} converted as "
            f"{agreeing(len(older), 'it was', 'they were')} imported; the "
            f"{agreeing(len(older), 'file itself is', 'files themselves are')} not changed",
            [short(file) for file in older] if len(older) <= OLDER_LISTED
            else [_by_folder(older, short)])
    if report.batches_created:
        count = len(report.batches_created)
        add(f"{plural(count, 'batch', 'batches')} created", list(report.batches_created))
    if report.batches_joined:
        count = len(report.batches_joined)
        add(f"{plural(count, 'batch', 'batches')} already in the library "
            f"{agreeing(count, 'was', 'were')} added to",
            [f"{name}: {plural(after - before, 'conversation')} joined the {before:,} it "
             f"held (now {after:,})" for name, before, after in report.batches_joined])
    if imported := of(Verdict.IMPORTED):
        add(f"{plural(len(imported), 'conversation')} imported",
            grouped_lines(imported, lambda v: f"{short(v.path)} → batch {v.batch_id}",
                          imported_group, short))
    return [_readable(section) for section in sections]


def _readable(section: Section) -> Section:
    """The section with the bytes of a file name that are not UTF-8 as U+FFFD (Qt would
    drop them), looked for by encoding its lines once (a regular expression a line took
    0.13 s for 100,000)."""
    try:
        "\n".join([section.heading, *section.lines]).encode("utf-8")
    except UnicodeEncodeError:
        return Section(readable_name(section.heading),
                       [readable_name(line) for line in section.lines])
    return section


def _by_folder(files: list[str], short: Callable[[str], str]) -> str:
    """Many files in one line, by their folders as the summary names them: "in
    delivery-B/batch-000/ (8 files) and batch-001/ (1 file)"."""
    folders = Counter(short(file).rpartition("/")[0] for file in files)
    parts = [f"{folder}/ ({plural(count, 'file')})" if folder else plural(count, 'file')
             for folder, count in folders.items()]
    return "in " + (and_list(parts) if len(parts) <= EXAMPLES else first_few(parts, EXAMPLES))


def sections_text(sections: list[Section]) -> str:
    """The sections as plain text: each heading, its lines indented below it, a blank
    line between sections (what Copy puts on the clipboard)."""
    # Qt drops the bytes of a file name that are not UTF-8: they show as U+FFFD instead.
    return readable_name("\n\n".join(
        "\n".join([section.heading, *(f"  {line}" for line in section.lines)])
        for section in sections))


def report_text(report: ImportReport, changed: str = "asked") -> str:
    """The whole summary as plain text (``report_sections``)."""
    return sections_text(report_sections(report, changed))


def the_one_batch(report: ImportReport) -> str | None:
    """The batch every conversation this import stored went into, when there is one: the
    usual import of one generated batch, whose next step is reading that batch."""
    batches = {v.batch_id for v in report.verdicts
               if v.verdict in (Verdict.IMPORTED, Verdict.REPLACED) and v.batch_id}
    return batches.pop() if len(batches) == 1 else None


@dataclass(frozen=True)
class Summarised:
    """An import's report with what its summary shows: the headline, the sections, and
    the one batch everything stored went into (when there is one)."""

    report: ImportReport
    headline: str
    sections: list[Section]
    batch: str | None


def summarise(report: ImportReport) -> Summarised:
    """What the summary of ``report`` shows, made in one go (on any thread: no Qt)."""
    return Summarised(report, report.summary(), report_sections(report), the_one_batch(report))


def told_later_if_unsaid(library: Library, paths: list[Path], work: Work) -> Work:
    """``work`` (an import of ``paths``) whose cancel, once its window has closed and
    cannot say how far it got, is kept for the next start to say
    (``app.killed_work.keep_unsaid_cancel``): it left a batch part-imported."""
    def kept(progress: Callable[[int, int, str], None],
             cancelled: Callable[[], bool]) -> ImportReport:
        report: ImportReport = work(progress, cancelled)
        if report.cancelled and not said_by_its_window():
            killed_work.keep_unsaid_cancel(library, paths, report)
        return report

    return kept


def summarised(work: Work) -> Work:
    """``work`` (an import) whose report comes summarised, on the worker thread as it
    returns: for 100,000 entries that is half a second the window's thread no longer
    spends before the summary shows."""
    def with_summary(progress: Callable[[int, int, str], None],
                     cancelled: Callable[[], bool]) -> Summarised:
        return summarise(work(progress, cancelled))

    return with_summary


class ImportSummaryDialog(QDialog):
    """Counts at the top, every file's verdict below, by outcome, a row each (Ctrl+C
    copies the selected rows, Copy the whole summary, as plain text); when everything
    stored went into one batch, a button that shows that batch (in a library of thousands
    it was a trip to the Batch ID chooser's long list after every import)."""

    show_batch = Signal(str)  # the batch to show, once the dialog has closed

    def __init__(self, report: ImportReport, parent: QWidget | None = None,
                 made: Summarised | None = None) -> None:
        """``made``: the report summarised already (``summarised``)."""
        super().__init__(parent)
        self.report = report
        made = made if made is not None else summarise(report)
        self.setWindowTitle("Import finished" if not report.cancelled else "Import cancelled")
        self.headline = QLabel(made.headline)
        self.headline.setTextFormat(Qt.TextFormat.PlainText)  # never read as HTML
        self.headline.setWordWrap(True)
        bold = QFont(self.headline.font())
        bold.setBold(True)
        self.headline.setFont(bold)
        self.sections = SectionsModel(made.sections, self)
        self.details = SummaryView(self.sections, self)
        self.details.setAccessibleName("What the import did with each file")
        # What the checks found in replaced conversations (``show_replaced``)
        self.findings = QLabel()
        self.findings.setTextFormat(Qt.TextFormat.PlainText)
        self.findings.setWordWrap(True)
        self.findings.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setToolTip("Copy the whole summary as plain text, to paste into a "
                                    "message or a note (Ctrl+C copies the selected rows)")
        self.copy_button.clicked.connect(self.copy)
        self.batch = made.batch
        self.show_batch_button: QPushButton | None = None
        if self.batch is not None:
            # (a button's "&" marks its Alt key and is not shown: a batch "Q&A" read "QA")
            self.show_batch_button = buttons.addButton(
                f"Show batch '{self.batch.replace('&', '&&')}'",
                QDialogButtonBox.ButtonRole.ActionRole)
            self.show_batch_button.setToolTip(
                "Close this summary and show only this batch's conversations (the other "
                "filters cleared)")
            self.show_batch_button.clicked.connect(self._show_batch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.findings)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        tab_as_shown(buttons)
        self.resize(720, 420)

    def text(self) -> str:
        """The whole summary as plain text: the headline, then every section."""
        return f"{self.headline.text()}\n\n{sections_text(self.sections.sections)}"

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copy_button.setText("Copied")
        button = self.copy_button  # (no call comes once the button is gone)
        QTimer.singleShot(COPIED_SHOWN_MS, button, lambda: button.setText("Copy"))

    def _show_batch(self) -> None:
        self.accept()
        if self.batch is not None:
            self.show_batch.emit(self.batch)

    def show_kept(self, described: Mapping[str, str] | None = None) -> None:
        """The person answered Cancel to replacing the changed conversations: the summary,
        still open, says they were kept and how to replace them later, each named as the
        question named it (``described``)."""
        self.headline.setText(self.report.summary())
        self.sections.set_sections(report_sections(self.report, changed="kept",
                                                   described=described))

    def show_replacing(self, described: Mapping[str, str] | None = None) -> None:
        """The person answered Replace and the replace runs: the summary, still open, says
        so instead of "the stored version stays unless you answer Replace"."""
        self.headline.setText(self.report.summary(changed="being replaced"))
        self.sections.set_sections(report_sections(self.report, changed="replacing",
                                                   described=described))

    def show_replaced(self, again: ImportReport, findings: str = "") -> None:
        """The person chose to replace the changed conversations and they are replaced:
        the summary, still open, says so instead of "changed (not replaced)", with what
        the add review's checks found in the new versions (``findings``), at the top."""
        done = {v.conversation_id: v for v in again.verdicts if v.verdict is Verdict.REPLACED}
        verdicts = [done.get(v.conversation_id, v) if v.verdict is Verdict.CHANGED else v
                    for v in self.report.verdicts]
        self.report = replace(self.report, verdicts=verdicts)
        self.headline.setText(self.report.summary())
        self.sections.set_sections(report_sections(self.report))
        self.findings.setText(findings)
        self.findings.setVisible(bool(findings))


# Under the progress dialog's title until the first files are stored and counted: the
# files are read and checked first (seconds for thousands), under a bar that says no count.
READING_FIRST = "Reading the files…"


class ImportController(QObject):
    """Asks for the batch, runs the import in the background, then shows the summary."""

    finished = Signal(object)  # ImportReport, after the change signal
    status = Signal(str)  # an import given up before it began (its look cancelled)
    show_batch = Signal(str)  # the summary's "Show batch" was pressed

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        self.last_summary: ImportSummaryDialog | None = None
        self.replacer = ReplaceController(window, library, dialogs, changes)
        self.replacer.replaced.connect(self._replaced)
        self.replacer.not_replaced.connect(self._not_replaced)

    def start(self, paths: list[Path], ask_batch: bool = True) -> bool:
        """Begin importing ``paths``; False when there is nothing to do or the user cancels.

        Without ``ask_batch`` every folder keeps its own name as batch (the samples).
        """
        if not paths:
            return False
        if not ask_batch:
            self._run(paths, None)
            return True
        found = self._look_for_ours(paths) if worth_a_look(paths) else Found([], len(paths))
        if found is None:
            return False
        ours = found.full_files
        others = found.files > len(ours)
        answer: str | None = ""
        if others:
            # A name refused (too long, control characters) is asked again as typed, with
            # the reason, as Move and Rename do: it dropped the import, files to choose again.
            answer = ask_name(self.dialogs, self.window, "Import", batch_question(paths), "",
                              lambda typed: clean_batch_id(typed) if typed.strip() else "")
            if answer is None:
                return False
        if not ours:
            self._run(paths, answer or None)
            return True
        chosen = self.dialogs.full_import(self.window, ours, typed_batch=others)
        if chosen is None:
            return False
        self._run(paths, (answer or None) if others else chosen.batch,
                  own_batches=chosen.own_batches,
                  recreate=offered(ours) if chosen.recreate else [])
        return True

    def _look_for_ours(self, paths: list[Path]) -> Found | None:
        """The training files of ours the import reads, chosen or in the folders, each
        known to the library (the same file there already), read off the window's thread
        (a dropped tree takes a walk; comparing with a file of the library, its ids); None
        when the person cancelled, or it failed (said)."""
        found, failure, cancelled = wait_behind_progress(
            LOOKING, functools.partial(full_files_in, self.library, paths), self.window)
        if failure is not None:
            self.dialogs.warn(self.window, "Import", failure)
        elif cancelled:
            self.status.emit("Import cancelled while it looked through the files: nothing "
                             "was imported; import them again to go on")
        return None if cancelled or failure is not None else found

    def _run(self, paths: list[Path], batch: str | None, own_batches: bool = True,
             recreate: Sequence[FullFileFacts] = ()) -> None:
        try:  # what the import stores gets a higher key (one indexed look-up)
            last_pk: int | None = last_stored_pk(self.library)
        except (LibraryError, SQLAlchemyError):
            last_pk = None  # the import itself says what is wrong
        run_with_progress(self.window, "Importing conversations",
                          summarised(saying_if_killed(told_later_if_unsaid(
                              self.library, paths,
                              self._job(paths, batch, own_batches, recreate)),
                              functools.partial(self._stopped, batch, last_pk))),
                          self._done, self._failed, before_steps=READING_FIRST)

    def _job(self, paths: list[Path], batch: str | None, own_batches: bool,
             recreate: Sequence[FullFileFacts]) -> Work:
        """The import in a child process; after the question about training files of ours,
        with its answers (and the files made again that it chose: ``recreate``)."""
        if own_batches and not recreate:
            return in_child(import_paths, self.library, paths, batch)
        return in_child(import_and_restore, self.library, paths, batch,
                        own_batches=own_batches, recreate=bool(recreate),
                        chosen=list(recreate))

    def _stopped(self, batch: str | None, last_pk: int | None) -> str:
        """What a killed import may have stored, naming the batches that hold it (read
        from the library: the import may have chosen them itself)."""
        stored: list[tuple[str, int]] | None = None  # unknown: it says where to look
        if last_pk is not None:
            with contextlib.suppress(LibraryError, SQLAlchemyError):
                stored = batches_stored_after(self.library, last_pk)
        return import_stopped(batch, stored)

    def _failed(self, message: str) -> None:
        # Files stored before the failure stay in the library: show them.
        self.changes.conversations_changed.emit()
        self.changes.batches_changed.emit()
        self.dialogs.warn(self.window, "Import failed", message)

    def _replaced(self, result: Replacement) -> None:
        if self.last_summary is not None:
            self.last_summary.show_replaced(result.report, result.findings())

    def _not_replaced(self) -> None:
        if self.last_summary is not None:  # not "being replaced" any more
            self.last_summary.show_kept(self.replacer.described)

    def _done(self, result: Summarised) -> None:
        report = result.report
        if report.imported:
            self.changes.conversations_stored.emit(report.stored_ids)
            self.changes.conversations_changed.emit()
            self.changes.batches_changed.emit()
        if report.restored:
            self.changes.training_files_changed.emit()
        self.last_summary = ImportSummaryDialog(report, self.window, result)
        self.last_summary.show_batch.connect(self.show_batch)
        self.last_summary.open()
        self.finished.emit(report)
        # changed conversations: asked once, for all of them
        if self.replacer.offer(report):
            self.last_summary.show_replacing(self.replacer.described)
        elif report.changed:
            self.last_summary.show_kept(self.replacer.described)
