"""Starting on a team library, and a window on one saying where the library is, against
the test session's real PostgreSQL server.

``--library postgresql://…`` (or a team library open when the app was last closed) opens
that library directly: the local library is never opened on the way. A team library is no
folder: the window names its address (without password) and offers nothing that would
show this computer's cache folder as if it were the library.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import psycopg
import pytest
from conftest import ENRICHED, closed_port, settings_text
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QPushButton
from scripted_dialogs import ScriptedDialogs
from sqlalchemy.engine import make_url

from app.importer import import_paths
from app.library import Library
from app.paths import DATABASE_NAME, library_dir
from ui import library_switch
from ui.library_choice import current, remember_opened, settings_form
from ui.library_switch import start_app
from ui.main import window_title
from ui.tasks import running_jobs

SECRET = "s3cret-Pa55"


pytestmark = pytest.mark.usefixtures("no_keyring")


@pytest.fixture
def local_home() -> Path:
    """The local library's folder (the test's LORA_STUDIO_HOME)."""
    return Path(os.environ["LORA_STUDIO_HOME"])


@pytest.fixture
def started(qtbot):
    """Close whatever ``start_app`` opened at the end of the test."""
    switchers = []
    yield switchers
    for switcher in switchers:
        switcher.window.close()
        switcher.close()


def test_starting_with_a_team_url_opens_it_without_opening_the_local_library(
        qtbot, pg_url, settings, local_home, started):
    with Library.open(pg_url) as team:
        import_paths(team, ENRICHED[:3])
    dialogs = ScriptedDialogs()
    switcher = start_app(pg_url, dialogs, settings)
    started.append(switcher)
    assert switcher is not None and switcher.library.is_team
    window = switcher.window
    assert window.isVisible() and window.library is switcher.library
    assert window.windowTitle() == f"Team library {settings_form(pg_url)} — LoRA Studio"
    qtbot.waitUntil(lambda: window.conversations.model.total == 3, timeout=30000)
    assert not (local_home / DATABASE_NAME).exists()  # the local library was never opened
    assert dialogs.asked == [] and dialogs.warnings == []
    assert current(settings) == settings_form(pg_url)


def test_the_team_library_open_last_opens_directly_at_the_next_start(
        qtbot, pg_url, settings, started, monkeypatch):
    monkeypatch.delenv("LORA_STUDIO_HOME")  # (which would win over the one open last)
    local_home = library_dir(None)
    remember_opened(settings, pg_url)
    switcher = start_app(None, ScriptedDialogs(), settings)
    started.append(switcher)
    assert switcher is not None and switcher.library.is_team
    assert switcher.library.location.display == settings_form(pg_url)
    assert not (local_home / DATABASE_NAME).exists()


def test_a_team_url_in_lora_studio_home_opens_directly_and_local_stays_the_user_folder(
        qtbot, pg_url, settings, started, monkeypatch, tmp_path):
    monkeypatch.setenv("LORA_STUDIO_HOME", pg_url)
    switcher = start_app(None, ScriptedDialogs(), settings)
    started.append(switcher)
    assert switcher is not None and switcher.library.is_team
    # File ▸ Open local library opens the user-data folder, not the team's cache folder
    # nor a folder named after the URL.
    assert switcher.local_folder == tmp_path / "data" / "LoRA Studio"
    assert library_dir(None) == switcher.local_folder


def test_a_team_url_that_does_not_open_at_start_leaves_the_local_library_and_says_why(
        qtbot, settings, local_home, started):
    port = closed_port()
    url = f"postgresql://ann:{SECRET}@127.0.0.1:{port}/lora_team"
    switcher = start_app(url, ScriptedDialogs(), settings)
    started.append(switcher)
    assert switcher is not None and not switcher.library.is_team
    assert switcher.library.root == local_home.resolve()
    assert switcher.window.isVisible()
    dialog = switcher.team_dialog
    assert dialog is not None and dialog.isVisible()  # to correct the address there
    said = dialog.outcome.text()
    assert "cannot be reached" in said and f"127.0.0.1:{port}/lora_team" in said
    assert SECRET not in said and "Traceback" not in said
    assert (dialog.host.text(), dialog.port.value(), dialog.user.text()) == (
        "127.0.0.1", port, "ann")
    assert SECRET not in settings_text(settings)
    assert current(settings) is None  # neither library is remembered as the one to start on
    dialog.reject()


def test_cancelling_a_team_library_that_does_not_answer_starts_on_the_local_library(
        qtbot, settings, local_home, started):
    silent = socket.socket()  # a server that accepts the connection and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    port = silent.getsockname()[1]
    cancelled = threading.Event()

    def cancel_the_wait() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QProgressDialog) and "lora_team" in widget.labelText():
                cancelled.set()
                widget.findChild(QPushButton).click()  # its Cancel button
                return
        QTimer.singleShot(100, cancel_the_wait)

    QTimer.singleShot(100, cancel_the_wait)
    try:
        switcher = start_app(f"postgresql://ann@127.0.0.1:{port}/lora_team",
                             ScriptedDialogs(), settings)
    finally:
        silent.close()
    started.append(switcher)
    assert cancelled.is_set()
    assert switcher is not None and not switcher.library.is_team
    assert switcher.library.root == local_home.resolve()
    assert switcher.window.windowTitle().startswith("Local library ")
    assert switcher.team_dialog is None


def _connections_to(url: str) -> int:
    """How many sessions other than this one the server has open on ``url``'s database."""
    with psycopg.connect(url) as probe:
        row = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND pid <> pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_cancel_at_start_returns_at_once_and_a_library_that_opens_later_is_closed(
        qtbot, pg_url, monkeypatch):
    answer, answered = threading.Event(), threading.Event()
    late: list[Library] = []
    real = library_switch.open_and_finish

    def slow_server(text: str, progress=None, cancelled=None) -> library_switch.Opened:
        """The server answers only once the test lets it (or after a while)."""
        answer.wait(15)
        try:
            opened = real(text, progress, cancelled)
            late.append(opened[0])
            return opened
        finally:
            answered.set()

    def press_cancel() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QProgressDialog) and widget.isVisible():
                widget.findChild(QPushButton).click()
                return
        QTimer.singleShot(50, press_cancel)

    monkeypatch.setattr(library_switch, "open_and_finish", slow_server)
    QTimer.singleShot(50, press_cancel)
    assert library_switch.open_before_window(pg_url) is None
    assert not answered.is_set()  # Cancel did not wait for the server
    assert running_jobs() == {}  # nor is the given-up opening a job the window waits for
    answer.set()
    qtbot.waitUntil(lambda: bool(late) and _connections_to(pg_url) == 0, timeout=30000)


def test_a_team_library_window_says_where_the_library_is_and_never_shows_a_folder(
        qtbot, pg_url, settings, started, monkeypatch):
    # (the test server trusts local logins: a password in the URL is sent and ignored)
    with_secret = make_url(pg_url).set(password=SECRET).render_as_string(hide_password=False)
    switcher = start_app(with_secret, ScriptedDialogs(), settings)
    started.append(switcher)
    window = switcher.window
    address = settings_form(pg_url)
    assert window.windowTitle() == window_title(window.library)
    assert window.where.text() == f"Team library {address}"
    assert window.where.toolTip().startswith(f"A team library in a PostgreSQL database: "
                                            f"{address}.")
    assert "Library folder" not in window.where.toolTip()
    shown = [a.text() for a in window.help_menu.actions() if a.isVisible() and a.text()]
    assert "Open library folder" not in shown and "Copy team library address" in shown
    window.copy_address_action.trigger()
    assert QApplication.clipboard().text() == address
    assert window.statusBar().currentMessage() == f"Copied {address} (without password)."
    abouts = []
    monkeypatch.setattr(QMessageBox, "about",
                        lambda _parent, title, text: abouts.append((title, text)))
    window.about_action.trigger()
    about = abouts[0][1]
    assert "Library folder" not in about and address in about
    assert f"Team library (PostgreSQL):<br>{address}" in about
    for said in (window.windowTitle(), window.where.text(), window.where.toolTip(), about,
                 QApplication.clipboard().text(), settings_text(settings)):
        assert SECRET not in said


def test_a_local_window_names_its_folder_and_offers_to_open_it(qtbot, tmp_path, settings):
    folder = tmp_path / "my-library"
    switcher = start_app(str(folder), ScriptedDialogs(), settings)
    try:
        window = switcher.window
        assert window.windowTitle() == f"Local library {folder} — LoRA Studio"
        assert window.where.text() == "Local library"
        assert window.where.toolTip().startswith(f"Library folder: {folder}. ")
        assert window.open_library_action.isVisible()
        assert not window.copy_address_action.isVisible()
    finally:
        switcher.window.close()
        switcher.close()
