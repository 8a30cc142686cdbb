"""A window on a team library reloads what other members changed (``app.team_changes``).

A timer asks the listener, a moment apart, which kinds of data others changed; the
window's own change signals (``ui.changes.LibraryChanges``) then reload the pages showing
them, exactly as after a change made in this window. Asking never waits on the server.
A library folder needs none of this: only this window changes it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from app.library import Library
from app.team_changes import (
    BATCHES,
    CONVERSATIONS,
    TOKENIZER,
    TRAINING_FILES,
    ChangeListener,
    claim_origin,
)
from ui.changes import LibraryChanges

POLL_MS = 1000  # how soon another member's change shows


class TeamWatch(QObject):
    """Emits ``changes``' signals for what other processes changed in a team library."""

    def __init__(self, library: Library, changes: LibraryChanges, parent: QObject,
                 interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.changes = changes
        self.listener: ChangeListener | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        if library.is_team:
            # This window and the jobs it starts are one origin: what it changed itself
            # it has shown already.
            self.listener = ChangeListener(library.location, claim_origin())
            self.listener.start()  # if the server is away now, the first check connects
            self.timer.start()

    def check(self) -> None:
        if self.listener is None:
            return
        topics = self.listener.poll()
        if CONVERSATIONS in topics:
            self.changes.conversations_changed.emit()
        if BATCHES in topics:
            self.changes.batches_changed.emit()
        if TRAINING_FILES in topics:
            self.changes.training_files_changed.emit()
        if TOKENIZER in topics:
            self.changes.tokenizer_changed.emit()

    def stop(self) -> None:
        self.timer.stop()
        if self.listener is not None:
            self.listener.close()
