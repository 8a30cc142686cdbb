"""Helpers shared by the benchmarks: memory measurement, child processes, machine facts."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the checkout the benchmarks run from
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
RESULT_PREFIX = "BENCH-RESULT "


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MB (Linux reports KB, macOS bytes)."""
    value = resource.getrusage(who).ru_maxrss
    return value / (1 << 20) if sys.platform == "darwin" else value / 1024


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU time used so far (RUSAGE_CHILDREN: by finished children)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
            except OSError:
                continue
            for child in text.split():
                found.append(int(child))
                todo.append(int(child))
    return found


class TreeRssSampler:
    """Samples the summed RSS of this process and all its descendants (Linux /proc).

    ``ru_maxrss`` gives the peak of one process at a time; this gives the peak of the
    whole tree at once (the pool workers and the parent together), to the sampling
    interval. ``peak_mb`` is None where /proc is not available.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self.available = Path(f"/proc/{os.getpid()}/statm").exists()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        total = _rss_bytes(me) + sum(_rss_bytes(p) for p in _descendants(me))
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRssSampler:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.available:
            self._stop.set()
            self._thread.join()
            self._sample()

    @property
    def peak_mb(self) -> float | None:
        return self.peak / (1 << 20) if self.available else None


def emit(result: dict[str, Any]) -> None:
    """A child's result: one marked JSON line on stdout."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(args: Sequence[str]) -> dict[str, Any]:
    """Run ``python <args>`` in a fresh process and return the result it emitted."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise SystemExit(
        f"benchmark step failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n"
        f"{proc.stderr[-3000:]}"
    )


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def print_machine(info: dict[str, Any]) -> None:
    load = info["loadavg"]
    load_text = " / ".join(f"{x:.2f}" for x in load) if load else "n/a"
    print(f"machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory']} RAM, "
          f"Python {info['python']}, {info['platform']}")
    print(f"load average (1/5/15 min) at start: {load_text}"
          "  (other work on the machine skews the figures)")


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def per_item_ms(items: Sequence[Any], runs: int, step: Callable[[Any], object]) -> float:
    """Median over ``runs`` passes of the CPU milliseconds ``step`` takes per item (CPU
    time of this process: other processes on the machine disturb it less than wall time)."""
    samples = []
    for _ in range(runs):
        started = time.process_time()
        for item in items:
            step(item)
        samples.append((time.process_time() - started) / len(items) * 1000)
    return statistics.median(samples)


def unpack_commit(commit: str, target: Path) -> Path:
    """The files of ``commit`` in ``target`` (git archive, not a checkout): the baseline
    code a benchmark runs beside this one in the same invocation."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


@contextlib.contextmanager
def cpu_timing(owner: Any, spent: dict[str, float], **functions: str) -> Iterator[None]:
    """While the block runs, add to ``spent[label]`` the CPU seconds that each function
    ``owner.<attribute>`` (``label=attribute``) spends; callers that look it up on
    ``owner`` (a module's own calls do) go through the timing. Put back afterwards."""
    originals = {label: getattr(owner, attribute) for label, attribute in functions.items()}

    def timed(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*a: Any, **k: Any) -> Any:
            start = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - start
        return inner

    for label, attribute in functions.items():
        setattr(owner, attribute, timed(label, originals[label]))
    try:
        yield
    finally:
        for label, attribute in functions.items():
            setattr(owner, attribute, originals[label])


def store_new_rows(importer: Any, library: Any, rows: Sequence[dict[str, Any]],
                   imported_at: str = "2026-01-01T00:00:00Z") -> None:
    """Store prepared rows in the library chunk by chunk, as an import stores conversations
    it found new (``importer._store``), so a bench times the parent's storing alone."""
    mine = importer._Mine()
    for first in range(0, len(rows), importer.CHUNK):
        chunk = [importer._Row(slot, f"bench-{first + slot}.json", dict(row), True, True)
                 for slot, row in enumerate(rows[first:first + importer.CHUNK])]
        for held in chunk:
            mine.add(held.row)
        importer._store(library, chunk, [None] * len(chunk), mine, False, imported_at)
