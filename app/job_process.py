"""Run one long library job in a child process; the caller only hears progress and the result.

Why a process and not a thread: a thread running Python holds the interpreter lock in
turns with every other thread, so while a build or an import ran in a worker thread the
window (the GUI thread, which needs that lock for every paint) froze for 0.3–1.1 s at a
time in a 100,000-conversation library (docs/PERFORMANCE.md). A child process has an
interpreter of its own; the caller's thread waits on a pipe without holding the lock.

A job is a module-level function ``job(library, *args, progress=..., cancelled=...)``
(spawned children import it by name). The child opens the same library folder under the
caller's writer lock: the caller holds the lock while it waits, so there is still one
writer at a time (the caller passes ``Library.under_parent_lock`` to open it). Cancel asks
the job to stop through its ``cancelled()``; a child that has not ended ``grace`` seconds
later is killed (every job here writes atomically, so a killed job leaves the library as it
was). A child ends as soon as the process that started it dies, and never outlives it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from app.errors import LibraryError

Progress = Callable[[int, int, str], None]
PROGRESS_INTERVAL = 0.05  # seconds between progress messages from the child
GRACE = 5.0  # seconds a cancelled job gets to stop by itself before it is killed
POLL = 0.05  # seconds between looks at the caller's cancel flag

# One byte in front of every message says what follows (pickled unless it is a part).
PROGRESS, RESULT, ERROR, PART = b"P", b"R", b"E", b"C"


class ChildFailed(Exception):
    """The job raised something that could not be carried back as itself; the text holds
    its type, message and the child's traceback."""


def watch_parent() -> None:
    """End this process as soon as the process that started it is gone.

    A killed parent cannot stop its children, and a child blocked on a queue or a pipe the
    parent will never close would live on for ever; so a thread waits on the parent's
    sentinel and ends the process when it fires.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def wait() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=wait, name="watch-parent", daemon=True).start()


def _child(conn: multiprocessing.connection.Connection, stop: Any,
           opener: Callable[[Any], Any], where: Any, job: Callable[..., Any],
           args: tuple[Any, ...], kwargs: dict[str, Any], streaming: bool) -> None:
    """The child's side: open the library, run the job, send back what it says."""
    watch_parent()
    last = [0.0]

    def progress(done: int, total: int, current: str) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            conn.send_bytes(PROGRESS + pickle.dumps((done, total, current)))

    try:
        with opener(where) as library:
            if streaming:
                for part in job(library, *args, **kwargs):
                    conn.send_bytes(PART + part)
                    if stop.is_set():
                        break
                result = None
            else:
                result = job(library, *args, **kwargs, progress=progress,
                             cancelled=stop.is_set)
        conn.send_bytes(RESULT + pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
    except BaseException as exc:  # everything goes back to the caller, as itself if it can
        try:
            blob = pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
            pickle.loads(blob)  # some exceptions pickle but cannot be rebuilt
        except Exception:
            detail = "".join(traceback.format_exception(exc))
            blob = pickle.dumps(ChildFailed(f"{type(exc).__name__}: {exc}\n{detail}"))
        with contextlib.suppress(OSError):
            conn.send_bytes(ERROR + blob)
    finally:
        conn.close()


def run_in_child(
    job: Callable[..., Any],
    where: Any,
    *args: Any,
    opener: Callable[[Any], Any],
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_part: Callable[[bytes], None] | None = None,
    grace: float = GRACE,
    **kwargs: Any,
) -> Any:
    """Run ``job(library, *args, **kwargs, progress=, cancelled=)`` on the library at
    ``where`` in a child process and return what it returns (or raise what it raised).
    ``where`` is the library's ``LibraryLocation`` (a folder or a team library's URL; it
    is pickled to the child); ``opener(where)`` opens the library there, as a context
    manager: normally ``Library.under_parent_lock`` (passed in, as this module sits below
    the library's).

    With ``on_part`` the job is a generator of ``bytes`` instead (called as
    ``job(library, *args)``): each part goes to ``on_part`` as it arrives, and the result
    is None. Cancelling then stops after the current part.
    """
    context = multiprocessing.get_context("spawn")  # never fork a process with threads
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    child = context.Process(
        target=_child,
        args=(send, stop, opener, where, job, args, kwargs, on_part is not None),
        name=f"lora-studio {getattr(job, '__name__', 'job')}", daemon=False)
    try:
        child.start()
    finally:
        send.close()  # the child holds its own end now: EOF means it has gone
    stop_by: float | None = None
    try:
        while True:
            if stop_by is None and cancelled is not None and cancelled():
                stop.set()
                stop_by = time.monotonic() + grace
            if stop_by is not None and time.monotonic() > stop_by:
                child.kill()
                child.join()
                from app.build import BuildCancelled

                raise BuildCancelled()
            if not receive.poll(POLL):
                if child.exitcode is not None and not receive.poll(0):
                    raise _died(child.exitcode)
                continue
            try:
                message = receive.recv_bytes()
            except EOFError:
                child.join()
                raise _died(child.exitcode) from None
            kind, body = message[:1], message[1:]
            if kind == PROGRESS:
                if progress is not None:
                    progress(*pickle.loads(body))
            elif kind == PART:
                if on_part is not None:
                    on_part(body)
            elif kind == RESULT:
                return pickle.loads(body)
            else:
                raise pickle.loads(body)
    finally:
        receive.close()
        if child.is_alive():
            child.join(grace)
        if child.is_alive():
            child.kill()
        child.join()
        child.close()


def _died(exitcode: int | None) -> LibraryError:
    return LibraryError(
        f"the background process doing this stopped unexpectedly (exit code {exitcode}: out "
        "of memory, or ended by another program). Nothing it had not finished was kept; "
        "try again, and close other programs if it happens again.")


def parts(items: Iterator[Any]) -> Iterator[bytes]:
    """Pickle each item of a generator job's output (a helper for streaming jobs)."""
    for item in items:
        yield pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
