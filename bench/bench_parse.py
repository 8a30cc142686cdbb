"""Per-file CPU of reading a conversation file: the strict parser alone (before) against
jiter with the strict parser as fallback (now), and the whole per-file preparation
(``app.importer.prepare``) with each, side by side in one run on the same files.

    python bench/bench_parse.py [--n 1000] [--runs 5] [--corpus DIR]

CPU time (``time.process_time``) of this one process, so other processes on the machine
disturb it less than wall time; the median of ``--runs`` passes over all files is shown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import per_item_ms
from bench_import import corpus_dir, corpus_files
from make_corpus import ensure_corpus

import app.jsonio as jsonio
import app.loader as loader
from app.importer import prepare


def per_file_ms(files: list[Path], datas: list[bytes], runs: int, step: str) -> float:
    if step == "parse":
        return per_item_ms(datas, runs, lambda data: loader.parse_json_bytes(data, "x.json"))
    return per_item_ms(files, runs, lambda path: prepare(str(path), "bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = corpus_dir(args.corpus, args.n, args.seed)
    ensure_corpus(corpus, args.n, args.seed)
    files = corpus_files(corpus)
    datas = [p.read_bytes() for p in files]
    fast = jsonio.parse_json_bytes
    print(f"{len(files)} files, {sum(map(len, datas)) / len(datas) / 1000:.0f} KB on average, "
          f"median of {args.runs} runs, CPU ms per file")
    print(f"{'step':<28}{'strict only (before)':>22}{'jiter first (now)':>22}")
    for step, label in (("parse", "parse"), ("prepare", "prepare (read..pack)")):
        loader.parse_json_bytes = jsonio.parse_json_strict
        before = per_file_ms(files, datas, args.runs, step)
        loader.parse_json_bytes = fast
        after = per_file_ms(files, datas, args.runs, step)
        print(f"{label:<28}{before:>22.3f}{after:>22.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
