"""Training-file benchmark: add N conversations to a training file, then export it.

Imports the corpus (see ``make_corpus.py``; reused across benchmarks) into a fresh library
once, then for each run, each step in its own child process so that the peak RSS reported
belongs to that step alone:

* ``create_training_file`` (empty) + ``add_conversations`` of all N conversations in one
  call: the full rebuild of both the full JSON and the JSONL;
* ``export`` of the JSONL and of the full JSON (plain copies to a destination file).

Usage::

    python bench/bench_training_file.py [--n 10000] [--runs 3] [--corpus DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import Timer, emit, fmt, machine, maxrss_mb, median, print_machine, run_child
from bench_import import corpus_dir
from make_corpus import batch_folders, ensure_corpus


def _open(library_dir: Path) -> Any:
    from app.library import Library

    return Library(library_dir)


def child_setup(corpus: Path, library_dir: Path) -> None:
    from app.importer import import_paths

    library = _open(library_dir)
    with Timer() as timer:
        report = import_paths(library, batch_folders(corpus))
    library.close()
    emit({"seconds": timer.seconds, "imported": report.imported, "self_mb": maxrss_mb()})


def child_add(library_dir: Path, name: str) -> None:
    from sqlalchemy import select

    from app.models import Conversation
    from app.trainingfiles import add_conversations, create_training_file

    library = _open(library_dir)
    with library.session() as session:  # the ids a user has checked: not part of the step
        ids = list(session.scalars(select(Conversation.conversation_id)
                                   .order_by(Conversation.pk)))
    before = maxrss_mb()
    with Timer() as create:
        create_training_file(library, name)
    with Timer() as add:
        info = add_conversations(library, name, ids)
    library.close()
    emit({"create_seconds": create.seconds, "add_seconds": add.seconds,
          "conversations": info.conversations, "json_mb": info.json_bytes / 1e6,
          "jsonl_mb": info.jsonl_bytes / 1e6, "before_mb": before, "self_mb": maxrss_mb()})


def child_export(library_dir: Path, name: str, out: Path) -> None:
    from app.export import ExportFormat, export
    from app.trainingfiles import delete_training_file

    library = _open(library_dir)
    before = maxrss_mb()
    with Timer() as jsonl:
        export(library, name, ExportFormat.JSONL, out / f"{name}.jsonl")
    with Timer() as full:
        export(library, name, ExportFormat.JSON, out / f"{name}.json")
    peak = maxrss_mb()
    delete_training_file(library, name)  # the next run starts from the same library
    library.close()
    emit({"jsonl_seconds": jsonl.seconds, "json_seconds": full.seconds,
          "before_mb": before, "self_mb": peak})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Training-file benchmark (see the docstring)")
    parser.add_argument("--n", type=int, default=10_000, help="conversations to add")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", type=Path, help="corpus folder (as for bench_import.py)")
    parser.add_argument("--work", type=Path, help="where the library and exports go "
                        "(default: a temporary folder, removed afterwards)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path, help="also write all results here")
    parser.add_argument("--child", choices=["setup", "add", "export"], help=argparse.SUPPRESS)
    parser.add_argument("--library", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    corpus = corpus_dir(args.corpus, args.n, args.seed)
    if args.child == "setup":
        child_setup(corpus, args.library)
        return 0
    if args.child == "add":
        child_add(args.library, args.name)
        return 0
    if args.child == "export":
        child_export(args.library, args.name, args.out)
        return 0

    info = machine()
    print_machine(info)
    manifest = ensure_corpus(corpus, args.n, args.seed)
    print(f"corpus: {corpus}: {manifest['n']} files, {manifest['bytes'] / 1e6:.0f} MB")
    work = args.work or Path(tempfile.mkdtemp(prefix="lora-bench-tf-"))
    library_dir, out = work / "library", work / "exports"
    shutil.rmtree(library_dir, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    me = [__file__, "--n", str(args.n), "--corpus", str(corpus), "--seed", str(args.seed),
          "--library", str(library_dir)]
    adds: list[dict[str, Any]] = []
    exports: list[dict[str, Any]] = []
    try:
        setup = run_child([*me, "--child", "setup"])
        print(f"setup: imported {setup['imported']} conversations in {setup['seconds']:.1f} s")
        for run in range(1, args.runs + 1):
            name = f"bench-{run}"
            add = run_child([*me, "--child", "add", "--name", name])
            adds.append(add)
            print(f"run {run}: create {add['create_seconds']:.2f} s, add {add['conversations']}"
                  f" {add['add_seconds']:.2f} s (full JSON {add['json_mb']:.0f} MB, JSONL "
                  f"{add['jsonl_mb']:.0f} MB), peak RSS {add['self_mb']:.0f} MB (before the "
                  f"step {add['before_mb']:.0f} MB)", flush=True)
            exp = run_child([*me, "--child", "export", "--name", name, "--out", str(out)])
            exports.append(exp)
            for path in out.iterdir():
                path.unlink()
            print(f"run {run}: export JSONL {exp['jsonl_seconds']:.2f} s, full JSON "
                  f"{exp['json_seconds']:.2f} s, peak RSS {exp['self_mb']:.0f} MB", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    summary = {
        "n": args.n, "runs": args.runs,
        "create_seconds": median([a["create_seconds"] for a in adds]),
        "add_seconds": median([a["add_seconds"] for a in adds]),
        "add_rss_mb": median([a["self_mb"] for a in adds]),
        "add_before_mb": median([a["before_mb"] for a in adds]),
        "json_mb": median([a["json_mb"] for a in adds]),
        "jsonl_mb": median([a["jsonl_mb"] for a in adds]),
        "export_jsonl_seconds": median([e["jsonl_seconds"] for e in exports]),
        "export_json_seconds": median([e["json_seconds"] for e in exports]),
        "export_rss_mb": median([e["self_mb"] for e in exports]),
    }
    print(f"\nmedians of {args.runs} run(s), {args.n} conversations:")
    print(f"  create_training_file: {fmt(summary['create_seconds'], '.2f')} s")
    print(f"  add_conversations (rebuild full JSON {fmt(summary['json_mb'], '.0f')} MB + "
          f"JSONL {fmt(summary['jsonl_mb'], '.0f')} MB): {fmt(summary['add_seconds'], '.2f')} "
          f"s, peak RSS {fmt(summary['add_rss_mb'], '.0f')} MB")
    print(f"  export JSONL copy: {fmt(summary['export_jsonl_seconds'], '.2f')} s; full JSON "
          f"copy: {fmt(summary['export_json_seconds'], '.2f')} s; peak RSS "
          f"{fmt(summary['export_rss_mb'], '.0f')} MB")
    if args.n >= 10_000 and adds:
        ok_time = summary["add_seconds"] <= 5
        ok_rss = summary["add_rss_mb"] <= 500
        print(f"  goals: add 10,000 <= 5 s: {'met' if ok_time else 'MISSED'}; "
              f"<= 500 MB peak: {'met' if ok_rss else 'MISSED'}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"machine": info, "summary": summary,
                                             "setup": setup, "adds": adds,
                                             "exports": exports}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
