"""One import of the benchmark corpus into a fresh library, for profiling.

    python -m cProfile -s cumtime bench/profile_import.py --n 1000 --workers 1 | head -60

``--workers 1`` keeps all the per-file work in this process, so the profile shows it;
with the default pool the profile shows the parent's side only (waiting, collecting paths,
inserting rows). Wall and CPU times (parent and workers) go to stderr.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import Timer, cpu_seconds
from bench_import import corpus_dir
from make_corpus import batch_folders, ensure_corpus


def main() -> int:
    import resource

    from app.importer import import_paths
    from app.library import Library

    parser = argparse.ArgumentParser(description="Profile one import")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--workers", type=int, help="import_paths(workers=...)")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = corpus_dir(args.corpus, args.n, args.seed)
    ensure_corpus(corpus, args.n, args.seed)
    work = Path(tempfile.mkdtemp(prefix="lora-bench-profile-"))
    try:
        library = Library(work / "library")
        with Timer() as timer:
            report = import_paths(library, batch_folders(corpus), workers=args.workers)
        library.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{report.summary()} Wall {timer.seconds:.2f} s, CPU parent "
          f"{cpu_seconds():.2f} s, workers {cpu_seconds(resource.RUSAGE_CHILDREN):.2f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
