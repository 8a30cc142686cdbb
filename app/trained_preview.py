"""One conversation as a trainer sees it under a training file's settings: the data behind
the as-trained view.

A training file decides the cut-off policy (which replies are targets) and the maximum
sequence length (where the trainer stops reading); an export variant may reshape the line
(no session context) or split it (one line per reply, only the last reply trained). This
module works out, for one conversation, the rendered text, which tokens carry the loss,
each message's share of the tokens and why a message is not trained, and what the budget
cuts. It is pure Python (no Qt) so the window, tests and benches read the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from app.budget_fit import FOR_NEW_FILES, OverBudget, budget_of, fit_lines
from app.budget_fit import REASON as OVER_BUDGET
from app.budget_fit import REASON_TEXT as OVER_BUDGET_TEXT
from app.cutoff import DEFAULT_POLICY, REASONS, CutOffPolicy, trained_view
from app.export import per_reply, without_session_context
from app.jsonl import jsonl_lines
from app.library import Library
from app.token_lines import DEFAULT_MAX_SEQ_LEN
from app.tokens import AsTrained, TokenCounter
from app.trainingfiles import list_training_files


class Variant(StrEnum):
    """Export variants that change what the trainer reads (``app.export.FORMATS``)."""

    FULL = "full"  # the stored JSONL line: JSONL, messages only, train/validation split
    NO_CONTEXT = "no-context"  # system message cut back to the prompt + the client's name
    PER_REPLY = "per-reply"  # one line per trained reply; only its last reply is trained


VARIANT_LABELS = {
    Variant.FULL: "Full line (JSONL, messages only, split)",
    Variant.NO_CONTEXT: "Without session context",
    Variant.PER_REPLY: "One line per reply",
}

ROLE_LABELS = {"system": "system", "user": "user · client", "assistant": "assistant · consultant"}
HISTORY = "history: only the last reply of each line is trained"
NOT_IN_THIS_LINE = "in a later line of this export"
AFTER_LAST_TARGET = "left out: no trained reply follows it (a line ends on one)"
WHY_NOT = {**REASONS, OVER_BUDGET: OVER_BUDGET_TEXT}  # why a reply is not trained


@dataclass(frozen=True)
class FileSettings:
    """What a training file decides about a line: its budget and its cut-off policy."""

    name: str | None  # None: the defaults a new training file gets
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN
    policy: CutOffPolicy = DEFAULT_POLICY
    over_budget: OverBudget = OverBudget.KEEP  # a longer line: whole, or ended (budget_fit)


DEFAULT_SETTINGS = FileSettings(None, over_budget=FOR_NEW_FILES)


def file_settings(library: Library) -> list[FileSettings]:
    """The defaults, then every training file's own settings (by name)."""
    return [DEFAULT_SETTINGS, *(
        FileSettings(info.name, info.max_seq_len, CutOffPolicy(info.cut_off_policy),
                     OverBudget(info.over_budget))
        for info in list_training_files(library))]


@dataclass(frozen=True)
class TurnRow:
    """One message of the conversation: its tokens in the line and whether it is trained."""

    message_index: int  # in the conversation
    role: str
    tokens: int | None  # None: the message is not in the line
    trained_tokens: int = 0
    lost_tokens: int = 0  # past the maximum sequence length
    why_not: str = ""  # "" when trained
    first_token: int = 0  # the turn's tokens are [first_token, first_token + tokens)
    span: tuple[int, int] | None = None  # characters of the turn in the rendered text
    content: str = ""  # the message text (shown for messages left out of the line)
    number: str = ""  # as the reader numbers it: the dialogue from 1, the system prompt none

    @property
    def trained(self) -> bool:
        return self.trained_tokens > 0

    @property
    def in_line(self) -> bool:
        return self.tokens is not None


@dataclass
class Preview:
    """A conversation's line as the trainer reads it, explained."""

    conversation_id: str
    settings: FileSettings
    variant: Variant
    shown: AsTrained | None  # None: the conversation gives no line (``note`` says why)
    rows: list[TurnRow] = field(default_factory=list)
    lines: int = 0  # lines the variant makes of this conversation
    line: int = 0  # which of them is shown (per-reply: 0 = the first reply's line)
    note: str = ""

    @property
    def total(self) -> int:
        return self.shown.total if self.shown else 0

    @property
    def trained_total(self) -> int:
        return self.shown.trained_total if self.shown else 0

    @property
    def cut_token(self) -> int | None:
        """The first token a trainer with this maximum length never reads, if any."""
        return self.settings.max_seq_len if self.total > self.settings.max_seq_len else None

    @property
    def cut_char(self) -> int | None:
        """Where the budget cuts in the rendered text (a character offset)."""
        cut = self.cut_token
        if cut is None or self.shown is None:
            return None
        return self.shown.offsets[cut][0]

    @property
    def lost_tokens(self) -> int:
        return max(0, self.total - self.settings.max_seq_len)

    @property
    def lost_trained(self) -> int:
        cut = self.cut_token
        return sum(self.shown.trained[cut:]) if cut is not None and self.shown else 0


def _why_not(role: str, reason: str, weighted: bool) -> str:
    """Why a message of the line carries no loss."""
    if role == "system":
        return "context: system prompt"
    if role == "user":
        return "context: client message"
    if reason:
        prefix = "context (weight 0): " if weighted else "not trained: "
        return prefix + WHY_NOT[reason]
    return "not trained"


def build_preview(record: Mapping[str, Any], counter: TokenCounter,
                  settings: FileSettings = DEFAULT_SETTINGS, variant: Variant = Variant.FULL,
                  line: int | None = None) -> Preview:
    """The conversation's line under ``settings`` and ``variant`` (for per-reply, line
    ``line`` of its lines; None = the last, the longest), rendered by ``counter``."""
    conversation_id = str(record.get("conversation_id", ""))
    view = trained_view(record, settings.policy)
    full = next(iter(jsonl_lines(record, "", settings.policy)), None)
    reasons = view.reasons
    budget = budget_of(settings.over_budget, settings.max_seq_len)
    if full is not None and budget is not None:  # the file ends a longer line early
        fitted, = fit_lines(counter, [full["messages"]], [counter.count(full["messages"])],
                            budget)
        if fitted is not None:
            full = next(jsonl_lines(record, "", settings.policy, end=fitted.end))
            reasons = list(reasons)  # the replies after its end: left out to fit
            for index in range(fitted.end, len(view.trained)):
                if view.trained[index]:
                    reasons[index] = OVER_BUDGET
    if full is None:
        reasons = sorted({REASONS[r] for r in view.reasons if r})
        why = "; ".join(reasons) or "it has no consultant reply"
        return Preview(conversation_id, settings, variant, None,
                       _numbered(record, _left_out_rows(record, 0, view.reasons)), note=(
                           "This conversation gives no training line under the "
                           f"{settings.policy.value} policy: {why}."))
    lines = [full]
    if variant is Variant.NO_CONTEXT:
        lines = [without_session_context(full)]
    elif variant is Variant.PER_REPLY:
        lines = list(per_reply(full))
    chosen = len(lines) - 1 if line is None else max(0, min(line, len(lines) - 1))
    messages: list[dict[str, Any]] = [dict(m) for m in lines[chosen]["messages"]]
    history: set[int] = set()
    if variant is Variant.PER_REPLY:  # the line marks only its last reply as trained
        history = {index for index, message in enumerate(full["messages"][: len(messages) - 1])
                   if message["role"] == "assistant" and message.get("weight", 1) != 0}
    shown = counter.as_trained(messages)
    preview = Preview(conversation_id, settings, variant, shown, lines=len(lines), line=chosen)
    weighted = settings.policy is CutOffPolicy.WEIGHT0
    limit = settings.max_seq_len
    first = 0
    by_index = {turn.message_index: turn for turn in shown.turns}
    for index, message in enumerate(messages):
        turn = by_index.get(index)
        tokens = turn.tokens if turn else 0
        trained_tokens = turn.trained_tokens if turn else 0
        why = ""
        if not trained_tokens:
            why = HISTORY if index in history else _why_not(
                message["role"], reasons[index], weighted)
        lost = max(0, first + tokens - max(first, limit))
        preview.rows.append(TurnRow(
            index, str(message["role"]), tokens, trained_tokens, lost, why, first,
            (turn.start, turn.end) if turn else None))
        first += tokens
    after = len(messages)
    if variant is Variant.PER_REPLY and chosen < len(lines) - 1:
        preview.rows += [TurnRow(i, str(m["role"]), None, why_not=NOT_IN_THIS_LINE,
                                 content=str(m["content"]))
                         for i, m in enumerate(full["messages"][after:], after)]
        after = len(full["messages"])
    preview.rows += _left_out_rows(record, after, reasons)
    preview.rows = _numbered(record, preview.rows)
    return preview


def _numbered(record: Mapping[str, Any], rows: list[TurnRow]) -> list[TurnRow]:
    dialogue = [i for i, m in enumerate(record["messages"]) if m["role"] != "system"]
    numbers = {index: str(n) for n, index in enumerate(dialogue, 1)}
    return [replace(row, number=numbers.get(row.message_index, "")) for row in rows]


def _left_out_rows(record: Mapping[str, Any], start: int, reasons: Sequence[str]
                   ) -> list[TurnRow]:
    """Messages after the line's end: trimmed after a cut-off, or an unanswered client
    message at the end of the conversation."""
    rows = []
    for index, message in enumerate(record["messages"][start:], start):
        reason = reasons[index] if index < len(reasons) else ""
        why = f"left out: {WHY_NOT[reason]}" if reason else AFTER_LAST_TARGET
        rows.append(TurnRow(index, str(message["role"]), None, why_not=why,
                            content=str(message["content"])))
    return rows
