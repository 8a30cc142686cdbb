"""Judge the cut-off turns of stored conversations again when the rule changes.

What the rule (``app.cut_off_rule``) decided is stored with each conversation: its
``reply_cut_off`` and ``client_cut_off`` warnings, its digest's per-policy counts
(``app.cutoff.policy_digest``, which training-file headers add up) and the replies the
default policy trains (``conversations.replies_trained``). A conversation whose cut-off
turns differ under today's rule gets what an import does today: those warnings judged again
(the others stay as they are) and the row made again from the record. The training files
holding it owe a rebuild (``app.stored_builds.forget_totals``), which the same start-up work
pays (``app.recovery``), so no JSONL stays silently stale; a file none of whose
conversations changed owes nothing and keeps its bytes. A conversation whose cut-off turns
are the same is left untouched, explanations and all. Runs once per version of the rule
(``app.upkeep``), from ``app.recovery``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from app.library import Library
from app.models import Conversation
from app.quality import dialogue_warnings
from app.stored_repair import store_changed

CUT_CODES = frozenset({"reply_cut_off", "client_cut_off"})
# Warnings an import lists after the cut-off ones (``app.canonical``): new cut-off
# warnings go before the first of them, where an import puts them.
AFTER_CUTS = frozenset({"unanswered_last_turn", "no_trainable_reply", "history_mismatch"})


def _cut_turns(warnings: Sequence[Mapping[str, Any]]) -> list[tuple[str, Any]]:
    return sorted(((str(w.get("code")), w.get("turn_number")) for w in warnings
                   if w.get("code") in CUT_CODES), key=repr)


def rejudge_record(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record with its cut-off warnings judged by today's rule, or None when they say
    what they said."""
    quality = record.get("quality") or {}
    warnings = list(quality.get("warnings") or [])
    dialogue = [m for m in record["messages"] if m["role"] != "system"]
    judged = [w.as_dict() for w in dialogue_warnings(dialogue) if w.code in CUT_CODES]
    if _cut_turns(judged) == _cut_turns(warnings):
        return None
    rest = [w for w in warnings if w.get("code") not in CUT_CODES]
    at = next((i for i, w in enumerate(rest) if w.get("code") in AFTER_CUTS), len(rest))
    return {**record, "quality": {**quality, "warnings": rest[:at] + judged + rest[at:]}}


def rejudge_stored(library: Library, progress: Callable[[int, int, str], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Judge every stored conversation's cut-off turns again; return the ids of those
    whose turns changed (stored again). Each chunk is one transaction, so an interrupted
    pass (``cancelled`` between chunks raises ``BuildCancelled``) keeps what it did and
    the next one finds only what is left; the files it left owing a rebuild still owe it."""
    with library.session() as session:
        todo = list(session.scalars(select(Conversation.pk).order_by(Conversation.pk)))
    return store_changed(library, todo, rejudge_record, progress, cancelled)
