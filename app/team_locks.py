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
  adding to one file at once both end up in it. Creating a file also takes the creation
  lock: a new file's id is the next free one.
- storing a chunk of an import (``lock_in_transaction(session, IMPORTING)``): the chunk
  checks again, under the lock, which of its conversations someone else stored meanwhile,
  so importing the same files twice at once stores each conversation once.

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
def advisory_locks(library: _Team, names: Iterable[str]) -> Iterator[None]:
    """Hold the named locks for the block (a team library only; a no-op on a folder).

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
    with library.engine.connect() as conn, conn.begin():
        for key in wanted:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        mine = {(engine_id, key) for key in wanted}
        held.update(mine)
        try:
            yield
        finally:
            held.difference_update(mine)


def training_file_lock(library: _Team, *names: str | None,
                       creating: bool = False) -> contextlib.AbstractContextManager[None]:
    """The lock of each named training file (and the creation lock with ``creating``)."""
    wanted = [file_lock_name(n) for n in names if n]
    if creating:
        wanted.append(CREATING_FILES)
    return advisory_locks(library, wanted)


def lock_in_transaction(session: Session, name: str) -> None:
    """Take the named lock in ``session``'s transaction (a team library only): it is
    released when that transaction ends, committed or not."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
