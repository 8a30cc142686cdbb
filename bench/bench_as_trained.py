"""CPU per conversation of the as-trained view, beside what counting a line already costs.

    python bench/bench_as_trained.py [--n 200] [--runs 3] [--corpus DIR]

Side by side on the same conversations, in one run (median of ``--runs`` passes, CPU ms
per conversation of this process):

* ``count`` (the baseline): render the line with the chat template and tokenize it, as
  every token count does;
* ``as_trained`` now, and ``as_trained (before)`` with the per-character marker strip and
  the per-token scan of every trained block that it used before this bench was written;
* ``build_preview``: ``as_trained`` plus per-turn rows, reasons and the budget;
* ``window``: the preview shown in the as-trained text view (set the text, colour it),
  offscreen.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import per_item_ms
from bench_import import corpus_dir, corpus_files
from make_corpus import ensure_corpus

import app.chat_templates as chat_templates
import app.tokens as tokens
from app.chat_templates import (
    INDEX_BASE,
    MESSAGE_CLOSE,
    MESSAGE_OPEN,
    TRAINED_CLOSE,
    TRAINED_OPEN,
    Rendered,
)
from app.jsonl import jsonl_lines
from app.loader import load_conversation_file
from app.tokens import default_counter
from app.trained_preview import build_preview


def strip_markers_before(marked: str) -> Rendered:
    """The marker strip as it was: one Python step per character."""
    out: list[str] = []
    length = 0
    open_messages: list[tuple[int, int]] = []
    open_trained: list[int] = []
    result = Rendered("")
    i = 0
    while i < len(marked):
        ch = marked[i]
        if ch == MESSAGE_OPEN and i + 1 < len(marked):
            open_messages.append((ord(marked[i + 1]) - INDEX_BASE, length))
            i += 2
            continue
        if ch == MESSAGE_CLOSE and open_messages:
            index, start = open_messages.pop()
            result.messages.append((index, start, length))
        elif ch == TRAINED_OPEN:
            open_trained.append(length)
        elif ch == TRAINED_CLOSE and open_trained:
            result.trained.append((open_trained.pop(), length))
        else:
            out.append(ch)
            length += 1
        i += 1
    result.text = "".join(out)
    result.messages.sort(key=lambda item: item[1])
    result.trained.sort()
    return result


def overlapping_before(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
                       ) -> list[bool]:
    """The trained flags as they were: every token against every trained block."""
    return [any(start < s_end and end > s_start for s_start, s_end in spans)
            for start, end in offsets]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = corpus_dir(args.corpus, args.n, args.seed)
    ensure_corpus(corpus, args.n, args.seed)
    records = [load_conversation_file(path, "bench") for path in corpus_files(corpus)]
    lines = [line["messages"] for record in records for line in jsonl_lines(record, "")]
    with_lines = [record for record in records if any(True for _ in jsonl_lines(record, ""))]
    counter = default_counter()
    counter.count(lines[0])  # load once, outside the timing

    from PySide6.QtWidgets import QApplication

    from ui.as_trained_colours import as_trained_colours
    from ui.as_trained_text import TokenTextView

    app = QApplication.instance() or QApplication([])
    view = TokenTextView()
    view.resize(800, 600)
    colours = as_trained_colours(app.palette())  # type: ignore[attr-defined]
    previews = [build_preview(record, counter) for record in with_lines]

    tokens_now = (chat_templates._strip_markers, tokens._overlapping)
    results = {"count (baseline)": per_item_ms(lines, args.runs, counter.count)}
    chat_templates._strip_markers = strip_markers_before  # type: ignore[assignment]
    tokens._overlapping = overlapping_before  # type: ignore[assignment]
    try:
        results["as_trained (before)"] = per_item_ms(lines, args.runs, counter.as_trained)
    finally:
        chat_templates._strip_markers, tokens._overlapping = tokens_now  # type: ignore[assignment]
    results["as_trained (now)"] = per_item_ms(lines, args.runs, counter.as_trained)
    results["build_preview"] = per_item_ms(with_lines, args.runs,
                                           lambda r: build_preview(r, counter))
    results["window: show the preview"] = per_item_ms(
        previews, args.runs, lambda p: view.show_preview(p, colours, False))
    results["window: with token boundaries"] = per_item_ms(
        previews, args.runs, lambda p: view.show_preview(p, colours, True))
    average = sum(counter.count(m) for m in lines) / len(lines)
    print(f"{len(lines)} lines of {average:,.0f} tokens on average (Mistral template), "
          f"median of {args.runs} runs, CPU ms per conversation")
    for label, value in results.items():
        print(f"{label:<34}{value:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
