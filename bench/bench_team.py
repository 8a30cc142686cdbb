"""Team library (PostgreSQL) beside a library folder (SQLite), in the same invocation.

    python bench/bench_team.py [--n 10000] [--table-n 100000] [--runs 2] [--corpus DIR]
                               [--only import|table]

Starts a throwaway PostgreSQL server on a free local port (``tests/pg_server.py``, as the
tests do: the binaries on PATH, else the ``pgserver`` wheel), then, alternating the back
ends run by run so both see the same load:

(a) import: ``import_paths`` of the 10,000-file corpus (``make_corpus.py``, ten batch
    folders) into a fresh library folder and into a fresh team database;
(b) the 100,000-row table: the row reading the window does when it opens
    (``ui.row_index.row_parts`` then ``rows_of_part``: every summary row, read and
    unpacked), on a library of ``--table-n`` conversations. The library folder is built as
    ``bench_table.py`` builds it; the team library is a ``copy-library`` of it (timed too).

Wall time and CPU time are reported; CPU counts this process, its finished children (the
import's pool workers) and, for PostgreSQL, the server's processes (postmaster and
backends, from /proc), so both back ends' CPU is the whole work. The load average (printed before,
during and after) shows how busy the machine was.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _common import cpu_seconds, fmt, machine, median, print_machine  # noqa: E402
from _table_library import build_library  # noqa: E402
from make_corpus import batch_folders, ensure_corpus  # noqa: E402
from pg_server import PostgresServer  # noqa: E402

from app.copy_library import copy_library  # noqa: E402
from app.importer import import_paths  # noqa: E402
from app.library import Library  # noqa: E402
from ui.row_index import row_parts, rows_of_part  # noqa: E402

DEFAULT_CORPUS = Path(tempfile.gettempdir()) / "lora-studio-bench"


TICK = os.sysconf("SC_CLK_TCK")
_postmaster: list[int] = []


def _proc_cpu(pid: int, children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:  # cutime, cstime: of children that ended (backends that closed)
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def server_cpu() -> float:
    """CPU seconds the PostgreSQL server used so far: its postmaster, the backends that
    ended (counted in the postmaster's children time) and the backends still running."""
    if not _postmaster:
        return 0.0
    main_pid = _postmaster[0]
    total = _proc_cpu(main_pid, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == main_pid:
                total += _proc_cpu(int(entry.name), children=False)
    return total


def find_postmaster(server: PostgresServer) -> None:
    import psycopg

    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    _postmaster.append(int((Path(row[0]) / "postmaster.pid").read_text().split()[0]))


def timed(action: Callable[[], Any], team: bool = False) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, its finished children and, for a team
    library, the database server; result)."""
    def spent() -> float:
        return (cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN)
                + (server_cpu() if team else 0.0))

    wall, cpu = time.perf_counter(), spent()
    result = action()
    return time.perf_counter() - wall, spent() - cpu, result


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def read_rows(library: Library) -> int:
    """What the window does to open the table: every summary row, read and unpacked."""
    return sum(len(rows_of_part(part)) for part in row_parts(library))


def bench_import(server: PostgresServer, work: Path, folders: list[Path], runs: int,
                 n: int) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {"sqlite": [], "postgresql": []}
    for run in range(runs):
        order = ["sqlite", "postgresql"] if run % 2 == 0 else ["postgresql", "sqlite"]
        for backend in order:
            if backend == "sqlite":
                where: str | Path = work / f"import-{run}"
            else:
                where = server.create_database()
            with Library.open(where) as library:
                wall, cpu, report = timed(lambda lib=library: import_paths(lib, folders),
                                         library.is_team)
                assert report.imported == n, report.summary()
            times[backend].append((wall, cpu))
            print(f"  import run {run + 1} {backend:10s}: {wall:6.2f} s wall, "
                  f"{cpu:6.2f} s CPU (load {load()})", flush=True)
            if backend == "sqlite":
                shutil.rmtree(where, ignore_errors=True)
            else:
                server.drop_database(str(where))
    return times


def bench_table(server: PostgresServer, work: Path, n: int, runs: int
                ) -> tuple[dict[str, list[tuple[float, float]]], float]:
    folder = work / "table-library"
    build_library(folder, n).close()
    url = server.create_database()
    with Library.open(folder, read_only=True) as source, Library.open(url) as team:
        copy_wall, _, report = timed(lambda: copy_library(source, team), True)
    print(f"  copy-library of {n:,} conversations ({report.total:,} rows): "
          f"{copy_wall:.2f} s", flush=True)
    times: dict[str, list[tuple[float, float]]] = {"sqlite": [], "postgresql": []}
    for run in range(runs):
        order = ["sqlite", "postgresql"] if run % 2 == 0 else ["postgresql", "sqlite"]
        for backend in order:
            with Library.open(folder if backend == "sqlite" else url,
                              read_only=True) as library:
                wall, cpu, rows = timed(lambda lib=library: read_rows(lib), library.is_team)
                assert rows == n, rows
            times[backend].append((wall, cpu))
            print(f"  table run {run + 1} {backend:10s}: {wall * 1000:6.0f} ms wall, "
                  f"{cpu * 1000:6.0f} ms CPU (load {load()})", flush=True)
    return times, copy_wall


def summary(title: str, times: dict[str, list[tuple[float, float]]], unit: str) -> None:
    scale = 1000 if unit == "ms" else 1
    print(f"\n{title} (median of {len(times['sqlite'])} runs)")
    print(f"| back end | wall ({unit}) | CPU ({unit}) |")
    print("|---|---|---|")
    for backend, values in times.items():
        wall = median([w * scale for w, _ in values])
        cpu = median([c * scale for _, c in values])
        print(f"| {backend} | {fmt(wall, '.2f' if unit == 's' else '.0f')} | "
              f"{fmt(cpu, '.2f' if unit == 's' else '.0f')} |")
    ratio = median([w for w, _ in times["postgresql"]]) or 0.0
    base = median([w for w, _ in times["sqlite"]]) or 1.0
    print(f"PostgreSQL / SQLite wall: {ratio / base:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="files to import")
    parser.add_argument("--table-n", type=int, default=100_000, help="rows in the table")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", choices=["import", "table"], help="one of the two parts")
    args = parser.parse_args(argv)
    print_machine(machine())
    print(f"load average before: {load()}")
    imports: dict[str, list[tuple[float, float]]] | None = None
    table: dict[str, list[tuple[float, float]]] | None = None
    server = PostgresServer()
    server.start()
    find_postmaster(server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            os.environ["LORA_STUDIO_HOME"] = str(work / "home")
            os.environ["XDG_CACHE_HOME"] = str(work / "cache")
            if args.only != "table":
                ensure_corpus(args.corpus, args.n)
                print(f"\nimport of {args.n:,} files")
                imports = bench_import(server, work, batch_folders(args.corpus), args.runs,
                                       args.n)
            if args.only != "import":
                print(f"\nopening the {args.table_n:,}-row table")
                table, _copy = bench_table(server, work, args.table_n, args.runs)
    finally:
        server.stop()
    if imports is not None:
        summary(f"Import {args.n:,} files", imports, "s")
    if table is not None:
        summary(f"Read the {args.table_n:,}-row table", table, "ms")
    print(f"\nload average after: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
