"""Schema migrations from one Alembic history, on both back ends (``app.migrations``)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import FIRST_REPLY_CUT
from old_libraries import (
    back_to_0002,
    back_to_0003,
    back_to_0004,
    back_to_0005,
    back_to_baseline,
    make_v5_library,
)
from sqlalchemy import Connection, create_engine, inspect, text
from stored import stored_bytes

from app import migrations
from app.db import SCHEMA_VERSION
from app.errors import LibraryError
from app.importer import import_paths
from app.library import Library
from app.location import LibraryLocation, parse_location
from app.models import Base
from app.paths import DATABASE_NAME
from app.recovery import finish_interrupted_work
from app.stored_builds import rebuilds_due
from app.trainingfiles import add_conversations, get_training_file, rebuild_training_files

ON_BOTH = pytest.mark.usefixtures("backend")  # a library folder and a team library


def _schema_differences(connection: Connection) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table"
                    and d[1].name == migrations.VERSION_TABLE)]


def _revision(library: Library) -> str | None:
    with library.engine.connect() as conn:
        return migrations.current_revision(conn)


def test_head_names_the_newest_revision() -> None:
    assert migrations.head_revision() == migrations.HEAD
    assert migrations.BASELINE in migrations.known_revisions()


def test_every_revision_from_nothing_gives_the_models_schema(
        backend: str, library_location: object) -> None:
    """A new library gets the models' schema at once; the history must end there too."""
    if backend == "sqlite":
        folder = Path(str(library_location))
        folder.mkdir(parents=True)
        engine = create_engine(f"sqlite:///{folder / 'from-history.sqlite3'}")
    else:
        engine = create_engine(parse_location(library_location).engine_url)  # type: ignore[arg-type]
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn)
            assert migrations.current_revision(conn) == migrations.HEAD
            assert _schema_differences(conn) == []
    finally:
        engine.dispose()


@ON_BOTH
def test_a_new_library_is_stamped_with_the_newest_revision(library: Library) -> None:
    assert _revision(library) == migrations.HEAD
    with library.engine.connect() as conn:
        assert _schema_differences(conn) == []


@ON_BOTH
def test_a_library_at_an_unknown_revision_is_refused_unchanged(library: Library) -> None:
    location = library.location
    with library.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    library.close()
    for read_only in (True, False):
        with pytest.raises(LibraryError, match=r"newer LoRA Studio.*0099_from_the_future"):
            Library(location, read_only=read_only)
    engine = create_engine(location.engine_url if location.is_team
                           else f"sqlite:///{location.folder / DATABASE_NAME}")
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == "0099_from_the_future"
    engine.dispose()


# --- libraries from before Alembic (SQLite only: team libraries start with it) --------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def last_version_before_alembic(tmp_path: Path) -> Path:
    root = tmp_path / "last-legacy-version"
    with Library(root) as library:
        location = library.location
    back_to_baseline(location, stamped=False)
    return root


def test_a_reader_leaves_a_v7_library_from_before_alembic_as_it_is(
        last_version_before_alembic: Path) -> None:
    database = last_version_before_alembic / DATABASE_NAME
    before = _sha(database)
    with Library(last_version_before_alembic, read_only=True) as reader:
        assert reader.count() == 0 and reader.older_version  # an upgraded copy
        assert _revision(reader) == migrations.HEAD
    assert _sha(database) == before


def test_a_writer_stamps_a_v7_library_from_before_alembic_and_upgrades_it(
        last_version_before_alembic: Path) -> None:
    with Library(last_version_before_alembic) as library:
        assert _revision(library) == migrations.HEAD
        with library.engine.connect() as conn:
            assert _schema_differences(conn) == []


def test_an_older_library_goes_up_the_old_chain_then_is_stamped(tmp_path: Path) -> None:
    root = make_v5_library(tmp_path / "v5")
    database = root / DATABASE_NAME
    before = _sha(database)
    with Library(root, read_only=True) as reader:  # reads an upgraded copy
        assert reader.older_version and _revision(reader) == migrations.HEAD
    assert _sha(database) == before
    with Library(root) as library:
        assert _revision(library) == migrations.HEAD
        with library.engine.connect() as conn:
            assert migrations.sqlite_revision(conn.connection.dbapi_connection) \
                == migrations.HEAD  # type: ignore[arg-type]
            assert _schema_differences(conn) == []


# --- a revision after the baseline (written here, for the test) ---------------------

LATER = "0099_test_column"
REVISION = f'''"""Adds a column, as a later LoRA Studio would."""
import sqlalchemy as sa
from alembic import op

revision = "0099_test_column"
down_revision = "{migrations.HEAD}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("note", sa.String(), nullable=False, server_default=""))
'''


def _columns(library: Library, table: str) -> set[str]:
    with library.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns(table)}


def test_a_writer_upgrades_a_library_to_a_later_revision(
        backend: str, library_location: object, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    with Library.open(library_location) as library:  # type: ignore[arg-type]
        location = library.location
        with library.session() as session, session.begin():
            library.ensure_batch(session, "kept")
    previous = migrations.HEAD  # the newest revision, as this LoRA Studio leaves it
    folder = tmp_path / "migrations"
    shutil.copytree(migrations.FOLDER, folder,
                    ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    (folder / "versions" / f"{LATER}.py").write_text(REVISION, encoding="utf-8")
    migrations.known_revisions.cache_clear()
    monkeypatch.setattr(migrations, "FOLDER", folder)
    monkeypatch.setattr(migrations, "HEAD", LATER)
    try:
        if backend == "sqlite":
            database = location.folder / DATABASE_NAME
            before = _sha(database)
            with Library(location, read_only=True) as reader:  # an upgraded copy
                assert reader.older_version
                assert "note" in _columns(reader, "batches")
            assert _sha(database) == before
        else:
            with pytest.raises(LibraryError, match=r"older schema.*open it once for writing"):
                Library(location, read_only=True)
        with Library(location) as library:
            assert _revision(library) == LATER
            assert "note" in _columns(library, "batches")
            assert [b.batch_id for b in library.batches()] == ["kept"]
        if backend == "sqlite":
            backup = f"{DATABASE_NAME}.v{SCHEMA_VERSION}-{previous}.bak"
            assert (location.folder / backup).exists()
    finally:
        migrations.known_revisions.cache_clear()


# --- 0003: a rebuild owed moves out of the totals -----------------------------------

SENTINEL = b'"rebuild due"'  # what a file owing a rebuild held in ``totals`` until 0002


def _plain_rows(location: LibraryLocation, table: str, columns: str, added: str,
                added_by: str) -> dict[Any, tuple[Any, ...]]:
    """``table``'s rows read with plain SQL, by their first column: ``columns``, then
    ``added`` when the library has its column ``added_by`` (a revision added them)."""
    engine = create_engine(_url(location))
    try:
        with engine.connect() as conn:
            there = {c["name"] for c in inspect(conn).get_columns(table)}
            read = f"{columns}, {added}" if added_by in there else columns
            return {key: tuple(rest) for key, *rest in conn.execute(text(
                f"SELECT {read} FROM {table}"))}
    finally:
        engine.dispose()


def _owed_state(location: LibraryLocation) -> dict[str, tuple[object, ...]]:
    """Per training file: what its row holds of a rebuild owed."""
    return _plain_rows(location, "training_files", "name, totals", "changes, changes_built",
                       "changes")


def _url(location: LibraryLocation) -> str:
    return location.engine_url if location.is_team else \
        f"sqlite:///{location.folder / DATABASE_NAME}"


def test_a_rebuild_owed_in_the_totals_of_revision_0002_moves_to_its_own_columns(
        backend: str, library_location: object, fixture_folder: Path) -> None:
    with Library.open(library_location) as library:  # type: ignore[arg-type]
        import_paths(library, [fixture_folder])
        ids = [row.conversation_id for row in library.summaries()]
        add_conversations(library, "owed", ids[:3], create=True)
        add_conversations(library, "paid", ids[3:5], create=True)
        location = library.location
    back_to_0002(location)
    engine = create_engine(_url(location))
    with engine.begin() as conn:
        conn.execute(text("UPDATE training_files SET totals = :owed WHERE name = 'owed'"),
                     {"owed": SENTINEL})
    engine.dispose()
    before = _owed_state(location)
    assert before["owed"] == (SENTINEL,) and before["paid"][0] is not None
    if backend == "sqlite":
        database = location.folder / DATABASE_NAME
        sha = _sha(database)
        with Library(location, read_only=True) as reader:  # an upgraded copy
            assert reader.older_version
            with reader.session() as session:
                assert rebuilds_due(session) == ["owed"]
        assert _sha(database) == sha
    with Library(location) as library:
        assert _revision(library) == migrations.HEAD
        assert _owed_state(location) == {"owed": (None, 1, 0),
                                         "paid": (before["paid"][0], 0, 0)}
        assert finish_interrupted_work(library) == [
            "rebuilt the training file 'owed', whose rebuild after its conversations "
            "changed did not finish"]
        with library.session() as session:
            assert rebuilds_due(session) == []
    after = _owed_state(location)
    assert after["owed"][0] is not None and after["owed"][1:] == (1, 1)


# --- 0004: the replies the default cut-off policy trains, per conversation -------------


def _replies(location: LibraryLocation) -> dict[str, tuple[int, ...]]:
    """Per conversation id: its reply counts."""
    return _plain_rows(location, "conversations", "conversation_id, trainable_replies",
                       "replies_trained", "replies_trained")


def test_revision_0004_fills_in_the_replies_the_default_policy_trains(
        backend: str, library_location: object, fixture_folder: Path) -> None:
    with Library.open(library_location) as library:  # type: ignore[arg-type]
        import_paths(library, [fixture_folder])
        location = library.location
    made_now = _replies(location)
    # the two real fixtures cut off in their first reply train nothing by default
    assert {cid for cid, (_, trained) in made_now.items() if trained == 0} == FIRST_REPLY_CUT
    assert all(every > 0 for every, _ in made_now.values())
    back_to_0003(location)
    assert _replies(location) == {cid: (every,) for cid, (every, _) in made_now.items()}
    if backend == "sqlite":
        database = location.folder / DATABASE_NAME
        sha = _sha(database)
        with Library(location, read_only=True) as reader:  # an upgraded copy
            assert reader.older_version
            assert {row.conversation_id: (row.trainable_replies, row.replies_trained)
                    for row in reader.summaries()} == made_now
        assert _sha(database) == sha
    with Library(location) as library:
        assert _revision(library) == migrations.HEAD
    assert _replies(location) == made_now


def test_revision_0004_keeps_the_count_of_every_reply_where_a_digest_has_no_policies(
        library_location: object, fixture_folder: Path) -> None:
    """A digest stored before the per-policy counts existed says nothing of the default
    policy: the conversation keeps the count it showed until now."""
    with Library.open(library_location) as library:  # type: ignore[arg-type]
        import_paths(library, [fixture_folder])
        location = library.location
    back_to_0003(location)
    engine = create_engine(_url(location))
    with engine.begin() as conn:
        conn.execute(text("UPDATE conversations SET digest = :old"),
                     {"old": b'{"trainable_replies": 3}'})
    engine.dispose()
    with Library(location):
        pass
    assert {trained == every for every, trained in _replies(location).values()} == {True}


# --- 0005: what a file does with a line over its token budget --------------------------


@ON_BOTH
def test_revision_0005_keeps_the_lines_of_every_earlier_file_whole(
        library_location: object, fixture_folder: Path) -> None:
    """A file made before the setting existed writes every line whole, as it did (its
    bytes do not change under the person); a file made after the upgrade fits them."""
    with Library.open(library_location) as library:  # type: ignore[arg-type]
        import_paths(library, [fixture_folder])
        cid = library.summaries()[0].conversation_id
        add_conversations(library, "Earlier", [cid], create=True)
        location = library.location
    back_to_0004(location)
    with Library(location) as library:
        assert _revision(library) == migrations.HEAD
        assert get_training_file(library, "Earlier").over_budget == "keep"
        add_conversations(library, "Later", [cid], create=True)
        assert get_training_file(library, "Later").over_budget == "fit"


# --- 0006: the copies saved out of the library ------------------------------------------


@ON_BOTH
def test_revision_0006_gives_a_library_holding_files_a_record_of_saved_copies(
        library_location: object, fixture_folder: Path, tmp_path: Path) -> None:
    """A library of 0005 with a training file opens for writing with no copy on record;
    the next save is recorded."""
    from app.export import ExportFormat, export
    from app.saved_copies import CopyState, saved_copies

    with Library.open(library_location) as library:  # type: ignore[arg-type]
        import_paths(library, [fixture_folder])
        cid = library.summaries()[0].conversation_id
        add_conversations(library, "Earlier", [cid], create=True)
        location = library.location
    back_to_0005(location)
    with Library(location) as library:
        assert _revision(library) == migrations.HEAD
        assert saved_copies(library, "Earlier") == []
        export(library, "Earlier", ExportFormat.JSON, tmp_path / "Earlier.json")
        assert [c.state for c in saved_copies(library, "Earlier")] == [CopyState.CURRENT]


# ``tests/data/library-before-sentence-sketches`` is a library LoRA Studio stored at
# revision 0004 (see tests/test_sentence_sketch.py): its one training file, 'copies', has a
# line of 5,252 tokens over its max_seq_len of 4,096.
STORED_0004 = Path(__file__).parent / "data" / "library-before-sentence-sketches"


def _stored_revision(root: Path) -> str:
    with sqlite3.connect(root / DATABASE_NAME) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(revision)


def test_a_stored_0004_library_opened_for_writing_keeps_its_file_and_its_long_line_whole(
        tmp_path: Path) -> None:
    """The upgrade of a real library stored at 0004 gives its file ``keep``: its bytes
    are those it had, and built again from scratch its JSONL still writes the line over
    the budget whole (``fit`` would end it at its last whole reply that fits)."""
    root = tmp_path / "stored-0004"
    shutil.copytree(STORED_0004, root)
    assert _stored_revision(root) == "0004_replies_trained_column"
    with sqlite3.connect(root / DATABASE_NAME) as conn:
        longest = max(max(json.loads(tokens)) for (tokens,) in conn.execute(
            "SELECT tokens FROM build_fragments"))
    assert longest > 4096
    with Library(root, read_only=True) as reader:  # reads an upgraded copy
        before = stored_bytes(reader, "copies")
    assert _stored_revision(root) == "0004_replies_trained_column"
    with Library(root) as library:
        assert _revision(library) == migrations.HEAD
        info = get_training_file(library, "copies")
        assert (info.over_budget, info.max_seq_len) == ("keep", 4096)
        assert stored_bytes(library, "copies") == before, "not rebuilt by the upgrade"
        rebuild_training_files(library, ["copies"], from_scratch=True)
        assert stored_bytes(library, "copies")[1] == before[1], "the long line whole"
