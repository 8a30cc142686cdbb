"""Opening a library of an older version upgrades its schema (a backup first) off the GUI
thread, behind a progress dialog that says so, at start and from File ▸ Open library; Cancel
rolls the upgrade back and says so. Before, the upgrade ran in ``Library.open`` on the GUI
thread and nothing was on screen for seconds (2.5–3.1 s on 5,000 conversations).

The library is ``tests/data/library-before-fingerprints`` (LoRA Studio at commit d54ab62,
schema v3). The upgrade is held where a real one can wait: another program holds the
database's write lock (SQLite makes the upgrade wait for it); the test lets it go once it
has seen the dialog, and the upgrade goes on.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from held_writer import HeldWriter
from old_libraries import back_to_0006
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton
from scripted_dialogs import ScriptedDialogs

from app import migrations
from app.db import UPGRADING, UpgradeCancelled
from app.library import Library
from app.location import LibraryLocation
from app.paths import DATABASE_NAME
from ui.home_folder import home_as_tilde
from ui.library_switch import start_app

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-fingerprints"
LINE = "Upgrading the library made by an older version\n(a backup is written first)…"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shown_upgrading() -> QProgressDialog | None:
    for widget in QApplication.topLevelWidgets() + [
            child for top in QApplication.topLevelWidgets()
            for child in top.findChildren(QProgressDialog)]:
        if isinstance(widget, QProgressDialog) and widget.isVisible() \
                and "Upgrading the library" in widget.labelText():
            return widget
    return None


def when_upgrading(then: Callable[[QProgressDialog], None]) -> QTimer:
    """Call ``then`` once, with the dialog, when an upgrade's progress dialog is on
    screen; the timer runs in whatever event loop the GUI thread is in."""
    timer = QTimer()
    timer.setInterval(10)

    def look() -> None:
        dialog = shown_upgrading()
        if dialog is not None:
            timer.stop()
            then(dialog)

    timer.timeout.connect(look)
    timer.start()
    return timer


def press_cancel(dialog: QProgressDialog) -> None:
    [button] = [b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel"]
    button.click()


@pytest.fixture
def old_root(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def test_at_start_the_upgrade_runs_behind_a_dialog_that_says_so(
        qtbot, settings, old_root: Path, tmp_path: Path) -> None:
    held = HeldWriter(old_root / DATABASE_NAME)
    seen: list[str] = []

    def seen_then_go_on(dialog: QProgressDialog) -> None:
        seen.append(dialog.labelText())
        dialog.grab().save(str(tmp_path / "upgrading.png"))
        held.release()

    timer = when_upgrading(seen_then_go_on)
    dialogs = ScriptedDialogs()
    try:
        switcher = start_app(str(old_root), dialogs, settings)
    finally:
        timer.stop()
        held.release()
    assert switcher is not None
    try:
        assert seen == [f"Opening the library in {home_as_tilde(old_root)}\n{LINE}"]
        assert (tmp_path / "upgrading.png").stat().st_size > 0
        assert switcher.library.root == old_root
        assert (old_root / f"{DATABASE_NAME}.v3.bak").is_file()
        [(title, _message)] = dialogs.infos  # what the first open changed, as before
        assert title == "Finished on opening the library"
    finally:
        switcher.window.close()
        switcher.close()


def test_cancel_at_start_leaves_the_library_as_it_was_and_says_so(
        qtbot, settings, old_root: Path) -> None:
    database = old_root / DATABASE_NAME
    before = digest(database)
    held = HeldWriter(database)

    def cancel_then_go_on(dialog: QProgressDialog) -> None:
        press_cancel(dialog)
        held.release()

    timer = when_upgrading(cancel_then_go_on)
    dialogs = ScriptedDialogs()
    dialogs.confirms.append(False)  # Quit
    try:
        assert start_app(str(old_root), dialogs, settings) is None
    finally:
        timer.stop()
        held.release()
    [(kind, title, question)] = dialogs.asked
    assert (kind, title) == ("confirm", "Library not upgraded")
    assert question.startswith(
        f"Cancelled: the library in {old_root} was left as the older version made it (its "
        f"backup {DATABASE_NAME}.v3.bak, written first, is beside it). LoRA Studio upgrades "
        "it the next time it opens it.")
    assert dialogs.answers_named == [("Use another folder…", "Quit")]
    assert digest(database) == before
    assert digest(old_root / f"{DATABASE_NAME}.v3.bak") == before
    again = ScriptedDialogs()  # the next start upgrades it
    switcher = start_app(str(old_root), again, settings)
    assert switcher is not None
    try:
        assert switcher.library.root == old_root
        assert [title for title, _ in again.infos] == ["Finished on opening the library"]
    finally:
        switcher.window.close()
        switcher.close()


def test_switching_to_an_older_library_upgrades_it_behind_the_window_and_cancel_stays(
        qtbot, switcher, library, old_root: Path) -> None:
    """File ▸ Open library (a recent library): the same line under "Opening …", and Cancel
    leaves the window on its library and the older one as it was."""
    database = old_root / DATABASE_NAME
    before = digest(database)
    held = HeldWriter(database)
    seen: list[str] = []

    def cancel_then_go_on(dialog: QProgressDialog) -> None:
        seen.append(dialog.labelText())
        press_cancel(dialog)
        held.release()

    timer = when_upgrading(cancel_then_go_on)
    try:
        switcher.open_location(str(old_root))
        qtbot.waitUntil(lambda: not switcher.opening, timeout=30000)
    finally:
        timer.stop()
        held.release()
    assert seen == [f"Opening {old_root}\n{UPGRADING}"]
    assert switcher.library is library
    [(title, message)] = switcher.dialogs.warnings
    assert title == "Library not opened"
    assert message == (
        f"Cancelled: the library in {old_root} was left as the older version made it (its "
        f"backup {DATABASE_NAME}.v3.bak, written first, is beside it). LoRA Studio upgrades "
        f"it the next time it opens it.\nThe window stays on {library.root.resolve()}.")
    assert digest(database) == before


def test_a_cancelled_alembic_upgrade_is_rolled_back(tmp_path: Path) -> None:
    """A library of revision 0006 (past the older chain): Cancel before the commit leaves
    it at 0006; the backup of it stays; the next open upgrades it."""
    root = tmp_path / "lib"
    Library(root).close()
    back_to_0006(LibraryLocation(root))
    database = root / DATABASE_NAME
    before = digest(database)
    heard: list[tuple[int, int, str]] = []
    with pytest.raises(UpgradeCancelled) as stopped:
        Library.open(root, progress=lambda *step: heard.append(step), cancelled=lambda: True)
    assert heard == [(0, 0, UPGRADING)]
    backup = root / f"{DATABASE_NAME}.v7-0006_saved_copies.bak"
    assert stopped.value.backup == backup and digest(backup) == before
    conn = sqlite3.connect(database)
    try:
        assert migrations.sqlite_revision(conn) == "0006_saved_copies"
    finally:
        conn.close()
    with Library.open(root) as library, library.engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.HEAD


def test_a_quit_signal_during_the_upgrade_at_start_quits_without_a_question(
        qtbot, settings, old_root: Path) -> None:
    """Ctrl+C (here SIGTERM) in the terminal while the upgrade runs: it is cancelled as
    Cancel would, and nothing asks where to go next: nobody may be there to answer."""
    import signal

    from ui.quit_signals import QuitOnSignals, quit_without_asking
    from ui.tasks import running_jobs

    database = old_root / DATABASE_NAME
    before = digest(database)
    held = HeldWriter(database)
    handlers = QuitOnSignals(quit_without_asking, end_now=lambda _status: None,
                             say=lambda _text: None)
    handlers.install()

    def go_on_once_cancelled() -> None:  # (the handlers cancel at their next step)
        if any(task.is_cancelled() for task in running_jobs()):
            held.release()
        else:
            QTimer.singleShot(10, go_on_once_cancelled)

    def signal_then_go_on(_dialog: QProgressDialog) -> None:
        signal.raise_signal(signal.SIGTERM)
        go_on_once_cancelled()

    timer = when_upgrading(signal_then_go_on)
    dialogs = ScriptedDialogs()
    try:
        assert start_app(str(old_root), dialogs, settings,
                         quitting=lambda: handlers.received is not None) is None
    finally:
        timer.stop()
        held.release()
        handlers.uninstall()
    assert dialogs.asked == [] and dialogs.warnings == []
    assert digest(database) == before
