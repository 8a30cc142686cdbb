"""Fitting over-budget lines (``app.budget_fit.fit_lines``): counting every shorter ending
(the first version, kept here as the baseline) beside bisecting the endings, in one
invocation, interleaved run by run, on the same lines and the same counter.

Two workloads, each at budgets 1,024 / 2,048 / 4,096:

* **one long line**: the bench corpus's conversations (``make_corpus.clone`` of the real
  enriched fixtures, normalised by the app) joined into one line of 60 replies, as a long
  chat is;
* **a chunk**: ``CHUNK`` (64) corpus conversations' lines, what one round of a build fits.

Each fit starts from an empty in-memory count cache (what a first build meets). Both ways
must give the same answers; the bench stops if they do not.

Usage::

    python bench/bench_budget_fit.py [--runs 5] [--seed 0] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from _common import Timer, machine, median, print_machine
from make_corpus import clone, load_templates

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUDGETS = (1024, 2048, 4096)
LONG_LINE_REPLIES = 60


def corpus_lines(n: int, seed: int) -> list[list[dict[str, Any]]]:
    from app.canonical import normalise
    from app.token_lines import conversation_lines

    templates = load_templates()
    rng = random.Random(seed)
    lines: list[list[dict[str, Any]]] = []
    for index in range(n):
        template = templates[(index + index // 10) % len(templates)]
        conversation_id, document = clone(template, index, rng)
        record = normalise(document, file_name=f"{conversation_id}.json",
                           content_sha256=f"{index:064x}")
        lines += conversation_lines(record)
    return lines


def long_line(lines: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The lines' messages joined after the first's system prompt, to 60 replies."""
    from app.budget_fit import reply_ends

    joined = [lines[0][0]]
    for line in lines:
        for message in line[1:]:
            joined.append(message)
            if message["role"] == "assistant" and len(reply_ends(joined)) == LONG_LINE_REPLIES:
                return joined
    raise AssertionError("the corpus has fewer replies than the long line needs")


def exhaustive_fit_lines(counter: Any, lines: Sequence[Sequence[Mapping[str, Any]]],
                         counts: Sequence[int], budget: int, cache: Any = None) -> list[Any]:
    """The first version of ``fit_lines`` (``79b444c``): every shorter ending of every
    over-budget line counted in one batch."""
    from app.budget_fit import Fitted, reply_ends
    from app.cutoff import trained_characters
    from app.records import CHARS_PER_TOKEN
    from app.token_lines import count_lines

    candidates: list[tuple[int, int]] = []
    for index, (messages, count) in enumerate(zip(lines, counts, strict=True)):
        if count > budget:
            candidates += [(index, end) for end in reply_ends(messages)[:-1]]
    found: list[Any] = [None] * len(lines)
    if not candidates:
        return found
    tokens = count_lines(counter, [list(lines[i][:end]) for i, end in candidates], cache)
    for (index, end), count in zip(candidates, tokens, strict=True):
        if count > budget:
            continue
        messages = lines[index]
        best = found[index]
        if best is None or end > best.end:
            found[index] = Fitted(
                end, count, len(reply_ends(messages)) - len(reply_ends(messages[:end])),
                trained_characters(messages) // CHARS_PER_TOKEN
                - trained_characters(messages[:end]) // CHARS_PER_TOKEN)
    return found


def main(argv: list[str] | None = None) -> int:
    from app.budget_fit import fit_lines
    from app.token_lines import CHUNK, CountCache, count_lines
    from app.tokens import default_counter

    parser = argparse.ArgumentParser(description="fit_lines benchmark (module docstring)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    print_machine(machine())
    counter = default_counter()
    chunk = corpus_lines(2 * CHUNK, args.seed)[:CHUNK]
    longest = long_line(corpus_lines(40, args.seed + 1))
    workloads = {"one 60-reply line": [longest], f"a chunk of {len(chunk)} lines": chunk}
    ways = {"every ending": exhaustive_fit_lines, "bisection": fit_lines}
    rows: list[dict[str, Any]] = []
    for workload, lines in workloads.items():
        counts = count_lines(counter, lines)
        for budget in BUDGETS:
            seconds: dict[str, list[float]] = {way: [] for way in ways}
            answers: dict[str, Any] = {}
            for _run in range(args.runs):
                for way, fit in ways.items():  # interleaved: the same load for both
                    with Timer() as timer:
                        answers[way] = fit(counter, lines, counts, budget, CountCache())
                    seconds[way].append(timer.seconds)
            if answers["every ending"] != answers["bisection"]:
                raise SystemExit(f"{workload} at {budget}: the two ways disagree")
            over = sum(1 for count in counts if count > budget)
            row = {"workload": workload, "budget": budget, "tokens": max(counts),
                   "lines_over": over,
                   **{way: median(values) for way, values in seconds.items()}}
            rows.append(row)
            print(f"{workload:24} budget {budget:5,}: {over:3} over; every ending "
                  f"{row['every ending']:.3f} s, bisection {row['bisection']:.3f} s "
                  f"(x{row['every ending'] / row['bisection']:.1f}); max line "
                  f"{max(counts):,} tokens", flush=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
