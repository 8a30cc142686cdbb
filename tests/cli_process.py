"""Run the ``lora-studio`` command as a real process: as another user, with a memory or
file-size limit, never longer than a deadline (a hang fails the test instead of the run)."""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

NOBODY = "nobody"


def _limits(memory: int | None, file_size: int | None) -> Callable[[], None] | None:
    if memory is None and file_size is None:
        return None

    def apply() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if file_size is not None:
            # A write past the limit then fails with EFBIG instead of killing the process.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return apply


def as_user(user: str, command: list[str]) -> list[str]:
    """``command`` run as ``user`` (through ``setpriv``; the caller is root)."""
    entry = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
            "--clear-groups", *command]


def run_cli(*args: str | Path, user: str | None = None, timeout: float = 120,
            memory: int | None = None, file_size: int | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m app ARGS`` in a child process; stdout and stderr as text."""
    command = [sys.executable, "-m", "app", *map(str, args)]
    if user is not None:
        command = as_user(user, command)
    full_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=full_env, preexec_fn=_limits(memory, file_size), check=False)


@functools.cache
def can_switch_user() -> bool:
    """Permission tests need root (to become another user), ``setpriv``, and a Python that
    ``nobody`` may start (one built with its library under ``/root``, as pyenv builds it,
    cannot be started by anybody else)."""
    if os.name == "nt" or os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(as_user(NOBODY, [sys.executable, "-c", "pass"]),
                           capture_output=True, timeout=60, check=False)
    return probe.returncode == 0


@contextlib.contextmanager
def shared_folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own temporary folders are private)."""
    folder = Path(tempfile.mkdtemp(prefix="lora-studio-shared-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            with contextlib.suppress(OSError):
                if not path.is_symlink():
                    path.chmod(0o777 if path.is_dir() else 0o666)
        shutil.rmtree(folder, ignore_errors=True)


def give_to(path: Path, user: str = NOBODY) -> None:
    """Make ``path`` (and what is below it) belong to ``user``."""
    entry = pwd.getpwnam(user)
    for item in [path, *path.rglob("*")]:
        os.lchown(item, entry.pw_uid, entry.pw_gid)
