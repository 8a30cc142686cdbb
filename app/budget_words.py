"""What a training file's token budget (``max_seq_len``) means for a trainer, in words.

The recipes hand the budget to the trainer (TRL ``max_length``, Axolotl ``sequence_len``),
and a line longer than it is not trained as written: TRL cuts it at the budget, so nothing after
that point is learned, and Axolotl leaves the whole line out (its default
``excess_length_strategy``). A file set to ``fit`` ends such a line at its last whole reply
that fits (``app.budget_fit``); what is still over the budget (a first reply alone too long,
or a ``keep`` file's lines) is told to the person, with what to do, wherever the budget is
set or lines are added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.wording import LENGTH_LIMIT, agreeing, plural

# Past this many tokens a line is not worth raising the limit for: more than the context of
# the chat models the bundled templates are for as released (Mistral 7B v0.3: 32,768), and
# a LoRA run's memory grows with its longest sequence. A longer line is told to be removed.
SENSIBLE_LENGTH = 32_768


def over_budget_sentence(name: str, head: Mapping[str, Any], raise_with: str | None = None,
                         fit_with: str | None = None, find_with: str | None = None
                         ) -> str | None:
    """How many of the file's lines are over its budget and what that means, or None when
    every line fits (or the header has no exact counts). ``raise_with`` says where the
    person raises the length, ``fit_with`` where a file that writes its lines whole is set
    to end them at their last whole reply that fits, ``find_with`` how the conversations
    over it are found to be removed (the window's words); by default, the commands that
    do (and nothing for finding them)."""
    tokens = head.get("tokens") or {}
    over = int(tokens.get("lines_over_max_seq_len") or 0)
    if not over:
        return None
    limit = int(tokens.get("max_seq_len") or 0)
    lines = int((head.get("totals") or {}).get("jsonl_lines") or over)
    longest = int(tokens.get("max") or 0)
    those = agreeing(over, "that line", "those lines")
    which = (f"{over:,} of the {plural(lines, 'line')}" if over < lines
             else "the only line" if over == 1 else f"all {over:,} lines")
    how = raise_with or f"lora-studio max-len \"{name}\" {longest}"
    it = agreeing(over, "it", "them")
    find = f" ({find_with})" if find_with else ""
    # (no advice to raise the limit to a length nobody trains: remove them)
    raise_it = (f"Raise the limit (its longest line has {longest:,} tokens: {how})"
                if longest <= SENSIBLE_LENGTH else
                f"Its longest line has {longest:,} tokens, more than a training run takes "
                f"as one sequence (over {SENSIBLE_LENGTH:,}), so raising the limit is no way "
                "out. Keep the limit")
    if head.get("over_budget") == "fit":  # over only where a first reply alone is too long
        return (f"{which} of '{name}' {agreeing(over, 'is', 'are')} longer than its "
                f"{LENGTH_LIMIT} of {limit:,} tokens: "
                f"{agreeing(over, 'its', 'their')} first reply alone is longer, so there is "
                f"no shorter ending that fits and {those} {agreeing(over, 'is', 'are')} "
                f"written whole, every reply in {it} counted as trained. The trainer recipes "
                f"pass that limit on: TRL would cut {those} at {limit:,} tokens, inside the "
                "first reply, and train the cut reply (nothing after that point is learned) "
                f"and Axolotl would leave {it} out. {raise_it} or remove those conversations "
                f"from it{find}.")
    fit = (", end each such line at its last whole reply that fits ("
           + (fit_with or f"lora-studio set \"{name}\" --over-budget fit") + "),")
    return (f"{which} of '{name}' {agreeing(over, 'is', 'are')} longer than its "
            f"{LENGTH_LIMIT} of {limit:,} tokens. The trainer recipes pass that limit on: "
            f"TRL would cut {those} at {limit:,} tokens (nothing after that point is learned) and "
            f"Axolotl would leave {it} out. {raise_it}{fit} or remove the longest "
            f"conversations from it{find}.")
