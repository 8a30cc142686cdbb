"""The full training file: a header, the consultant profile once, and the conversations.

The header is computed from small per-conversation digests (``app.records.Digest``), so a
file of any size can be written in one streaming pass without holding the records in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from app import FORMAT_VERSION
from app.budget_fit import FOR_EARLIER_FILES, OverBudget
from app.cutoff import DEFAULT_POLICY, CutOffPolicy
from app.file_totals import (
    ARC,
    ARCHETYPE,
    BATCH,
    LEFT_OUT,
    TIER,
    TOPIC,
    WARNING,
    FileTotals,
    contribution,
)
from app.records import Digest, TrainingFileHeader, profile_hash

FORMAT_NAME = "c-alpha-build_v3.4_emotional-dataset-full"


def build_header(
    name: str,
    digests: Sequence[Digest],
    created_at: str,
    updated_at: str,
    jsonl_file: str,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
) -> TrainingFileHeader:
    """The ``training_file_metadata`` object of a file made of ``digests``.

    Reply counts and tokens are those of the JSONL under ``cut_off_policy``; the replies it
    leaves out are counted by reason. Made from the digests' totals, as a library build
    makes it from its stored ones (``header_from_totals``).
    """
    policy = CutOffPolicy(cut_off_policy)
    totals = FileTotals.of(contribution(d, policy.value, (), 0, 0) for d in digests)
    return header_from_totals(name, totals, created_at, updated_at, jsonl_file, policy)


def header_from_totals(
    name: str,
    totals: FileTotals,
    created_at: str,
    updated_at: str,
    jsonl_file: str,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    over_budget: OverBudget | str = FOR_EARLIER_FILES,
) -> TrainingFileHeader:
    """The ``training_file_metadata`` object (without ``tokens``) from a file's totals.

    ``over_budget`` is recorded only when it is ``fit`` (lines over the budget end early):
    a file that writes every line whole has the header it had before the setting existed,
    byte for byte."""
    policy = CutOffPolicy(cut_off_policy)
    left_out = totals.by_name(LEFT_OUT)
    warnings = totals.by_name(WARNING)
    mean, lowest, highest = totals.score_summary()
    header: TrainingFileHeader = {
        "name": name,
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created_at": created_at,
        "updated_at": updated_at,
        "jsonl_file": jsonl_file,
        "system_message": "system_prompt followed by the session's scaffolding",
        "cut_off_policy": policy.value,
        "totals": {
            "conversations": totals.n("conversations"),
            "messages": totals.n("messages"),
            "trainable_replies": totals.n("trainable_replies"),
            "jsonl_lines": totals.n("jsonl_lines"),
            "estimated_tokens": totals.n("estimated_tokens"),
            "replies_left_out": sum(left_out.values()),
        },
        "quality_summary": {
            "mean_reply_score": mean,
            "min_reply_score": lowest,
            "max_reply_score": highest,
            "human_reviewed_conversations": totals.n("human_reviewed"),
            "conversations_with_warnings": totals.n("with_warnings"),
            "warnings_by_code": warnings,
            "by_quality_tier": totals.distribution(TIER),
            "repaired_conversations": warnings.get("text_repaired", 0),
            "replies_left_out_by_reason": left_out,
            "conversations_without_trained_reply": totals.n("without_trained_reply"),
        },
        "scaffolding_distribution": {
            "persona_archetype": totals.distribution(ARCHETYPE),
            "emotional_arc": totals.distribution(ARC),
            "training_topic": totals.distribution(TOPIC),
            "batch": totals.distribution(BATCH),
        },
    }
    if OverBudget(over_budget) is OverBudget.FIT:
        return _after_policy(header, "over_budget", OverBudget.FIT.value)
    return header


def _after_policy(header: TrainingFileHeader, key: str, value: str) -> TrainingFileHeader:
    """``header`` with ``key`` written right after ``cut_off_policy`` (the settings
    together, as the header is read top to bottom)."""
    items = list(header.items())
    at = [k for k, _ in items].index("cut_off_policy") + 1
    return dict([*items[:at], (key, value), *items[at:]])  # type: ignore[return-value]


def shared_profile_hash(digests: Sequence[Digest]) -> str | None:
    """The profile most conversations use (first seen wins a tie)."""
    counts = Counter(d["profile_hash"] for d in digests)
    if not counts:
        return None
    best = max(counts.values())
    return next(d["profile_hash"] for d in digests if counts[d["profile_hash"]] == best)


def file_record(record: Mapping[str, Any], shared_hash: str | None) -> dict[str, Any]:
    """The conversation as listed in the full file: its profile only when it differs."""
    own = record.get("consultant_profile")
    keep = own if profile_hash(own) != shared_hash else None
    return {**record, "consultant_profile": keep}
