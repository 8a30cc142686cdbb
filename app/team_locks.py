"""Locks that keep several members of a team library from losing each other's work.

A library folder has one writer at a time (the OS lock, ``app.lock``), so nothing here
applies to it. A team library (PostgreSQL) has no OS lock: any number of processes write
at once, each change in a transaction. Most changes are one transaction and need nothing
more; two kinds read, work for a while, then write, and would lose a change made by
someone else in between:

- changing a training file (add, remove, rename, rebuild, settings): the new member list
  is worked out from the current one, rendered, then switched to. Each runs under a
  transaction-level advisory lock named after the file (``training_file_lock``), held from
  before the current members are read until the new build is committed, so two members
  adding to one file at once both end up in it (and two cannot create one name at once).
  A new file's id is the next free one: it is taken in the switch's own transaction
  under the creation lock (``lock_in_transaction(session, CREATING_FILES)``), so creating
  two files at once waits only for the other's switch, never for its whole build.
- a build stores fragments that no member refers to until its switch (a large build's
  early ones; found ones it reuses): it holds ``FRAGMENTS`` shared (``fragments_in_use``)
  while it runs, and the sweep of fragments nobody uses (``app.recovery``) runs only when
  it gets that lock alone at once (``try_lock_in_transaction``), else waits for a later
  start.
- removing conversations from the library: the delete holds ``REMOVING`` in its
  transaction, and a build's switch holds it shared in its own, so a conversation cannot
  be deleted between a switch writing it into a file and that switch's commit (the delete
  then sees the file holding it and says so; a switch after the delete leaves it out).
- storing a chunk of an import (``REMOVING`` shared, then ``IMPORTING``, in the chunk's
  transaction): the chunk gives its verdicts there, against what is stored then, which
  stays so until it commits: importing the same files twice at once stores each
  conversation once, and a duplicate of a conversation removed meanwhile is stored.

The lock is held by a transaction of its own on a connection of its own (the work itself
runs in several shorter transactions); a process that dies loses its connection, and the
server releases the lock with it. Locks taken again by the same thread, for the same
library, are not taken twice (a second connection would wait for the first for ever).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterable, Iterator
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

CREATING_FILES = "training-files:create"
IMPORTING = "conversations:import"
FRAGMENTS = "build-fragments"
REMOVING = "conversations:remove"

_held = threading.local()


class _Team(Protocol):
    @property
    def is_team(self) -> bool: ...

    engine: Engine


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (the same on every computer and run)."""
    digest = hashlib.sha256(f"lora-studio:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def file_lock_name(name: str) -> str:
    """What a training file's lock is named after: its name as names clash (casefolded)."""
    return f"training-file:{name.casefold()}"


def _held_keys() -> set[tuple[int, int]]:
    keys: set[tuple[int, int]] | None = getattr(_held, "keys", None)
    if keys is None:
        keys = _held.keys = set()
    return keys


@contextlib.contextmanager
def advisory_locks(library: _Team, names: Iterable[str],
                   shared: bool = False) -> Iterator[None]:
    """Hold the named locks for the block (a team library only; a no-op on a folder);
    ``shared``: in shared mode (others holding it shared do not wait).

    Keys are taken in sorted order, so two processes wanting the same two never wait for
    each other."""
    if not library.is_team:
        yield
        return
    held = _held_keys()
    engine_id = id(library.engine)
    wanted = sorted({lock_key(n) for n in names} - {k for e, k in held if e == engine_id})
    if not wanted:
        yield
        return
    take = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with library.engine.connect() as conn, conn.begin():
        for key in wanted:
            conn.execute(text(f"SELECT {take}(:key)"), {"key": key})
        mine = {(engine_id, key) for key in wanted}
        held.update(mine)
        try:
            yield
        finally:
            held.difference_update(mine)


def training_file_lock(library: _Team,
                       *names: str | None) -> contextlib.AbstractContextManager[None]:
    """The lock of each named training file."""
    return advisory_locks(library, [file_lock_name(n) for n in names if n])


def fragments_in_use(library: _Team) -> contextlib.AbstractContextManager[None]:
    """Held (shared) by a build while fragments it stored or found are not referred to
    yet: the sweep of unused fragments leaves them alone meanwhile."""
    return advisory_locks(library, [FRAGMENTS], shared=True)


def _is_team(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_in_transaction(session: Session, name: str, shared: bool = False) -> None:
    """Take the named lock in ``session``'s transaction (a team library only): it is
    released when that transaction ends, committed or not."""
    if _is_team(session):
        take = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {take}(:key)"), {"key": lock_key(name)})


def try_lock_in_transaction(session: Session, name: str) -> bool:
    """Take the named lock in ``session``'s transaction if nobody holds it (in any mode);
    False: somebody does, and nothing was waited for. Always True on a folder."""
    if not _is_team(session):
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                               {"key": lock_key(name)}))
