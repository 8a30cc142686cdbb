"""Curation benchmarks (issue 11), each beside a baseline measured in the same run.

1. Remove 10,000 conversations from a 100,000-conversation library (``--n``, ``--remove``),
   one training file of ``--file-size`` conversations holding ``--file-size // 2`` of them:
   ``plan_removal`` + ``apply_removal`` (the file rebuilt first, then one transaction of
   chunked deletes) against the straightforward way (the same file rebuilt, then one ORM
   ``session.delete`` per conversation, one commit); and ours keeping what Edit ▸ Undo puts
   back (``app.library_undo``), with that undo's time and what it keeps (pickled, MB).
   Each runs on its own copy of the same database. The library is built as
   ``bench_table.py`` builds it (real fixtures imported, then cloned in SQL).
2. Import 100 full training files (``--files``) of 100 conversations each (``--per-file``),
   in the user's full format, against importing the same conversations as single files
   (the usual import, ten batch folders), each into a fresh library. The conversations are
   made by ``make_corpus.clone`` (real fixtures with fresh ids and rotated scaffolding).

Usage::

    python bench/bench_curation.py [--runs 3] [--n 100000] [--remove 10000]
                                   [--files 100] [--per-file 100] [--only remove|import]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine, print_machine  # noqa: E402
from _table_library import build_library  # noqa: E402
from make_corpus import clone, load_templates  # noqa: E402

from app.importer import import_paths  # noqa: E402
from app.library import Library  # noqa: E402
from app.library_undo import remove_recorded, undo_library_removal  # noqa: E402
from app.models import Conversation  # noqa: E402
from app.removal import apply_removal, plan_removal  # noqa: E402
from app.trainingfiles import (  # noqa: E402
    add_conversations,
    files_holding,
    remove_member_pks,
)

# --- 1. removal ---------------------------------------------------------------------------


def make_removal_library(root: Path, n: int, remove: int, file_size: int) -> list[str]:
    """A library of ``n`` conversations and a training file; returns the ids to remove."""
    library = build_library(root, n)
    ids = [row.conversation_id for row in library.summaries()]
    step = max(len(ids) // remove, 1)
    doomed = ids[::step][:remove]
    gone = set(doomed)
    kept = [cid for cid in ids if cid not in gone]
    in_file = doomed[: file_size // 2] + kept[: file_size - file_size // 2]
    add_conversations(library, "holder", in_file, create=True)
    library.close()
    return doomed


def ours(root: Path, doomed: list[str]) -> float:
    library = Library(root)
    start = time.perf_counter()
    result = apply_removal(library, plan_removal(library, doomed))
    seconds = time.perf_counter() - start
    assert result.removed == len(doomed), result
    library.close()
    return seconds


def recorded(root: Path, doomed: list[str], undone: list[float],
             kept: list[float]) -> float:
    """``ours`` keeping what Edit ▸ Undo puts back (``app.library_undo``); the undo's
    own time goes to ``undone``, the size of what is kept (pickled, as it leaves the
    removal's child) in MB to ``kept``."""
    import pickle

    library = Library(root)
    count = library.count()
    start = time.perf_counter()
    result, undo = remove_recorded(library, plan_removal(library, doomed))
    seconds = time.perf_counter() - start
    assert result.removed == len(doomed), result
    kept.append(len(pickle.dumps(undo, pickle.HIGHEST_PROTOCOL)) / 1e6)
    start = time.perf_counter()
    undo_library_removal(library, undo)
    undone.append(time.perf_counter() - start)
    assert library.count() == count
    library.close()
    return seconds


def baseline(root: Path, doomed: list[str]) -> float:
    """What one would write first: rebuild the files, then delete row by row via the ORM."""
    from sqlalchemy import select

    library = Library(root)
    start = time.perf_counter()
    found = library.resolve_ids(doomed)
    for name in files_holding(library, conversation_ids=doomed):
        remove_member_pks(library, name, list(found.values()))
    with library.session() as session, session.begin():
        for cid in doomed:
            row = session.scalar(select(Conversation).where(
                Conversation.conversation_id == cid))
            if row is not None:
                session.delete(row)
    seconds = time.perf_counter() - start
    library.close()
    return seconds


def bench_removal(args: argparse.Namespace, work: Path) -> dict[str, list[float]]:
    started = time.perf_counter()
    master = work / "master"
    doomed = make_removal_library(master, args.n, args.remove, args.file_size)
    print(f"library of {args.n:,} conversations, training file of {args.file_size:,} "
          f"({args.file_size // 2:,} of them to be removed), built in "
          f"{time.perf_counter() - started:.1f} s")
    times: dict[str, list[float]] = {"ours": [], "baseline": [], "ours, undo kept": [],
                                     "its undo": [], "undo kept (MB)": []}

    def keeping(root: Path, doomed: list[str]) -> float:
        return recorded(root, doomed, times["its undo"], times["undo kept (MB)"])

    for run in range(args.runs):
        order = [("ours", ours), ("baseline", baseline), ("ours, undo kept", keeping)]
        if run % 2:
            order.reverse()
        for label, step in order:
            copy = work / f"{label}-{run}"
            shutil.copytree(master, copy)
            times[label].append(step(copy, doomed))
            shutil.rmtree(copy)
        print(f"  run {run + 1}: ours {times['ours'][-1]:.2f} s, "
              f"baseline {times['baseline'][-1]:.2f} s, undo kept "
              f"{times['ours, undo kept'][-1]:.2f} s (its undo {times['its undo'][-1]:.2f} s, "
              f"{times['undo kept (MB)'][-1]:.0f} MB kept)")
    # The same removal without any training file involved (ours only).
    bare = work / "bare"
    shutil.copytree(master, bare)
    library = Library(bare)
    from app.trainingfiles import delete_training_file

    delete_training_file(library, "holder")
    library.close()
    times["ours, no training file"] = [ours(bare, doomed)]
    return times


# --- 2. import of full files ------------------------------------------------------------


def user_full_file(documents: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Conversations in the user's full format (see tests/fixtures/full)."""
    conversations = []
    for document in documents:
        dataset = document["dataset_metadata"]
        conversation_id = dataset["dataset_name"].removeprefix("fp_conversation_")
        params = document.get("input_parameters") or {}
        conversations.append({
            "conversation_metadata": {
                "conversation_id": conversation_id,
                "source_file": f"{dataset['dataset_name']}.json",
                "created_date": dataset.get("created_date"),
                "total_turns": len(document["training_pairs"]),
                "quality_tier": dataset.get("quality_tier"),
                "scaffolding": {
                    "persona_key": params.get("persona_key", ""),
                    "persona_name": params.get("persona_name", ""),
                    "emotional_arc_key": params.get("emotional_arc_key", ""),
                    "emotional_arc": params.get("emotional_arc_name", ""),
                    "training_topic_key": params.get("training_topic_key", ""),
                    "training_topic": params.get("training_topic_name", ""),
                },
            },
            "training_pairs": document["training_pairs"],
        })
    return {
        "training_file_metadata": {"file_name": name, "version": "4.0.0",
                                   "total_conversations": len(conversations)},
        "consultant_profile": documents[0]["consultant_profile"],
        "conversations": conversations,
    }


def make_import_corpus(root: Path, files: int, per_file: int) -> tuple[list[Path], list[Path]]:
    """The same conversations twice: as full files, and as single files in ten folders."""
    templates = load_templates()
    rng = random.Random(0)
    full_dir, singles_dir = root / "full", root / "singles"
    full_dir.mkdir(parents=True)
    folders = [singles_dir / f"batch-{b:03d}" for b in range(10)]
    for folder in folders:
        folder.mkdir(parents=True)
    index = 0
    for f in range(files):
        documents = []
        for _ in range(per_file):
            _id, document = clone(templates[index % len(templates)], index, rng)
            (folders[index % 10] / f"{index:06d}.json").write_bytes(
                orjson.dumps(document, option=orjson.OPT_INDENT_2))
            documents.append(document)
            index += 1
        (full_dir / f"earlier-file-{f:03d}.json").write_bytes(orjson.dumps(
            user_full_file(documents, f"earlier-file-{f:03d}"), option=orjson.OPT_INDENT_2))
    return sorted(full_dir.glob("*.json")), folders


def timed_import(root: Path, paths: list[Path]) -> tuple[float, int]:
    library = Library(root)
    start = time.perf_counter()
    report = import_paths(library, paths)
    seconds = time.perf_counter() - start
    library.close()
    return seconds, report.imported


def bench_import(args: argparse.Namespace, work: Path) -> dict[str, list[float]]:
    full, singles = make_import_corpus(work / "corpus", args.files, args.per_file)
    size = sum(p.stat().st_size for p in full) / 1e6
    total = args.files * args.per_file
    print(f"{args.files} full files of {args.per_file} conversations ({size:.0f} MB); the same "
          f"{total:,} conversations as single files")
    times: dict[str, list[float]] = {"full files": [], "single files (baseline)": []}
    for run in range(args.runs):
        order = [("full files", full), ("single files (baseline)", singles)]
        if run % 2:
            order.reverse()
        for label, paths in order:
            seconds, imported = timed_import(work / f"lib-{label[:4]}-{run}", paths)
            assert imported == total, (label, imported)
            times[label].append(seconds)
        print(f"  run {run + 1}: full files {times['full files'][-1]:.2f} s, single files "
              f"{times['single files (baseline)'][-1]:.2f} s")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--remove", type=int, default=10_000)
    parser.add_argument("--file-size", type=int, default=2_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--only", choices=["remove", "import"])
    args = parser.parse_args()
    print_machine(machine())
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "remove"):
            print(f"\n1. remove {args.remove:,} of {args.n:,} conversations")
            results["remove"] = bench_removal(args, Path(tmp) / "remove")
        if args.only in (None, "import"):
            print(f"\n2. import {args.files} full files")
            results["import"] = bench_import(args, Path(tmp) / "import")
    print("\nmedians:")
    for part, times in results.items():
        for label, values in times.items():
            unit = "MB" if "MB" in label else "s"
            print(f"  {part:<7} {label:<28} {statistics.median(values):7.2f} {unit}  "
                  f"({' / '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
