"""Keeps the Conversations page's checks across runs (``app.kept_checks``): they come back
when the window opens on the library again, and are written soon after each change (and
at close), so a crash loses at most the last moment's checks.

Off the GUI thread, on the keeper's own thread: reading the file and finding its rows
(100,000 checks held the GUI thread 137 ms at a load of 12, ``bench/bench_kept_checks.py``),
writing, and, once a run, dropping the files of libraries that are gone
(``app.kept_checks.drop_stale_checks``). On the GUI thread: gathering the ids to keep
(about 30 ms for 100,000 checks) and putting the rows found back in one change.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.kept_checks import (
    ChecksNotKept,
    checks_file,
    drop_stale_checks,
    load_checks,
    save_checks,
    touch_checks,
)
from app.location import LibraryLocation
from ui.conversations_model import rows_checked
from ui.conversations_page import ConversationsPage
from ui.dialogs import Dialogs
from ui.row_index import RowIndex

# A change is written this long after it at the latest (changes meanwhile go with it):
# what a crash can lose.
SAVE_AFTER_MS = 1000
NOT_KEPT_TITLE = "Checks not kept"
_told: set[Path] = set()  # folders whose failure was said in this run (said once)
_tidied: set[Path] = set()  # folders whose stale files were dropped in this run (once)


@dataclass(frozen=True)
class KeptRead:
    """What the keeper's thread read: the ids kept, and their rows in ``index``."""

    ids: list[str]
    index: RowIndex
    rows: frozenset[int]
    problem: str | None = None  # why nothing came back (a file that cannot be read)


class CheckKeeper(QObject):
    """Puts back the checks kept for ``location`` once the page has its rows (``start``),
    and keeps every later change."""

    notice = Signal(str)  # why no checks came back
    checks_back = Signal(str)  # "2,000 checked, as you left them": true until a check changes
    _write_failed = Signal(str)  # from the keeper's thread
    _read = Signal(object)  # a KeptRead, from the keeper's thread

    def __init__(self, page: ConversationsPage, location: LibraryLocation, dialogs: Dialogs,
                 parent: QWidget, folder: Path | None = None) -> None:
        super().__init__(parent)
        self._page, self._model = page, page.model
        self._dialogs, self._window = dialogs, parent
        self._file = checks_file(location, folder)
        # The revision of the checks last written; None until the kept checks are back
        # (before that the page's empty checks must not overwrite them).
        self._saved: int | None = None
        self._asked_at = 0  # the checks' revision when the kept ones were asked for
        self._restoring = False  # the kept checks are being read (``restoring``)
        self._stopped = False  # ``keep_now`` ran: a read that ends later is not wanted
        # One thread: reads and writes in the order they were asked.
        self._worker: ThreadPoolExecutor | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_AFTER_MS)
        self._timer.timeout.connect(self._write_in_background)
        self._write_failed.connect(self._not_kept)
        self._read.connect(self._put_back)

    def start(self) -> None:
        """The kept checks come back once the page has its rows (now, or with the first
        read of a large library), read on the keeper's thread."""
        if self._page.opening:  # its rows come from a background read
            self._page.reloaded.connect(self._restore, Qt.ConnectionType.SingleShotConnection)
        else:
            self._restore()

    @property
    def path(self) -> Path:
        return self._file.path

    @property
    def restoring(self) -> bool:
        """The kept checks are being read, not back yet (tests wait for them, as for the
        rows; until the page has its rows, it says it is loading)."""
        return self._restoring

    def _thread(self) -> ThreadPoolExecutor:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1,
                                              thread_name_prefix="kept-checks")
        return self._worker

    def _restore(self) -> None:
        if self._stopped:
            return
        self._restoring = True
        self._asked_at = self._model.checks_revision
        self._thread().submit(self._read_kept, self._model.index_)
        folder = self._file.folder
        if folder not in _tidied:
            _tidied.add(folder)
            self._thread().submit(drop_stale_checks, folder, self._file.path)

    def _read_kept(self, index: RowIndex) -> None:
        """On the keeper's thread: the kept ids and their rows (``rows_checked``)."""
        try:
            ids = load_checks(self._file)
        except ChecksNotKept as exc:
            self._read.emit(KeptRead([], index, frozenset(), str(exc)))
            return
        if ids:
            touch_checks(self._file)  # opened now: not stale (``drop_stale_checks``)
        self._read.emit(KeptRead(ids, index, rows_checked(index, ids)))

    def _find_again(self, read: KeptRead) -> None:
        """On the keeper's thread: the ids read, found among the rows that came in since."""
        self._read.emit(KeptRead(read.ids, read.index, rows_checked(read.index, read.ids)))

    def _put_back(self, read: KeptRead) -> None:
        """The kept checks back in one change of the model (ids no longer in the library
        dropped); checks made meanwhile stay, and are kept with them."""
        if self._stopped:
            return
        if read.ids and read.index is not self._model.index_:
            # New rows came in while the file was read (and the rows it was read against
            # may be being freed): find the ids among the new ones.
            self._thread().submit(self._find_again, KeptRead(read.ids, self._model.index_,
                                                             frozenset()))
            return
        if read.problem is not None:
            self.notice.emit(read.problem)
        touched = self._model.checks_revision != self._asked_at
        if read.rows:
            self._model.add_checks(read.index, read.rows)
            self.checks_back.emit(f"{len(read.rows):,} checked, as you left them.")
        self._restoring = False
        # Checked before the kept ones came back: those are written with them, soon.
        self._saved = -1 if touched else self._model.checks_revision
        self._model.checks_changed.connect(self._changed)
        if touched:
            self._timer.start()

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
        self._thread().submit(self._write, ids)

    def _write(self, ids: list[str]) -> None:
        """On the keeper's thread: one write at a time, in the order they were asked."""
        try:
            save_checks(self._file, ids)
        except ChecksNotKept as exc:
            self._write_failed.emit(str(exc))

    def keep_now(self) -> None:
        """Write what is not written yet, and wait for it (the window closes, or its
        library is switched); a read still running is waited for and not used."""
        self._stopped = True
        self._timer.stop()
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None
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
