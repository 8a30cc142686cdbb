"""Known failures of the disk and the database become sentences with a next step; the
rest is a bug report with a log file. Every error here is produced for real."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy
from child_process import python_child, wait_for_marker
from cli_process import run_cli
from conftest import ENRICHED

from app.cli import main
from app.failures import bug_report, known_failure


def test_a_write_to_a_read_only_database_says_read_only(tmp_path: Path) -> None:
    database = tmp_path / "x.sqlite3"
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.close()
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.Error as exc:
        text = known_failure(exc, database)
    finally:
        conn.close()
    assert text is not None and "read-only" in text and str(database) in text


def test_an_os_error_names_the_file_and_the_way_out(tmp_path: Path) -> None:
    try:
        (tmp_path / "missing-folder" / "x.json").write_text("{}")
    except OSError as exc:
        text = known_failure(exc)
    assert text is not None and "missing-folder" in text


def test_an_unknown_error_is_a_bug_report_with_a_log(tmp_path: Path) -> None:
    try:
        {}["no such key"]
    except KeyError as exc:
        assert known_failure(exc) is None
        text = bug_report(exc, tmp_path)
    (log,) = tmp_path.glob("lora-studio-error-*.log")
    assert str(log) in text and "Traceback" not in text
    assert "Traceback" in log.read_text(encoding="utf-8")


HOLD_WRITE = r"""
import sqlite3, sys, time
from pathlib import Path
database, marker = map(Path, sys.argv[1:])
conn = sqlite3.connect(database, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
marker.write_text("holding")
time.sleep(60)
"""


def test_a_database_another_program_writes_says_busy(tmp_path: Path) -> None:
    """Another program (not LoRA Studio: it does not take our lock) holds a write
    transaction; the import waits a little, then says the library is busy."""
    root = tmp_path / "lib"
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(ENRICHED[0], folder)
    assert run_cli("--data-dir", root, "import", folder).returncode == 0
    more = tmp_path / "more"
    more.mkdir()
    shutil.copy(ENRICHED[1], more)
    marker = tmp_path / "marker"
    with python_child(HOLD_WRITE, str(root / "library.sqlite3"), str(marker)) as holder:
        wait_for_marker(holder, marker, 60, "began its transaction")
        result = run_cli("--data-dir", root, "import", more)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "busy" in result.stderr, result.stderr


def test_a_file_where_the_library_folder_should_be_is_named_as_a_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, the person read only "File exists" (or "Not a directory")."""
    in_the_way = tmp_path / "library.json"
    in_the_way.write_text("{}", encoding="utf-8")
    for library in (in_the_way, in_the_way / "below"):
        code = main(["--library", str(library), "import", str(ENRICHED[0])])
        err = capsys.readouterr().err
        assert code == 1
        assert f"{in_the_way} is a file, not a folder. Choose a library folder" in err, err
    assert in_the_way.read_text(encoding="utf-8") == "{}"


def test_a_database_error_is_told_by_its_first_line_only(tmp_path: Path) -> None:
    """SQLAlchemy's text goes on with the statement and its parameters: the log has them."""
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT * FROM no_such_table WHERE x = :x"),
                         {"x": "p" * 500})
    except sqlalchemy.exc.OperationalError as exc:
        assert known_failure(exc) is None
        text = bug_report(exc, tmp_path)
    finally:
        engine.dispose()
    assert "(OperationalError: (sqlite3.OperationalError) no such table: no_such_table …)" in text
    assert "[SQL:" not in text and "ppp" not in text
    (log,) = tmp_path.glob("lora-studio-error-*.log")
    assert "ppp" in log.read_text(encoding="utf-8")
