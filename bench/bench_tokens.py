"""Token benchmark: exact counts and the as-trained render for N conversations, beside the
old estimate, in one invocation.

The conversations are the bench corpus (``make_corpus.clone`` of the real enriched fixtures:
fresh ids, rotated scaffolding, a reference number in the opening message, so no two texts
are the same), made in memory and normalised by the app (``app.canonical.normalise``); the
lines are those the JSONL would hold (``app.token_lines.conversation_lines``). Then, per run,
with the bundled tokenizer (Mistral 7B v0.3) and its chat template:

* **estimate** (the baseline, what the app showed before exact counts): characters of the
  trained messages ÷ 4;
* **render**: the chat template alone (``TokenCounter.text``);
* **count, cold**: ``count_lines`` with an empty count cache (render + tokenize + store),
  what a library's first count or a tokenizer change costs;
* **count, cached**: ``count_lines`` again with the same cache file and a fresh cache object
  (render + hash + look up), what recounting unchanged text costs;
* **as trained**: ``TokenCounter.as_trained`` per line (render with the trained spans,
  tokenize with offsets, mark trained tokens, split per turn): the preview's work.

It also says how far the estimate is from the exact count, and how many lines each puts
over a 4,096-token budget.

Usage::

    python bench/bench_tokens.py [--n 10000] [--runs 3] [--seed 0] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import Timer, fmt, machine, maxrss_mb, median, print_machine
from make_corpus import clone, load_templates

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUDGET = 4096
CHARS_PER_TOKEN = 4


def make_lines(n: int, seed: int) -> list[list[dict[str, Any]]]:
    """The JSONL lines of ``n`` corpus conversations (clones made in memory)."""
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


def estimate(lines: list[list[dict[str, Any]]]) -> list[int]:
    """The old figure: characters of the messages a trainer sees, divided by 4."""
    return [sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN for messages in lines]


def one_run(lines: list[list[dict[str, Any]]], work: Path) -> dict[str, Any]:
    from app.token_lines import CHUNK, CountCache, count_lines
    from app.tokens import default_counter

    default_counter.cache_clear()
    with Timer() as load:
        counter = default_counter()
    result: dict[str, Any] = {"load_tokenizer_s": load.seconds}
    with Timer() as timer:
        estimates = estimate(lines)
    result["estimate_s"] = timer.seconds
    with Timer() as timer:
        for messages in lines:
            counter.text(messages)
    result["render_s"] = timer.seconds
    cache_path = work / "token-counts.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{cache_path}{suffix}").unlink(missing_ok=True)
    for name in ("cold", "cached"):
        cache = CountCache(cache_path)  # a fresh object: nothing in memory
        counts: list[int] = []
        with Timer() as timer:
            for start in range(0, len(lines), CHUNK):  # as ensure_counts does
                counts += count_lines(counter, lines[start:start + CHUNK], cache)
        result[f"count_{name}_s"] = timer.seconds
        result[f"counts_{name}"] = counts
    assert result["counts_cold"] == result["counts_cached"]
    exact = result.pop("counts_cold")
    result.pop("counts_cached")
    trained = total = 0
    with Timer() as timer:
        for messages in lines:
            shown = counter.as_trained(messages)
            trained += shown.trained_total
            total += shown.total
    result["as_trained_s"] = timer.seconds
    assert total == sum(exact), "as_trained must count what count_lines counts"
    errors = [abs(e - x) / x for e, x in zip(estimates, exact, strict=True) if x]
    result |= {
        "lines": len(lines),
        "exact_total": sum(exact),
        "estimate_total": sum(estimates),
        "trained_tokens": trained,
        "median_exact": sorted(exact)[len(exact) // 2],
        "estimate_error_median": sorted(errors)[len(errors) // 2] if errors else None,
        "over_budget_exact": sum(1 for x in exact if x > BUDGET),
        "over_budget_estimate": sum(1 for e in estimates if e > BUDGET),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Token benchmark (see the module docstring)")
    parser.add_argument("--n", type=int, default=10_000, help="conversations")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    info = machine()
    print_machine(info)
    with Timer() as made:
        lines = make_lines(args.n, args.seed)
    chars = sum(len(m["content"]) for messages in lines for m in messages)
    print(f"corpus: {args.n} conversations (make_corpus clones, normalised) -> {len(lines)} "
          f"JSONL lines, {chars / 1e6:.0f} M characters of message text "
          f"({made.seconds:.1f} s to make)", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="lora-bench-tokens-") as tmp:
        for run in range(1, args.runs + 1):
            result = one_run(lines, Path(tmp))
            runs.append(result)
            print(f"run {run}: estimate {result['estimate_s']:.2f} s, render "
                  f"{result['render_s']:.1f} s, count cold {result['count_cold_s']:.1f} s, "
                  f"cached {result['count_cached_s']:.1f} s, as trained "
                  f"{result['as_trained_s']:.1f} s (tokenizer load "
                  f"{result['load_tokenizer_s']:.2f} s)", flush=True)
    n = args.n
    keys = ("load_tokenizer_s", "estimate_s", "render_s", "count_cold_s", "count_cached_s",
            "as_trained_s")
    summary: dict[str, Any] = {key: median([r[key] for r in runs]) for key in keys}
    last = runs[-1]
    summary |= {k: last[k] for k in ("lines", "exact_total", "estimate_total",
                                     "trained_tokens", "median_exact",
                                     "estimate_error_median", "over_budget_exact",
                                     "over_budget_estimate")}
    summary["peak_rss_mb"] = maxrss_mb()
    print(f"\nmedians of {args.runs} run(s), {n} conversations ({last['lines']} lines):")
    for key, label in (("estimate_s", "estimate (chars / 4, baseline)"),
                       ("render_s", "chat template render only"),
                       ("count_cold_s", "exact count, empty cache"),
                       ("count_cached_s", "exact count, cached"),
                       ("as_trained_s", "as-trained render")):
        seconds = summary[key]
        print(f"  {label:32} {seconds:8.2f} s  {seconds / n * 1e3:8.3f} ms per conversation"
              f"  {n / seconds if seconds else 0:10.0f} per s")
    print(f"  tokenizer load {summary['load_tokenizer_s']:.2f} s; peak RSS "
          f"{summary['peak_rss_mb']:.0f} MB")
    print(f"  tokens: exact {last['exact_total']:,} (median line {last['median_exact']:,}), "
          f"estimate {last['estimate_total']:,}; estimate off by "
          f"{fmt(100 * (last['estimate_error_median'] or 0))} % (median per line); lines over "
          f"{BUDGET:,}: exact {last['over_budget_exact']:,}, estimate "
          f"{last['over_budget_estimate']:,}; trained tokens {last['trained_tokens']:,}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"machine": info, "summary": summary,
                                             "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
