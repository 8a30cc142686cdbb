"""Fitting a line bisects its reply endings: it counts about log2(replies) endings, and
ends every line where counting every ending would (the line's count grows with each reply,
checked here on every fixture and corpus with the real tokenizer and chat template)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import ENRICHED, LEGACY
from cut_off_corpus import cut_at_a_dash, informal_clients
from hostile_corpus import cut_in_the_middle

from app.budget_fit import Fitted, fit_lines, reply_ends
from app.cutoff import CutOffPolicy, trained_characters
from app.jsonl import jsonl_lines
from app.loader import load_conversation_file
from app.records import CHARS_PER_TOKEN
from app.token_lines import count_lines
from app.tokens import TokenCounter, default_counter

BUDGETS = (1024, 2048, 4096)
Line = list[dict[str, Any]]


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return default_counter()


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[Line]:
    """Every line the fixtures and the cut-off and hostile corpora give under every cut-off
    policy, and long lines joined from them (60 replies and more), as a long chat would be."""
    folder = tmp_path_factory.mktemp("corpora")
    paths = [*ENRICHED, *LEGACY, informal_clients(folder), cut_at_a_dash(folder),
             cut_in_the_middle(folder)]
    records = [load_conversation_file(path, "b") for path in paths]
    found = [line["messages"] for policy in CutOffPolicy for record in records
             for line in jsonl_lines(record, "f", policy)]
    joined: list[Line] = []
    for start in (0, 7, 19):  # three lines of the replies of many conversations
        line = [found[start][0]]
        for chat in found[start:]:
            if len(reply_ends(line)) >= 60:
                break
            line += [m for m in chat if m["role"] != "system"]
        joined.append(line)
    assert min(len(reply_ends(line)) for line in joined) >= 60
    return found + joined


@pytest.fixture(scope="module")
def ending_counts(counter: TokenCounter, lines: list[Line]) -> list[list[int]]:
    """Every ending of every line counted as rendered (one batch): the exhaustive answer."""
    endings = [(index, end) for index, line in enumerate(lines) for end in reply_ends(line)]
    counts = count_lines(counter, [lines[i][:end] for i, end in endings])
    per_line: list[list[int]] = [[] for _ in lines]
    for (index, _end), count in zip(endings, counts, strict=True):
        per_line[index].append(count)
    return per_line


def _exhaustive(messages: Sequence[Mapping[str, Any]], counts: list[int],
                budget: int) -> Fitted | None:
    """What the search must find: of every shorter ending (``counts``: each ending's count,
    the whole line's last), the last that fits."""
    if counts[-1] <= budget:
        return None
    ends = reply_ends(messages)
    fitting = [(end, count) for end, count in zip(ends[:-1], counts, strict=False)
               if count <= budget]
    if not fitting:
        return None
    end, tokens = fitting[-1]
    return Fitted(end, tokens,
                  len(ends) - len(reply_ends(messages[:end])),
                  trained_characters(messages) // CHARS_PER_TOKEN
                  - trained_characters(messages[:end]) // CHARS_PER_TOKEN)


def test_a_line_count_grows_with_every_reply(ending_counts: list[list[int]]) -> None:
    """The property the search relies on: an ending's rendered count is never more than a
    longer ending's (the template and tokenizer as bundled, every fixture and corpus)."""
    for index, ordered in enumerate(ending_counts):
        assert ordered == sorted(ordered), f"line {index}: {ordered}"
    assert max(len(counts) for counts in ending_counts) >= 60


@pytest.mark.parametrize("budget", BUDGETS)
def test_the_search_ends_each_line_where_counting_every_ending_would(
        counter: TokenCounter, lines: list[Line], ending_counts: list[list[int]],
        budget: int) -> None:
    counts = [each[-1] for each in ending_counts]
    found = fit_lines(counter, lines, counts, budget)
    expected = [_exhaustive(line, each, budget)
                for line, each in zip(lines, ending_counts, strict=True)]
    assert found == expected
    assert any(fit is not None and fit.replies_left_out > 1 for fit in found)
    if budget == 1024:  # some first replies alone are too long: those lines stay whole
        assert any(fit is None and count > budget
                   for fit, count in zip(found, counts, strict=True))


def test_a_long_line_counts_about_log2_of_its_endings(
        counter: TokenCounter, lines: list[Line], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each over-budget line costs ceil(log2(endings + 1)) counts, where counting every
    ending cost one per shorter ending (59 of a 60-reply line)."""
    long_lines = [line for line in lines if len(reply_ends(line)) >= 60]
    counts = count_lines(counter, long_lines)
    counted: list[int] = []
    real = counter.count_texts

    def count_texts(texts: list[str]) -> list[int]:
        counted.append(len(texts))
        return real(texts)

    monkeypatch.setattr(counter, "count_texts", count_texts)
    found = fit_lines(counter, long_lines, counts, 1024)
    assert all(fit is not None for fit in found)
    shorter = [len(reply_ends(line)) - 1 for line in long_lines]
    rounds = math.ceil(math.log2(max(shorter) + 1))
    assert len(counted) <= rounds  # one batch per round, every line in it
    assert sum(counted) <= sum(math.ceil(math.log2(n + 1)) for n in shorter)
    assert sum(counted) < sum(shorter) / 5


def test_the_same_line_twice_in_a_batch_is_fitted_alike(
        counter: TokenCounter, lines: list[Line], ending_counts: list[list[int]]) -> None:
    index = max(range(len(lines)), key=lambda i: len(lines[i]))
    line, count = lines[index], ending_counts[index][-1]
    first, second = fit_lines(counter, [line, line], [count, count], 2048)
    assert first == second == _exhaustive(line, ending_counts[index], 2048)


def test_fitting_needs_no_count_cache_path(counter: TokenCounter, lines: list[Line],
                                           tmp_path: Path) -> None:
    """With a cache file the answers are the same (counts learned once, then looked up)."""
    from app.token_lines import CountCache

    cache = CountCache(tmp_path / "counts.sqlite3")
    counts = count_lines(counter, lines, cache)
    once = fit_lines(counter, lines, counts, 2048, cache)
    again = fit_lines(counter, lines, counts, 2048, CountCache(tmp_path / "counts.sqlite3"))
    assert once == again == fit_lines(counter, lines, counts, 2048)
