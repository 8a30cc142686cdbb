"""Shared fixtures: a fresh library per test, the real fixture files, offscreen Qt."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ENRICHED = sorted((FIXTURES / "enriched").glob("*.json"))
LEGACY = sorted((FIXTURES / "legacy").glob("*.json"))
BAD = sorted((FIXTURES / "bad").glob("*.json"))


def corrected(cid: str, folder: Path) -> Path:
    """The fixture conversation ``cid`` as a file again, in ``folder``, with one reply
    corrected (the same id): what a replace imports."""
    import orjson

    for path in [*ENRICHED, *LEGACY]:
        if cid not in path.read_text(encoding="utf-8"):
            continue
        document = orjson.loads(path.read_bytes())
        for pair in document.get("training_pairs") or []:
            if pair.get("target_response"):
                pair["target_response"] += " (Corrected.)"
                break
        target = folder / f"corrected-{path.name}"
        target.write_bytes(orjson.dumps(document))
        return target
    raise AssertionError(f"no fixture holds {cid}")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real user-data folder or QSettings."""
    monkeypatch.setenv("LORA_STUDIO_HOME", str(tmp_path / "default-library"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # (kept checks)
    # Windows: platformdirs asks the shell, not HOME, unless this names the folder (newer
    # platformdirs read it; the kept-checks tests check the file lands in tmp_path)
    monkeypatch.setenv("WIN_PD_OVERRIDE_LOCAL_APPDATA", str(tmp_path / "local-app-data"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """The session's PostgreSQL server (``tests/pg_server.py``), started the first time a
    test needs it and stopped when the session ends."""
    from pg_server import PostgresServer

    server = PostgresServer()
    try:
        server.start(prefer_wheel=os.environ.get("LORA_STUDIO_TEST_PGSERVER") == "wheel")
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: object) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server, dropped afterwards."""
    url = pg_server.create_database()  # type: ignore[attr-defined]
    yield url
    # What the test left unreferenced is collected now: a connection left open warns
    # (psycopg's ResourceWarning, an error here) in the test that leaked it, not in
    # whichever later test the collector would have run in.
    gc.collect()
    pg_server.drop_database(url)  # type: ignore[attr-defined]


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which store a test runs on. A module about the store, not about SQLite files, runs
    on both with ``pytestmark = pytest.mark.usefixtures("backend")``: its ``library``
    fixtures then open the library where ``library_location`` says."""
    return str(request.param)


@pytest.fixture
def library_location(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """Where the test's library lives: a folder, or a team database under ``backend``."""
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == BACKENDS[1]:
        return request.getfixturevalue("pg_url")
    return tmp_path / "library"


@pytest.fixture
def library(library_location: object) -> Iterator[object]:
    from app.library import Library

    lib = Library.open(library_location)  # type: ignore[arg-type]
    yield lib
    lib.close()


@pytest.fixture
def fixture_folder(tmp_path: Path) -> Path:
    """A copy of the good fixtures in a folder named like a user's batch folder."""
    import shutil

    folder = tmp_path / "batch-2025-12"
    folder.mkdir()
    for path in ENRICHED + LEGACY:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def filled_library(library: object, fixture_folder: Path) -> object:
    from app.importer import import_paths

    report = import_paths(library, [fixture_folder])  # type: ignore[arg-type]
    assert report.imported == len(ENRICHED) + len(LEGACY)
    return library


@pytest.fixture
def team(pg_url: str, fixture_folder: Path) -> str:
    """A team library (PostgreSQL) holding the good fixtures; its URL."""
    from app.importer import import_paths
    from app.library import Library

    with Library.open(pg_url) as library:
        assert import_paths(library, [fixture_folder]).imported == len(ENRICHED) + len(LEGACY)
    return pg_url


# Two real fixtures are cut off in their first reply: a training file of the default cut-off
# policy (trim) trains nothing of them, so an add leaves them out.
FIRST_REPLY_CUT = frozenset({"fp_conversation_18dc6347-db6f-44f2-8728-0538236d3c0b",
                             "fp_conversation_330dc058-6d75-4609-96f7-b6e87b39f536"})


def addable(ids: list[str]) -> list[str]:
    """The ids an add to a file of the default cut-off policy takes, in order."""
    return [cid for cid in ids if cid not in FIRST_REPLY_CUT]


def team_ids(url: str) -> list[str]:
    """The conversation ids of the team library at ``url``, sorted."""
    from app.library import Library

    with Library.open(url, read_only=True) as library:
        return sorted(row.conversation_id for row in library.summaries())


@pytest.fixture
def dialogs() -> object:
    """Scripted answers for the window's questions (``tests/scripted_dialogs.py``)."""
    from scripted_dialogs import ScriptedDialogs

    return ScriptedDialogs()


@pytest.fixture
def details_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the training files whose details the files page reads (each read still
    done): for tests of which reads happen, and when. Clear it where counting starts."""
    from ui import training_files_page

    reads: list[str] = []
    real = training_files_page.read_details

    def recorded(library: object, name: str, axis: object) -> object:
        reads.append(name)
        return real(library, name, axis)  # type: ignore[arg-type]

    monkeypatch.setattr(training_files_page, "read_details", recorded)
    return reads


@pytest.fixture
def page(qtbot: object, filled_library: object, dialogs: object) -> object:
    """The Training files page on the filled library, with scripted answers, at a size
    where every part of it is laid out (a test module may define a ``page`` of its own)."""
    from ui.training_files_page import TrainingFilesPage

    widget = TrainingFilesPage(filled_library, dialogs)  # type: ignore[arg-type]
    qtbot.addWidget(widget)  # type: ignore[attr-defined]
    widget.resize(1200, 750)
    return widget


@pytest.fixture
def two_batches(library: object, tmp_path: Path) -> object:
    """The library with the enriched fixtures in one batch and the legacy ones in another."""
    import shutil

    from app.importer import import_paths

    for name, files in (("enriched-batch", ENRICHED), ("legacy-batch", LEGACY)):
        folder = tmp_path / name
        folder.mkdir()
        for path in files:
            shutil.copy(path, folder / path.name)
        import_paths(library, [folder])  # type: ignore[arg-type]
    return library


def ids_of(library: object, batch: str | None = None) -> list[str]:
    """The library's conversation ids (of one batch), in table order."""
    return [r.conversation_id for r in library.summaries(batch)]  # type: ignore[attr-defined]


@pytest.fixture
def settings(tmp_path: Path) -> object:
    """A window's settings: a real ini file in the test's folder (the one ``open_window``
    gives its window)."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def open_window(qtbot: object, library: object, dialogs: object, tmp_path: Path,
                show: bool = True) -> object:
    """The real main window on ``library``, with its settings in ``tmp_path``; shown unless
    ``show`` is False (a test of what happens before a window shows)."""
    from PySide6.QtCore import QSettings

    from ui.main import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(library, dialogs, settings)  # type: ignore[arg-type]
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1200, 760)
    if show:
        window.show()
    return window


def settle(qtbot: object, window: object) -> None:
    """Wait until the table has re-read the library after a change (it reads off-thread),
    and the checks kept from the last run are back (read off-thread too)."""
    keeper = getattr(window, "check_keeper", None)
    qtbot.waitUntil(lambda: not window.conversations.loading  # type: ignore[attr-defined]
                    and not getattr(keeper, "restoring", False), timeout=30000)


@pytest.fixture
def recording(tmp_path: Path, fixture_folder: Path) -> Iterator[object]:
    """A real library holding the good fixtures that notes which thread reads the table's
    rows (``tests/recording_library.py``)."""
    from recording_library import RecordingLibrary

    from app.importer import import_paths

    library = RecordingLibrary(tmp_path / "recording-library")
    import_paths(library, [fixture_folder])
    yield library
    library.close()


# --- team-library windows ----------------------------------------------------------------


def settings_text(settings: object) -> str:
    """The settings file as written (nothing kept yet: empty)."""
    settings.sync()  # type: ignore[attr-defined]
    path = Path(settings.fileName())  # type: ignore[attr-defined]
    return path.read_text(encoding="utf-8") if path.exists() else ""


def closed_port() -> int:
    """A local port where nothing listens (a server that is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_keyring() -> None:
    """No keyring works (as on the test machines): passwords are never kept."""
    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture
def memory_keyring() -> Iterator[object]:
    """Passwords kept in memory (``tests/memory_keyring.py``), for the test's length."""
    import keyring
    import keyring.backends.fail
    from memory_keyring import MemoryKeyring

    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture
def window_keyring(no_keyring: None) -> object:
    """The keyring of the ``switcher`` fixture's window: none works (a module whose
    windows keep passwords overrides this fixture with ``memory_keyring``)."""
    return None


@pytest.fixture
def switcher(qtbot: object, library: object, settings: object,
             window_keyring: object) -> Iterator[object]:
    """The window on ``library`` as the app has it (``LibrarySwitcher``), shown, its
    library closed at the end if it switched to another."""
    from scripted_dialogs import ScriptedDialogs

    from ui.library_switch import LibrarySwitcher

    switcher = LibrarySwitcher(library, ScriptedDialogs(), settings,  # type: ignore[arg-type]
                               local_folder=library.root)  # type: ignore[attr-defined]
    switcher.window.show()  # (an old window is deleted by the switch: qtbot must not hold it)
    yield switcher
    switcher.window.close()
    if switcher.library is not library:
        switcher.library.close()


@pytest.fixture
def window_with_a_set(qtbot: object, filled_library: object, dialogs: object,
                      settings: object) -> object:
    """The real main window, shown and settled, on the filled library with a training file
    "Set" of its first two conversations."""
    from app.trainingfiles import add_conversations
    from ui.main import MainWindow

    ids = [row.conversation_id for row in filled_library.summaries()]  # type: ignore[attr-defined]
    add_conversations(filled_library, "Set", ids[:2], create=True)  # type: ignore[arg-type]
    widget = MainWindow(filled_library, dialogs, settings)  # type: ignore[arg-type]
    qtbot.addWidget(widget)  # type: ignore[attr-defined]
    widget.resize(1300, 800)
    widget.show()
    settle(qtbot, widget)
    return widget


@pytest.fixture
def own_library(tmp_path: Path) -> Iterator[object]:
    """A library the test closes itself, to open it again afterwards."""
    from app.library import Library

    library = Library.open(tmp_path / "library")
    yield library
    library.close()


@pytest.fixture
def held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The window's imports are held after their first file until the returned gate file
    exists (or they are cancelled); they still run the real import in a child process
    (``held_jobs.held_import``)."""
    import functools

    from held_jobs import held_import

    from ui import import_flow

    gate = tmp_path / "gate"
    monkeypatch.setattr(import_flow, "import_paths", functools.partial(held_import,
                                                                       gate=str(gate)))
    return gate
