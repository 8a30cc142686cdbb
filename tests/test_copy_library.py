"""``lora-studio copy-library --to URL``: a local library into an empty team library on a
real PostgreSQL server; downloads come out byte for byte the same, the source unchanged."""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY
from hostile_corpus import conversation, dump
from stored import stored_bytes

from app.cli import main
from app.copy_library import CopyCancelled, copy_library
from app.errors import LibraryError
from app.importer import import_paths
from app.library import Library
from app.review_marks import mark_reviewed
from app.trainingfiles import (
    add_conversations,
    create_training_file,
    list_training_files,
    set_cut_off_policy,
)


@pytest.fixture
def local(tmp_path: Path, fixture_folder: Path) -> Path:
    """A library folder with two batches, review marks and two built training files."""
    root = tmp_path / "local-library"
    with Library.open(root) as library:
        import_paths(library, [fixture_folder])
        ids = [row.conversation_id for row in library.summaries()]
        library.move_conversations(ids[:4], "first four")
        mark_reviewed(library, ids[2:6], "Ann")
        add_conversations(library, "Everything", ids, create=True)
        create_training_file(library, "Some")
        add_conversations(library, "Some", ids[3:9])
        set_cut_off_policy(library, "Some", "keep")
        create_training_file(library, "Empty one")
    return root


def _database_digest(root: Path) -> str:
    return hashlib.sha256((root / "library.sqlite3").read_bytes()).hexdigest()


def _downloads(library: Library) -> dict[str, tuple[bytes, bytes]]:
    return {info.name: stored_bytes(library, info.name)
            for info in list_training_files(library)}


def test_a_copied_library_downloads_the_same_bytes_and_the_source_is_unchanged(
        local: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = _database_digest(local)
    assert main(["--library", str(local), "copy-library", "--to", pg_url]) == 0
    out, err = capsys.readouterr()
    assert "copied" in out and "conversations: 15 rows" in out
    assert "copying conversations:" in err  # progress, on stderr
    assert _database_digest(local) == before  # only read
    with Library.open(local, read_only=True) as source, \
            Library.open(pg_url, read_only=True) as team:
        assert team.summaries() == source.summaries()  # review marks, batches, counts
        assert team.batches() == source.batches()
        assert [i.name for i in list_training_files(team)] == \
            [i.name for i in list_training_files(source)]
        downloads = _downloads(source)
        assert downloads["Everything"][0].count(b'"conversation_id"') >= len(ENRICHED)
        assert _downloads(team) == downloads  # byte for byte, dates and all
        record = next(iter(source.records_by_pk([source.summaries()[0].pk])))
        assert next(iter(team.records_by_pk([team.summaries()[0].pk]))) == record


def test_the_team_library_goes_on_after_a_copy(local: Path, pg_url: str,
                                               tmp_path: Path) -> None:
    with Library.open(local, read_only=True) as source, Library.open(pg_url) as team:
        copy_library(source, team)
    more = tmp_path / "later"
    more.mkdir()
    for name in ("later_one", "later_two"):  # new conversations: new rows, new keys
        (more / f"{name}.json").write_bytes(dump(conversation(name)))
    with Library.open(pg_url) as team:
        report = import_paths(team, [more])
        assert report.imported == 2, report.summary()  # the server's keys follow the copy
        create_training_file(team, "Made in the team")
        assert team.count() == len(ENRICHED) + len(LEGACY) + 2


def test_a_library_is_copied_only_into_an_empty_team_library(
        local: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--library", str(local), "copy-library", "--to", pg_url]) == 0
    capsys.readouterr()
    assert main(["--library", str(local), "copy-library", "--to", pg_url]) == 1
    err = capsys.readouterr().err
    assert "is not empty" in err and "nothing was copied" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    with Library.open(pg_url, read_only=True) as team:
        assert team.count() == len(ENRICHED) + len(LEGACY)  # not doubled, not changed


def test_a_folder_is_not_a_copy_target(local: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "elsewhere"
    assert main(["--library", str(local), "copy-library", "--to", str(target)]) == 1
    assert "is not a team library" in capsys.readouterr().err
    assert not target.exists()


def test_a_cancelled_copy_leaves_the_team_library_empty(local: Path, pg_url: str) -> None:
    seen: list[str] = []
    with Library.open(local, read_only=True) as source, Library.open(pg_url) as team:
        with pytest.raises(CopyCancelled):
            copy_library(source, team, progress=lambda d, t, table: seen.append(table),
                         cancelled=lambda: "conversations" in seen)
        assert team.count() == 0 and team.batches() == []
        copy_library(source, team)  # and it can simply be run again
        assert team.count() == len(ENRICHED) + len(LEGACY)


def test_builds_still_in_files_from_an_older_version_are_not_copied(
        local: Path, pg_url: str) -> None:
    from sqlalchemy import update

    from app.models import TrainingFile

    copy = local.parent / "older"
    shutil.copytree(local, copy)
    with Library.open(copy) as older, older.session() as session, session.begin():
        session.execute(update(TrainingFile).where(TrainingFile.name == "Some")
                        .values(head=None, json_file="00002-r1/Some.json"))
    with Library.open(copy, read_only=True) as source, Library.open(pg_url) as team:
        with pytest.raises(LibraryError, match=r"'Some' .* still kept in files"):
            copy_library(source, team)
        assert team.count() == 0


def _someone_waits_on_a_lock(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'").fetchone()
        return bool(row and row[0])


def test_a_member_importing_during_a_copy_waits_for_it_and_loses_nothing(
        local: Path, pg_url: str, tmp_path: Path, fixture_folder: Path) -> None:
    """Another member imports into the team library while the copy runs: the import waits
    until the copy is in, then stores only its new conversations (the copied ones are
    found as duplicates); the copy neither fails nor mixes anything up."""
    more = tmp_path / "meanwhile"
    more.mkdir()
    for name in ("meanwhile_one", "meanwhile_two"):
        (more / f"{name}.json").write_bytes(dump(conversation(name)))
    shutil.copytree(fixture_folder, more, dirs_exist_ok=True)  # the copied ones, again
    paused, proceed = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def pause_once(_done: int, _total: int, table: str) -> None:
        if table == "conversations" and not paused.is_set():
            paused.set()
            proceed.wait(120)

    def copy() -> None:
        with Library.open(local, read_only=True) as source, Library.open(pg_url) as team:
            outcome["copy"] = copy_library(source, team, progress=pause_once)

    def import_meanwhile() -> None:
        with Library.open(pg_url) as member:
            outcome["import"] = import_paths(member, [more])

    copier = threading.Thread(target=copy)
    copier.start()
    assert paused.wait(120), "the copy reached its conversations"
    importer = threading.Thread(target=import_meanwhile)
    importer.start()
    deadline = time.monotonic() + 60
    while not _someone_waits_on_a_lock(pg_url):  # the import waits for the copy
        assert importer.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.1)
    proceed.set()
    copier.join(120)
    importer.join(120)
    assert not copier.is_alive() and not importer.is_alive()
    report = outcome["import"]
    assert report.imported == 2, report.summary()  # type: ignore[attr-defined]
    assert report.duplicates == len(ENRICHED) + len(LEGACY)  # type: ignore[attr-defined]
    with Library.open(local, read_only=True) as source, \
            Library.open(pg_url, read_only=True) as team:
        copied = {row.conversation_id: row for row in source.summaries()}
        in_team = {row.conversation_id: row for row in team.summaries()}
        assert set(in_team) == set(copied) | {"meanwhile_one", "meanwhile_two"}
        assert all(in_team[cid] == row for cid, row in copied.items())  # keys and all
        assert _downloads(team) == _downloads(source)
