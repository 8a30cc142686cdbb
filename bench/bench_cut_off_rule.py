"""How long ``is_cut_off`` takes per message, today's rule beside an older commit's.

It runs per message per cut-off policy in every import (``app.cutoff``), so a sharper rule
must not cost more. The messages are every reply and client message of the fixtures and
of a synthetic corpus (``measure_cut_off.corpus_records``), plus the stress variant's
(``measure_cut_off.informal``), whose endings take the rule past its first check. The two
rules alternate, each timed (CPU time) as the best of ``--repeat`` passes in each of
``--rounds`` rounds; printed in ns per call.

Usage: ``python bench/bench_cut_off_rule.py [--baseline-commit a07ceb8] [--corpus-n 200]``
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cut_off_rule import is_cut_off  # noqa: E402
from bench.measure_cut_off import corpus_records, fixture_records, informal  # noqa: E402

# A rule and whether it takes the role (the earlier one did not): called as it is, so
# neither pays for a wrapper.
Rule = tuple[Callable[..., bool], bool]


def baseline_rule(commit: str, folder: Path) -> Rule:
    """``is_cut_off`` as ``commit`` had it (in ``app/cut_off_rule.py``, or before that in
    ``app/quality.py`` without a role), loaded from that commit's source alone."""
    for name in ("app/cut_off_rule.py", "app/quality.py"):
        shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{name}"],
                               capture_output=True, text=True)
        if shown.returncode == 0 and "def is_cut_off" in shown.stdout:
            path = folder / "baseline_rule.py"
            path.write_text(shown.stdout, encoding="utf-8")
            spec = importlib.util.spec_from_file_location("baseline_rule", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # its dataclasses look themselves up there
            spec.loader.exec_module(module)
            return module.is_cut_off, name.endswith("cut_off_rule.py")
    raise SystemExit(f"{commit} has no is_cut_off")


def per_call_ns(rule: Rule, messages: list[tuple[str, str]], repeat: int) -> float:
    check, takes_role = rule
    texts = [text for text, _role in messages]

    def one_pass() -> None:
        if takes_role:
            for text, role in messages:
                check(text, role)
        else:
            for text in texts:
                check(text)
    number = max(1, 200_000 // len(messages))
    # CPU time, not wall time: the machine is shared, and a wait for a core is no cost
    # of the rule's.
    return min(timeit.repeat(one_pass, number=number, repeat=repeat,
                             timer=time.process_time)) / number \
        / len(messages) * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-commit", default=None)
    parser.add_argument("--corpus-n", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    corpus = corpus_records(args.corpus_n)
    sets = {"fixtures": fixture_records(), "corpus": corpus, "informal": informal(corpus)}
    rules: dict[str, Rule] = {"today": (is_cut_off, True)}
    with tempfile.TemporaryDirectory() as folder:
        if args.baseline_commit:
            rules[args.baseline_commit] = baseline_rule(args.baseline_commit, Path(folder))
        for label, records in sets.items():
            messages = [(str(m["content"]), str(m["role"])) for r in records
                        for m in r["messages"] if m["role"] != "system"]
            best = dict.fromkeys(rules, float("inf"))
            for _ in range(args.rounds):  # alternating, so both see the same load
                for name, rule in rules.items():
                    best[name] = min(best[name], per_call_ns(rule, messages, args.repeat))
            shown = ", ".join(f"{name} {ns:.0f} ns" for name, ns in best.items())
            print(f"{label} ({len(messages):,} messages): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
