"""Import benchmark: ``app.importer.import_paths`` against a naive baseline.

Builds (or reuses) a synthetic corpus (see ``make_corpus.py``), then for each run, in the
same invocation:

(a) imports the whole corpus into a fresh library with ``import_paths`` (the corpus's
    ten batch folders passed as ten paths, as a user selecting them would);
(b) the naive baseline: per file ``json.load`` + ``Draft202012Validator(individual
    schema).validate`` + a plain sqlite3 ``INSERT`` of the raw JSON text into a one-table
    database, one commit at the end. The baseline can run on an evenly spaced subset
    (``--baseline-n``); its time is then extrapolated linearly to the full corpus.

With ``--baseline-commit C`` each run also imports the same corpus with the app's code as
it was at commit ``C`` (unpacked with ``git archive`` into a temporary folder and put
first on ``sys.path``, not checked out), alternating with today's code, and prints both
side by side: what a change cost or saved, measured in one invocation under the same load.

Every step runs in its own child process, so peak RSS belongs to that step: ``ru_maxrss``
of the process (RUSAGE_SELF) and of its largest finished child (RUSAGE_CHILDREN: a pool
worker), plus the sampled peak of the whole process tree at once (Linux /proc).

Usage::

    python bench/bench_import.py [--n 10000] [--runs 3] [--baseline-n 2000]
                                 [--baseline-commit C] [--corpus DIR] [--work DIR]
                                 [--workers W] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_CORPUS,
    ROOT,
    Timer,
    TreeRssSampler,
    corpus_dir,
    corpus_files,
    emit,
    fmt,
    machine,
    maxrss_mb,
    median,
    print_machine,
    run_child,
    timed_import,
    unpack_commit,
    use_code,
)
from make_corpus import batch_folders, ensure_corpus

# Other benchmarks import the corpus's place from here, as they always did.
__all__ = ["corpus_dir", "corpus_files", "use_code"]
SCHEMA = ROOT / "schemas" / "c-alpha-build_v3.4_emotional-dataset-individual-JSON-format_v4.json"


def evenly_spaced(files: list[Path], count: int) -> list[Path]:
    if count >= len(files):
        return files
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


# --- child steps ---------------------------------------------------------------------

def child_import(corpus: Path, library_dir: Path, workers: int | None,
                 code: Path | None = None) -> None:
    use_code(code)
    result = timed_import(batch_folders(corpus), library_dir, workers)
    import app.importer

    db = library_dir / "library.sqlite3"
    emit({**result, "code": str(Path(app.importer.__file__).resolve().parents[1]),
          "db_mb": sum(p.stat().st_size for p in db.parent.glob("library.sqlite3*")) / 1e6})


def child_baseline(corpus: Path, db_path: Path, count: int) -> None:
    from jsonschema import Draft202012Validator

    files = evenly_spaced(corpus_files(corpus), count)
    with SCHEMA.open(encoding="utf-8") as handle:
        validator = Draft202012Validator(json.load(handle))
    size = sum(p.stat().st_size for p in files)
    with TreeRssSampler() as tree, Timer() as timer:
        conn = sqlite3.connect(db_path)
        conn.execute("CREATE TABLE files (path TEXT PRIMARY KEY, document TEXT NOT NULL)")
        for path in files:
            with path.open(encoding="utf-8") as handle:
                text = handle.read()
            validator.validate(json.loads(text))  # json.load(f) is json.loads(f.read())
            conn.execute("INSERT INTO files (path, document) VALUES (?, ?)", (str(path), text))
        conn.commit()
        conn.close()
    emit({"seconds": timer.seconds, "files": len(files), "bytes": size,
          "self_mb": maxrss_mb(), "tree_mb": tree.peak_mb})


# --- driver ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Import benchmark (see the module docstring)")
    parser.add_argument("--n", type=int, default=10_000, help="corpus size (files)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-n", type=int, default=2000,
                        help="files the baseline really processes (evenly spaced over the "
                             "corpus); its time is extrapolated linearly to --n. 0 = skip")
    parser.add_argument("--corpus", type=Path, help="corpus folder (made if missing; "
                        f"default {DEFAULT_CORPUS}/corpus-N-sSEED, reused across runs)")
    parser.add_argument("--work", type=Path, help="where the fresh libraries go (default: "
                        "a temporary folder, removed afterwards)")
    parser.add_argument("--workers", type=int, help="import_paths(workers=...) (default: "
                        "the app's own choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path, help="also write all results here")
    parser.add_argument("--baseline-commit", help="also import with the app as it was at "
                        "this commit, alternating with today's code in every run")
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["import", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    corpus = corpus_dir(args.corpus, args.n, args.seed)
    if args.child == "import":
        child_import(corpus, args.target, args.workers, args.code)
        return 0
    if args.child == "baseline":
        child_baseline(corpus, args.target, args.baseline_n)
        return 0

    info = machine()
    print_machine(info)
    with Timer() as made:
        manifest = ensure_corpus(corpus, args.n, args.seed)
    print(f"corpus: {corpus}: {manifest['n']} files, {manifest['bytes'] / 1e6:.0f} MB "
          f"({manifest['bytes'] / manifest['n'] / 1e3:.1f} KB per file) in "
          f"{manifest['batches']} batch folders ({made.seconds:.1f} s to make or check)")
    baseline_n = min(args.baseline_n, args.n)
    scale = args.n / baseline_n if baseline_n else 0
    work = args.work or Path(tempfile.mkdtemp(prefix="lora-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    common = [__file__, "--n", str(args.n), "--corpus", str(corpus), "--seed", str(args.seed)]
    if args.workers is not None:
        common += ["--workers", str(args.workers)]
    imports: list[dict[str, Any]] = []
    baselines: list[dict[str, Any]] = []
    before: list[dict[str, Any]] = []
    old_code = (unpack_commit(args.baseline_commit, work / "baseline-code")
                if args.baseline_commit else None)
    try:
        for run in range(1, args.runs + 1):
            if old_code is not None:
                before.append(import_with(common, work / f"before-run{run}", old_code, run,
                                          f"import_paths at {args.baseline_commit}"))
            library_dir = work / f"library-run{run}"
            shutil.rmtree(library_dir, ignore_errors=True)
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            result = run_child([*common, "--child", "import", "--target", str(library_dir)])
            result["load_before"] = load
            shutil.rmtree(library_dir, ignore_errors=True)
            if result["imported"] != args.n:
                print(f"  WARNING: imported {result['imported']} of {args.n} "
                      f"({result['duplicates']} duplicate, {result['rejected']} rejected)")
            imports.append(result)
            print(f"run {run}: import_paths {result['seconds']:.2f} s "
                  f"({args.n / result['seconds']:.0f} files/s; CPU {result['cpu_seconds']:.1f} s, "
                  f"parent {result['parent_cpu_seconds']:.1f} s; 1-min load before "
                  f"{fmt(load, '.2f')}), peak RSS "
                  f"parent {result['self_mb']:.0f} MB, largest worker "
                  f"{result['child_mb']:.0f} MB, tree {fmt(result['tree_mb'], '.0f')} MB; "
                  f"library {result['db_mb']:.0f} MB", flush=True)
            if baseline_n:
                db_path = work / f"baseline-run{run}.sqlite3"
                db_path.unlink(missing_ok=True)
                base = run_child([*common, "--baseline-n", str(baseline_n),
                                  "--child", "baseline", "--target", str(db_path)])
                db_path.unlink(missing_ok=True)
                base["extrapolated_seconds"] = base["seconds"] * scale
                baselines.append(base)
                print(f"run {run}: baseline {base['seconds']:.2f} s for {base['files']} files "
                      f"({base['files'] / base['seconds']:.0f} files/s) -> "
                      f"{base['extrapolated_seconds']:.1f} s for {args.n}"
                      f"{' (extrapolated)' if scale != 1 else ''}, peak RSS "
                      f"{base['self_mb']:.0f} MB", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    seconds = median([r["seconds"] for r in imports])
    summary: dict[str, Any] = {
        "n": args.n, "runs": args.runs, "corpus_mb": manifest["bytes"] / 1e6,
        "import_seconds": seconds,
        "import_files_per_s": args.n / seconds if seconds else None,
        "import_mb_per_s": manifest["bytes"] / 1e6 / seconds if seconds else None,
        "import_cpu_seconds": median([r["cpu_seconds"] for r in imports]),
        "import_parent_cpu_seconds": median([r["parent_cpu_seconds"] for r in imports]),
        "import_parent_rss_mb": median([r["self_mb"] for r in imports]),
        "import_worker_rss_mb": median([r["child_mb"] for r in imports]),
        "import_tree_rss_mb": median([r["tree_mb"] for r in imports]),
    }
    print(f"\nmedians of {args.runs} run(s), {args.n} files, {summary['corpus_mb']:.0f} MB:")
    print(f"  import_paths: {seconds:.2f} s, {summary['import_files_per_s']:.0f} files/s, "
          f"{summary['import_mb_per_s']:.0f} MB/s; CPU {summary['import_cpu_seconds']:.1f} s "
          f"(parent {summary['import_parent_cpu_seconds']:.1f} s); peak RSS parent "
          f"{summary['import_parent_rss_mb']:.0f} MB, largest worker "
          f"{summary['import_worker_rss_mb']:.0f} MB, whole tree "
          f"{fmt(summary['import_tree_rss_mb'], '.0f')} MB")
    if before:
        summary |= compare(before, imports, args.baseline_commit)
    if baselines:
        base_seconds = median([b["extrapolated_seconds"] for b in baselines])
        measured = median([b["seconds"] for b in baselines])
        summary |= {
            "baseline_n": baseline_n, "baseline_measured_seconds": measured,
            "baseline_seconds": base_seconds,
            "baseline_files_per_s": baseline_n / measured if measured else None,
            "baseline_rss_mb": median([b["self_mb"] for b in baselines]),
            "speedup": base_seconds / seconds if seconds else None,
        }
        how = (f"measured on {baseline_n} evenly spaced files ({measured:.2f} s) and "
               f"extrapolated linearly x{scale:.2f}" if scale != 1 else "measured on all files")
        print(f"  baseline (json.load + jsonschema + sqlite3): {base_seconds:.1f} s for "
              f"{args.n} files, {summary['baseline_files_per_s']:.0f} files/s ({how}); "
              f"peak RSS {summary['baseline_rss_mb']:.0f} MB")
        print(f"  speed-up: {summary['speedup']:.1f}x")
    goal_time = seconds <= 10 if args.n >= 10_000 else None
    goal_speed = summary.get("speedup", 0) >= 3 if baselines else None
    print(f"  goals: <= 10 s for 10,000 files: "
          f"{'n/a (n < 10000)' if goal_time is None else ('met' if goal_time else 'MISSED')}; "
          f">= 3x baseline: "
          f"{'n/a' if goal_speed is None else ('met' if goal_speed else 'MISSED')}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"machine": info, "summary": summary,
                                             "imports": imports, "baselines": baselines,
                                             "before": before}, indent=2))
    return 0


def import_with(common: list[str], library_dir: Path, code: Path, run: int,
                label: str) -> dict[str, Any]:
    """One import with another code tree, in its own process."""
    shutil.rmtree(library_dir, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = run_child([*common, "--child", "import", "--target", str(library_dir),
                        "--code", str(code)])
    shutil.rmtree(library_dir, ignore_errors=True)
    if not result["code"].startswith(str(code)):
        raise SystemExit(f"the baseline run imported app from {result['code']}, not {code}")
    result["load_before"] = load
    print(f"run {run}: {label} {result['seconds']:.2f} s (CPU {result['cpu_seconds']:.1f} s, "
          f"parent {result['parent_cpu_seconds']:.1f} s; 1-min load before "
          f"{fmt(load, '.2f')}); imported {result['imported']}", flush=True)
    return result


def compare(before: list[dict[str, Any]], now: list[dict[str, Any]],
            commit: str) -> dict[str, Any]:
    """Today's import against the code at ``commit``: wall time and CPU, medians and the
    median of each run's own ratio (the two imports of a run share the machine's load)."""
    wall_before = median([r["seconds"] for r in before])
    cpu_before = median([r["cpu_seconds"] for r in before])
    wall_now = median([r["seconds"] for r in now])
    cpu_now = median([r["cpu_seconds"] for r in now])
    wall_ratio = median([n["seconds"] / b["seconds"] for b, n in zip(before, now, strict=True)])
    cpu_ratio = median([n["cpu_seconds"] / b["cpu_seconds"]
                        for b, n in zip(before, now, strict=True)])
    print(f"  at {commit}: {fmt(wall_before, '.2f')} s, CPU {fmt(cpu_before)} s; now "
          f"{fmt(wall_now, '.2f')} s, CPU {fmt(cpu_now)} s; now / before (median of the "
          f"runs' ratios): wall {fmt(wall_ratio, '.3f')}, CPU {fmt(cpu_ratio, '.3f')}")
    return {"baseline_commit": commit, "before_seconds": wall_before,
            "before_cpu_seconds": cpu_before, "ratio_wall": wall_ratio,
            "ratio_cpu": cpu_ratio}


if __name__ == "__main__":
    sys.exit(main())
