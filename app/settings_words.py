"""What a change of a training file's settings did, in one sentence: the window's status
line after Settings… and the command line's ``max-len`` and ``set`` say the same words from
here. A file that ends long lines at their last whole reply that fits ("fit") leaves those
replies out of its JSONL: "every line fits" alone would hide them, so the sentence says how
many are left out, and how many the change itself left out or brought back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.budget_fit import REASON, OverBudget
from app.budget_words import over_budget_sentence
from app.cutoff import policy_label
from app.wording import LENGTH_LIMIT, agreeing, plural


def fitted_replies(over_budget: str, head: Mapping[str, Any]) -> int:
    """The replies the file left out of its JSONL to end longer lines early (0: none, or
    a file that writes every line whole)."""
    if over_budget != OverBudget.FIT:
        return 0
    by_reason = (head.get("quality_summary") or {}).get("replies_left_out_by_reason") or {}
    return int(by_reason.get(REASON, 0))


def shortened_text(left_out: int) -> str:
    """The long conversations a file ended early to fit, said from the replies it left
    out (the header counts replies; one reply left out is one conversation)."""
    if left_out == 1:
        return ("1 long conversation was shortened to fit (its last reply is left out of "
                "the JSONL; the full JSON keeps it)")
    return (f"long conversations were shortened to fit ({left_out:,} replies at their ends "
            "are left out of the JSONL; the full JSON keeps them)")


def fitted_text(over_budget: str, head: Mapping[str, Any]) -> str:
    """What the file does with a line over its limit and, when it ends such lines early,
    what that left out."""
    if over_budget != OverBudget.FIT:
        return "Lines over the limit are written whole"
    left_out = fitted_replies(over_budget, head)
    if left_out:
        text = shortened_text(left_out)
        return text[:1].upper() + text[1:]
    return "Lines over the limit end at their last whole reply that fits"


def change_text(before: int, after: int) -> str:
    """What the change did to the replies left out to fit ("" when nothing): a lower limit
    leaves more out, a higher one (or writing lines whole) brings them back to training."""
    if after > before:
        more = after - before
        noun = ("more reply", "more replies") if before else ("reply", "replies")
        return (f"The change left out {plural(more, *noun)} "
                f"({agreeing(more, 'it was', 'they were')} trained before)")
    if after < before:
        back = before - after
        return (f"The change brought back {plural(back, 'reply', 'replies')} "
                f"{agreeing(back, 'that was', 'that were')} left out (now trained)")
    return ""


def settings_sentence(name: str, policy: str, max_seq_len: int, over_budget: str,
                      head: Mapping[str, Any], fitted_before: int | None = None,
                      raise_with: str | None = None, fit_with: str | None = None,
                      find_with: str | None = None) -> str:
    """After a change: the file's settings, what became of lines over the limit, how many
    lines the limit still cuts and, given the replies left out to fit before
    (``fitted_before``), what the change left out or brought back. ``raise_with``,
    ``fit_with`` and ``find_with``: where the person does that (``over_budget_sentence``;
    by default the commands that do)."""
    text = (f"Rebuilt '{name}': cut-off replies: {policy_label(policy)}; "
            f"{LENGTH_LIMIT} {max_seq_len:,} tokens")
    left_out = fitted_replies(over_budget, head)
    over = over_budget_sentence(name, head, raise_with, fit_with, find_with)
    if over:
        text = f"{text}. {fitted_text(over_budget, head)}. {over[:1].upper()}{over[1:]}"
    elif left_out:  # lines were ended early: say so, and what that left out
        text = f"{text}. Every line fits: {shortened_text(left_out)}."
    else:
        text = f"{text}; every line fits."
    change = change_text(fitted_before, left_out) if fitted_before is not None else ""
    return f"{text} {change}." if change else text
