"""A record of long work while it runs, so the next start can say what a kill cut short.

Every write is a transaction, so a killed import or build leaves the library consistent;
but nothing in the library says that an import stopped after 3,000 of its 12,000 files,
or that a new training file was never made. An import and a build each write a small JSON
file into ``running/`` in the library folder as they start (what they do), locked while
their process runs, and remove it at their end, however they end short of a kill. The
next start (``app.recovery``) reads the records no process holds and says what each means.
Each record names the process that wrote it: a window that killed its own job's child, and
said so, settles that child's records then (``app.killed_work.settle_left_by``), so the
next start does not say it again. Work that ended short where no window was left to say
so (an import cancelled as its window closed) leaves a record no process holds
(``leave``): the next start reads it as it reads a killed one's.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from app.os_lock import try_lock, unlock

FOLDER = "running"
Record = dict[str, Any]


def _folder(root: Path) -> Path:
    return root / FOLDER


HELD_BYTE = 1 << 30  # the byte locked where locks are byte ranges: past the record's text


@contextlib.contextmanager
def running(root: Path, record: Record, read_only: bool = False) -> Iterator[None]:
    """``record`` (plain JSON values) kept in the library folder ``root`` for the block,
    its file locked while the process runs (the lock goes with the process, however it
    ends). Nothing is kept for a read-only library, or when the folder cannot be written:
    the record only helps to explain a kill, and the work itself goes on."""
    handle: io.FileIO | None = None
    path = _folder(root) / f"{uuid.uuid4().hex}.json"
    if not read_only:
        try:
            path.parent.mkdir(exist_ok=True)
            handle = io.FileIO(path, "w")
            # Locked before it is written: a start reading the folder meanwhile sees a
            # record still held, not one whose process has gone.
            if not try_lock(handle.fileno(), at=HELD_BYTE):  # (a new file: not expected)
                raise OSError("not locked")
            handle.write(orjson.dumps({**record, "pid": os.getpid()}))
        except OSError:
            if handle is not None:
                handle.close()
                handle = None
            with contextlib.suppress(OSError):
                path.unlink()
    try:
        yield
    finally:
        if handle is not None:
            unlock(handle.fileno(), at=HELD_BYTE)
            handle.close()
            with contextlib.suppress(OSError):
                path.unlink()


def leave(root: Path, record: Record) -> bool:
    """``record`` kept in the library folder ``root`` for the next start, held by no
    process: it is read there as a killed job's is. Written whole or not at all (a start
    meanwhile never reads half of it); False when the folder cannot be written."""
    path = _folder(root) / f"{uuid.uuid4().hex}.json"
    part = path.with_suffix(".part")  # (not a record until it is renamed)
    try:
        path.parent.mkdir(exist_ok=True)
        part.write_bytes(orjson.dumps({**record, "pid": os.getpid()}))
        os.replace(part, path)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink()
        return False
    return True


def _held(path: Path) -> bool | None:
    """Whether a process holds the record at ``path`` (its work runs now; False: the
    process that wrote it has ended); None when it cannot be opened. Opened only to read:
    a lock is had on a file opened so, and a library opened read-only (or a listing)
    writes nothing in its folder."""
    try:
        with io.FileIO(path, "r") as handle:
            if not try_lock(handle.fileno(), at=HELD_BYTE):
                return True
            unlock(handle.fileno(), at=HELD_BYTE)
            return False
    except OSError:
        return None


def records(root: Path, since_ns: int = 0) -> Iterator[tuple[int, Path, bool | None]]:
    """Each record in the library folder ``root`` written from ``since_ns``
    (``time.time_ns``) on, oldest first: when it was written, where, and whether its
    process holds it (``_held``)."""
    try:
        stamped = sorted((path.stat().st_mtime_ns, path)
                         for path in _folder(root).glob("*.json"))
    except OSError:
        return
    for written, path in stamped:
        if written >= since_ns:
            yield written, path, _held(path)


def read_record(path: Path) -> Record | None:
    """The record at ``path``; None when it cannot be read as one (cut short while it
    was written, or gone meanwhile)."""
    try:
        record = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def interrupted(root: Path, pid: int | None = None,
                since_ns: int = 0) -> list[tuple[Path, Record | None]]:
    """The records whose process ended without removing them (oldest first); None for one
    cut short while it was written (it says nothing, and a writer's start forgets it).
    With ``pid``, only those that process wrote from ``since_ns`` (``time.time_ns``) on.
    Only reads: a check run on a library opened read-only changes nothing in its folder."""
    found: list[tuple[Path, Record | None]] = []
    for _written, path, held in records(root, since_ns if pid is not None else 0):
        if held is not False:
            continue
        record = read_record(path)
        if record is None:
            if pid is None:  # whose it was cannot be told: the next start settles it
                found.append((path, None))
            continue
        if pid is None or record.get("pid") == pid:
            found.append((path, record))
    return found


def forget(path: Path) -> None:
    """Said at start (or saying nothing): the record goes. A writer's business."""
    with contextlib.suppress(OSError):
        path.unlink()
