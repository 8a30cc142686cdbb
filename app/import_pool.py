"""The import's worker processes: started while the parent still walks the folders, fed
every file at once, replaced when they break, and let go as soon as the last file is back.

Why start early: a spawned worker needs a tenth of a second or more before its first file
(a new interpreter, then the per-file code), and the walk of the folders and the reads of
what the library already holds take about as long; done one after the other, both cores
sat half idle for that time. Why let go early: the workers' exit then overlaps the
parent's storing of the last rows instead of following it.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

from app.job_process import as_child, interrupts_held_back

MAX_POOL_RESTARTS = 3
# Files a worker takes at a time, at most. Each task costs the parent about a third of a
# millisecond of CPU to hand over and take back (10,000 files: 0.24 s in tasks of 32,
# 0.16 s in tasks of 128); fewer as the end nears (``task_sizes``). A cancel does not wait
# for whole tasks: a task stops between files once the pool is closed early (``_stop``).
FILES_PER_TASK = 64
POLL = 0.05  # seconds between looks at the caller's cancel while a task's rows are awaited
Work = Callable[..., list[Any]]  # one file's arguments in, its rows out


def task_sizes(files: int, workers: int) -> list[int]:
    """How many consecutive files each task gets: up to ``FILES_PER_TASK`` while much is
    left, then fewer and fewer (a quarter of each worker's share of what is left), so
    that the workers run out of files together instead of one finishing a big last task
    alone, and a few big files still keep every worker busy."""
    sizes = []
    left = files
    while left > 0:
        size = max(1, min(FILES_PER_TASK, left // (workers * 4)))
        sizes.append(size)
        left -= size
    return sizes


# In a worker: set by the parent when it wants no more rows (a cancel, an error), so a
# task stops between files instead of preparing files nobody will read.
_stop: Any = None


def _run_task(work: Work, *args: Sequence[Any]) -> list[list[Any]]:
    """A task in a worker: ``work`` over a run of consecutive files, cut short once the
    parent has stopped reading (what it returns then is never read)."""
    rows = []
    for one in zip(*args, strict=True):
        if _stop is not None and _stop.is_set():
            break
        rows.append(work(*one))
    return rows


def _start_worker(work: Work, stop: Any) -> None:
    """A worker's first step: end with the parent and leave Ctrl+C to it (``as_child``),
    and keep the parent's stop event for the tasks. ``work`` is not called here: unpickling it has
    already imported its module, so the worker is ready before its first file arrives
    rather than after."""
    global _stop
    del work
    _stop = stop
    as_child()


class Workers:
    """Up to ``count`` worker processes running ``work``, started on demand (``start``)."""

    def __init__(self, count: int, work: Work,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.count = count
        self.work = work
        self._cancelled = cancelled  # the caller's cancel, looked at while rows are awaited
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._ending: threading.Thread | None = None
        self._stop: Any = None  # the workers' stop event (``_run_task``), made with a pool

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    @property
    def started(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        """Start the processes now (no-op with one worker or when started). A process
        pool starts its processes as work is submitted, so one no-op per worker is."""
        if self.count <= 1 or self._pool is not None:
            return
        # spawn, not fork: the caller may be a GUI with threads of its own.
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._pool = concurrent.futures.ProcessPoolExecutor(
            self.count, mp_context=context,
            initializer=_start_worker, initargs=(self.work, self._stop))
        with interrupts_held_back():  # (the pool starts a process at each submit here)
            for _ in range(self.count):
                self._pool.submit(os.getpid)

    def map(self, args: Sequence[Sequence[Any]], notes: list[str] | None = None
            ) -> Iterator[list[Any]]:
        """``work``'s results for every file, in order. Every file is handed to the pool
        now (so the workers go on while the caller does other things before reading);
        a pool that breaks is noted in ``notes`` and replaced, and after a few breaks
        the rest is done in this process."""
        self.start()
        try:
            first: Iterator[list[Any]] | BrokenProcessPool = self._submit(args, 0)
        except BrokenProcessPool as error:  # a worker died while starting
            first = error  # told and dealt with as the rows are read, as any break
        return self._delivered(first, args, notes)

    def _submit(self, args: Sequence[Sequence[Any]], delivered: int) -> Iterator[list[Any]]:
        """Hand every file from ``delivered`` on to the pool, in tasks of consecutive files."""
        assert self._pool is not None
        futures: deque[concurrent.futures.Future[list[list[Any]]]] = deque()
        start = delivered
        for size in task_sizes(len(args[0]) - delivered, self.count):
            end = start + size
            futures.append(self._pool.submit(_run_task, self.work,
                                             *(arg[start:end] for arg in args)))
            start = end
        return self._in_order(futures)

    def _in_order(self, futures: deque[concurrent.futures.Future[list[list[Any]]]]
                  ) -> Iterator[list[Any]]:
        """The tasks' results, file by file, in order; a task is let go once read (a large
        import would otherwise hold every row until the end). A cancel while a task's
        rows are awaited ends the results there (the caller sees the cancel itself)."""
        while futures:
            rows = self._awaited(futures[0])
            if rows is None:
                return
            futures.popleft()
            yield from rows

    def _awaited(self, future: concurrent.futures.Future[list[list[Any]]]
                 ) -> list[list[Any]] | None:
        """A task's rows once it has ended; None if the caller cancelled meanwhile."""
        if self._cancelled is None:
            return future.result()
        while True:
            try:
                return future.result(POLL)
            except concurrent.futures.TimeoutError:
                if self._cancelled():
                    return None

    def _delivered(self, results: Iterator[list[Any]] | BrokenProcessPool | None,
                   args: Sequence[Sequence[Any]], notes: list[str] | None
                   ) -> Iterator[list[Any]]:
        total = len(args[0])
        delivered = 0
        for attempt in range(MAX_POOL_RESTARTS + 1):
            try:
                if isinstance(results, BrokenProcessPool):
                    raise results
                if results is None:
                    self._replace()
                    results = self._submit(args, delivered)
                for result in results:
                    delivered += 1
                    if delivered == total:
                        self._let_go()
                    yield result
                return
            except BrokenProcessPool:
                results = None
                if notes is not None:
                    notes.append(
                        f"a worker process stopped unexpectedly after {delivered:,} of "
                        f"{total:,} files (out of memory, or ended by another program); "
                        + ("the rest was read in the main process"
                           if attempt == MAX_POOL_RESTARTS
                           else "new workers were started and the import went on"))
        self.close()
        yield from map(self.work, *(arg[delivered:] for arg in args))

    def _replace(self) -> None:
        """A new pool in place of a broken one."""
        self.close()
        self.start()

    def _let_go(self) -> None:
        """Every result is in: end the workers in a thread of their own while the caller
        stores the last rows; ``close`` waits for it."""
        pool, self._pool = self._pool, None
        if pool is not None:
            self._ending = threading.Thread(target=pool.shutdown, name="import-workers-end")
            self._ending.start()

    def close(self) -> None:
        """End the workers (files not started are dropped, a task under way stops after
        its current file) and wait until they are gone."""
        pool, self._pool = self._pool, None
        if pool is not None:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        if self._ending is not None:
            self._ending.join()
            self._ending = None
