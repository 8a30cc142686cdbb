"""After an import: conversations whose id is stored with other content ("changed") are
kept as stored until the user agrees, once for all of them, to replace them; the training
files that hold a replaced conversation are rebuilt in the same background task."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app import killed_work
from app.importer import FileVerdict, ImportReport
from app.library import Library
from app.replace_checks import (
    Replaced,
    Stored,
    Worse,
    changed_files,
    differences,
    holding,
    marks_taken,
    reads_streamed,
    replace_changed,
    stored_conversations,
)
from app.replace_words import (
    changed_lines,
    client_of,
    described,
    marks_question,
    marks_taken_words,
    worse_findings,
)
from app.replace_words import rebuilds_sentence as rebuilds_sentence
from app.stopped_jobs import FILES_PAGE
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.rebuild_flow import quoted
from ui.saved_copies import with_out_of_date
from ui.tasks import run_with_progress, said_by_its_window, wait_behind_progress
from ui.wording import agreeing, and_list, natural_key, plural

READING_DIFFERENCES = "Reading what changed in the large training file"
MAX_LISTED = 10  # conversations named one by one; more are named by batch
CLIENTS_LISTED = 3  # clients named on a batch's line


@dataclass(frozen=True)
class Replacement(Replaced):
    """What the window's Replace did (``app.replace_checks.Replaced``), said in words."""

    def findings(self) -> str:
        """The checks' findings in one sentence, or "" (``worse_sentence``)."""
        return worse_sentence(self.worse)


def _by_batch(changed: list[FileVerdict], stored: Mapping[str, Stored]) -> list[str]:
    """One line a batch, most changed first: how many, and whose conversations they are."""
    batches: dict[str, list[str]] = {}
    for verdict in changed:
        found = stored.get(verdict.conversation_id or "")
        batches.setdefault(found.batch if found else "(not found)", []).append(client_of(found))
    lines = []
    ranked = sorted(batches.items(), key=lambda item: (-len(item[1]), natural_key(item[0])))
    for batch, clients in ranked[:MAX_LISTED]:
        names = sorted(set(clients), key=natural_key)
        shown = names[:CLIENTS_LISTED] + ([f"{len(names) - CLIENTS_LISTED:,} more"]
                                         if len(names) > CLIENTS_LISTED else [])
        lines.append(f"  • batch '{batch}': {len(clients):,} ({and_list(shown)})")
    if len(ranked) > MAX_LISTED:
        lines.append(f"  … and {plural(len(ranked) - MAX_LISTED, 'more batch', 'more batches')}")
    return lines


def replace_question(report: ImportReport, stored: Mapping[str, Stored],
                     holding: list[tuple[str, int]], in_no_file: int,
                     differs: Mapping[str, str] | None = None,
                     taken: Mapping[str, str] | None = None) -> str:
    """The one question about an import's changed conversations: who they are (client and
    batch, as the table shows them), which training files replacing them rebuilds, and
    the review marks it takes away (``taken``: ``app.replace_checks.marks_taken``)."""
    changed = report.changed
    n = len(changed)
    lines = [f"{plural(n, 'conversation')} in this import "
             f"{agreeing(n, 'is', 'are')} already in the library with different content:"]
    lines += (changed_lines(changed, stored, differs or {}) if n <= MAX_LISTED
              else _by_batch(changed, stored))
    these = agreeing(n, "version with this one", "versions with these")
    lines += ["", f"Replace the stored {these}? {agreeing(n, 'It keeps its', 'Each keeps its')}"
              " batch and its place in training files.",
              rebuilds_sentence(holding, in_no_file, n),
              *filter(None, [marks_question(taken or {}, n)]),
              f"Cancel keeps the stored {agreeing(n, 'version', 'versions')}."]
    return "\n".join(lines)


def replaced_sentence(replaced: int, asked: int, cancelled: bool) -> str:
    """How many a Replace replaced; when cancelled part-way, of how many, and how to
    replace the rest."""
    if not cancelled or replaced >= asked:
        return f"Replaced {plural(replaced, 'conversation')}"
    if not replaced:
        return ("Replacing was cancelled before any conversation was replaced: the library "
                "is as it was")
    return (f"Replacing was cancelled: {replaced:,} of the {plural(asked, 'changed conversation')} "
            "replaced (import the same files again and answer Replace to replace the rest)")


def worse_sentence(worse: list[Worse]) -> str:
    """What the new versions brought into the training files, in one sentence: "Of the
    replaced conversations, 6 now have a warning that would harm training (History
    Mismatch) in 'Coaching A' (6) and 'Coaching B' (4); …". "" when nothing."""
    parts = [clause for clause, _ids in worse_findings(worse)]
    if not parts:
        return ""
    return (f"Of the replaced conversations, {'; '.join(parts)}: {FILES_PAGE} lists them "
            "with each file's conversations.")


class ReplaceController(QObject):
    """Asks once whether to replace every changed conversation, then does it."""

    replaced = Signal(object)  # Replacement, after the change signals
    not_replaced = Signal()  # the replace failed or was cancelled before it replaced
    status = Signal(str)

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        # The changed conversations of the last question, as it named them (client · batch:
        # what differs), for the import summary's list of them (``described``).
        self.described: dict[str, str] = {}

    def _differences(self, changed: list[tuple[str, str]]) -> dict[str, str]:
        """``differences`` of the changed conversations (``_read``)."""
        return self._read(changed, lambda progress, cancelled: differences(
            self.library, changed, progress, cancelled))

    def _read(self, changed: list[tuple[str, str]],
              work: Callable[[Any, Any], dict[str, str]]) -> dict[str, str]:
        """``work`` on the changed conversations' files: done here, quickly, unless a file
        is a large full training file, streamed off the GUI thread behind a progress dialog
        (Cancel asks the question without the words for the ones not read yet)."""
        if not reads_streamed(file for _cid, file in changed):
            return work(None, None)
        found, _failure, _cancelled = wait_behind_progress(READING_DIFFERENCES, work,
                                                           self.window)
        return found or {}

    def offer(self, report: ImportReport) -> bool:
        """Ask about the report's changed conversations; True when replacing started."""
        changed = report.changed
        if not changed:
            return False
        # (each once: two files of one import may hold the same stored id, both changed)
        ids = list(dict.fromkeys(str(v.conversation_id) for v in changed if v.conversation_id))
        # What differs: only when each is named (a few files read again)
        differs = (self._differences([(str(v.conversation_id), v.file) for v in changed])
                   if len(changed) <= MAX_LISTED else {})
        held = holding(self.library, ids)  # the question's files, the checks' before
        stored = stored_conversations(self.library, ids)
        # The marks a replace takes away: only the marked ones' files are read again
        marked = [(str(v.conversation_id), v.file) for v in changed
                  if (found := stored.get(str(v.conversation_id))) and found.reviewed_by]
        taken = (self._read(marked, lambda progress, cancelled: marks_taken(
            self.library, marked, stored, progress, cancelled)) if marked else {})
        self.described = {cid: described(cid, stored, differs) for cid in ids}
        question = replace_question(report, stored, held.counts, held.in_no_file, differs,
                                    taken)
        if not self.dialogs.confirm_destructive(self.window, "Replace changed conversations",
                                                question, f"Replace {len(changed):,}"):
            return False

        def work(progress: Any, cancelled: Any) -> Replacement:
            # A cancel during the checks of the stored versions stops the job before
            # anything is replaced (``app.replace_checks.replace_changed``); one during
            # the import keeps what it replaced, which the next start says when the
            # window closed before it could (``app.killed_work.keep_unsaid_cancel``). A
            # close in the instant between this look and the result reaching the window
            # goes unsaid, as an import's does (``ui.import_flow.told_later_if_unsaid``).
            made = replace_changed(self.library, changed, held.names, progress, cancelled)
            if made.report.cancelled and not said_by_its_window():
                killed_work.keep_unsaid_cancel(self.library, changed_files(changed),
                                               made.report, replacing=len(ids))
            return Replacement(made.report, made.rebuilt, made.not_rebuilt, made.worse)

        def done(result: Replacement) -> None:
            self.changes.conversations_stored.emit(result.report.replaced_ids)
            self.changes.conversations_changed.emit()
            self.changes.batches_changed.emit()  # said after conversations_stored (never moved)
            if result.rebuilt or result.not_rebuilt:
                self.changes.training_files_changed.emit()
            text = replaced_sentence(len(result.report.replaced_ids), len(ids),
                                     result.report.cancelled)
            if result.rebuilt:
                text += "; rebuilt " + ", ".join(f"'{n}'" for n in result.rebuilt)
            if result.not_rebuilt:
                them = agreeing(len(result.not_rebuilt), "it", "them")
                text += (f"; rebuilding {quoted(result.not_rebuilt)} was cancelled: LoRA "
                         f"Studio rebuilds {them} the next time it opens this library")
            if result.report.marks_taken:
                text += "; " + marks_taken_words(result.report.marks_taken)
            text = with_out_of_date(text, self.library, result.rebuilt)
            if result.worse:
                text += ". " + result.findings()
            self.status.emit(text)
            self.replaced.emit(result)

        def failed(message: str) -> None:
            self.changes.conversations_changed.emit()
            self.changes.training_files_changed.emit()
            self.not_replaced.emit()  # (before the warning, which waits for a click)
            self.dialogs.warn(self.window, "Conversations not replaced", message)

        run_with_progress(self.window, "Replacing changed conversations", work, done, failed)
        return True
