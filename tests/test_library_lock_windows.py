"""The library's one-writer lock as it works on Windows, in real processes.

Windows cannot run here, so each process locks as Windows does (``windows_locks``: one
byte at the file's position, held per process, refused at once), on a real library.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from child_process import python_child, wait_for_marker
from windows_locks import held_elsewhere, lockf_like_msvcrt, readable_elsewhere

from app import os_lock
from app.lock import HELD_BYTE, LOCK_NAME, LibraryLock

TESTS = str(Path(__file__).parent)

# Each child locks as Windows does, and says what it asked of the byte lock.
LOCKING_AS_WINDOWS = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import windows_locks
windows_locks.install()
"""

# Opens a new library for writing, and holds it until told to close it; stays on after.
HOLDER = LOCKING_AS_WINDOWS + r"""
import time
from pathlib import Path
from app.library import Library

root, opened, close, closed, leave = map(Path, sys.argv[2:])
test = os.getppid()

def until(marker):
    while not marker.exists() and os.getppid() == test:
        time.sleep(0.02)

def say(marker, calls):
    # Whole or not at all: the test reads a marker as soon as it exists.
    part = marker.with_name(marker.name + ".part")
    part.write_text(json.dumps(calls))
    os.replace(part, marker)

library = Library(root)
say(opened, windows_locks.calls)
until(close)
library.close()
say(closed, windows_locks.calls)
until(leave)
"""

# Another LoRA Studio wanting to write: refused, naming the holder; a child doing one job
# for the holder goes on under its lock; a reader sees that someone writes.
SECOND = LOCKING_AS_WINDOWS + r"""
from pathlib import Path
from app import db
from app.library import Library
from app.lock import LibraryLocked

root, holder = Path(sys.argv[2]), int(sys.argv[3])
seen = {}
try:
    Library(root).close()
    seen["refused"] = ""
except LibraryLocked as exc:
    seen["refused"] = str(exc)
with Library(root, lock_holder=holder) as borrowed:
    seen["borrowed"] = borrowed.count()
seen["writer_active"] = db._writer_active(root)
seen["calls"] = windows_locks.calls
print(json.dumps(seen))
"""

# More than any read of the holder's name asks for.
NAME_READ = 1 << 16


def test_a_second_process_is_refused_by_name_and_the_holders_child_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "library"
    lock = root / LOCK_NAME
    opened, close, closed, leave = (tmp_path / name
                                    for name in ("opened", "close", "closed", "leave"))
    with python_child(HOLDER, TESTS, str(root), str(opened), str(close), str(closed),
                      str(leave)) as holder:
        try:
            wait_for_marker(holder, opened, 120, "opened the library")
            named = f"process {holder.pid} on {socket.gethostname()}"
            assert lock.read_text(encoding="utf-8") == named

            with python_child(SECOND, TESTS, str(root), str(holder.pid)) as second:
                out, err = second.communicate(timeout=120)
            assert second.returncode == 0, (out, err)
            seen = json.loads(out)
            assert f"already open in another LoRA Studio ({named})" in seen["refused"]
            assert seen["borrowed"] == 0  # it went on, and read the new library
            assert seen["writer_active"] is True
            # Each of its three tries asked Windows' lock for the held byte, and got none.
            assert seen["calls"] == [["lock", HELD_BYTE]] * 3

            # The holder holds that byte with a Windows-like lock, and nothing of its
            # name, which Windows would then keep the others from reading.
            assert json.loads(opened.read_text()) == [["lock", HELD_BYTE]]
            assert held_elsewhere(lock, HELD_BYTE)
            assert readable_elsewhere(lock, NAME_READ)
            assert lock.stat().st_size == len(named)  # the far lock did not grow the file

            close.write_text("now")
            wait_for_marker(holder, closed, 120, "closed the library")
            # Let go of at once, by name, while the holder runs on (Windows lets go of a
            # closed file's lock only when it gets to it).
            assert json.loads(closed.read_text()) == [["lock", HELD_BYTE],
                                                      ["unlock", HELD_BYTE]]
            assert not held_elsewhere(lock, HELD_BYTE)
            monkeypatch.setattr(os_lock, "lock_byte", lockf_like_msvcrt)
            mine = LibraryLock(root)
            mine.acquire()
            mine.release()
            assert lock.read_text(encoding="utf-8").startswith(f"process {os.getpid()} ")
        finally:
            leave.write_text("now")
        holder.wait(timeout=60)
