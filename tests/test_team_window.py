"""The window on a team library, against the test session's real PostgreSQL server.

File ▸ Open team library… with a real login (the server's ``curator`` role, which needs
its password), a wrong password, Test connection, the remembered password from the
keyring when a recent team library opens again, the settings file read back, and the
window's background readers (the table's child-process read, the token count) on the
team library. The window's flows themselves run on PostgreSQL in
``test_team_window_flows.py``.
"""

from __future__ import annotations

import pytest
from conftest import ENRICHED, open_window, settings_text
from memory_keyring import MemoryKeyring
from sqlalchemy.engine import make_url

from app import keychain
from app.importer import import_paths
from app.library import Library
from app.team_probe import probe
from ui import row_reader
from ui.library_choice import current, recent

PASSWORD = "curator-secret"  # tests/pg_server.py gives the curator role this password


@pytest.fixture
def window_keyring(memory_keyring: MemoryKeyring) -> MemoryKeyring:
    """The windows here keep passwords (in memory)."""
    return memory_keyring


@pytest.fixture
def curator_db(pg_server) -> str:
    """A fresh database the password-protected ``curator`` role owns; its URL without
    password."""
    url = pg_server.create_database(owner="curator")
    yield pg_server.url(make_url(url).database, "curator")
    pg_server.drop_database(url)


def fill(dialog, url: str, password: str) -> None:
    parsed = make_url(url)
    dialog.host.setText(parsed.host)
    dialog.port.setValue(parsed.port)
    dialog.database.setText(parsed.database)
    dialog.user.setText(parsed.username)
    dialog.password.setText(password)


def test_test_connection_says_what_the_server_holds(qtbot, switcher, curator_db):
    dialog = switcher.ask_team_library()
    fill(dialog, curator_db, PASSWORD)
    dialog.test_button.click()
    qtbot.waitUntil(lambda: not dialog.testing, timeout=30000)
    assert dialog.outcome.text().startswith(f"Connected to {curator_db} (PostgreSQL ")
    assert "no LoRA Studio library yet" in dialog.outcome.text()
    with Library.open(make_url(curator_db).set(password=PASSWORD).render_as_string(
            hide_password=False)) as team:
        import_paths(team, ENRICHED[:2])
    assert probe(make_url(curator_db).set(password=PASSWORD)) == (
        True, f"Connected to {curator_db} (PostgreSQL {_version(dialog)}): it holds a LoRA "
              "Studio library of 2 conversations.")
    dialog.reject()


def _version(dialog) -> str:
    return dialog.outcome.text().split("(PostgreSQL ", 1)[1].split(")", 1)[0]


def test_a_wrong_password_is_said_in_the_dialog_and_the_window_stays(
        qtbot, switcher, library, curator_db, settings):
    window = switcher.window
    dialog = switcher.ask_team_library()
    fill(dialog, curator_db, "not-the-password")
    dialog.open_button.click()
    qtbot.waitUntil(lambda: not switcher.opening, timeout=30000)
    said = dialog.outcome.text()
    assert said.startswith("The server of the team library postgresql://curator:***@")
    assert make_url(curator_db).database in said and "did not accept your login" in said
    assert "not-the-password" not in said and "Traceback" not in said
    assert dialog.isVisible() and switcher.window is window and switcher.library is library
    assert "not-the-password" not in settings_text(settings)
    # Corrected where it was typed, it opens.
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(switcher.switched, timeout=60000):
        dialog.open_button.click()
    assert switcher.library.is_team


def test_a_team_library_opened_in_the_window_is_remembered_without_its_password(
        qtbot, switcher, library, curator_db, settings, memory_keyring):
    dialog = switcher.ask_team_library()
    fill(dialog, curator_db, PASSWORD)
    assert dialog.remember.isEnabled()
    dialog.remember.setChecked(True)
    with qtbot.waitSignal(switcher.switched, timeout=60000) as switched:
        dialog.open_button.click()
    window = switched.args[0]
    assert not dialog.isVisible()
    assert window.library.is_team and window.library.count() == 0
    assert window.windowTitle() == f"Team library {curator_db} — LoRA Studio"
    assert window.where.text() == f"Team library {curator_db}"
    assert current(settings) == curator_db
    assert recent(settings)[:2] == [curator_db, str(library.root.resolve())]
    assert memory_keyring.kept == {(keychain.SERVICE, curator_db): PASSWORD}
    assert PASSWORD not in settings_text(settings)
    assert curator_db in settings_text(settings)

    # Back to the local library, then the team library again from Recent libraries: the
    # keyring's password opens it without asking.
    with qtbot.waitSignal(switcher.switched, timeout=60000):
        window.open_local_action.trigger()
    assert not switcher.library.is_team
    window = switcher.window
    window.recent_menu.aboutToShow.emit()
    entry = next(a for a in window.recent_menu.actions() if a.text() == f"Team: {curator_db}")
    with qtbot.waitSignal(switcher.switched, timeout=60000):
        entry.trigger()
    assert switcher.team_dialog is None  # nothing was asked
    assert switcher.library.is_team and curator_db in switcher.window.windowTitle()
    assert PASSWORD not in settings_text(settings)


def test_a_recent_team_library_without_a_kept_password_asks_for_it(
        qtbot, switcher, curator_db, settings):
    window = switcher.window
    window.open_location_requested.emit(curator_db)
    qtbot.waitUntil(lambda: switcher.team_dialog is not None, timeout=30000)
    dialog = switcher.team_dialog
    assert dialog.database.text() == make_url(curator_db).database
    assert dialog.user.text() == "curator" and dialog.password.text() == ""
    assert "did not accept your login" in dialog.outcome.text()
    assert switcher.window is window
    dialog.reject()


def test_the_table_reads_a_large_team_library_in_a_child_process(
        qtbot, pg_url, fixture_folder, tmp_path, monkeypatch, dialogs):
    monkeypatch.setattr(row_reader, "READ_IN_CHILD_FROM", 1)
    with Library.open(pg_url) as team:
        import_paths(team, [fixture_folder])
        window = open_window(qtbot, team, dialogs, tmp_path)
        expected = sorted(row.conversation_id for row in team.summaries())
        window.changes.everything()
        qtbot.waitUntil(lambda: isinstance(window.conversations.row_loading._loader,
                                           row_reader.ChildRowRead), timeout=30000)
        qtbot.waitUntil(lambda: not window.conversations.loading, timeout=60000)
        model = window.conversations.model
        shown = sorted(model.row_at(r).conversation_id for r in range(model.rowCount()))
        assert shown == expected
        with qtbot.waitSignal(window.token_counts.finished, timeout=120000):
            window.token_counts.start()
        assert all(row.token_count for row in team.summaries() if row.trainable_replies)
        window.close()
