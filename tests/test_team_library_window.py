"""File ▸ Open team library…, Recent libraries and Open local library, through real widgets.

The settings are a real ini file read back byte for byte; the keyring is the machine's
(which has none here) or an in-memory stand-in (``memory_keyring.py``); the libraries are
real folders, and a server that does not answer is a real closed port.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import closed_port, settings_text
from scripted_dialogs import ScriptedDialogs

from app import keychain
from app.library import Library
from ui.library_choice import current, recent, remember_opened, settings_form
from ui.library_switch import LibrarySwitcher, start_location
from ui.main import MainWindow
from ui.tasks import job_over, jobs_of, run_with_progress

SECRET = "s3cret-Pa55"


def fill(dialog, host: str = "127.0.0.1", port: int = 5432, database: str = "lora_team",
         user: str = "ann", password: str = SECRET) -> None:
    dialog.host.setText(host)
    dialog.port.setValue(port)
    dialog.database.setText(database)
    dialog.user.setText(user)
    dialog.password.setText(password)


def test_the_dialog_reads_a_pasted_address_and_shows_it_without_password(qtbot, switcher):
    dialog = switcher.ask_team_library()
    assert not dialog.open_button.isEnabled()  # no database yet
    dialog.host.setText(f"postgresql://ann:{SECRET}@db.example.org:6543/lora_team")
    assert (dialog.host.text(), dialog.port.value(), dialog.database.text(),
            dialog.user.text(), dialog.password.text()) == (
        "db.example.org", 6543, "lora_team", "ann", SECRET)
    assert dialog.address.text() == "postgresql://ann@db.example.org:6543/lora_team"
    assert SECRET not in dialog.shown_url()
    assert dialog.open_button.isEnabled() and dialog.test_button.isEnabled()


def test_test_connection_to_a_server_that_is_down_says_so_in_one_sentence(qtbot, switcher):
    dialog = switcher.ask_team_library()
    port = closed_port()
    fill(dialog, port=port)
    dialog.test_button.click()
    assert not dialog.test_button.isEnabled()  # one test at a time
    qtbot.waitUntil(lambda: not dialog.testing, timeout=30000)
    said = dialog.outcome.text()
    assert f"postgresql://ann@127.0.0.1:{port}/lora_team" in said
    assert SECRET not in said and "Traceback" not in said
    assert "\n" not in said.strip()
    assert dialog.test_button.isEnabled()


def test_a_team_library_that_does_not_open_leaves_the_window_where_it_was(
        qtbot, switcher, library, settings):
    window = switcher.window
    dialog = switcher.ask_team_library()
    port = closed_port()
    fill(dialog, port=port)
    dialog.open_button.click()
    assert dialog.isVisible() and not dialog.open_button.isEnabled()  # opening
    qtbot.waitUntil(lambda: not switcher.opening, timeout=30000)
    said = dialog.outcome.text()
    assert f"postgresql://ann:***@127.0.0.1:{port}/lora_team" in said  # password hidden
    assert said.startswith("The team library ") and "cannot be reached" in said
    assert SECRET not in said and "Traceback" not in said
    assert dialog.isVisible() and dialog.open_button.isEnabled()  # to correct and retry
    assert switcher.window is window and switcher.library is library
    assert window.isVisible()
    assert library.count() == 0  # still open and usable
    assert current(settings) == settings_form(library.root)
    assert SECRET not in settings_text(settings)
    dialog.reject()


def test_recent_libraries_keep_team_urls_without_their_password(settings):
    remember_opened(settings, f"postgresql://ann:{SECRET}@db.example.org:6543/lora_team")
    remember_opened(settings, "/tmp/some-library")
    assert recent(settings) == [str(Path("/tmp/some-library").resolve()),
                                "postgresql://ann@db.example.org:6543/lora_team"]
    assert current(settings) == str(Path("/tmp/some-library").resolve())
    text = settings_text(settings)
    assert "db.example.org" in text
    assert SECRET not in text


def test_where_no_keyring_works_the_dialog_says_so_and_remembers_nothing(qtbot, switcher):
    assert keychain.keyring_problem() == keychain.NO_KEYRING
    dialog = switcher.ask_team_library()
    assert not dialog.remember.isEnabled() and not dialog.remember.isChecked()
    assert dialog.keyring_note.text() == keychain.NO_KEYRING
    assert not dialog.keyring_note.isHidden()
    assert keychain.remember("postgresql://ann@h:5432/db", SECRET) == keychain.NO_KEYRING
    assert keychain.recall("postgresql://ann@h:5432/db") is None


def test_a_remembered_password_fills_the_dialog_from_the_keyring(
        qtbot, library, settings, memory_keyring):
    key = "postgresql://ann@db.example.org:6543/lora_team"
    assert keychain.remember(key, SECRET) is None
    assert memory_keyring.kept == {(keychain.SERVICE, key): SECRET}
    switcher = LibrarySwitcher(library, ScriptedDialogs(), settings)
    qtbot.addWidget(switcher.window)
    dialog = switcher.ask_team_library(key)
    assert dialog.remember.isEnabled() and dialog.remember.isChecked()
    assert dialog.keyring_note.isHidden()
    assert (dialog.host.text(), dialog.port.value(), dialog.password.text()) == (
        "db.example.org", 6543, SECRET)
    switcher._keep_password(f"postgresql://ann:{SECRET}@db.example.org:6543/lora_team",
                            remember=False)
    assert memory_keyring.kept == {}
    dialog.reject()


def test_the_recent_menu_switches_to_another_library_and_closes_the_old_one(
        qtbot, switcher, library, settings, tmp_path):
    other = tmp_path / "other-library"
    Library(other).close()
    remember_opened(settings, other)
    window = switcher.window
    window.file_menu.aboutToShow.emit()
    window.recent_menu.aboutToShow.emit()
    entries = {a.text(): a for a in window.recent_menu.actions()}
    assert not entries[f"Local: {library.root.resolve()}"].isEnabled()  # the open one
    with qtbot.waitSignal(switcher.switched, timeout=30000) as switched:
        entries[f"Local: {other.resolve()}"].trigger()
    new_window = switched.args[0]
    assert isinstance(new_window, MainWindow) and new_window is switcher.window
    assert new_window.library.root == other.resolve()
    assert new_window.isVisible() and not window.isVisible()
    assert current(settings) == str(other.resolve())
    # The old library is closed once nothing reads it: another writer may open it.
    qtbot.waitUntil(lambda: _opens(library.root), timeout=30000)
    # And back: File ▸ Open local library.
    with qtbot.waitSignal(switcher.switched, timeout=30000):
        new_window.open_local_action.trigger()
    assert switcher.library.root == library.root.resolve()


def _opens(root: Path) -> bool:
    try:
        Library(root).close()
    except Exception:
        return False
    return True


def test_a_running_job_is_named_and_the_switch_waits_for_a_yes(
        qtbot, switcher, library, settings, tmp_path):
    other = tmp_path / "other-library"
    Library(other).close()
    window = switcher.window
    release = []

    def work(_progress, cancelled):
        # A worker thread: it waits by sleeping, never through qtbot, whose waits run the
        # GUI thread's event processing from this thread (once a deadlock with the new
        # window being built on the GUI thread, until the test's timeout).
        deadline = time.monotonic() + 30
        while not (cancelled() or release) and time.monotonic() < deadline:
            time.sleep(0.01)
        return None

    task = run_with_progress(window, "Importing conversations", work, lambda _r: None,
                             lambda _m: None)
    dialogs = switcher.dialogs
    dialogs.confirms.append(False)
    window.open_location_requested.emit(str(other))
    assert dialogs.asked[-1][0] == "confirm_destructive"
    assert "Importing conversations" in dialogs.asked[-1][2]
    assert not switcher.opening and switcher.library is library
    dialogs.confirms.append(True)
    with qtbot.waitSignal(switcher.switched, timeout=30000):
        window.open_location_requested.emit(str(other))
    assert task.is_cancelled()
    assert switcher.library.root == other.resolve()


def test_the_app_starts_where_it_was_left(tmp_path, settings, monkeypatch):
    monkeypatch.delenv("LORA_STUDIO_HOME")
    assert start_location(None, settings) == (None, None)
    team = "postgresql://ann@db.example.org:6543/lora_team"
    remember_opened(settings, team)
    assert start_location(None, settings) == (None, team)
    assert start_location(str(tmp_path), settings) == (str(tmp_path), None)
    gone = tmp_path / "gone"
    remember_opened(settings, gone)  # a folder that holds no library is not made anew
    assert start_location(None, settings) == (None, None)
    Library(gone).close()
    assert start_location(None, settings) == (str(gone.resolve()), None)
    monkeypatch.setenv("LORA_STUDIO_HOME", str(tmp_path / "home-library"))
    assert start_location(None, settings) == (None, None)


@pytest.fixture
def silent_port() -> Iterator[tuple[int, socket.socket]]:
    """A server that accepts connections and never answers (closing it ends them)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    yield silent.getsockname()[1], silent
    silent.close()


def start_opening(switcher, port: int) -> str:
    """Open the team library at ``port`` from the dialog, then give up waiting there (the
    opening goes on behind); the job's title."""
    dialog = switcher.ask_team_library()
    fill(dialog, port=port)
    dialog.open_button.click()
    assert switcher.opening
    dialog.reject()
    return f"Opening the team library postgresql://ann@127.0.0.1:{port}/lora_team"


def test_closing_the_window_while_a_team_library_opens_asks_first(
        qtbot, switcher, library, silent_port):
    port, silent = silent_port
    window, dialogs = switcher.window, switcher.dialogs
    title = start_opening(switcher, port)
    dialogs.confirms.append(False)  # keep working
    window.close()
    assert window.isVisible() and len(dialogs.asked) == 1
    kind, asked_title, question = dialogs.asked[0]
    assert (kind, asked_title) == ("confirm_destructive", "A job is still running")
    # The library being opened is not "this library" yet: the question does not say so.
    assert question.startswith(f"{title}: still running. Closing the window cancels it "
                               "first")
    assert "this library" not in question
    assert SECRET not in question
    assert window.isVisible() and switcher.opening
    silent.close()  # the server goes: the opening fails and ends
    qtbot.waitUntil(lambda: not switcher.opening, timeout=30000)
    assert switcher.library is library and switcher.window is window
    window.close()  # nothing runs now: no second question
    assert not window.isVisible() and len(dialogs.asked) == 1


def test_closing_while_a_remembered_team_library_opens_does_not_place_it_in_this_library(
        qtbot, switcher, library, silent_port):
    port, silent = silent_port
    window, dialogs = switcher.window, switcher.dialogs
    address = f"postgresql://ann@127.0.0.1:{port}/lora_team"
    window.open_location_requested.emit(address)  # Recent libraries: behind a progress dialog
    assert switcher.opening
    dialogs.confirms.append(False)  # keep working
    window.close()
    kind, _title, question = dialogs.asked[-1]
    assert kind == "confirm_destructive"
    assert question.startswith(f"Opening {address}: still running. Closing the window "
                               "cancels it first")
    silent.close()  # the server goes: the opening fails and ends
    qtbot.waitUntil(lambda: not switcher.opening, timeout=30000)
    assert switcher.library is library and switcher.window is window


def test_a_yes_closes_the_window_once_the_team_library_opening_has_ended(
        qtbot, switcher, library, silent_port):
    port, silent = silent_port
    window, dialogs = switcher.window, switcher.dialogs
    title = start_opening(switcher, port)
    (task,) = jobs_of(window)  # the opening is one of the window's jobs
    dialogs.confirms.append(True)  # cancel it and close
    window.close()
    assert task.is_cancelled() and task.detached
    assert window.isVisible()  # not before the opening has ended
    indicator = window.close_guard.indicator
    assert indicator is not None and indicator.labelText().startswith(f"Stopping {title}…")
    silent.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert job_over(task) and switcher.library is library
    assert dialogs.warnings == []  # what the ended opening said reached no one
