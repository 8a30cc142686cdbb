"""The wait for an add's plan and build: a job handed to the warm spare child beside one in
a child spawned for it (``app.job_process``), in the same run.

A library of ``--n`` conversations (cloned rows, ``_table_library``); each run times
request → result of ``plan_addition`` for ``--add`` conversations, then of
``apply_addition`` with that plan (a new training file each run), through ``run_in_child``
exactly as the window calls it. Cold and warm runs alternate. Before each warm plan and
build the spare is left to finish starting (its CPU time stops growing), as it has while a
person chooses what to add or reads the review; the plan in this process is timed too, for
the floor.

With ``--baseline-commit`` the bench runs itself ``--runs`` times, one run each time,
alternating this code with that commit's (its own bench, from ``git archive``; each
invocation builds its own library), and prints the medians of both side by side: what a
change to the build does to the wait (``--add 6000``: a large first build).

Usage::

    python bench/bench_spare.py [--n 3000] [--add 4] [--runs 7] [--work DIR]
                                [--baseline-commit int28]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Timer, fmt, machine, median, print_machine, unpack_commit
from _table_library import build_library

sys.path.insert(0, str(ROOT))

from app.job_process import end_spare, keep_spare, run_in_child, spare_pid
from app.library import Library
from app.trainingfiles import apply_addition, plan_addition
from ui.tasks import JOB_MODULES, JOB_WARM_UP

OPEN = Library.under_parent_lock


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until_settled(pid: int) -> None:
    """Until the spare's CPU time has not grown for 0.3 s: its imports are done."""
    before = -1
    while (now := cpu_ticks(pid)) != before:
        before = now
        time.sleep(0.3)


def spare_settled() -> None:
    pid = spare_pid()
    assert pid is not None
    wait_until_settled(pid)


def one_run(library: Library, ids: list[str], name: str,
            warm: bool) -> tuple[float, float]:
    """Plan, then build; warm: each from a spare that has finished starting (the person
    reads the plan's review meanwhile)."""
    if warm:
        spare_settled()
    with Timer() as plan_time:
        plan = run_in_child(plan_addition, library.location, name, ids, create=True,
                            opener=OPEN)
    if warm:
        spare_settled()
    with Timer() as build_time:
        run_in_child(apply_addition, library.location, plan, opener=OPEN)
    return plan_time.seconds, build_time.seconds


RESULT = re.compile(r"^(cold|warm): plan median ([0-9.]+) s .*build median ([0-9.]+) s",
                    re.MULTILINE)


def beside_baseline(args: argparse.Namespace) -> None:
    """One run of this bench, then one of the baseline commit's, ``--runs`` times."""
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        old = unpack_commit(args.baseline_commit, Path(work) / "baseline-code")
        benches = {"this code": Path(__file__), args.baseline_commit: old / "bench" /
                   "bench_spare.py"}
        found: dict[str, dict[str, list[tuple[float, float]]]] = {
            label: {"cold": [], "warm": []} for label in benches}
        for run in range(args.runs):
            for label, bench in benches.items():
                shown = subprocess.run(
                    [sys.executable, str(bench), "--n", str(args.n), "--add", str(args.add),
                     "--runs", "1", "--work", work], capture_output=True, text=True, check=True)
                for kind, plan, build in RESULT.findall(shown.stdout):
                    found[label][kind].append((float(plan), float(build)))
                print(f"run {run + 1}, {label}: " + "; ".join(
                    f"{kind} build {found[label][kind][-1][1]:.2f} s"
                    for kind in ("cold", "warm")), flush=True)
    for label, kinds in found.items():
        for kind, pairs in kinds.items():
            builds = [build for _plan, build in pairs]
            print(f"{label}, {kind}: plan median "
                  f"{fmt(median([plan for plan, _build in pairs]), '.3f')} s; build median "
                  f"{fmt(median(builds), '.3f')} s ({', '.join(f'{t:.2f}' for t in builds)})")
    print(f"load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--add", type=int, default=4)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--baseline-commit", help="alternate with this commit's bench")
    args = parser.parse_args()
    print_machine(machine())
    if args.baseline_commit:
        beside_baseline(args)
        return
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        library = build_library(Path(work) / "library", args.n)
        ids = [row.conversation_id for row in library.summaries()
               if row.trainable_replies][:args.add]
        print(f"library: {library.count():,} conversations; adding {len(ids)}")
        here = []
        for run in range(args.runs):
            with Timer() as timer:
                plan_addition(library, f"here {run}", ids, create=True)
            here.append(timer.seconds)
        times: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
        try:
            for run in range(args.runs):
                end_spare()
                times["cold"].append(one_run(library, ids, f"cold {run}", warm=False))
                keep_spare(JOB_MODULES, JOB_WARM_UP)
                times["warm"].append(one_run(library, ids, f"warm {run}", warm=True))
        finally:
            end_spare()
            library.close()
    print(f"plan in this process: median {fmt(median(here), '.3f')} s")
    for kind, pairs in times.items():
        plans = [plan for plan, _build in pairs]
        builds = [build for _plan, build in pairs]
        print(f"{kind}: plan median {fmt(median(plans), '.3f')} s "
              f"({', '.join(f'{t:.2f}' for t in plans)}); build median "
              f"{fmt(median(builds), '.3f')} s ({', '.join(f'{t:.2f}' for t in builds)})")
    print(f"load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
