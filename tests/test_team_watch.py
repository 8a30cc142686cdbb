"""Other members' changes reach an open window of a team library without a restart
(``app.team_changes``, ``ui.team_watch``), on a real PostgreSQL server."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest
from cli_process import run_cli
from conftest import ENRICHED, LEGACY, open_window
from hostile_corpus import conversation, dump

from app.importer import import_paths
from app.library import Library
from app.team_changes import (
    BATCHES,
    CHANNEL,
    CONVERSATIONS,
    ORIGIN_ENV,
    TOPICS,
    TRAINING_FILES,
    ChangeListener,
)
from app.trainingfiles import add_conversations, create_training_file, read_build

WAIT_MS = 60_000  # a loaded machine: the other process starts Python and imports


@pytest.fixture(autouse=True)
def _no_origin_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window claims an origin for its process; the next test starts without one."""
    monkeypatch.delenv(ORIGIN_ENV, raising=False)


@pytest.fixture
def elsewhere() -> dict[str, str]:
    """The environment of another member's process: its own origin of changes."""
    return {ORIGIN_ENV: "another-member"}


def _heard(listener: ChangeListener, wanted: set[str]) -> set[str]:
    """Every topic heard until ``wanted`` all were (the server sends a notification a
    moment after the commit), or a deadline passed."""
    heard: set[str] = set()
    for _ in range(600):
        heard |= listener.poll()
        if wanted <= heard:
            break
        time.sleep(0.05)
    return heard


def _marker(url: str, topic: str) -> None:
    """A change announced by another member after everything before it (the server
    delivers announcements in commit order): what is heard up to it came before it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"marker {topic}"))


def _lora_studio(url: str, env: dict[str, str], *args: str | Path) -> str:
    done = run_cli("--library", url, *args, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_listener_hears_what_others_changed_and_not_its_own(
        pg_url: str, fixture_folder: Path, elsewhere: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ORIGIN_ENV, "this-window")
    with Library.open(pg_url) as library:
        listener = ChangeListener(library.location)
        listener.start()
        try:
            import_paths(library, [fixture_folder])  # this window's own change
            _marker(pg_url, TRAINING_FILES)
            assert _heard(listener, {TRAINING_FILES}) == {TRAINING_FILES}  # not its own
            _lora_studio(pg_url, elsewhere, "rename-batch", fixture_folder.name, "renamed")
            assert _heard(listener, {BATCHES}) == {BATCHES, CONVERSATIONS}
            _lora_studio(pg_url, elsewhere, "add", "Their file", "--new", "--all")
            assert _heard(listener, {TRAINING_FILES}) >= {TRAINING_FILES, CONVERSATIONS}
        finally:
            listener.close()


def test_a_listener_that_lost_its_connection_reports_everything_once_back(
        pg_url: str) -> None:
    with Library.open(pg_url) as library:
        listener = ChangeListener(library.location, origin="this-window")
        listener.start()
        try:
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = 'LoRA Studio (changes)'")
            heard: set[str] = set()
            for _ in range(600):  # the loss shows on a later poll; then it connects again
                heard = listener.poll()
                if heard:
                    break
                time.sleep(0.05)
            assert heard == set(TOPICS)  # back: what it missed is unknown, so everything
            assert listener.poll() == set()
        finally:
            listener.close()


def test_a_window_on_a_team_library_shows_what_another_process_imported_and_built(
        qtbot: object, pg_url: str, fixture_folder: Path, dialogs: object, tmp_path: Path,
        elsewhere: dict[str, str]) -> None:
    with Library.open(pg_url) as library:
        import_paths(library, [fixture_folder])
        window = open_window(qtbot, library, dialogs, tmp_path)
        model = window.conversations.model
        files = window.training_files.model
        assert model.rowCount() == len(ENRICHED) + len(LEGACY)
        assert os.environ.get(ORIGIN_ENV) not in (None, elsewhere[ORIGIN_ENV])

        later = tmp_path / "later"
        later.mkdir()
        (later / "arrives_later.json").write_bytes(dump(conversation("arrives_later")))
        _lora_studio(pg_url, elsewhere, "import", later)
        qtbot.waitUntil(  # type: ignore[attr-defined]
            lambda: model.rowCount() == len(ENRICHED) + len(LEGACY) + 1, timeout=WAIT_MS)

        _lora_studio(pg_url, elsewhere, "add", "Built elsewhere", "--new", "--batch", "later")
        qtbot.waitUntil(  # type: ignore[attr-defined]
            lambda: files.row_of("Built elsewhere") is not None, timeout=WAIT_MS)
        window.close()


def test_a_window_on_a_library_folder_does_not_listen(
        qtbot: object, library: Library, dialogs: object, tmp_path: Path) -> None:
    window = open_window(qtbot, library, dialogs, tmp_path)
    assert window.team_watch.listener is None
    assert not window.team_watch.timer.isActive()
    window.close()


def test_own_changes_stay_quiet_in_a_child_process_of_the_window(
        pg_url: str, fixture_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A window's jobs run in child processes: they inherit its origin."""
    from app.team_changes import claim_origin

    monkeypatch.delenv(ORIGIN_ENV, raising=False)
    origin = claim_origin()
    assert os.environ[ORIGIN_ENV] == origin == claim_origin()
    with Library.open(pg_url) as library:
        listener = ChangeListener(library.location, origin)
        listener.start()
        try:
            done = run_cli("--library", pg_url, "import", fixture_folder,
                           timeout=180)  # the environment as this process has it
            assert done.returncode == 0, done.stderr
            assert library.count() == len(ENRICHED) + len(LEGACY)
            _marker(pg_url, TRAINING_FILES)
            assert _heard(listener, {TRAINING_FILES}) == {TRAINING_FILES}
            create_training_file(library, "Also mine")
            _marker(pg_url, BATCHES)
            assert _heard(listener, {BATCHES}) == {BATCHES}
        finally:
            listener.close()


def test_the_one_driver_connection_refuses_to_write_unannounced(
        pg_url: str, fixture_folder: Path) -> None:
    """Announcements come from SQLAlchemy's connection events; the one reader that takes
    the driver's own connection (a stored build's) is read-only on the server, so no write
    can slip past them there."""
    with Library.open(pg_url) as library:
        import_paths(library, [fixture_folder])
        ids = [row.conversation_id for row in library.summaries()][:3]
        add_conversations(library, "Read me", ids, create=True)
        with read_build(library, "Read me") as reader:
            assert b"".join(reader.json_chunks())  # it reads
            cursor = reader._conn.cursor()
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                cursor.execute("UPDATE training_files SET name = name")
