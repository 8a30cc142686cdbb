"""A real library that notes which thread reads the table's rows: the window's reads must
run off the GUI thread, or in a child process (then this process reads nothing)."""

from __future__ import annotations

import threading
from pathlib import Path

from app.library import ConversationRow, Library


class RecordingLibrary(Library):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.summary_threads: list[threading.Thread] = []

    def summaries(self, batch_id: str | None = None) -> list[ConversationRow]:
        self.summary_threads.append(threading.current_thread())
        return super().summaries(batch_id)
