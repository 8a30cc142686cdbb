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
later is killed, and ``app.build.StoppedByForce`` raised (every job here writes atomically,
so a killed job leaves whatever it was writing as it was; a job of several steps may have
finished some, which its caller can say). A child ends as soon as the process that started
it dies, and never outlives it.

The warm spare (``keep_spare``, the window only): starting a child and importing the app
took a second or more of every add's plan and build (docs/PERFORMANCE.md), so one child
is kept started, its job modules imported, waiting on a pipe for its job. It opens no
library until it has one (so it is the same for any library the window switches to), runs
that one job and ends like any other child; the next spare starts once that job is over.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from app.errors import LibraryError
from app.failures import as_library_error

Progress = Callable[[int, int, str], None]
PROGRESS_INTERVAL = 0.05  # seconds between progress messages from the child
GRACE = 5.0  # seconds a cancelled job gets to stop by itself before it is killed
POLL = 0.05  # seconds between looks at the caller's cancel flag

# One byte in front of every message says what follows (pickled unless it is a part).
# ACCEPTED (alone) says the child has the job: from then on it may have run part of it.
PROGRESS, RESULT, ERROR, PART, ACCEPTED = b"P", b"R", b"E", b"C", b"A"


class ChildFailed(Exception):
    """The job raised something that could not be carried back as itself: its text is the
    error's type and message, ``child_traceback`` the child's traceback (for the log, not a
    person)."""

    def __init__(self, message: str, child_traceback: str = "") -> None:
        super().__init__(message, child_traceback)
        self.child_traceback = child_traceback

    def __str__(self) -> str:
        return str(self.args[0])


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


def leave_interrupts_to_parent() -> None:
    """Ctrl+C in a terminal reaches every process the app started, not only the app: the
    parent decides what it means (the window closes as its close does, the command line
    stops), and cancels its children, which stop at their next look. A child taking it as
    its own would end mid-step with a KeyboardInterrupt traceback in the terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # held back while it started: now dropped
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def interrupts_held_back() -> Iterator[None]:
    """Start children inside this: a child spends its first second importing before it can
    ignore Ctrl+C (``leave_interrupts_to_parent``), and one pressed then printed a
    KeyboardInterrupt traceback from the middle of its imports. A blocked signal stays
    blocked across fork and exec (POSIX), so the child starts with Ctrl+C held back and
    drops it once it ignores it; the parent's other threads still take it meanwhile."""
    if not hasattr(signal, "pthread_sigmask"):  # (Windows: the child's first step only)
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def as_child() -> None:
    """A child's first step: it leaves Ctrl+C to its parent and ends with it."""
    leave_interrupts_to_parent()
    watch_parent()


def _wait_for_job(jobs: multiprocessing.connection.Connection,
                  conn: multiprocessing.connection.Connection, stop: Any,
                  modules: tuple[str, ...], warm: tuple[Callable[[], object], ...]) -> None:
    """The child's side: import ``modules`` and call ``warm`` ahead (a spare's whole point),
    wait for one job, say it was taken, run it, end. A spare the parent lets go (the app
    quits) sees the end of its pipe and ends without having opened anything."""
    as_child()
    for name in modules:
        with contextlib.suppress(Exception):  # the job's own import then says what is wrong
            importlib.import_module(name)
    for step in warm:
        with contextlib.suppress(Exception):  # the job does it again, and says what is wrong
            step()
    try:
        payload = jobs.recv_bytes()
    except (EOFError, OSError):
        conn.close()
        return
    finally:
        jobs.close()
    with contextlib.suppress(OSError):
        conn.send_bytes(ACCEPTED)
    _run_job(conn, stop, payload)
    _end_now()


def _end_now() -> None:
    """End at once after the job's last word: its library is closed, and the caller waits
    for this process to be gone before it hands on the result; an interpreter's orderly
    teardown (every module's objects freed) only added 0.1–0.5 s to that wait."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # (None in a windowed frozen app)
            stream.flush()
    os._exit(0)


def _run_job(conn: multiprocessing.connection.Connection, stop: Any, payload: bytes) -> None:
    """Open the library, run the job, send back what it says."""
    last = [0.0]

    def progress(done: int, total: int, current: str) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            conn.send_bytes(PROGRESS + pickle.dumps((done, total, current)))

    database: Any = None  # the library's database, once open: named by a failure's sentence
    try:
        opener, where, job, args, kwargs, streaming, environment = pickle.loads(payload)
        # A spare was started earlier: the job sees the caller's environment as it is now
        # (a team library's window names its origin there after the spare started).
        os.environ.clear()
        os.environ.update(environment)
        with opener(where) as library:
            database = getattr(library, "database", None)
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
        known = None if isinstance(exc, LibraryError) else as_library_error(exc, database)
        try:
            blob = pickle.dumps(known or exc, pickle.HIGHEST_PROTOCOL)
            pickle.loads(blob)  # some exceptions pickle but cannot be rebuilt
        except Exception:
            blob = pickle.dumps(_carried(exc, database))
        with contextlib.suppress(OSError):
            conn.send_bytes(ERROR + blob)
    finally:
        conn.close()


def _carried(exc: BaseException, database: Any) -> Exception:
    """What goes back for an error that cannot go back as itself: a known failure of the
    disk or the database as its sentence (SQLAlchemy's errors hold their statement's
    parameters, memory views among them, which do not pickle: a locked database came back
    as a bug report), anything else as ChildFailed. A known failure goes back as its
    sentence even when it could go back as itself (``_run_job``): only the child knows
    which library's database it met it in, and the sentence names it, as the window's own
    failures do."""
    return as_library_error(exc, database) or ChildFailed(
        f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))


class _Child:
    """A child process waiting for (or running) its one job, and the parent's ends of its
    pipes: ``jobs`` to hand it the job, ``receive`` for what it says."""

    def __init__(self, modules: tuple[str, ...], warm: tuple[Callable[[], object], ...],
                 name: str) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        jobs_there, self.jobs = context.Pipe(duplex=False)
        self.receive, send = context.Pipe(duplex=False)
        self.stop = context.Event()
        self.process = context.Process(target=_wait_for_job,
                                       args=(jobs_there, send, self.stop, modules, warm),
                                       name=name, daemon=False)
        try:
            with interrupts_held_back():
                self.process.start()
        except BaseException:
            self.jobs.close()
            self.receive.close()
            raise
        finally:
            send.close()  # the child holds its own ends now: EOF means it has gone
            jobs_there.close()

    def end(self, grace: float) -> None:
        """Close the pipes and wait ``grace`` seconds for the child to end, then kill it."""
        self.jobs.close()
        self.receive.close()
        if self.process.is_alive():
            self.process.join(grace)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.process.close()


class _NotTaken(Exception):
    """The child ended (with this exit code) before it took the job: nothing of it ran."""


# The warm spare: one child already spawned with the job modules imported, waiting for its
# job. Kept only once ``keep_spare`` is called (the window, not the command line or tests).
_spare_lock = threading.Lock()
_spare: _Child | None = None
_spare_modules: tuple[str, ...] | None = None  # None: no spare is kept
_spare_warm: tuple[Callable[[], object], ...] = ()
_starting: threading.Thread | None = None


def keep_spare(modules: Sequence[str],
               warm: Sequence[Callable[[], object]] = ()) -> None:
    """From now on keep one spare child ready, with ``modules`` (the jobs' own) imported
    and each of ``warm`` called (module-level functions that fill a cache the jobs use,
    without opening a library): a job then waits only for its own work, not for a new
    interpreter to start and import the app (a second or more). The first spare starts
    now, in the background."""
    global _spare_modules, _spare_warm
    with _spare_lock:
        _spare_modules, _spare_warm = tuple(modules), tuple(warm)
    _start_spare_soon()


def end_spare() -> None:
    """Keep no spare any more and end the one waiting (killed at once: it holds nothing)."""
    global _spare, _spare_modules
    with _spare_lock:
        _spare_modules = None
        spare, _spare = _spare, None
        starting = _starting
    if starting is not None:
        starting.join()
    if spare is not None:
        spare.end(0)  # killed if it has not gone at once: it holds nothing


def spare_pid() -> int | None:
    """The process id of the spare waiting now (once the one being started is), if any."""
    with _spare_lock:
        starting = _starting
    if starting is not None:
        starting.join()
    with _spare_lock:
        return _spare.process.pid if _spare is not None else None


def _start_spare_soon() -> None:
    """Start the next spare on a thread of its own: starting a process takes the caller's
    time (and here the caller may be about to wait for its own job)."""
    global _starting
    with _spare_lock:
        if _spare_modules is None or _spare is not None or _starting is not None:
            return
        _starting = threading.Thread(target=_start_spare, name="start-spare", daemon=True)
        _starting.start()


def _start_spare() -> None:
    global _spare, _starting
    try:  # (failing, there is no spare: the next job starts its own child, as before)
        with _spare_lock, contextlib.suppress(Exception):
            if _spare_modules is not None and _spare is None:
                _spare = _Child(_spare_modules, _spare_warm, "lora-studio spare")
    finally:
        with _spare_lock:
            _starting = None


def _take_spare() -> _Child | None:
    """The spare, if one is alive, for one job (no one else gets it). One being started
    is waited for: starting a process takes milliseconds, a fresh child a second."""
    global _spare
    with _spare_lock:
        starting = _starting
    if starting is not None:
        starting.join()
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None and spare.process.exitcode is not None:
        spare.end(0)
        return None
    return spare


@atexit.register
def _end_spare_at_exit() -> None:
    """Before multiprocessing's own exit handler waits for every child (a spare would
    wait for its job for ever)."""
    end_spare()


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

    The job goes to the spare when one is alive (the next spare starts after the job), else to a
    child started for it; a spare that ends before it takes the job is replaced by one.
    """
    payload = pickle.dumps((opener, where, job, args, kwargs, on_part is not None,
                            dict(os.environ)), pickle.HIGHEST_PROTOCOL)
    spare = _take_spare()
    try:
        if spare is not None:
            try:
                return _follow(spare, payload, progress, cancelled, on_part, grace)
            except _NotTaken:
                pass
        child = _Child((), (), f"lora-studio {getattr(job, '__name__', 'job')}")
        try:
            return _follow(child, payload, progress, cancelled, on_part, grace)
        except _NotTaken as ended:
            raise _died(ended.args[0]) from None
    finally:
        # The next job's spare (if spares are kept; also after one that failed to start),
        # once this job is over: started beside it, its imports and tokenizer took a core
        # of the two from the job itself.
        _start_spare_soon()


def _follow(child: _Child, payload: bytes, progress: Progress | None,
            cancelled: Callable[[], bool] | None, on_part: Callable[[bytes], None] | None,
            grace: float) -> Any:
    """Hand ``child`` its job and relay what it says until its result or error; raises
    ``_NotTaken`` if it ended before it took the job."""
    taken = False
    stop_by: float | None = None
    receive, process = child.receive, child.process
    try:
        try:
            child.jobs.send_bytes(payload)
        except OSError:
            process.join()
            raise _NotTaken(process.exitcode) from None
        while True:
            if stop_by is None and cancelled is not None and cancelled():
                child.stop.set()
                stop_by = time.monotonic() + grace
            if stop_by is not None and time.monotonic() > stop_by:
                process.kill()
                process.join()
                from app.build import StoppedByForce

                raise StoppedByForce(process.pid)
            if not receive.poll(POLL):
                if process.exitcode is not None and not receive.poll(0):
                    raise (_died(process.exitcode, process.pid) if taken
                           else _NotTaken(process.exitcode))
                continue
            try:
                message = receive.recv_bytes()
            except EOFError:
                process.join()
                raise (_died(process.exitcode, process.pid) if taken
                       else _NotTaken(process.exitcode)) from None
            kind, body = message[:1], message[1:]
            if kind == ACCEPTED:
                taken = True
            elif kind == PROGRESS:
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
        child.end(grace)


def _how_it_ended(exitcode: int | None) -> str:
    """Why a child most likely ended, from what its exit code can tell: on Linux and macOS
    a kill (the system's when memory runs out) is a negative code; an exit code of its own
    (Windows' "End task" gives 1) says only that it failed or was ended."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == getattr(signal, "SIGKILL", None):
            return f"{name}: killed, by the system when memory ran out or by another program"
        return f"{name}: ended by another program or the system"
    return f"exit code {exitcode}: it failed, or another program ended it"


class ChildDied(LibraryError):
    """The job's child ended without its answer (killed by the system or another program):
    ``pid`` names it (what it left in ``app.running_work`` is its caller's to settle)."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


def _died(exitcode: int | None, pid: int | None = None) -> ChildDied:
    return ChildDied(
        f"the background process doing this stopped unexpectedly ({_how_it_ended(exitcode)})."
        " Nothing it had not finished was kept; try again, and close other programs if it "
        "happens again.", pid)


def parts(items: Iterator[Any]) -> Iterator[bytes]:
    """Pickle each item of a generator job's output (a helper for streaming jobs)."""
    for item in items:
        yield pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
