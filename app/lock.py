"""One writer per library: an OS file lock that dies with its process.

A second LoRA Studio (window or command) that wants to change the same library is refused
with a message naming the process that holds it. The lock is released by the operating
system even when the holder crashes or is killed, so it never needs clearing by hand.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
from pathlib import Path
from typing import Final

from app.errors import LibraryError
from app.os_lock import try_lock, unlock

LOCK_NAME = "library.lock"
# The byte held where locks are byte ranges (Windows): far past the holder's name at the
# start of the file, which Windows would keep a refused process from reading if the lock
# covered it (the refusal names the holder, and a job's child reads it to borrow its
# window's lock). Below 2 GiB, where every Windows C runtime's locking reaches.
HELD_BYTE: Final = 1 << 30


class LibraryLocked(LibraryError):
    """Another process is using the library for writing."""


def _named_holder(handle: io.FileIO) -> str:
    """Who holds the lock, as the holder wrote it at the start of the file."""
    try:
        handle.seek(0)
        return handle.read().decode("utf-8", "replace").strip() or "another process"
    except OSError:
        return "another process"


class LibraryLock:
    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._handle: io.FileIO | None = None

    def acquire(self) -> None:
        # Unbuffered: nothing of the holder's name is left to be written after the lock
        # is let go of.
        handle = io.FileIO(self.path, "a+")
        if not try_lock(handle.fileno(), at=HELD_BYTE):
            with handle:
                holder = _named_holder(handle)
            raise LibraryLocked(
                f"the library {self.path.parent} is already open in another LoRA Studio "
                f"({holder}). Close it there first, or choose another library folder."
            )
        try:  # who holds it, for the message above; on a full disk the lock alone will do
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()} on {socket.gethostname()}".encode())
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
            unlock(self._handle.fileno(), at=HELD_BYTE)
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
