"""One writer per library: an OS file lock that dies with its process.

A second LoRA Studio (window or command) that wants to change the same library is refused
with a message naming the process that holds it. The lock is released by the operating
system even when the holder crashes or is killed, so it never needs clearing by hand.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path
from typing import IO

from app.errors import LibraryError

LOCK_NAME = "library.lock"


class LibraryLocked(LibraryError):
    """Another process is using the library for writing."""


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class LibraryLock:
    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+", encoding="utf-8")
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LibraryLocked(
                f"the library {self.path.parent} is already open in another LoRA Studio "
                f"({holder}). Close it there first, or choose another library folder."
            )
        try:  # who holds it, for the message above; on a full disk the lock alone will do
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()} on {socket.gethostname()}")
            handle.flush()
        except OSError:
            pass
        self._handle = handle

    def acquire_or_borrow(self, holder_pid: int) -> None:
        """Take the lock, or go on without it when process ``holder_pid`` holds it: a child
        doing one job for the window writes under the window's lock (``app.job_process``)
        while the window waits for it. Anyone else holding it refuses as ``acquire`` does."""
        try:
            self.acquire()
        except LibraryLocked:
            try:
                holder = self.path.read_text(encoding="utf-8").split()
            except OSError:
                holder = []
            if holder[:2] != ["process", str(holder_pid)]:
                raise

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
