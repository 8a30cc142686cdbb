"""app.os_lock: where Windows' byte lock is put, and flock's whole-file lock elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import windows_locks

from app import os_lock
from app.os_lock import try_lock, unlock


def test_the_byte_asked_for_is_locked_wherever_the_file_is_read_or_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows locks at the file's position (at its end, in a file opened to append): the
    byte asked for is locked and let go of instead, and the position is given back."""
    monkeypatch.setattr(os_lock, "lock_byte", windows_locks.lockf_like_msvcrt)
    monkeypatch.setattr(windows_locks, "calls", [])
    path = tmp_path / "held"
    path.write_text("process 1234 on HOST")
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        os.lseek(fd, 0, os.SEEK_END)
        assert try_lock(fd, at=4096)
        assert os.lseek(fd, 0, os.SEEK_CUR) == len("process 1234 on HOST")
        unlock(fd, at=4096)
    finally:
        os.close(fd)
    assert windows_locks.calls == [("lock", 4096), ("unlock", 4096)]
    assert path.stat().st_size == len("process 1234 on HOST")


def test_a_second_handle_is_refused_at_once_until_the_first_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "held"
    path.touch()
    first, second = os.open(path, os.O_RDWR), os.open(path, os.O_RDWR)
    try:
        assert try_lock(first)
        assert not try_lock(second)
        unlock(first)
        assert try_lock(second)
    finally:
        os.close(first)
        os.close(second)
