"""What other settings would do to a training file's JSONL, worked out before the file
is rebuilt with them (the Settings… dialog says it while the person chooses).

The replies each policy trains are in the members' stored digests (``app.cutoff.
policy_digest``); which lines are over a length limit comes from the library's token
counts (``app.token_counts.lines_over``); only those lines are counted again, and fitted
as the build would fit them (``app.budget_fit.fit_lines``), so the numbers are the ones
the rebuild would give, at a fraction of its cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.budget_fit import OverBudget, fit_lines
from app.cutoff import CutOffPolicy
from app.library import Library
from app.token_counts import library_cache, lines_over
from app.token_lines import conversation_lines, count_lines
from app.tokenizer_choice import counting
from app.trainingfiles import member_digests

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SettingsEffect:
    """A file's JSONL under some settings (one line per conversation with a trained reply)."""

    trained_replies: int  # replies its lines train
    no_line: int  # conversations that give no line (no reply left to train)
    shortened: int  # lines ended at their last whole reply that fits
    fitted_replies: int  # the replies those endings leave out
    over: int  # lines still longer than the length limit (written whole)


def settings_effect(library: Library, name: str, policy: CutOffPolicy | str, limit: int,
                    over_budget: OverBudget | str, progress: Progress | None = None,
                    cancelled: Callable[[], bool] | None = None) -> SettingsEffect:
    """What the file ``name`` would hold with cut-off policy ``policy``, length limit
    ``limit`` and ``over_budget`` for a line over it."""
    policy = CutOffPolicy(policy)
    digests = member_digests(library, name)
    replies = {str(item["conversation_id"]): int(
        item["policies"][policy.value]["trainable_replies"]) for item in digests}
    ids = [cid for cid, count in replies.items() if count]
    over_ids = sorted(lines_over(library, ids, limit, policy=policy, progress=progress,
                                 cancelled=cancelled))
    left_out = shortened = 0
    over = len(over_ids)
    if over_ids and OverBudget(over_budget) is OverBudget.FIT:
        _choice, counter = counting(library)
        cache = library_cache(library)
        pks = list(library.row_keys(over_ids).values())
        lines = [line for record in library.records_by_pk(pks)
                 for line in conversation_lines(record, policy)]
        counts = count_lines(counter, lines, cache)
        fits = fit_lines(counter, lines, counts, limit, cache)
        fitted = [fit for fit in fits if fit is not None]
        shortened = len(fitted)
        left_out = sum(fit.replies_left_out for fit in fitted)
        over = sum(1 for count, fit in zip(counts, fits, strict=True)
                   if count > limit and fit is None)
    return SettingsEffect(trained_replies=sum(replies.values()) - left_out,
                          no_line=len(replies) - len(ids), shortened=shortened,
                          fitted_replies=left_out, over=over)
