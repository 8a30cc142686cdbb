"""The queries a replace of changed conversations makes (``app.replace_checks``), in this
code and, side by side in the same invocation, in --baseline-commit.

    python bench/bench_replace_checks.py [--baseline-commit main] [--n 20000]
        [--file-size 10000] [--changed 50] [--runs 5] [--rounds 3]

A library of N conversations (built as ``bench_table.py`` builds it) with two training
files of --file-size each (of the first ones and of the last ones, overlapping), and
--changed conversations spread over the library (in one file, in both, in none). Each
code tree, in its own process with the tree first on ``sys.path``, times on the same
library what ``ui.replace_flow`` does around a replace, without the import and the
rebuilds themselves (the same in both trees): the question's preparation (who they are,
which files hold them, how many are in none: on the GUI thread), the findings (the add
review's checks of the stored versions, which files to rebuild, the checks again after
the rebuild: in the worker; the files' members' sketches read once for both where the
tree keeps them, ``replace_changed``) and, of the findings, the reading of the replaced members of
each file (before and after). Beside the times, the SQL statements each part runs. The
trees take turns, --rounds times; a figure is the median of every run of its tree.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def prepare(root: Path, n: int, file_size: int, changed: int) -> list[str]:
    """The library (this tree's code: the schema is the same in both) and the ids changed."""
    sys.path.insert(0, str(ROOT))
    from _table_library import build_library

    from app.replace_checks import checks_by_file, holding
    from app.trainingfiles import add_conversations, member_ids, plan_addition

    library = build_library(root, n)
    ids = [row.conversation_id for row in library.summaries()]
    offered = min(len(ids), file_size * 3 // 2)  # some give no line: offer more, keep the size
    for name, first in (("Coaching A", ids[:offered]), ("Coaching B", ids[-offered:])):
        adding = plan_addition(library, name, first, create=True).adding
        add_conversations(library, name, adding[:file_size] if name.endswith("A")
                          else adding[-file_size:], create=True)
    step = max(len(ids) // changed, 1)
    wanted = ids[step // 2::step][:changed]
    held = holding(library, wanted)  # counts made once, untimed, as a first check would
    checks_by_file(library, wanted, held.names)
    print(f"library of {library.count():,} conversations; files of "
          + " and ".join(f"{len(member_ids(library, name)):,}" for name in held.names)
          + "; " + ", ".join(f"'{name}' holds {k:,} of the {len(wanted)} changed"
                      for name, k in held.counts)
          + f"; {held.in_no_file} in no file", flush=True)
    library.close()
    return wanted


class Statements:
    """Counts the SQL statements an engine runs."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, *_args: Any) -> None:
        self.statements += 1


def child(tree: Path, root: Path, ids: Sequence[str], runs: int) -> None:
    """One tree's side: the question's preparation and the findings, ``runs`` times."""
    sys.path.insert(0, str(tree))
    sys.path.insert(1, str(BENCH))
    from _common import emit

    from app import replace_checks as checks
    from app.library import Library
    from app.trainingfiles import files_holding

    library = Library(root)
    if hasattr(checks, "holding"):  # one reading serves the question and the checks
        def question() -> Any:
            held = checks.holding(library, ids)
            return checks.stored_conversations(library, ids), held.counts, held.in_no_file, held

        # The members' sketches read before and kept for after (``replace_changed``),
        # where the tree keeps them; read for each otherwise.
        keeps = "read" in inspect.signature(checks.checks_by_file).parameters

        def findings(held: Any) -> Any:
            extra: tuple[dict[str, Any], ...] = ({},) if keeps else ()
            before = checks.checks_by_file(library, ids, held.names, None, None, *extra)
            stale = checks.holding(library, ids).names  # after the import
            after = checks.checks_by_file(library, ids, stale, None, None, *extra)
            return checks.what_got_worse(before, after)
    else:  # each part reads which files hold them again
        def question() -> Any:
            return (checks.stored_conversations(library, ids),
                    checks.holding_counts(library, ids),
                    checks.in_no_training_file(library, ids), None)

        def findings(_held: Any) -> Any:
            before = checks.checks_by_file(library, ids)
            files_holding(library, conversation_ids=ids)  # after the import
            after = checks.checks_by_file(library, ids)
            return checks.what_got_worse(before, after)

    counter = Statements(library.engine)

    def timed(step: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
        """The median ms of ``runs`` of ``step``, its statements in one, its last answer."""
        times = []
        for _ in range(runs):
            counter.statements = 0
            start = time.perf_counter()
            answer = step()
            times.append((time.perf_counter() - start) * 1000)
        return {"ms": statistics.median(times), "statements": counter.statements}, answer

    asked, (*_said, held) = timed(question)
    found, _worse = timed(lambda: findings(held))
    members, _read = timed(lambda: [checks._members(library, name, ids)
                                    for name in ("Coaching A", "Coaching B") * 2])
    result = {"question": asked, "findings": found, "members": members}
    library.close()
    emit(result)


def run_tree(tree: Path, root: Path, ids: Sequence[str], runs: int) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH))
    from _common import run_child

    return run_child([__file__, "--child", str(tree), "--library", str(root),
                      "--runs", str(runs), "--ids", ",".join(ids)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-commit", default="main")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--file-size", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--library", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ids", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.library, args.ids.split(","), args.runs)
        return 0
    sys.path.insert(0, str(BENCH))
    from _common import fmt, machine, print_machine, unpack_commit

    print_machine(machine())
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        root = Path(tmp) / "library"
        ids = prepare(root, args.n, args.file_size, args.changed)
        print(f"prepared in {time.perf_counter() - started:.0f} s", flush=True)
        trees = {f"before ({args.baseline_commit})":
                 unpack_commit(args.baseline_commit, Path(tmp) / "baseline-code"),
                 "now": ROOT}
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, code in trees.items():
                rounds[name].append(run_tree(code, root, ids, args.runs))
    names = list(trees)
    print(f"\nA replace of {len(ids)} conversations, {args.n:,} in the library, two files of "
          f"{args.file_size:,}: median ms of {args.rounds} × {args.runs} runs (SQL statements "
          "of one run)")
    print(f"  {'part':<52}" + "".join(f"{n:>22}" for n in names))
    label = {"question": "the question's preparation (GUI thread)",
             "findings": "the findings (checks before and after, in the worker)",
             "members": "  of which: reading the replaced members (4 times)"}

    def cell(name: str, part: str) -> str:
        ms = statistics.median(r[part]["ms"] for r in rounds[name])
        return f"{fmt(ms)} ({rounds[name][0][part]['statements']:,})"

    for part in label:
        print(f"  {label[part]:<52}" + "".join(f"{cell(n, part):>22}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
