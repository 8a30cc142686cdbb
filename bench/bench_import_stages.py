"""What the checks of issue 10 cost an import, per file, beside the whole of it.

Reads ``--files`` files of the bench corpus (``make_corpus.py``) into memory, then times,
in this process (CPU time, best of ``--repeat``), each stage #10 added to an import against
the whole per-file preparation (``app.importer.prepare``: read, parse, check, normalise,
summarise, pack) and the parent's storing of the rows (``_store``, which includes the
near-duplicate check and the dialogue keys):

* normalisation (``canonical.normalise``, which repairs double-escaped texts as it builds
  the messages), split into files that need the repair and files that do not;
* the cut-off digest (``policy_digest``: what each cut-off policy keeps);
* the dialogue fingerprint (``fingerprint``: content hash and sentence sketch);
* the near-duplicate check and dialogue keys in the parent (``flag_near_duplicates``,
  ``index_keys``), on chunks stored one after another as an import does.

The corpus is clones of six fixtures, so nearly every conversation is a near-duplicate of
an earlier one: the near-duplicate check's worst case (every row compared and flagged).

Usage: ``python bench/bench_import_stages.py [--files 1000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jiter
import orjson
from _common import cpu_timing, machine, print_machine, store_new_rows
from bench_import import corpus_dir, corpus_files
from make_corpus import ensure_corpus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_us(fn: Callable[[Any], object], items: Sequence[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return best / max(len(items), 1) * 1e6


def main(argv: list[str] | None = None) -> int:
    from app import importer
    from app.canonical import normalise
    from app.cutoff import policy_digest
    from app.jsonio import JITER_CACHE, _has_infinity, read_input_bytes
    from app.library import Library
    from app.loader import load_file
    from app.packing import pack_json
    from app.repair import is_double_escaped
    from app.similar import fingerprint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n", type=int, default=10_000, help="corpus size (files)")
    args = parser.parse_args(argv)
    print_machine(machine())
    corpus = corpus_dir(None, args.n, 0)
    ensure_corpus(corpus, args.n, 0)
    files = [str(p) for p in corpus_files(corpus)[: args.files]]
    for path in files:
        Path(path).read_bytes()  # in the page cache: the figures are CPU, not the disk
    documents = [orjson.loads(Path(p).read_bytes()) for p in files]
    records = [load_file(Path(p), "b", False)[0][1] for p in files]

    def texts(document: dict[str, Any]) -> list[str]:
        pairs = document["training_pairs"]
        found = [pairs[0].get("system_prompt") or ""]
        for pair in pairs:
            found += [pair["current_user_input"], pair.get("target_response") or ""]
        return found

    def repair(document: dict[str, Any]) -> object:
        """The import's repair happens inside the normalisation; the two rows below differ
        by what it costs."""
        return normalise(document, file_name="bench.json", content_sha256="0" * 64)

    escaped = [d for d in documents if is_double_escaped(texts(d))]
    clean = [d for d in documents if not is_double_escaped(texts(d))]
    raw = [Path(p).read_bytes() for p in files]
    dumped = [orjson.dumps(r) for r in records]
    stages = {
        "prepare (the whole per-file work)": best_us(lambda p: importer.prepare(p, "b"),
                                                      files, args.repeat),
        # What no rearrangement of the Python code can save: the C-level work on the
        # bytes (their sum is the floor of prepare with today's checks and storage).
        "floor: read the file": best_us(lambda p: read_input_bytes(Path(p)), files,
                                        args.repeat),
        "floor: parse, duplicate keys refused (jiter)": best_us(
            lambda d: jiter.from_json(d, allow_inf_nan=False, catch_duplicate_keys=True,
                                      cache_mode=JITER_CACHE), raw, args.repeat),
        "floor: parse alone (orjson, for comparison)": best_us(orjson.loads, raw,
                                                                args.repeat),
        "floor: no number overflowed to infinity": best_us(_has_infinity, documents,
                                                           args.repeat),
        "floor: sha256 of the file": best_us(lambda d: hashlib.sha256(d).hexdigest(), raw,
                                             args.repeat),
        "floor: dump the record (orjson)": best_us(orjson.dumps, records, args.repeat),
        "floor: compress the record (Zstandard)": best_us(pack_json, dumped, args.repeat),
        f"normalise, files that need the repair ({len(escaped)})": best_us(repair, escaped,
                                                                     args.repeat),
        f"normalise, clean files ({len(clean)})": best_us(repair, clean, args.repeat),
        "cut-off digest": best_us(lambda r: policy_digest(r, 4), records, args.repeat),
        "dialogue fingerprint": best_us(fingerprint, records, args.repeat),
    }
    rows = [row for p in files for (_, row, _) in importer.prepare(p, "b") if row]
    spent: dict[str, float] = {}
    with (tempfile.TemporaryDirectory() as tmp,
          cpu_timing(importer, spent, flag="flag_near_duplicates", keys="index_keys")):
        library = Library(Path(tmp) / "library")
        start = time.process_time()
        store_new_rows(importer, library, rows)
        store = time.process_time() - start
        flagged = library.count_with_warning("near_duplicate")
        library.close()
    per_row = 1e6 / max(len(rows), 1)
    stages |= {
        "parent: store the rows (_store, all of it)": store * per_row,
        f"parent: near-duplicate check ({flagged} of {len(rows)} flagged)":
            spent.get("flag", 0.0) * per_row,
        "parent: dialogue keys": spent.get("keys", 0.0) * per_row,
    }
    print(f"\n{len(files)} files of {corpus}, CPU µs per file (best of {args.repeat}):")
    for name, value in stages.items():
        print(f"  {name:52} {value:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
