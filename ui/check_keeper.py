"""Keeps the Conversations page's checks across runs (``app.kept_checks``): they come back
when the window opens on the library again, and are written soon after each change (and
at close), so a crash loses at most the last moment's checks.

The ids are gathered on the GUI thread (about 30 ms for 100,000 checks,
``bench/bench_kept_checks.py``) and written on a thread of their own: a slow disk never
holds the window.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.kept_checks import ChecksNotKept, checks_file, load_checks, save_checks
from app.location import LibraryLocation
from ui.conversations_page import ConversationsPage
from ui.dialogs import Dialogs

# A change is written this long after it at the latest (changes meanwhile go with it):
# what a crash can lose.
SAVE_AFTER_MS = 1000
NOT_KEPT_TITLE = "Checks not kept"
_told: set[Path] = set()  # folders whose failure was said in this run (said once)


class CheckKeeper(QObject):
    """Puts back the checks kept for ``location`` once the page has its rows (``start``),
    and keeps every later change."""

    notice = Signal(str)  # "2,000 checked, as you left them", or why none came back
    _write_failed = Signal(str)  # from the writing thread

    def __init__(self, page: ConversationsPage, location: LibraryLocation, dialogs: Dialogs,
                 parent: QWidget, folder: Path | None = None) -> None:
        super().__init__(parent)
        self._page, self._model = page, page.model
        self._dialogs, self._window = dialogs, parent
        self._file = checks_file(location, folder)
        # The revision of the checks last written; None until the kept checks are back
        # (before that the page's empty checks must not overwrite them).
        self._saved: int | None = None
        self._writer: ThreadPoolExecutor | None = None  # one thread: writes in order
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_AFTER_MS)
        self._timer.timeout.connect(self._write_in_background)
        self._write_failed.connect(self._not_kept)

    def start(self) -> None:
        """The kept checks come back now, or with the first read of a large library."""
        if self._page.opening:  # its rows come from a background read
            self._page.reloaded.connect(self._restore, Qt.ConnectionType.SingleShotConnection)
        else:
            self._restore()

    @property
    def path(self) -> Path:
        return self._file.path

    def _restore(self) -> None:
        try:
            ids = load_checks(self._file)
        except ChecksNotKept as exc:
            ids = []
            self.notice.emit(str(exc))
        if ids:
            self._model.set_checked_ids(ids)  # (ids no longer in the library are dropped)
            kept = self._model.checked_count
            if kept:
                self.notice.emit(f"{kept:,} checked, as you left them.")
        self._saved = self._model.checks_revision
        self._model.checks_changed.connect(self._changed)

    def _changed(self) -> None:
        # Not restarted by later changes: a person checking row after row for a minute
        # still has each second's checks written.
        if not self._timer.isActive() and self._model.checks_revision != self._saved:
            self._timer.start()

    def _write_in_background(self) -> None:
        revision = self._model.checks_revision
        if self._saved is None or revision == self._saved:
            return
        ids = self._model.every_checked_id()
        self._saved = revision
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1,
                                              thread_name_prefix="kept-checks")
        self._writer.submit(self._write, ids)

    def _write(self, ids: list[str]) -> None:
        """On the writer's thread: one write at a time, in the order they were asked."""
        try:
            save_checks(self._file, ids)
        except ChecksNotKept as exc:
            self._write_failed.emit(str(exc))

    def keep_now(self) -> None:
        """Write what is not written yet, and wait for it (the window closes, or its
        library is switched)."""
        self._timer.stop()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._saved is None or self._model.checks_revision == self._saved:
            return
        self._saved = self._model.checks_revision
        try:
            save_checks(self._file, self._model.every_checked_id())
        except ChecksNotKept as exc:
            self._not_kept(str(exc))

    def _not_kept(self, message: str) -> None:
        """Said once in a run for a folder; checking goes on as before."""
        self._saved = -1  # tried again at the next change and at close, silently
        if self._file.folder in _told:
            return
        _told.add(self._file.folder)
        self._dialogs.warn(self._window, NOT_KEPT_TITLE, message)
