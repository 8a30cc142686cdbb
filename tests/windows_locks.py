"""Windows' file locks on Linux, for tests: ``msvcrt.locking`` done with POSIX record locks.

``msvcrt.locking(fd, LK_NBLCK, 1)`` locks one byte at the file's position, for the whole
process, and refuses at once when another holds it; ``fcntl.lockf`` locks a byte range
the same way. So ``app.os_lock``'s Windows path runs here with this in place of its byte
lock (``install``), and a test can see which bytes a process holds (``held_elsewhere``)
and whether Windows would let another process read a range (``readable_elsewhere``:
Windows refuses a read that overlaps bytes another process holds locked).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from app import os_lock

# What this process asked of the byte lock: ("lock" or "unlock", the byte), in order.
calls: list[tuple[str, int]] = []


def lockf_like_msvcrt(fd: int, take: bool) -> None:
    """``msvcrt.locking(fd, LK_NBLCK or LK_UNLCK, 1)``: the byte at ``fd``'s position."""
    at = os.lseek(fd, 0, os.SEEK_CUR)
    calls.append(("lock" if take else "unlock", at))
    fcntl.lockf(fd, (fcntl.LOCK_EX | fcntl.LOCK_NB) if take else fcntl.LOCK_UN, 1, at,
                os.SEEK_SET)


def install() -> None:
    """From now on this process locks as Windows does."""
    os_lock.lock_byte = lockf_like_msvcrt


def held_elsewhere(path: Path, at: int) -> bool:
    """Whether another process holds the byte ``at`` of ``path`` locked."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, at, os.SEEK_SET)
    except OSError:
        return True
    finally:
        os.close(fd)  # lets go of this process's record locks on the file
    return False


def readable_elsewhere(path: Path, length: int) -> bool:
    """Whether Windows would let another process read the first ``length`` bytes of
    ``path``: no process holds any of them locked."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, length, 0, os.SEEK_SET)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
