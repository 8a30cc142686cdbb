"""Renaming batches and moving conversations between them, from the window."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.errors import LibraryError
from app.library import Library
from ui.conversations_page import ConversationsPage
from ui.dialogs import Dialogs


class BatchController(QObject):
    """Asks for the new batch id, changes the library, and says what happened."""

    changed = Signal(str)  # a message for the status bar

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 page: ConversationsPage) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.page = page

    def current_batch(self) -> str | None:
        """The batch the user is looking at: the filter's, else the selected row's."""
        chosen = self.page.batch_filter.value()
        if chosen is not None:
            return chosen
        index = self.page.table.currentIndex()
        return self.page.model.row_at(index.row()).batch_id if index.isValid() else None

    def move_checked(self) -> bool:
        ids = self.page.model.checked_ids()
        if not ids:
            self.dialogs.warn(self.window, "Move to batch",
                              "No conversations are checked: check the ones to move first.")
            return False
        answer = self.dialogs.text(self.window, "Move to batch",
                                   f"Move {len(ids)} checked conversation(s) to batch:",
                                   self.current_batch() or "")
        if answer is None:
            return False
        try:
            moved = self.library.move_conversations(ids, answer)
        except LibraryError as exc:
            self.dialogs.warn(self.window, "Move to batch", str(exc))
            return False
        target = " ".join(answer.split())
        self.page.reload()
        self.changed.emit(f"Moved {moved} conversation(s) to batch '{target}'")
        return True

    def rename_current(self) -> bool:
        old = self.current_batch()
        if old is None:
            self.dialogs.warn(self.window, "Rename batch",
                              "Choose a batch in the Batch ID filter, or select one of its "
                              "conversations, first.")
            return False
        answer = self.dialogs.text(self.window, "Rename batch",
                                   f"New name for batch '{old}' (an existing name merges the "
                                   "two batches):", old)
        if answer is None or " ".join(answer.split()) == old:
            return False
        try:
            self.library.rename_batch(old, answer)
        except LibraryError as exc:
            self.dialogs.warn(self.window, "Rename batch", str(exc))
            return False
        new = " ".join(answer.split())
        was_filtered = self.page.batch_filter.value() == old
        self.page.reload()
        if was_filtered:
            self.page.set_batch_filter(new)
        self.changed.emit(f"Renamed batch '{old}' to '{new}'")
        return True
