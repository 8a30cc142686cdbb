"""Team libraries on PostgreSQL: where a library is, opening one by URL on a real server,
what a person is told when that fails, and the same bytes as a library folder gives."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import psycopg
import pytest
from conftest import ENRICHED, addable
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from stored import stored_bytes

from app.cli import main
from app.errors import LibraryError
from app.export import ExportFormat, export
from app.failures import known_failure
from app.importer import import_paths
from app.library import Library
from app.location import LibraryLocation, parse_location
from app.trainingfiles import add_conversations, create_training_file

# --- where a library is --------------------------------------------------------------


def test_a_folder_is_a_library_folder(tmp_path: Path) -> None:
    location = parse_location(str(tmp_path / "lib"))
    assert not location.is_team
    assert location.folder == tmp_path / "lib"
    assert location.dialect == "sqlite"
    assert parse_location(tmp_path / "lib") == location


def test_a_postgresql_url_is_a_team_library_with_a_cache_folder_of_its_own() -> None:
    one = parse_location("postgresql://ann:s3cret@db.example:5433/team")
    assert one.is_team and one.dialect == "postgresql"
    assert one.engine_url.drivername == "postgresql+psycopg"
    assert one.engine_url.password == "s3cret"  # the engine gets it, nobody else
    # The same library, another password or spelling of the scheme: the same folder here.
    assert parse_location("postgres://ann:other@db.example:5433/team").folder == one.folder
    assert parse_location("postgresql://ann@db.example:5433/other").folder != one.folder


def test_a_password_never_shows() -> None:
    location = parse_location("postgresql://ann:s3cret@db.example/team")
    for shown in (str(location), repr(location), location.display):
        assert "s3cret" not in shown
        assert "db.example" in shown
    # A child process gets the location whole (it must connect), through a pipe.
    assert pickle.loads(pickle.dumps(location)) == location


def test_the_environment_may_name_a_team_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORA_STUDIO_HOME", "postgresql://ann@db.example/team")
    assert parse_location(None).is_team


@pytest.mark.parametrize("text", ["mysql://ann@db.example/team", "sqlite:///x.db"])
def test_another_kind_of_database_is_refused_with_what_to_give(text: str) -> None:
    with pytest.raises(LibraryError, match="postgresql://user@host"):
        parse_location(text)


def test_a_url_without_a_database_says_so() -> None:
    with pytest.raises(LibraryError, match="names no database"):
        parse_location("postgresql://ann:s3cret@db.example")


# --- opening on the real server ------------------------------------------------------


def test_an_empty_database_becomes_a_library(pg_url: str) -> None:
    with Library.open(pg_url) as library:
        assert library.is_team and library.dialect == "postgresql"
        assert library.count() == 0
        tables = set(inspect(library.engine).get_table_names())
        assert {"conversations", "training_files", "build_fragments"} <= tables
        assert not (library.root / "library.sqlite3").exists()
        assert not (library.root / "library.lock").exists()  # no OS lock for a team
    # Two windows at once: a team library is not locked to one writer.
    with Library.open(pg_url) as one, Library.open(pg_url) as two:
        assert one.count() == two.count() == 0


def test_a_connection_still_in_use_when_the_library_closes_is_closed_when_given_back(
        pg_url: str) -> None:
    """(A background read the window has not ended yet.) Back in the closed engine's old
    pool it would stay open until the garbage collector closed it, with psycopg's
    "deleted while still open" warning in whichever test that happened to be."""
    library = Library.open(pg_url)
    with library.engine.connect() as conn:
        in_use = conn.connection.dbapi_connection
        library.close()
        assert conn.scalar(text("SELECT 1")) == 1  # the read under way ends as usual
    assert in_use is not None and in_use.closed
    # Nor does a use after closing leave a connection open.
    with library.engine.connect() as conn:
        late = conn.connection.dbapi_connection
    assert late is not None and late.closed


def test_a_reader_of_an_empty_database_creates_nothing(pg_url: str) -> None:
    with pytest.raises(LibraryError, match="is empty: there is no library to read"):
        Library.open(pg_url, read_only=True)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                            ).fetchone() == (0,)


def test_a_reader_cannot_write(pg_url: str, fixture_folder: Path) -> None:
    with Library.open(pg_url) as library:
        import_paths(library, [fixture_folder])
    with Library.open(pg_url, read_only=True) as reader:
        assert reader.count() == len(list(fixture_folder.glob("*.json")))
        with pytest.raises(DBAPIError) as caught:
            reader.rename_batch(fixture_folder.name, "renamed")
        assert "opened for reading only" in str(known_failure(caught.value, reader.database))


def test_another_programs_database_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(LibraryError, match="another program's tables"):
        Library.open(pg_url)


def _refused(url: str) -> str:
    with pytest.raises(LibraryError) as caught:
        Library.open(url)
    return str(caught.value)


def test_a_server_that_is_down_is_one_sentence(pg_server: object) -> None:
    from pg_server import free_port

    text = _refused(f"postgresql://ann:s3cret@127.0.0.1:{free_port()}/team")
    assert "cannot be reached" in text and "server is not running" in text
    assert "s3cret" not in text and "127.0.0.1" in text


def test_a_wrong_password_is_one_sentence(pg_server: object, pg_url: str) -> None:
    url = pg_server.url(make_url(pg_url).database, "curator", "wrong-password")  # type: ignore[attr-defined]
    text = _refused(url)
    assert "did not accept your login" in text and "password" in text
    assert "wrong-password" not in text


def test_an_unknown_database_is_one_sentence(pg_server: object) -> None:
    text = _refused(pg_server.url("no_such_library"))  # type: ignore[attr-defined]
    assert "does not exist" in text and "no_such_library" in text


def test_no_permission_to_create_the_tables_is_one_sentence(pg_server: object,
                                                            pg_url: str) -> None:
    # PostgreSQL 15: only the owner may create tables in a new database's public schema.
    url = pg_server.url(make_url(pg_url).database, "curator", "curator-secret")  # type: ignore[attr-defined]
    text = _refused(url)
    assert "lacks the permission" in text and "curator-secret" not in text


def test_a_connection_lost_midway_is_one_sentence(pg_server: object, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:  # type: ignore[attr-defined]
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        with pytest.raises(psycopg.OperationalError) as caught:
            conn.execute("SELECT 1")
    shown = "postgresql://ann:***@db.example/team"
    text = str(known_failure(caught.value, shown))
    assert text.startswith(f"the connection to the team library {shown} was lost")
    assert "Finished work is kept" in text


def test_the_command_line_opens_a_team_library_by_url(
        pg_url: str, fixture_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--library", pg_url, "import", str(fixture_folder)]) == 0
    assert main(["--library", pg_url, "batches"]) == 0
    assert fixture_folder.name in capsys.readouterr().out
    with Library.open(pg_url, read_only=True) as library:
        assert library.count() == len(list(fixture_folder.glob("*.json")))


def test_the_command_line_explains_a_server_that_is_down(
        pg_server: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pg_server import free_port

    url = f"postgresql://ann:s3cret@127.0.0.1:{free_port()}/team"
    assert main(["--library", url, "batches"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the team library postgresql://ann:***@127.0.0.1")
    assert "Traceback" not in err and "s3cret" not in err
    assert len(err.strip().splitlines()) == 1


# --- the same bytes on both back ends ------------------------------------------------


def _build(library: Library, folder: Path) -> tuple[bytes, bytes]:
    import_paths(library, [folder])
    create_training_file(library, "Team set")
    ids = sorted(row.conversation_id for row in library.summaries())
    add_conversations(library, "Team set", ids)
    return stored_bytes(library, "Team set")


STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _same_but_for_build_times(one: bytes, two: bytes) -> bool:
    """The header says when each was built (this second): that aside, byte for byte."""
    return STAMP.sub(b"T", one) == STAMP.sub(b"T", two)


def test_a_team_library_builds_and_exports_the_same_bytes_as_a_library_folder(
        pg_url: str, fixture_folder: Path, tmp_path: Path) -> None:
    with Library.open(tmp_path / "folder-library") as local, Library.open(pg_url) as team:
        local_json, local_jsonl = _build(local, fixture_folder)
        team_json, team_jsonl = _build(team, fixture_folder)
        assert local_jsonl.count(b"\n") >= len(ENRICHED)
        assert _same_but_for_build_times(team_json, local_json)
        assert _same_but_for_build_times(team_jsonl, local_jsonl)
        for fmt in ExportFormat:
            written = {}
            for kind, library in (("local", local), ("team", team)):
                out = tmp_path / f"export-{kind}" / f"team-set.{fmt.value}"
                out.parent.mkdir(exist_ok=True)
                written[kind] = {p.relative_to(out.parent): p.read_bytes()
                                 for p in export(library, "Team set", fmt, out)}
            assert written["local"].keys() == written["team"].keys(), fmt
            for path, data in written["local"].items():
                if "manifest" in path.name:
                    continue  # names its library and time; its hashes follow the files
                assert _same_but_for_build_times(written["team"][path], data), (fmt, path)


def test_the_window_s_child_process_jobs_work_on_a_team_library(
        pg_url: str, fixture_folder: Path) -> None:
    """Import, build, rebuild, token count and the table's row reading, each in a child
    process handed the location (as the window runs them), against the server."""
    from app.job_process import run_in_child
    from app.token_counts import count_missing
    from app.trainingfiles import apply_addition, plan_addition, rebuild_training_files
    from ui.row_index import row_parts, rows_of_part

    opener = Library.under_parent_lock
    with Library.open(pg_url) as library:
        where = library.location
        report = run_in_child(import_paths, where, [fixture_folder], opener=opener)
        assert report.imported == library.count() > 0
        counted, stopped = run_in_child(count_missing, where, opener=opener)
        assert counted == library.count() and not stopped
        assert all(row.token_count != 0 for row in library.summaries())  # 0: not counted
        ids = addable([row.conversation_id for row in library.summaries()
                       if row.trainable_replies])
        plan = plan_addition(library, "From a child", ids, create=True)
        info = run_in_child(apply_addition, where, plan, opener=opener)
        assert info.conversations == len(ids)
        before = stored_bytes(library, "From a child")
        assert run_in_child(rebuild_training_files, where, ["From a child"],
                            opener=opener) == ["From a child"]
        assert _same_but_for_build_times(stored_bytes(library, "From a child")[1], before[1])
        parts: list[bytes] = []
        run_in_child(row_parts, where, opener=opener, on_part=parts.append)
        rows = [row for part in parts for row in rows_of_part(part)]
        assert rows == library.summaries()


def test_the_location_reaches_a_child_process(pg_url: str) -> None:
    from app.job_process import run_in_child

    with Library.open(pg_url) as library:
        count = run_in_child(_count_job, library.location, opener=Library.under_parent_lock)
    assert count == 0


def _count_job(library: Library, progress: object = None, cancelled: object = None) -> str:
    assert isinstance(library.location, LibraryLocation)
    return library.count()  # type: ignore[return-value]


def test_a_failure_of_an_unnamed_team_library_still_reads_right(pg_server: object) -> None:
    from pg_server import free_port

    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(f"postgresql://ann@127.0.0.1:{free_port()}/team", connect_timeout=5)
    text = str(known_failure(caught.value))
    assert text.startswith("the team library cannot be reached: its server is not running")
