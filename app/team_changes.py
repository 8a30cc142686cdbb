"""Telling every open window of a team library what the other members changed.

A library folder has one writer (the window holding its lock, and the jobs it starts), so
its window knows every change. A team library (PostgreSQL) is changed by anyone at any
time; each window needs to hear of it to show it without a restart.

How: PostgreSQL's LISTEN/NOTIFY, which needs nothing in the schema. Every transaction that
writes to the library announces, as it commits, which kinds of data it changed (the
topics below) on one channel; the server delivers the announcement only if the
transaction commits, and only then. A window listens on its own connection
(``ChangeListener``) and reloads the pages showing those kinds of data.

Each announcement carries the writer's origin: a window and the jobs it runs share one
(``claim_origin``, inherited by child processes through the environment), so a window
does not reload again for what it has just changed and shown itself. A listener that lost
its connection cannot know what it missed: once connected again, it reports every topic.

Every write goes through SQLAlchemy's connections, whose events these are. The one place
that takes the driver's own connection, the streaming reader of a stored build
(``app.stored_builds.BuildReader``), opens its transaction READ ONLY on the server, which
refuses any write there: nothing can change the library unannounced that way.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, event

from app.location import LibraryLocation

CHANNEL = "lora_studio_changes"
ORIGIN_ENV = "LORA_STUDIO_ORIGIN"
CONVERSATIONS, TRAINING_FILES, BATCHES = "conversations", "training_files", "batches"
TOKENIZER = "tokenizer"  # the library's tokenizer or chat template (app.tokenizer_choice)
TOPICS = frozenset({CONVERSATIONS, TRAINING_FILES, BATCHES, TOKENIZER})
# Which kinds of data a write to each table changes (a table not named changes nothing a
# page shows by itself: its rows go with a write to a table named here).
TABLE_TOPICS: dict[str, frozenset[str]] = {
    "conversations": frozenset({CONVERSATIONS, BATCHES}),  # batch counts follow
    "conversation_documents": frozenset({CONVERSATIONS}),
    "batches": frozenset({BATCHES, CONVERSATIONS}),  # the table shows each row's batch
    "training_files": frozenset({TRAINING_FILES, CONVERSATIONS}),  # the "in files" column
    "training_file_members": frozenset({TRAINING_FILES, CONVERSATIONS}),
    "library_tokenizer": frozenset({TOKENIZER}),  # every count is made again
}
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_PENDING = "lora_studio_topics"  # in a connection's info while its transaction runs
RETRY_SECONDS = 15.0  # between attempts to listen again after the connection was lost


def claim_origin() -> str:
    """Make this process (and the children it starts) one origin of changes; return it."""
    origin = os.environ.get(ORIGIN_ENV)
    if not origin:
        origin = os.environ[ORIGIN_ENV] = uuid.uuid4().hex
    return origin


def _origin() -> str:
    return os.environ.get(ORIGIN_ENV) or f"pid-{os.getpid()}"


def announce_changes(engine: Engine) -> None:
    """Make every committed write through ``engine`` announce its topics (a team library's
    engine: the SQL below is PostgreSQL's)."""
    event.listen(engine, "after_cursor_execute", _note_write)
    event.listen(engine, "commit", _announce)
    event.listen(engine, "rollback", _forget)


def _note_write(conn: Connection, cursor: Any, statement: str, *_args: Any) -> None:
    """Note the topics of a write that changed rows (an update matching none, such as
    forgetting the totals of files that hold none of the changed conversations, changes
    nothing another window shows; a row count the driver does not know counts as a change)."""
    match = _WRITE.match(statement)
    if match is not None and cursor.rowcount != 0:
        topics = TABLE_TOPICS.get(match[1].lower())
        if topics:
            conn.info.setdefault(_PENDING, set()).update(topics)


def _announce(conn: Connection) -> None:
    """Just before the commit: NOTIFY in the same transaction (sent when it commits)."""
    topics = conn.info.pop(_PENDING, None)
    if not topics:
        return
    payload = f"{_origin()} {' '.join(sorted(topics))}"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
    finally:
        cursor.close()


def _forget(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


def _driver_errors() -> type[Exception]:
    import psycopg

    return psycopg.Error


class ChangeListener:
    """Hears what other processes changed in a team library; ``poll`` never waits.

    Connects lazily and again after a lost connection (at most every ``RETRY_SECONDS``,
    with a short timeout: it is polled from the window)."""

    def __init__(self, location: LibraryLocation, origin: str | None = None) -> None:
        self.location = location
        self.origin = origin if origin is not None else _origin()
        self._conn: Any = None  # a psycopg connection
        self._lost = False
        self._next_try = 0.0

    def _connect(self) -> None:
        import psycopg  # only a team library needs the driver (imported by name here)

        url = self.location.engine_url.set(drivername="postgresql")
        conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True,
                               connect_timeout=3, application_name="LoRA Studio (changes)")
        try:
            conn.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            conn.close()  # not left open for the collector
            raise
        self._conn = conn

    def start(self) -> bool:
        """Listen from now on (what changed before is already on the screen); False when
        the server cannot be reached now (``poll`` tries again)."""
        if self._conn is None:
            try:
                self._connect()
            except _driver_errors():
                return False
        return True

    def poll(self) -> set[str]:
        """The topics changed by others since the last poll (every topic after a lost
        connection came back); an empty set when nothing changed or the server is away."""
        if self._conn is None:
            if time.monotonic() < self._next_try:
                return set()
            try:
                self._connect()
            except _driver_errors():
                self._next_try = time.monotonic() + RETRY_SECONDS
                return set()
            if self._lost:
                self._lost = False
                return set(TOPICS)
        topics: set[str] = set()
        try:
            assert self._conn is not None
            for note in self._conn.notifies(timeout=0):
                origin, _, named = note.payload.partition(" ")
                if origin != self.origin:
                    topics.update(t for t in named.split() if t in TOPICS)
        except _driver_errors():
            self.close()
            self._lost = True
            return topics
        return topics

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
