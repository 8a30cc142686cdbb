"""A line longer than its file's token budget, ended at the last whole reply that fits.

A trainer does not skip a line over its maximum length well: TRL cuts it at the limit and
trains the start of a reply cut mid-sentence (what the cut-off policy exists to prevent),
Axolotl drops the whole line with the good replies before the limit. A training file's
*over-budget setting* (``training_files.over_budget``) says what LoRA Studio writes:

* ``fit`` (new files): the line ends at its last whole trained reply whose rendered line
  (the file's tokenizer and chat template) fits ``max_seq_len``; the replies after it are
  left out of that line only (reason ``over_token_budget``), the full JSON keeps the whole
  conversation, as the ``trim`` cut-off policy does for cut-off replies. A line whose first
  reply alone does not fit is written whole and still reported.
* ``keep`` (files made before the setting existed, so that their bytes do not change):
  every line is written whole; an over-budget line is only reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.cutoff import trained_characters
from app.records import CHARS_PER_TOKEN

if TYPE_CHECKING:  # the tokenizer is loaded by whoever counts
    from app.token_lines import CountCache
    from app.tokens import TokenCounter


class OverBudget(StrEnum):
    FIT = "fit"
    KEEP = "keep"


FOR_NEW_FILES = OverBudget.FIT  # what trains well
FOR_EARLIER_FILES = OverBudget.KEEP  # files made before the setting: their bytes stay

DESCRIPTIONS = {
    OverBudget.FIT: "end a line over the length limit at its last whole reply that fits "
                    "(the full JSON keeps the whole conversation)",
    OverBudget.KEEP: "write every line whole; a trainer cuts a line over the length limit "
                     "there (TRL) or drops it (Axolotl)",
}

REASON = "over_token_budget"  # why the replies after a fitted line's end are not trained
REASON_TEXT = "it comes after the last whole reply that fits the length limit"

NOT_FITTED = (0, 0)  # (replies left out, estimated tokens left out) of a line left whole


def parse_over_budget(value: str) -> OverBudget:
    """The setting named by ``value``; a clear message when there is none of that name."""
    try:
        return OverBudget(value)
    except ValueError:
        choices = ", ".join(item.value for item in OverBudget)
        raise ValueError(f"'{value}' is not an over-budget setting; choose one of "
                         f"{choices}") from None


def budget_of(setting: OverBudget | str, max_seq_len: int) -> int | None:
    """The budget lines are fitted to under ``setting`` (None: lines are written whole)."""
    return max_seq_len if OverBudget(setting) is OverBudget.FIT else None


def reply_ends(messages: Sequence[Mapping[str, Any]]) -> list[int]:
    """Where a line may end: after each trained reply (a ``weight`` 0 reply is context)."""
    return [index + 1 for index, message in enumerate(messages)
            if message["role"] == "assistant" and message.get("weight", 1) != 0]


@dataclass(frozen=True)
class Fitted:
    """Where an over-budget line ends and what it then holds."""

    end: int  # messages kept
    tokens: int  # the kept messages' exact count
    replies_left_out: int
    estimated_tokens_left_out: int  # of the header's rough estimate (characters / 4)

    @property
    def totals(self) -> tuple[int, int]:
        return self.replies_left_out, self.estimated_tokens_left_out


def fit_lines(counter: TokenCounter, lines: Sequence[Sequence[Mapping[str, Any]]],
              counts: Sequence[int], budget: int,
              cache: CountCache | None = None) -> list[Fitted | None]:
    """Per line (its messages and exact count): where it ends to fit ``budget``, or None
    when it fits already or its first reply alone does not fit.

    A line's count grows as replies are added (each ending holds the shorter ones' messages
    and more; ``tests/test_budget_fit_search.py`` checks it on every fixture and corpus),
    so the last ending that fits is found by bisecting the endings: about log2(replies)
    endings of a line are counted, not all of them. A template may add tokens anywhere, so
    each ending tried is counted as rendered, never estimated; each round counts the tried
    ending of every over-budget line in one batch (the tokenizer's threads)."""
    from app.token_lines import count_lines  # keeps the tokenizer out of plain importers

    searches = [_Search.of(index, messages) for index, (messages, count)
                in enumerate(zip(lines, counts, strict=True)) if count > budget]
    searches = [search for search in searches if search.ends]
    while open_searches := [search for search in searches if search.open]:
        tried = [search.middle for search in open_searches]
        tokens = count_lines(counter, [list(lines[search.index][:search.ends[middle]])
                                       for search, middle in zip(open_searches, tried,
                                                                 strict=True)], cache)
        for search, middle, count in zip(open_searches, tried, tokens, strict=True):
            search.learn(middle, count, budget)
    found: list[Fitted | None] = [None] * len(lines)
    for search in searches:
        found[search.index] = search.fitted()
    return found


@dataclass
class _Search:
    """One over-budget line's bisection over its shorter endings (``reply_ends`` but the
    last, which is the whole line). Invariant: the ending at ``fits`` fits the budget (-1:
    none known to), the one at ``over`` does not (``len(ends)``: the whole line)."""

    index: int  # the line's place in the batch
    ends: list[int]  # its shorter endings, ascending
    characters: list[int]  # characters of the line's first k messages, for every k
    replies: int  # trained replies of the whole line
    fits: int = -1
    over: int = 0
    fits_tokens: int = 0

    @classmethod
    def of(cls, index: int, messages: Sequence[Mapping[str, Any]]) -> _Search:
        ends = reply_ends(messages)
        characters = [0]
        for message in messages:
            characters.append(characters[-1] + trained_characters([message]))
        return cls(index, ends[:-1], characters, len(ends), over=len(ends) - 1)

    @property
    def open(self) -> bool:
        return self.over - self.fits > 1

    @property
    def middle(self) -> int:
        return (self.fits + self.over) // 2

    def learn(self, tried: int, tokens: int, budget: int) -> None:
        if tokens <= budget:
            self.fits, self.fits_tokens = tried, tokens
        else:
            self.over = tried

    def fitted(self) -> Fitted | None:
        if self.fits < 0:  # its first reply alone does not fit: the line stays whole
            return None
        end = self.ends[self.fits]
        whole, kept = self.characters[-1], self.characters[end]
        return Fitted(end, self.fits_tokens, self.replies - (self.fits + 1),
                      whole // CHARS_PER_TOKEN - kept // CHARS_PER_TOKEN)
