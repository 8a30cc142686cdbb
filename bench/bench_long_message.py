"""The window's longest stall when a conversation with one very long reply is read, then
opened As trained: the real window (offscreen), one real fixture whose first reply is made
``--chars`` characters long, a 10 ms heartbeat noting the longest gap in the seconds after
each step. Each tree in a child process of its own (``--baseline-commit``: an older
commit's code beside this checkout's, in the same invocation).

    python bench/bench_long_message.py --chars 100000 400000 3000000 --baseline-commit 4476603
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, code_trees, emit, machine, print_machine, run_child, use_code

FIXTURE = ROOT / "tests" / "fixtures" / "enriched" / "enriched-2.json"
SENTENCE = "Let us look at the numbers together, step by step, so the plan feels manageable. "


def _child(tree: Path, chars: int, folder: Path) -> None:
    use_code(tree)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from _heartbeat import Heartbeat, bench_window, spin
    from PySide6.QtWidgets import QApplication

    from app.importer import import_paths
    from app.library import Library

    document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    pair = next(p for p in document["training_pairs"] if p.get("target_response"))
    pair["target_response"] = (SENTENCE * (chars // len(SENTENCE) + 1))[:chars].rstrip() + "."
    (folder / "long").mkdir()
    (folder / "long" / "long.json").write_text(json.dumps(document), encoding="utf-8")
    QApplication.instance() or QApplication([])
    library = Library(folder / "library")
    import_paths(library, [folder / "long"])
    window = bench_window(library, folder)
    spin(1.0)
    while window.token_counts.running:  # the background count of the import, first
        spin(0.2)
    spin(0.5)
    heart = Heartbeat()
    conversation_id = library.summaries()[0].conversation_id
    found = {}
    for step, act, seconds in (
            ("reader", lambda: window.conversations.select_conversation(conversation_id), 4),
            ("as_trained", lambda: window.show_as_trained(conversation_id), 20)):
        heart.reset()
        act()
        spin(seconds)
        found[step] = heart.worst_ms
    heart.stop()
    emit(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chars", type=int, nargs="+", default=[20_000, 100_000, 400_000])
    parser.add_argument("--baseline-commit", default=None)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.tree, args.chars[0], args.child)
        return
    print_machine(machine())
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        trees = code_trees(args.baseline_commit, work)
        print("longest GUI stall (ms) after reading the conversation, then opening As trained")
        print(f"{'reply (chars)':>14}  {'code':<16}{'reader':>9}{'As trained':>12}")
        for chars in args.chars:
            for n, (label, tree) in enumerate(trees):
                run = work / f"run-{chars}-{n}"
                run.mkdir()
                found = run_child([__file__, "--child", str(run), "--tree", str(tree),
                                   "--chars", str(chars)])
                print(f"{chars:>14,}  {label:<16}{found['reader']:>9.0f}"
                      f"{found['as_trained']:>12.0f}")


if __name__ == "__main__":
    main()
