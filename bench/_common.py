"""Helpers shared by the benchmarks: the bench corpus, memory measurement, child processes,
one measured import, another checkout's code beside this one, machine facts."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the checkout the benchmarks run from
HERE = ROOT / "bench"
# The synthetic corpora (make_corpus.py), made once and shared by every benchmark.
DEFAULT_CORPUS = Path(tempfile.gettempdir()) / "lora-studio-bench"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
RESULT_PREFIX = "BENCH-RESULT "


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MB (Linux reports KB, macOS bytes)."""
    value = resource.getrusage(who).ru_maxrss
    return value / (1 << 20) if sys.platform == "darwin" else value / 1024


def peak_rss_mb() -> float:
    """This process's own peak resident set size in MB since it started its program
    (Linux VmHWM); ``ru_maxrss`` instead keeps the peak of the parent it was forked from
    when that was larger. Elsewhere ``maxrss_mb``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return maxrss_mb()


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


def code_trees(baseline_commit: str | None, work: Path) -> list[tuple[str, Path]]:
    """The code a bench measures, labelled: ``baseline_commit``'s files (unpacked into
    ``work``) first when one is given, then this checkout: both in one invocation, so the
    figures stand side by side on the same machine's same load."""
    trees = [("this checkout", ROOT)]
    if baseline_commit:
        trees.insert(0, (baseline_commit, unpack_commit(baseline_commit, work / "baseline")))
    return trees


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


# --- the corpus --------------------------------------------------------------------------

def corpus_dir(base: Path | None, n: int, seed: int = 0) -> Path:
    """Where the ``n``-file corpus of ``seed`` is kept (``base`` if given)."""
    return base if base is not None else DEFAULT_CORPUS / f"corpus-{n}-s{seed}"


def corpus_files(corpus: Path) -> list[Path]:
    """The corpus's files, in a fixed order."""
    from make_corpus import batch_folders

    return sorted(p for folder in batch_folders(corpus) for p in folder.glob("*.json"))


def bench_corpus(n: int, seed: int = 0) -> Path:
    """The ``n``-file corpus of ``seed`` in its shared place, made if missing."""
    from make_corpus import ensure_corpus

    corpus = corpus_dir(None, n, seed)
    ensure_corpus(corpus, n, seed)
    return corpus


def prepared_rows(paths: Sequence[Path], batch: str = "b") -> list[dict[str, Any]]:
    """The library rows the import prepares of ``paths`` (``importer.prepare``), in order."""
    from app import importer

    return [row for p in paths for (_, row, _) in importer.prepare(str(p), batch) if row]


# --- which code is measured -----------------------------------------------------------------

def use_code(code: Path | None) -> None:
    """Import ``app`` from this benchmark's own tree, or from another one (an older
    commit), in this process and in the import's spawned workers (they inherit
    ``sys.path`` and the environment)."""
    code = code or ROOT
    sys.path.insert(0, str(code))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(code), os.environ.get("PYTHONPATH")]))


def best_beside(script: str, common: Sequence[str], before: str, rounds: int
                ) -> dict[str, dict[str, float]]:
    """``script --tree TREE --json`` (figures, lower is better) on ``before`` and on this
    checkout in turn, ``rounds`` times each in fresh processes: the best of each figure,
    under "before" and "after"."""
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(rounds):
        for label, tree in (("before", before), ("after", str(ROOT))):
            out = subprocess.run([sys.executable, script, "--tree", tree, *common, "--json"],
                                 check=True, capture_output=True).stdout
            runs[label].append(json.loads(out))
    return {label: {key: min(run[key] for run in found) for key in found[0]}
            for label, found in runs.items()}


def print_figures(columns: Mapping[str, Mapping[str, float]], labels: Mapping[str, str],
                  width: int) -> None:
    """Figures keyed "kind: name", one line each, a column per run ("before", "after")."""
    if len(columns) > 1:
        print(f"  {'':{width}} " + " ".join(f"{name:>10}" for name in columns))
    first = next(iter(columns.values()))
    for key in first:
        kind, name = key.split(": ")
        print(f"  {kind + ', ' + labels[name]:{width}} "
              + " ".join(f"{column[key]:10.1f}" for column in columns.values()))


# --- one measured import --------------------------------------------------------------------

def timed_import(paths: Sequence[Path], library_dir: Path, workers: int | None = None
                 ) -> dict[str, Any]:
    """Import ``paths`` into a new library at ``library_dir`` with the app's
    ``import_paths``, measured: wall and CPU seconds (this process and its workers), the
    verdicts, and peak memory (this process, its largest worker, the whole tree)."""
    from app.importer import import_paths
    from app.library import Library

    with TreeRssSampler() as tree:
        library = Library(library_dir)
        own_before = cpu_seconds()
        workers_before = cpu_seconds(resource.RUSAGE_CHILDREN)
        with Timer() as timer:
            report = import_paths(library, list(paths), workers=workers)
        own = cpu_seconds() - own_before
        spent_by_workers = cpu_seconds(resource.RUSAGE_CHILDREN) - workers_before
        stored = library.count()
        library.close()
    return {
        "seconds": timer.seconds,
        "cpu_seconds": own + spent_by_workers,
        "parent_cpu_seconds": own,
        "workers_cpu_seconds": spent_by_workers,
        "imported": report.imported,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "files": len(report.verdicts),
        "stored": stored,
        "self_mb": peak_rss_mb(),  # its own: ru_maxrss may be the starting process's
        "child_mb": maxrss_mb(resource.RUSAGE_CHILDREN),
        "tree_mb": tree.peak_mb,
    }
