"""Marking conversations reviewed from the window: who is asked once and remembered, the
mark is stored at once, and the training files holding the conversations are rebuilt in
the background so their ``human_reviewed`` and reviewed counts follow."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QWidget

from app.errors import LibraryError
from app.failures import failure_sentence
from app.library import Library
from app.library_folder import refuse_changes
from app.review import clean_reviewer, default_reviewer
from app.review_marks import ReviewChange, mark_reviewed
from app.review_undo import ReviewUndo
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.rebuild_flow import quoted, update_training_files
from ui.review_undo_flow import ReviewUndoController
from ui.wording import agreeing

REVIEWER_KEY = "review/name"


class ReviewController(QObject):
    status = Signal(str)

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, settings: QSettings,
                 undo: ReviewUndoController | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        self.settings = settings
        self.undo = undo  # keeps the last change of marks for Edit ▸ Undo

    def reviewer(self, ask: bool = False) -> str | None:
        """The reviewer's name: remembered after the first time it is asked."""
        saved = self.settings.value(REVIEWER_KEY)
        if saved and not ask:
            return str(saved)
        answer = self.dialogs.text(self.window, "Reviewer",
                                   "Your name, as review marks should record it:",
                                   str(saved or default_reviewer()))
        if answer is None:
            return None
        try:
            name = clean_reviewer(answer)
        except LibraryError as exc:
            self.dialogs.warn(self.window, "Reviewer", str(exc))
            return None
        self.settings.setValue(REVIEWER_KEY, name)
        return name

    def change_reviewer(self) -> None:
        if self.reviewer(ask=True) is not None:
            self.status.emit(f"Review marks will say: reviewed by {self.reviewer()}")

    def review(self, conversation_ids: Sequence[str], mark: bool = True) -> bool:
        """Mark (or unmark) conversations; False when nothing was done."""
        ids = list(conversation_ids)
        if not ids:
            self.dialogs.warn(self.window, "Review", "No conversations are checked: check "
                              "the ones you reviewed first.")
            return False
        try:  # refused before anything is stored: marks kept with no rebuild read wrong
            refuse_changes(self.library)
        except LibraryError as exc:
            self.dialogs.warn(self.window, "Review", str(exc))
            return False
        name = self.reviewer() if mark else None
        if mark and name is None:
            return False
        try:
            change = mark_reviewed(self.library, ids, name, undo=not mark)
        except Exception as exc:  # a busy or read-only database too: never only on stderr
            self.dialogs.warn(self.window, "Review", failure_sentence(exc, self.library.database))
            return False
        if self.undo is not None:  # (before the change signals: they check it)
            self.undo.record(ReviewUndo.of(change))
        self.changes.conversations_marked.emit(ids)
        self.changes.conversations_changed.emit()
        self._rebuild(change)
        return True

    def review_one(self, conversation_id: str, mark: bool) -> bool:
        return self.review([conversation_id], mark)

    def _message(self, change: ReviewChange) -> str:
        count = change.conversations
        what = "conversation" if count == 1 else "conversations"
        if change.reviewed_by is None:
            return f"Took the review mark from {count:,} {what}"
        return f"Marked {count:,} {what} reviewed by {change.reviewed_by}"

    def _rebuild(self, change: ReviewChange) -> None:
        names = change.stale_files
        update_training_files(
            self.window, self.library, self.changes, self.dialogs, names,
            self._message(change), self.status.emit,
            f"The review marks are saved; {quoted(names)} may still show the old review "
            f"state until {agreeing(len(names), 'it is', 'they are')} rebuilt, at the "
            "latest the next time LoRA Studio opens this library (mark the conversations "
            "again to retry now).")
