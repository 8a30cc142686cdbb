"""After an import: conversations whose id is stored with other content ("changed") are
kept as stored until the user agrees, once for all of them, to replace them; the training
files that hold a replaced conversation are rebuilt in the same background task."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.build import BuildCancelled
from app.importer import ImportReport, import_paths
from app.library import Library
from app.stored_builds import rebuilds_due
from app.trainingfiles import files_holding, rebuild_training_files
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.rebuild_flow import quoted
from ui.saved_copies import with_out_of_date
from ui.tasks import run_with_progress
from ui.wording import agreeing, plural

MAX_LISTED = 10


@dataclass(frozen=True)
class Replacement:
    report: ImportReport  # the second import, with replace on
    rebuilt: list[str]  # training files rebuilt because they hold a replaced conversation
    # Training files whose rebuild was cancelled: the library records that they owe one,
    # and the next open of the library rebuilds them (``app.recovery``).
    not_rebuilt: list[str] = field(default_factory=list)


def replace_question(report: ImportReport) -> str:
    changed = report.changed
    lines = [f"{plural(len(changed), 'conversation')} in this import "
             f"{agreeing(len(changed), 'is', 'are')} already in the library with different "
             "content:"]
    lines += [f"  • {v.conversation_id} ({Path(v.file).name})" for v in changed[:MAX_LISTED]]
    if len(changed) > MAX_LISTED:
        lines.append(f"  … and {len(changed) - MAX_LISTED:,} more")
    lines += ["", "Replace the stored versions with these? Each keeps its batch and its place "
              "in training files; the training files that hold them are rebuilt.",
              "Cancel keeps the stored versions."]
    return "\n".join(lines)


class ReplaceController(QObject):
    """Asks once whether to replace every changed conversation, then does it."""

    replaced = Signal(object)  # Replacement, after the change signals
    status = Signal(str)

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes

    def offer(self, report: ImportReport) -> bool:
        """Ask about the report's changed conversations; True when replacing started."""
        changed = report.changed
        if not changed:
            return False
        if not self.dialogs.confirm_destructive(self.window, "Replace changed conversations",
                                                replace_question(report),
                                                f"Replace {len(changed):,}"):
            return False
        files = [Path(f) for f in dict.fromkeys(v.file for v in changed)]

        def work(progress: object, cancelled: object) -> Replacement:
            again = import_paths(self.library, files, replace=True,
                                 progress=progress, cancelled=cancelled)  # type: ignore[arg-type]
            stale = files_holding(self.library, conversation_ids=again.replaced_ids)
            try:
                rebuilt = rebuild_training_files(self.library, stale, progress,  # type: ignore[arg-type]
                                                 cancelled)  # type: ignore[arg-type]
            except BuildCancelled:  # what was replaced stays replaced: say so, not failed
                # Files are rebuilt one by one: those done before the cancel owe nothing.
                with self.library.session() as session:
                    owed = set(rebuilds_due(session))
                return Replacement(again, [n for n in stale if n not in owed],
                                   [n for n in stale if n in owed])
            return Replacement(again, rebuilt)

        def done(result: Replacement) -> None:
            self.changes.conversations_stored.emit(result.report.replaced_ids)
            self.changes.conversations_changed.emit()
            self.changes.batches_changed.emit()  # said after conversations_stored (never moved)
            if result.rebuilt or result.not_rebuilt:
                self.changes.training_files_changed.emit()
            text = f"Replaced {plural(len(result.report.replaced_ids), 'conversation')}"
            if result.rebuilt:
                text += "; rebuilt " + ", ".join(f"'{n}'" for n in result.rebuilt)
            if result.not_rebuilt:
                them = agreeing(len(result.not_rebuilt), "it", "them")
                text += (f"; rebuilding {quoted(result.not_rebuilt)} was cancelled: LoRA "
                         f"Studio rebuilds {them} the next time it opens this library")
            self.status.emit(with_out_of_date(text, self.library, result.rebuilt))
            self.replaced.emit(result)

        def failed(message: str) -> None:
            self.changes.conversations_changed.emit()
            self.changes.training_files_changed.emit()
            self.dialogs.warn(self.window, "Conversations not replaced", message)

        run_with_progress(self.window, "Replacing changed conversations", work, done, failed)
        return True
