"""Incremental-build benchmark: add or remove one conversation, or rebuild unchanged, in a
large training file, each timed side by side with a full rebuild of the same change; and
the downloads (the full JSON and the JSONL put together from the stored build).

The library is made by importing a small synthetic corpus (``make_corpus.py``) and cloning
its rows in SQL with fresh ids and hashes until it holds N conversations (importing 50,000
files would take minutes and measures something else). A full rebuild is the same call with
no stored rendering found (``no_reuse``), so every conversation is rendered and stored
again, as before incremental builds.

Usage::

    python bench/bench_incremental.py [--n 50000] [--rebuild-n 10000] [--runs 3] [--full-runs 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import Timer, machine, median, print_machine
from bench_import import corpus_dir
from make_corpus import batch_folders, ensure_corpus

SEED_FILES = 500


def fill(library: Any, corpus: Path, n: int) -> None:
    """Import the corpus, then clone its conversations until the library holds ``n``."""
    from sqlalchemy import text

    from app.importer import import_paths
    from app.models import Conversation

    report = import_paths(library, batch_folders(corpus))
    assert report.imported == SEED_FILES, report.summary()
    columns = [c.key for c in Conversation.__table__.columns if c.key != "pk"]
    fresh = {"conversation_id": "conversation_id || '-c' || :copy",
             "content_sha256": "content_sha256 || '-c' || :copy",
             "dialogue_sha256": "dialogue_sha256 || '-c' || :copy"}
    chosen = ", ".join(fresh.get(c, c) for c in columns)
    with library.engine.begin() as conn:
        for copy in range(1, -(-n // SEED_FILES)):
            remaining = n - copy * SEED_FILES
            conn.execute(text(
                f"INSERT INTO conversations ({', '.join(columns)}) SELECT {chosen} "
                f"FROM conversations WHERE pk <= {SEED_FILES} ORDER BY pk "
                f"LIMIT {min(SEED_FILES, remaining)}"), {"copy": copy})
            conn.execute(text(
                "INSERT INTO conversation_documents (pk, document) "
                "SELECT c.pk, d.document FROM conversations c "
                "JOIN conversations o ON o.conversation_id || '-c' || :copy = c.conversation_id "
                "JOIN conversation_documents d ON d.pk = o.pk"), {"copy": copy})
    assert library.count() == n, library.count()


@contextlib.contextmanager
def no_reuse() -> Iterator[None]:
    """Builds inside find no stored rendering and no stored totals: everything is read,
    rendered (and stored) anew."""
    from app import trainingfiles

    saved = (trainingfiles.file_fragments, trainingfiles.find_fragments,
             trainingfiles._stored_totals)
    trainingfiles.file_fragments = lambda *_args: {}  # type: ignore[assignment]
    trainingfiles.find_fragments = lambda *_args: {}  # type: ignore[assignment]
    trainingfiles._stored_totals = lambda *_args: None  # type: ignore[assignment]
    try:
        yield
    finally:
        (trainingfiles.file_fragments, trainingfiles.find_fragments,
         trainingfiles._stored_totals) = saved


def timed(step: Callable[[], Any]) -> float:
    with Timer() as timer:
        step()
    return timer.seconds


def compare(label: str, step: Callable[[], Any], undo: Callable[[], Any], runs: int,
            full_runs: int) -> dict[str, Any]:
    """Median seconds of ``step`` done incrementally and as a full rebuild (undone after
    each run, incrementally, so every run starts from the same file)."""
    incremental, full = [], []
    for _ in range(runs):
        incremental.append(timed(step))
        undo()
    for _ in range(full_runs):
        with no_reuse():
            full.append(timed(step))
        undo()
    result = {"step": label, "incremental_s": median(incremental), "full_s": median(full),
              "incremental_runs": incremental, "full_runs": full}
    print(f"{label}: incremental {result['incremental_s']:.2f} s "
          f"({' / '.join(f'{x:.2f}' for x in incremental)}), full rebuild "
          f"{result['full_s']:.2f} s ({' / '.join(f'{x:.2f}' for x in full)})", flush=True)
    return result


def downloads(library: Any, name: str, out: Path) -> None:
    """Seconds to save the full JSON and the JSONL (put together from the stored build)."""
    from app.export import ExportFormat, export

    for fmt in (ExportFormat.JSON, ExportFormat.JSONL):
        target = out / f"{name}.{fmt.value}"
        seconds = timed(lambda fmt=fmt, target=target: export(library, name, fmt, target,
                                                                overwrite=True))
        size = target.stat().st_size
        print(f"download {fmt.value} of {name}: {seconds:.2f} s ({size / 1e6:.0f} MB, "
              f"{size / 1e6 / seconds:.0f} MB/s, sha256 of both stored files included)",
              flush=True)
        target.unlink()


def bench_file(library: Any, ids: list[str], size: int, runs: int,
               full_runs: int, out: Path) -> list[dict[str, Any]]:
    from app.trainingfiles import (
        add_conversations,
        get_training_file,
        rebuild_training_files,
        remove_conversations,
    )

    name = f"bench-{size}"
    first = timed(lambda: add_conversations(library, name, ids[:size - 1], create=True))
    info = get_training_file(library, name)
    print(f"{name}: first build of {size - 1} conversations {first:.2f} s "
          f"(full JSON {info.json_bytes / 1e6:.0f} MB, JSONL {info.jsonl_bytes / 1e6:.0f} MB)",
          flush=True)
    extra, inner = ids[size - 1], ids[size // 2]
    results = [
        compare(f"add 1 to {size - 1}",
                lambda: add_conversations(library, name, [extra]),
                lambda: remove_conversations(library, name, [extra]), runs, full_runs),
        compare(f"remove 1 (from the middle) of {size - 1}",
                lambda: remove_conversations(library, name, [inner]),
                lambda: add_conversations(library, name, [inner]), runs, full_runs),
        compare(f"rebuild {size - 1}, nothing changed",
                lambda: rebuild_training_files(library, [name]), lambda: None, runs,
                full_runs),
    ]
    downloads(library, name, out)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Incremental-build benchmark (see docstring)")
    parser.add_argument("--n", type=int, default=50_000, help="conversations in the big file")
    parser.add_argument("--rebuild-n", type=int, default=10_000, help="a second, smaller file")
    parser.add_argument("--runs", type=int, default=3, help="incremental runs per step")
    parser.add_argument("--full-runs", type=int, default=1, help="full rebuilds per step")
    parser.add_argument("--work", type=Path, help="where the library goes (default: temporary)")
    args = parser.parse_args(argv)

    from app.library import Library

    print_machine(machine())
    corpus = corpus_dir(None, SEED_FILES, 0)
    ensure_corpus(corpus, SEED_FILES, 0)
    work = args.work or Path(tempfile.mkdtemp(prefix="lora-bench-inc-"))
    try:
        library = Library(work / "library")
        with Timer() as made:
            fill(library, corpus, args.n + 1)
        print(f"library: {args.n + 1} conversations in {made.seconds:.1f} s", flush=True)
        ids = [row.conversation_id for row in library.summaries()]
        for size in sorted({args.rebuild_n, args.n}):
            bench_file(library, ids, size + 1, args.runs, args.full_runs, work)
        folder = sum(p.stat().st_size for p in work.rglob("*") if p.is_file())
        print(f"library folder: {folder / 1e6:.0f} MB; load average at end: "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        library.close()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
