"""Moving the window to another library: a team's (PostgreSQL) or one on this computer.

``LibrarySwitcher`` owns the open library and the one main window on it. The new library
opens off the GUI thread (a server may take seconds to answer); only when it is open does a
new window replace the old one, and only when the old window's background reads have ended
is the old library closed. A failure is one sentence naming the library (never its
password) and what to do, and the window stays on the library it had. A long job still
running (an import, a build) is named and cancelled only if the person says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from sqlalchemy.engine import make_url

from app import keychain
from app.build import BuildCancelled
from app.failures import failure_sentence
from app.library import Library
from app.paths import DATABASE_NAME, ENV_HOME, library_dir, user_library_dir
from app.recovery import (
    Progress,
    finish_for_a_window,
    finish_interrupted_work,
    needs_recovery,
)
from ui.close_guard import cancel_question, still_running, the_jobs
from ui.dialogs import Dialogs
from ui.library_choice import (
    current,
    is_team,
    remember_opened,
    settings_form,
    with_password,
)
from ui.library_folder_flow import choose_library_folder, next_start_note
from ui.main import (
    FINISH_GRACE_S,
    MainWindow,
    finish_interrupted_work_or_explain,
    library_key,
    open_library_or_explain,
)
from ui.tasks import (
    Task,
    in_child,
    run_with_progress,
    running_jobs,
    start_as_job,
    stop_jobs,
    wait_behind_progress,
)
from ui.team_dialog import TeamLibraryDialog

QUIET_POLL_MS = 50
QUIET_LIMIT_MS = 30_000  # the old library closes by then even if a read has not ended
FINISH_CANCELLED = ("Finishing the work a previous run left was cancelled: the library "
                    "opens as it is, and LoRA Studio finishes that work the next time it "
                    "opens this library.")


def open_library(text: str, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Library:
    """Open the library ``text`` names: a folder, or a team library's URL (``progress``
    and ``cancelled``: for the upgrade of an older version's library)."""
    return Library.open(text, progress=progress, cancelled=cancelled)


def start_location(given: str | None, settings: QSettings) -> tuple[str | None, str | None]:
    """Where the app starts: (the folder to open first, a team library to open next).

    ``given`` (``--library``/``--data-dir``) wins; else ``LORA_STUDIO_HOME`` (a folder or
    a team library's URL); else the
    library open last (a remembered folder only while it still holds a library: a missing
    one is not made anew); else the user-data folder."""
    if given:
        return (None, given) if is_team(given) else (given, None)
    home = os.environ.get(ENV_HOME)
    if home:
        return (None, home) if is_team(home) else (None, None)
    last = current(settings)
    if last and is_team(last):
        return None, last
    if last and (Path(last) / DATABASE_NAME).is_file():
        return last, None
    return None, None


class Opened(NamedTuple):
    """A library opened off the GUI thread, and what finishing its interrupted work said."""

    library: Library
    problem: str | None  # why that failed (the library opens as it is)
    finished: list[str]  # what it did, one sentence each (``Window.say_what_was_finished``)


def open_and_finish(text: str, progress: Progress | None = None,
                    cancelled: Callable[[], bool] | None = None) -> Opened:
    """In a worker thread: open, then complete or roll back what a killed run left (a
    failure of that is reported, and the library opens as it is). ``progress`` and
    ``cancelled`` are the task's: the upgrade and rebuilds this may do can take minutes
    (a cancelled upgrade fails with ``app.db.UpgradeCancelled``: the library was left as
    it was, and the window stays where it is)."""
    library = open_library(text, progress, cancelled)
    try:
        if not needs_recovery(library):
            return Opened(library, None, [])
        if library.is_team:  # (still in this thread: not measured yet for a team library)
            finished, stopped = finish_interrupted_work(library, progress, cancelled), False
        else:  # in a child process, as at start (``finish_interrupted_work_or_explain``)
            finished, stopped = in_child(finish_for_a_window, library,
                                         grace=FINISH_GRACE_S)(progress or _unheard,
                                                               cancelled or _never)
    except BuildCancelled:  # not a failure: what is left stays recorded in the library
        return Opened(library, FINISH_CANCELLED, [])
    except Exception as exc:
        return Opened(library, f"{failure_sentence(exc, library.database)}\n\nThe library "
                      "opens as it is; LoRA Studio tries again at the next start.", [])
    return Opened(library, FINISH_CANCELLED if stopped else None, finished)


def _unheard(_done: int, _total: int, _current: str) -> None:
    return None


def _never() -> bool:
    return False


def open_before_window(text: str) -> Opened | str | None:
    """At start, before any window: open the team library ``text`` (with the keyring's
    password) off the GUI thread behind a progress dialog of its own, since a server may
    take seconds to answer. The opened library, or the one sentence why not, or None when
    the person cancelled: that returns at once, without waiting for a server that may not
    answer (a library that opens after that is closed again)."""
    target = with_password(text)
    opened, failure, cancelled = wait_behind_progress(
        f"Opening the team library {settings_form(text)}",
        partial(open_and_finish, target),
        abandon=lambda late: late[0].close())
    if cancelled:
        return None
    return opened if failure is None else failure


def start_app(location: str | None, dialogs: Dialogs, settings: QSettings,
              quitting: Callable[[], bool] = lambda: False) -> LibrarySwitcher | None:
    """The first window: on ``location`` (``--library``), else where the app was left
    (``quitting``: a quit signal came, and a cancelled upgrade asks nothing).

    A team library opens directly (no window on the local library first). One that does
    not open leaves the window on the local library with the team dialog saying why, to
    correct the address or password there; None when no library could be opened."""
    folder, team = start_location(location, settings)
    why: str | None = None
    if team is not None:
        outcome = open_before_window(team)
        if isinstance(outcome, tuple):
            team_library, problem, finished = outcome
            switcher = LibrarySwitcher(team_library, dialogs, settings)
            switcher.window.show()
            switcher.window.say_what_was_finished(finished)
            if problem:
                dialogs.warn(switcher.window, "Interrupted work not finished", problem)
            return switcher
        why = outcome
    library = open_library_or_explain(folder, dialogs, quitting=quitting)
    if library is None:
        return None
    finished = finish_interrupted_work_or_explain(library, dialogs)
    switcher = LibrarySwitcher(library, dialogs, settings, local_folder=library.root,
                               remember=team is None)
    switcher.window.show()
    switcher.window.say_what_was_finished(finished)
    if team is not None:
        if why is None:
            switcher.window.show_message(
                f"Opening {settings_form(team)} was cancelled: this is the local library.")
        else:
            switcher.ask_team_library(settings_form(team), why)
    return switcher


class LibrarySwitcher(QObject):
    """The open library and its window; ``switched`` carries each new window."""

    switched = Signal(object)  # MainWindow

    def __init__(self, library: Library, dialogs: Dialogs, settings: QSettings,
                 local_folder: Path | None = None, remember: bool = True) -> None:
        super().__init__()
        self.library = library
        self.dialogs = dialogs
        self.settings = settings
        self.local_folder = local_folder or library_dir(None)
        self.team_dialog: TeamLibraryDialog | None = None
        self._opening: Task | None = None
        self.window = self._new_window(library)
        if remember:  # (not when a team library is about to open instead)
            remember_opened(settings, library_key(library))

    def _new_window(self, library: Library) -> MainWindow:
        window = MainWindow(library, self.dialogs, self.settings)
        window.open_folder_requested.connect(self.choose_folder)
        window.open_team_requested.connect(lambda: self.ask_team_library())
        window.open_local_requested.connect(lambda: self.open_location(str(self.local_folder)))
        window.open_location_requested.connect(self.open_location)
        # Greyed out on the local library itself (nothing to go back to), and naming it.
        local = settings_form(self.local_folder)
        window.open_local_action.setEnabled(library_key(library) != local)
        window.open_local_action.setStatusTip(f"Go back to the library in {local}")
        window.open_local_action.setToolTip(f"Go back to the library in {local}")
        return window

    @property
    def opening(self) -> bool:
        return self._opening is not None

    # --- the questions -----------------------------------------------------------------

    def ask_team_library(self, url: str | None = None, message: str = "") -> TeamLibraryDialog:
        """File ▸ Open team library…: the dialog (filled from ``url``, a URL without
        password, with the keyring's password for it) stays open until the library opens."""
        if self.team_dialog is not None:
            self.team_dialog.close()
        key = settings_form(url) if url else None
        dialog = TeamLibraryDialog(self.window, key,
                                   keychain.recall(key) if key else None,
                                   keychain.keyring_problem())
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open_requested.connect(
            lambda text, remember: self._open_from_dialog(dialog, text, remember))
        dialog.destroyed.connect(lambda: self._forget_dialog(dialog))
        if message:
            dialog.outcome.setText(message)
        self.team_dialog = dialog
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog: TeamLibraryDialog) -> None:
        if self.team_dialog is dialog:
            self.team_dialog = None

    def _jobs_may_stop(self, target: str) -> bool:
        """No job runs, or the person agreed to cancel the ones that do."""
        jobs = running_jobs()
        if not jobs:
            return True
        if not self.dialogs.confirm_destructive(
                self.window, still_running(jobs),
                cancel_question(jobs, f"Opening {target}"), f"Cancel {the_jobs(jobs)} and open"):
            return False
        # Not detached yet: if the other library does not open, this window stays and
        # hears how they ended; ``_switch_to`` detaches them once it has opened.
        stop_jobs(jobs, detach=False)
        return True

    def _refuse_the_same(self, text: str) -> bool:
        if settings_form(text) == library_key(self.library):
            self.window.show_message(f"{settings_form(text)} is the library open now.")
            return True
        if self._opening is not None:
            self.window.show_message("Another library is being opened; wait for it.")
            return True
        return False

    def choose_folder(self) -> None:
        """File ▸ Open or create library folder…: the chooser and, for a new library, the
        question; the folder then opens as a recent library does."""
        if self._opening is not None:
            self.window.show_message("Another library is being opened; wait for it.")
            return
        folder = choose_library_folder(self.window, self.dialogs, self._chooser_start(),
                                       library_key(self.library))
        if folder is None:
            return
        made = not (Path(folder) / DATABASE_NAME).is_file()
        self.open_location(folder, f"Created a new library in {folder}." if made else "")

    def _chooser_start(self) -> Path:
        """Beside the open library's folder; the home folder for a team library or the
        user-data folder (hidden on most systems, and no place to look for another)."""
        root = self.library.root.resolve()
        if self.library.is_team or root == user_library_dir().resolve():
            return Path.home()
        return root.parent

    # --- opening -----------------------------------------------------------------------

    def open_location(self, text: str, said: str = "") -> None:
        """Open a remembered library (a folder, or a team URL without its password: the
        keyring's is used). A team library that does not open shows the team dialog with
        the reason, to correct the password or address there."""
        if self._refuse_the_same(text) or not self._jobs_may_stop(settings_form(text)):
            return
        team = is_team(text)
        shown = settings_form(text)

        def opened(result: Opened) -> None:
            self._opening = None
            if task.is_cancelled():
                result[0].close()
                return
            self._switch_to(result, text, said)

        def failed(why: str) -> None:
            self._opening = None
            if team:
                self.ask_team_library(shown, why)
            else:
                self.dialogs.warn(self.window, "Library not opened",
                                  f"{why[:1].upper()}{why[1:]}\nThe window stays on "
                                  f"{library_key(self.library)}.")

        target = with_password(text)
        task = run_with_progress(self.window, f"Opening {shown}",
                                 partial(open_and_finish, target),
                                 opened, failed, abandon=lambda late: late[0].close())
        task.in_this_library = False  # it opens another library
        self._opening = task

    def _open_from_dialog(self, dialog: TeamLibraryDialog, text: str, remember: bool) -> None:
        if self._refuse_the_same(text):
            dialog.failed(f"{settings_form(text)} is the library open now.")
            return
        if not self._jobs_may_stop(settings_form(text)):
            dialog.failed("Nothing was opened: a job is still running in this library.")
            return
        task = Task(partial(open_and_finish, text))

        def opened(result: Opened) -> None:
            self._opening = None
            if task.detached or self.team_dialog is not dialog or not dialog.isVisible():
                # The person gave up waiting, or closed the window: stay where we are.
                result[0].close()
                return
            dialog.opened()
            self._keep_password(text, remember)
            self._switch_to(result, text)

        def failed(why: str) -> None:
            self._opening = None
            if not task.detached and self.team_dialog is dialog:
                dialog.failed(why)

        task.signals.succeeded.connect(opened)
        task.signals.failed.connect(failed)
        self._opening = task
        # A job of the window like an import: closing the window asks about it first.
        start_as_job(self.window, f"Opening the team library {settings_form(text)}", task,
                     in_this_library=False)

    def _keep_password(self, text: str, remember: bool) -> None:
        key = settings_form(text)
        password = make_url(text).password
        if remember and password:
            problem = keychain.remember(key, str(password))
            if problem:
                self.window.show_message(problem)
        elif not remember:
            keychain.forget(key)

    # --- the switch ----------------------------------------------------------------------

    def _switch_to(self, result: Opened, text: str, said: str = "") -> None:
        """Put a new window on the opened library, then close the old window and, once
        nothing reads it any more, the old library. ``said``: what the status line says
        instead of "Opened …" (a library just made)."""
        library, problem, finished = result
        old_window, old_library = self.window, self.library
        old_window.save_settings()
        old_window.close_guard.let_go()  # its jobs were cancelled (``_jobs_may_stop``)
        old_window.release()
        self.library = library
        self.window = self._new_window(library)
        self.window.show()
        old_window.close()
        remember_opened(self.settings, text)
        kept = settings_form(text)
        note = "" if is_team(text) else next_start_note(kept)
        self.window.show_message(f"{said or f'Opened {kept}.'}{note}")
        # The old library is let go before any message waits for its OK: a modal box
        # kept it open, its lock held, for as long as nobody answered.
        self._when_quiet(old_window, lambda: self._let_go(old_window, old_library))
        self.window.say_what_was_finished(finished, f"On opening {settings_form(text)}")
        if problem:
            self.dialogs.warn(self.window, "Interrupted work not finished", problem)
        self.switched.emit(self.window)

    @staticmethod
    def _let_go(window: MainWindow, library: Library) -> None:
        library.close()
        window.deleteLater()

    def _when_quiet(self, window: MainWindow, then: Callable[[], None]) -> None:
        """Call ``then`` once no job and no background read of ``window`` runs (or after
        QUIET_LIMIT_MS: a read that never reports its end must not keep a library open)."""
        waited = [0]

        def check() -> None:
            if (running_jobs() or window.reading) and waited[0] < QUIET_LIMIT_MS:
                waited[0] += QUIET_POLL_MS
                QTimer.singleShot(QUIET_POLL_MS, check)
                return
            then()

        check()

    def close(self) -> None:
        """At the end of the app: the last library closes."""
        if self.team_dialog is not None:
            self.team_dialog.close()
        self.library.close()
