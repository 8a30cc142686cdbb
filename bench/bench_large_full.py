"""Large full training file benchmark: one full JSON of N conversations against the same
conversations as N single files, side by side in one run.

The full file is made by the app itself: the synthetic corpus (``make_corpus.py``) is
imported into a library, put into one training file, and its stored full JSON written out
(over 64 MB it is read a conversation at a time: ``app.fullstream``); as a baseline the
same file is also imported read whole (the limit raised, as a plain fix would have).
Each import runs in a child process of its own into a fresh library, alternating, with
the app's default workers: wall time, the child's peak RSS (the import process, which
reads a large full file itself), its largest worker's, and the sampled peak of the whole
process tree.

Usage::

    python bench/bench_large_full.py [--n 19000] [--runs 1] [--work DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import (
    ROOT,
    Timer,
    bench_corpus,
    emit,
    fmt,
    machine,
    median,
    print_machine,
    run_child,
    timed_import,
)
from make_corpus import batch_folders

sys.path.insert(0, str(ROOT))
DEFAULT_WORK = Path(tempfile.gettempdir()) / "lora-studio-bench-large-full"


def build_full(corpus: Path, library_dir: Path, target: Path) -> None:
    """The corpus's conversations as one full training file of ours, made by the app."""
    from app.importer import import_paths
    from app.library import Library
    from app.trainingfiles import add_conversations, create_training_file, read_build

    with Library(library_dir) as library:
        import_paths(library, batch_folders(corpus))
        ids = [row.conversation_id for row in library.summaries()]
        create_training_file(library, "Everything")
        add_conversations(library, "Everything", ids)
        with read_build(library, "Everything") as build, target.open("wb") as out:
            for chunk in build.json_chunks():
                out.write(chunk)


def same_as_single_files(corpus: Path, full: Path, target: Path) -> list[Path]:
    """The corpus files of the conversations the full file holds (the add leaves some out:
    near duplicates), linked into ``target``'s batch folders: the same conversations."""
    import ijson

    with full.open("rb") as handle:
        names = set(ijson.items(handle, "conversations.item.source.file_name"))
    if not target.exists():
        for folder in batch_folders(corpus):
            (target / folder.name).mkdir(parents=True)
            for path in folder.glob("*.json"):
                if path.name in names:
                    (target / folder.name / path.name).hardlink_to(path)
    return batch_folders(target)


def child_import(paths: list[str], library_dir: str) -> None:
    from app import jsonio

    if paths[0] == "--whole":  # the baseline: the limit raised, the file parsed whole
        paths = paths[1:]
        jsonio.MAX_INPUT_BYTES = 1 << 40
    emit(timed_import([Path(p) for p in paths], Path(library_dir)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=19000,
                        help="corpus files (~50 KB each; the full file keeps about 2 in 3)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args(argv)
    work: Path = args.work
    corpus = bench_corpus(args.n)  # the corpus every benchmark shares
    full = work / f"full-{args.n}.json"
    if not full.exists():
        shutil.rmtree(work / "build-library", ignore_errors=True)
        with Timer() as timer:
            build_full(corpus, work / "build-library", full)
        print(f"built {full.name} in {timer.seconds:.0f} s")
    folders = same_as_single_files(corpus, full, work / f"same-{args.n}")
    single = sum(p.stat().st_size for f in folders for p in f.glob("*.json"))
    print_machine(machine())
    count = sum(1 for f in folders for _ in f.glob("*.json"))
    print(f"{count:,} conversations: {single / 1e6:,.0f} MB as single files, "
          f"{full.stat().st_size / 1e6:,.0f} MB as one full training file")
    kinds = {"single files": [str(f) for f in folders],
             "one full file": [str(full)],
             "full, read whole": ["--whole", str(full)]}
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for _ in range(args.runs):
        for kind, paths in kinds.items():
            library = work / "library"
            shutil.rmtree(library, ignore_errors=True)
            results[kind].append(run_child([__file__, "--child", str(library), *paths]))
    print(f"{'':16} {'wall s':>8} {'stored':>8} {'import MB':>10} {'worker MB':>10} "
          f"{'tree MB':>8}")
    for kind, runs in results.items():
        print(f"{kind:16} {fmt(median([r['seconds'] for r in runs]), '.1f'):>8} "
              f"{runs[0]['stored']:>8,} {fmt(median([r['self_mb'] for r in runs]), '.0f'):>10} "
              f"{fmt(median([r['child_mb'] for r in runs]), '.0f'):>10} "
              f"{fmt(median([r['tree_mb'] for r in runs]), '.0f'):>8}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_import(sys.argv[3:], sys.argv[2])
    else:
        sys.exit(main())
