"""An exclusive OS lock on an open file: tried, never waited for, and gone with its process.

Never waited for: Windows' waiting lock gives up after about 10 seconds with an error, so a
lock is had at once or refused at once, and the caller says who holds it. Gone with its
process: the operating system drops it when the holder ends, however it ends (a crash, a
kill, the computer going off), so it never needs clearing by hand.

Elsewhere ``flock`` locks the whole file. Windows locks a range of bytes instead, and
keeps every other process from reading or writing the locked bytes, so a caller whose file
is read by others while it is held says which byte to lock (``at``): one past any text
the file holds. Windows allows locking past the end of a file, and it does not grow it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

ByteLock = Callable[[int, bool], None]


def _windows_byte(fd: int, take: bool) -> None:
    """Lock (``take``) or unlock one byte at ``fd``'s current position, never waiting;
    OSError when another process or handle holds it."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK if take else msvcrt.LK_UNLCK, 1)


def _whole_file(fd: int, take: bool) -> None:
    """Lock (``take``) or unlock the whole file, never waiting; OSError when held."""
    if sys.platform != "win32":
        import fcntl

        fcntl.flock(fd, (fcntl.LOCK_EX | fcntl.LOCK_NB) if take else fcntl.LOCK_UN)


# How one byte is locked where locks are byte ranges (Windows); None where ``flock`` locks
# the whole file. One replaceable function, so that a test on Linux can put POSIX record
# locks in its place (byte ranges held per process, as Windows' are).
lock_byte: ByteLock | None = _windows_byte if sys.platform == "win32" else None


def _on_byte(fd: int, at: int, take: bool) -> None:
    byte = lock_byte
    if byte is None:
        _whole_file(fd, take)
        return
    # Windows locks at the file's position (at its end in a file opened to append), so
    # the position is put at ``at`` for the call and given back after.
    was = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, at, os.SEEK_SET)
    try:
        byte(fd, take)
    finally:
        os.lseek(fd, was, os.SEEK_SET)


def try_lock(fd: int, at: int = 0) -> bool:
    """Take the exclusive lock on the open file ``fd`` (on Windows: on its byte ``at``), or
    False at once when someone else holds it. The file's position is left as it was."""
    try:
        _on_byte(fd, at, True)
    except OSError:
        return False
    return True


def unlock(fd: int, at: int = 0) -> None:
    """Let go of the lock ``try_lock(fd, at)`` took, before closing ``fd``: Windows drops
    a closed file's locks only when the system gets to it, not at once. A lock that cannot
    be let go of here still goes when ``fd`` is closed."""
    with contextlib.suppress(OSError):
        _on_byte(fd, at, False)
