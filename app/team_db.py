"""Open a team library's PostgreSQL database: connect, check it is ours, create it when empty.

A team library is a database the team's server keeps; LoRA Studio never creates the
database itself (that is for whoever runs the server), only its tables, the first time it
opens an empty one, and upgrades them with Alembic (``app.migrations``) when a newer
LoRA Studio opens it for writing. A reader opens every transaction read-only (the server
refuses any write), and never creates or upgrades anything.

Every failure to connect (server down, wrong password, unknown database, no permission)
becomes one sentence naming the URL (without its password) and what to do
(``app.failures.postgres_failure``).
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from app import migrations
from app.errors import LibraryError
from app.failures import as_library_error
from app.location import LibraryLocation
from app.models import Base
from app.wording import agreeing

CONNECT_TIMEOUT = 10  # seconds before an unreachable server is reported
OUR_TABLES = frozenset({"conversations", "training_files", "batches", "profiles",
                        "training_file_members"})
# Two members opening the same empty database at once must not both create the tables:
# whoever takes this transaction-level advisory lock first does, the other then finds them.
SCHEMA_LOCK = 0x4C6F5241  # "LoRA"


def team_engine(location: LibraryLocation, read_only: bool = False) -> Engine:
    """An engine for the team library (no connection made yet)."""
    options = "-c default_transaction_read_only=on" if read_only else ""
    connect_args: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT,
                                       "application_name": "LoRA Studio"}
    if options:
        connect_args["options"] = options
    # pool_pre_ping: a connection the server dropped while the window sat idle is replaced
    # instead of failing the next action.
    return create_engine(location.engine_url, pool_pre_ping=True, connect_args=connect_args)


def _fail(exc: BaseException, location: LibraryLocation) -> LibraryError:
    return as_library_error(exc, location.display) or LibraryError(
        f"the team library {location.display} cannot be opened: {exc}")


def open_team_engine(location: LibraryLocation, read_only: bool = False) -> tuple[Engine, bool]:
    """The engine of a team library, ready to use, and whether its tables were created now.

    Raises ``LibraryError`` with what to do when the server cannot be used, the database is
    another program's, or a reader finds no library there yet.
    """
    engine = team_engine(location, read_only)
    try:
        created = _prepare(engine, location, read_only)
    except DBAPIError as exc:
        engine.dispose()
        raise _fail(exc, location) from None
    except BaseException:
        engine.dispose()
        raise
    return engine, created


def _tables(connection: object) -> set[str]:
    return set(inspect(connection).get_table_names())


def _prepare(engine: Engine, location: LibraryLocation, read_only: bool) -> bool:
    with engine.connect() as conn:
        tables = _tables(conn)
        revision = migrations.current_revision(conn)
    if tables & OUR_TABLES:
        _check_ours(tables, location)
        _bring_up_to_date(engine, location, revision, read_only)
        return False
    if tables:
        raise LibraryError(
            f"the database {location.display} holds another program's tables, not a LoRA "
            "Studio library. Give LoRA Studio a database of its own (an empty one becomes a "
            "library when first opened).")
    if read_only:
        raise LibraryError(
            f"the team library {location.display} is empty: there is no library to read "
            "yet. Open it once for writing (in the window, or by importing into it).")
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        if _tables(conn) & OUR_TABLES:  # another member created it meanwhile
            return False
        # The newest schema at once, stamped with the newest revision (Alembic's way for
        # a new database; a test checks it equals the baseline plus every revision).
        Base.metadata.create_all(conn)
        migrations.stamp_connection(conn, migrations.HEAD)
    return True


def _bring_up_to_date(engine: Engine, location: LibraryLocation, revision: str | None,
                      read_only: bool) -> None:
    """Refuse a library of a newer LoRA Studio; upgrade an older one (a writer, once,
    under the schema lock, in one transaction: PostgreSQL changes schemas transactionally).
    """
    state = migrations.state(revision)
    if state == "newer":
        raise LibraryError(
            f"the team library {location.display} was written by a newer LoRA Studio "
            f"(schema revision {revision}; this program understands up to "
            f"{migrations.HEAD}). Update LoRA Studio to open it.")
    if state == "current" and revision is not None:
        return
    if read_only:
        if state == "current":
            return  # the baseline, not yet stamped: the same tables, readable as they are
        raise LibraryError(
            f"the team library {location.display} has an older schema ({revision}): open "
            "it once for writing with this LoRA Studio to upgrade it, then read it.")
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        migrations.upgrade(conn)  # does nothing when another member did it meanwhile


def _check_ours(tables: set[str], location: LibraryLocation) -> None:
    missing = sorted(OUR_TABLES - tables)
    if missing:
        raise LibraryError(
            f"the team library {location.display} is incomplete: the "
            f"{agreeing(len(missing), 'table', 'tables')} {', '.join(missing)} "
            f"{agreeing(len(missing), 'is', 'are')} missing. Ask whoever runs the server to "
            "restore the database from a backup.")
