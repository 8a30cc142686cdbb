"""What the kept undos share: the last change of one kind kept, offered in the window's one
Undo (``ui.undo_slot``), and read again each time the library is said to have changed
whether it is still exact, so a greyed-out Undo says why on hover. Each kind (a removal
from a training file, ``ui.member_undo_flow``; from the library, ``ui.library_undo_flow``;
a file's settings, ``ui.settings_undo_flow``; a deleted file, ``ui.file_undo_flow``) says
how its undo runs; the three that rebuild or bring back one training file run it through
``_rebuild_file``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.errors import LibraryError
from app.library import Library
from app.library_folder import refuse_changes
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.saved_copies import with_out_of_date
from ui.tasks import Work, run_with_progress, stopped_unchanged
from ui.undo_slot import NOTHING_TO_UNDO, UndoSlot


class Undoable(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def tip(self) -> str: ...


U = TypeVar("U", bound=Undoable)


class KeptUndoController(QObject, Generic[U]):
    """Keeps the last removal of one kind; ``undo_last`` (each kind's own) undoes it."""

    status = Signal(str)  # the undo is done, or was cancelled
    failed = Signal(str)  # the undo was refused (after the warning) or failed

    # Each kind's own check of whether its undo is still exact (``app.*_undo.refused``).
    refused: Callable[[Session, U, bool], str | None]
    # Whether ``record`` reads that check at once. A kind whose job made its undo from the
    # states it read in its own transaction, with no change signal after it, need not:
    # the next change, the Edit menu's opening and the undo itself check again.
    read_at_record = True

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, undo: UndoSlot) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        self.undo = undo
        self.last: U | None = None
        self.why_not: str | None = None  # why ``last`` cannot be undone exactly now
        self._checks_held = 0  # inside ``one_check``: checks asked for wait for its end
        self._check_owed = False
        for signal in (changes.training_files_changed, changes.conversations_changed,
                       changes.batches_changed):
            signal.connect(self.check)

    def starting(self) -> None:
        """A removal starts: Undo waits for it, keeping what it offered (``hold``). Made,
        its own undo takes the place (``record``); not made, Undo offers again what it
        offered (``not_made``): taken at the start, a removal that failed or was
        cancelled lost the undo of the change before it."""
        self.undo.hold(self)

    def not_made(self) -> None:
        """The removal failed or was cancelled. Undo offers again what it offered: should
        the removal have changed something after all (rebuilt a file, then failed), the
        change before it reads so (its checks run again on the change signals the failure
        sends) and Undo is greyed out saying why."""
        self.undo.release(self)
        self.check()

    def record(self, undo: U | None) -> None:
        """The removal just announced is the one Undo reverses (None: none is kept, and
        nothing before it can be undone any more)."""
        self.last = undo
        self.undo.take(self)
        self.why_not = None  # (that of the one before: read again, or at the next change)
        if undo is not None and self.read_at_record:
            self.check()  # (shows what it read)
        else:
            self._show()

    def forget_undo(self) -> None:
        """A change of another kind came after ``last``: Undo offers that one now."""
        self.last = None

    @contextmanager
    def one_check(self) -> Iterator[None]:
        """The checks asked for inside (``record``'s, and one for each change signal sent
        with it) read the library once, at its end: a removal of 1,000 conversations from
        the library announced itself with three signals, and each read their ids again on
        the GUI thread (four reads, 0.07 s of frozen window in all)."""
        self._checks_held += 1
        try:
            yield
        finally:
            self._checks_held -= 1
            if not self._checks_held and self._check_owed:
                self._check_owed = False
                self.check()

    def check(self) -> None:
        """Read again whether ``last`` can still be undone exactly."""
        if self.last is None:
            return
        if self._checks_held:
            self._check_owed = True
            return
        try:
            with self.library.session() as session:
                self.why_not = type(self).refused(session, self.last, False)  # no stall
        except SQLAlchemyError:  # unreadable now: the job checks (and says) again
            self.why_not = None
        self._show()

    def undo_refused(self) -> str | None:
        """Why Undo is greyed out now (None: it is not)."""
        return NOTHING_TO_UNDO if self.last is None else self.why_not

    def _show(self) -> None:
        last, why = self.last, self.undo_refused()
        self.undo.show(self, None if last is None else last.label, why,
                       "" if last is None else last.tip)

    def _taken(self) -> U | None:
        """The kept removal, taken for its undo (one step: no redo, and never twice); None
        when Undo has nothing it can do exactly."""
        last = self.last
        if last is None or self.undo_refused() is not None:
            return None
        try:  # refused as any change is, and still offered
            refuse_changes(self.library)
        except LibraryError as exc:
            self.dialogs.warn(self.window, "Undo", str(exc))
            return None
        self.last = None
        self._show()
        return last

    def _rebuild_file(self, last: U, name: str, title: str, work: Work,
                      said: Callable[[Any], str], *,
                      name_of: Callable[[Any], str] = lambda info: str(info.name),
                      unchanged: str | None = None, conversations_too: bool = True,
                      not_made: Callable[[], None] = lambda: None,
                      first: Callable[[Any], None] = lambda _result: None) -> None:
        """Run the undo ``work`` that rebuilds or brings back the training file ``name`` as
        a job: done, the pages hear of the file (``name_of`` the work's result) and the
        status says ``said`` of it, with the saved copies it left out of date; stopped
        before it changed anything, the undo is kept to be offered again and the status
        says ``unchanged``. Ended after Cancel, it may have been saved: the pages read
        again (the conversations too, unless ``conversations_too`` is False: the undo
        changes no conversation). ``not_made`` runs first whenever it fails."""
        def done(result: Any) -> None:  # a TrainingFileInfo, or ``name_of`` says
            first(result)  # (what views must hear before the file's own signals)
            file_name = name_of(result)
            self.changes.training_file_built.emit(file_name)
            self.changes.training_files_changed.emit()
            self.status.emit(with_out_of_date(said(result), self.library, [file_name]))

        def failed(why: str) -> None:
            not_made()  # (it ended without being made, or with no word that it was)
            if stopped_unchanged(task, why):  # nothing was changed: it can still be undone
                self.record(last)
                self.status.emit(f"Undo cancelled: {unchanged or f'{name!r} was not changed'}")
                return
            if task.is_cancelled():  # ended after Cancel: it may have been saved
                self.changes.training_files_changed.emit()
                if conversations_too:
                    self.changes.conversations_changed.emit()
            self.dialogs.warn(self.window, "Undo", why)
            self.failed.emit(why)

        task = run_with_progress(self.window, title, work, done, failed)

    def undo_last(self) -> bool:
        raise NotImplementedError
