"""Counting the lines a trainer reads: which lines, a cache of counts, the header summary.

``conversation_lines`` is the one place that asks ``app.jsonl`` which lines a conversation
yields, so whatever decides those lines (cut-off replies, repairs) is what gets counted.
Counts are cached by the exact rendered text and the counting basis (tokenizer + chat
template), so each distinct text is tokenized once.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from app.cutoff import DEFAULT_POLICY, CutOffPolicy
from app.errors import LibraryError
from app.jsonl import jsonl_lines
from app.key_parts import in_parts
from app.records import TokenSummary

if TYPE_CHECKING:  # the tokenizer is loaded by whoever counts, not by every importer
    from app.tokens import Messages, TokenCounter

DEFAULT_MAX_SEQ_LEN = 4096  # a new training file's maximum sequence length
MIN_MAX_SEQ_LEN, MAX_MAX_SEQ_LEN = 64, 1_048_576
CHUNK = 64  # conversations tokenized together (one batch for the tokenizer's threads)


def conversation_lines(record: Mapping[str, Any], policy: CutOffPolicy | str = DEFAULT_POLICY
                       ) -> list[list[dict[str, Any]]]:
    """The messages of every JSONL line a conversation yields under ``policy`` (the
    library counts the default policy's lines)."""
    return [line["messages"] for line in jsonl_lines(record, "", policy)]


class CountCache:
    """Counts by rendered text and counting basis, in a small SQLite file (or in memory)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._memory: dict[bytes, int] = {}

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        try:
            conn = sqlite3.connect(self.path, timeout=5)
        except sqlite3.Error:
            return None  # an unusable cache only means counting again
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS counts "
                         "(key BLOB PRIMARY KEY, tokens INTEGER NOT NULL) WITHOUT ROWID")
            return conn
        except sqlite3.Error:
            conn.close()
            return None

    def get(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        found = {k: self._memory[k] for k in keys if k in self._memory}
        wanted = [k for k in keys if k not in found]
        conn = self._connect() if wanted else None
        if conn is not None:
            try:
                for part in in_parts(wanted):
                    marks = ",".join("?" * len(part))
                    found.update(conn.execute(
                        f"SELECT key, tokens FROM counts WHERE key IN ({marks})", part))
            except sqlite3.Error:
                pass
            finally:
                conn.close()
        return found

    def put(self, counts: Mapping[bytes, int]) -> None:
        if not counts:
            return
        self._memory.update(counts)
        conn = self._connect()
        if conn is None:
            return
        try:
            with conn:
                conn.executemany("INSERT OR REPLACE INTO counts VALUES (?, ?)", counts.items())
        except sqlite3.Error:
            pass
        finally:
            conn.close()


def count_lines(counter: TokenCounter, lines: Sequence[Messages],
                cache: CountCache | None = None) -> list[int]:
    """Exact tokens of each line as rendered by the counter's chat template.

    A line counted before is found by its inputs (what the template reads of it) without
    rendering it again: rendering was a third of a large build, and a conversation's line
    is counted when it is imported, then again when a file is built. The text stays the
    key of the count; the inputs only lead to it, and only where the same inputs always
    render the same text (``input_keys``).
    """
    renderer = counter.renderer
    inputs = [renderer.inputs(messages) for messages in lines]
    by_input = input_keys(counter, inputs) if cache is not None else None
    known_input = cache.get(by_input) if cache is not None and by_input else {}
    todo = [i for i in range(len(lines))
            if by_input is None or by_input[i] not in known_input]
    texts = {i: renderer.text_of(inputs[i]) for i in todo}
    prefix = counter.basis.encode("ascii")
    keys = {i: hashlib.blake2b(prefix + text.encode("utf-8"), digest_size=16).digest()
            for i, text in texts.items()}
    known = cache.get(list(keys.values())) if cache is not None and keys else {}
    missing = [i for i in todo if keys[i] not in known]
    new: dict[bytes, int] = {}
    if missing:
        fresh = counter.count_texts([texts[i] for i in missing])
        new = {keys[i]: n for i, n in zip(missing, fresh, strict=True)}
        known = {**known, **new}
    if cache is not None:
        learned = dict(new)
        if by_input is not None:
            learned.update({by_input[i]: known[keys[i]] for i in todo})
        cache.put(learned)
    return [known[keys[i]] if i in keys else known_input[(by_input or [])[i]]
            for i in range(len(lines))]


def input_keys(counter: TokenCounter, inputs: Sequence[list[dict[str, Any]]]
               ) -> list[bytes] | None:
    """Each line's key by its inputs, in the count cache beside the keys by text: the
    counting basis (tokenizer and template), the render code's version and the inputs.
    None where the text may differ for the same inputs (a template that reads the date)
    or the inputs cannot be written as JSON."""
    from app.chat_templates import render_version  # Jinja: loaded by whoever counts

    if counter.renderer.reads_the_clock:
        return None
    head = b"inputs\0" + render_version() + counter.basis.encode("ascii")
    try:
        return [hashlib.blake2b(head + orjson.dumps(item), digest_size=16).digest()
                for item in inputs]
    except orjson.JSONEncodeError:
        return None


def percentile(values: Sequence[int], share: float) -> int:
    """Nearest-rank percentile (0 for no values): the smallest value ≥ ``share`` of them."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def token_summary(counter: TokenCounter, line_counts: Sequence[int],
                  max_seq_len: int) -> TokenSummary:
    """The header's ``tokens`` object: how they were counted and what they add up to."""
    return token_summary_of(counter, sorted(Counter(line_counts).items()), max_seq_len)


def token_summary_of(counter: TokenCounter, histogram: Sequence[tuple[int, int]],
                     max_seq_len: int) -> TokenSummary:
    """``token_summary`` from (tokens of a line, how many lines), shortest first: what a
    build keeps instead of every line's count (``app.file_totals``)."""
    return {
        "tokenizer": counter.tokenizer_name,
        "tokenizer_sha256": counter.tokenizer_sha256,
        "chat_template": counter.template.label,
        "counted": "each JSONL line as the trainer reads it: rendered with the chat template",
        "max_seq_len": max_seq_len,
        "total": sum(value * count for value, count in histogram),
        "max": histogram[-1][0] if histogram else 0,
        "p95": histogram_percentile(histogram, 0.95),
        "lines_over_max_seq_len": sum(count for value, count in histogram
                                      if value > max_seq_len),
    }


def histogram_percentile(histogram: Sequence[tuple[int, int]], share: float) -> int:
    """``percentile`` of the values a histogram (value, count; values ascending) counts."""
    total = sum(count for _, count in histogram)
    if not total:
        return 0
    rank = max(0, math.ceil(share * total) - 1)  # index into the sorted values
    seen = 0
    for value, count in histogram:
        seen += count
        if seen > rank:
            return value
    raise AssertionError("a rank below the total is always reached")


def check_max_seq_len(value: int) -> int:
    if not MIN_MAX_SEQ_LEN <= int(value) <= MAX_MAX_SEQ_LEN:
        raise LibraryError(f"the length limit must be between {MIN_MAX_SEQ_LEN:,} "
                           f"and {MAX_MAX_SEQ_LEN:,} tokens (it is {value:,})")
    return int(value)
