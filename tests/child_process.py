"""Real child processes for crash and concurrency tests: start, wait for a marker, kill.

Every wait here has a deadline: a child that hangs fails its test with a sentence (and
its output so far) instead of holding the whole run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def python_child(code: str, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -c code args`` for the block; never leave it running or its pipes open."""
    child = subprocess.Popen([sys.executable, "-c", code, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=60)
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()  # type: ignore[union-attr]


def wait_for_marker(child: subprocess.Popen[bytes], marker: Path, seconds: float,
                    what: str) -> None:
    """Wait until the child writes ``marker``; fail with its output if it ends first."""
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if child.poll() is not None:
            out, err = child.communicate(timeout=60)
            raise AssertionError(f"the child ended early ({child.returncode}): {out!r} {err!r}")
        assert time.monotonic() < deadline, f"the child never {what}"
        time.sleep(0.01)


def kill_hard(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no cleanup handlers, no flushing, exactly like a crash or power loss."""
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def run_bounded(command: list[str], seconds: float, what: str) -> tuple[int, str, str]:
    """Run ``command`` to its end, at most ``seconds``; on time, kill it with everything it
    started (its own process group) and fail saying ``what`` hung. (Plain
    ``subprocess.run(timeout=...)`` kills only the child, then waits for ever on pipes its
    own children still hold.)"""
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        out, err = child.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        raise AssertionError(f"{what} did not finish within {seconds:.0f} s (a hang?); "
                             f"output so far:\n{out[-2000:]}\n{err[-4000:]}") from None
    return child.returncode, out, err
