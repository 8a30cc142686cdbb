"""Schema migrations for both back ends (SQLite and PostgreSQL), from one Alembic history.

The history starts at ``0001_baseline``: the schema as it stood when migrations moved to
Alembic (version 7 of the older chain in ``app.db``). Libraries older than that still go up
that chain to version 7 first and are then stamped with the baseline; from there on every
schema change is an Alembic revision in ``versions/`` (how to add one: ``README.md``).

The library opens its database and calls ``upgrade`` (a writer) or ``state`` (anyone); the
revision a database is at is read with plain SQL, so opening a library that is up to date
never loads Alembic at all.
"""

from __future__ import annotations

import sqlite3
from functools import cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, inspect, text

FOLDER = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"  # Alembic's own: one row, the revision the database is at
BASELINE = "0001_baseline"
HEAD = "0007_build_sha256_columns"  # the newest revision (a test checks it against versions/)

State = Literal["current", "behind", "newer"]


def config(connection: Connection | None = None) -> Any:
    """Alembic's configuration for our scripts, running on ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config())
    return frozenset(r.revision for r in script.walk_revisions())


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(config()).get_current_head())


def state(revision: str | None) -> State:
    """Where a database at ``revision`` stands (None: stamped by nobody yet, which is the
    baseline: the schema of version 7 before Alembic)."""
    revision = revision or BASELINE
    if revision == HEAD:
        return "current"
    return "behind" if revision in known_revisions() else "newer"


def current_revision(connection: Connection) -> str | None:
    """The revision the database says it is at (None: not stamped)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    value = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return str(value) if value is not None else None


def sqlite_revision(conn: sqlite3.Connection) -> str | None:
    """``current_revision`` for a plain sqlite3 connection (``app.db`` reads files so)."""
    found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (VERSION_TABLE,)).fetchone()
    if found is None:
        return None
    row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    return str(row[0]) if row else None


def stamp_sqlite(conn: sqlite3.Connection, revision: str = BASELINE) -> None:
    """Record ``revision`` in the same table, and the same way, as Alembic's ``stamp``
    does, inside the caller's transaction (the old chain's last step)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT "
                 f"NULL, CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))")
    conn.execute(f"DELETE FROM {VERSION_TABLE}")
    conn.execute(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (?)", (revision,))


def stamp_connection(connection: Connection, revision: str) -> None:
    """Record ``revision`` as Alembic's ``stamp`` would, in the caller's transaction,
    without loading Alembic (a new library gets the newest schema and revision at once)."""
    connection.execute(text(
        f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
        f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"))
    connection.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:rev)"),
                       {"rev": revision})


def upgrade(connection: Connection) -> None:
    """Bring the database on ``connection`` to the newest revision, in the caller's
    transaction (an empty database gets every table; a baseline one is stamped first)."""
    from alembic import command

    cfg = config(connection)
    if current_revision(connection) is None and inspect(connection).has_table("conversations"):
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, "head")
