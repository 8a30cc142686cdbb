"""The full training file: a header, the consultant profile once, and the conversations.

The header is computed from small per-conversation digests (``app.records.Digest``), so a
file of any size can be written in one streaming pass without holding the records in memory.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app import FORMAT_VERSION
from app.cutoff import DEFAULT_POLICY, CutOffPolicy
from app.records import Digest, TrainingFileHeader, profile_hash

FORMAT_NAME = "c-alpha-build_v3.4_emotional-dataset-full"


def _distribution(values: Iterable[Any]) -> dict[str, int]:
    counts = Counter("(none)" if v is None else str(v) for v in values)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def build_header(
    name: str,
    digests: Sequence[Digest],
    created_at: str,
    updated_at: str,
    jsonl_file: str,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
) -> TrainingFileHeader:
    """The ``training_file_metadata`` object.

    Reply counts and tokens are those of the JSONL under ``cut_off_policy``; the replies it
    leaves out are counted by reason.
    """
    policy = CutOffPolicy(cut_off_policy)
    trained = [d["policies"][policy.value] for d in digests]
    # Libraries imported before infinite numbers were refused hold null scores: skip them.
    scores = [s for d in digests for s in d["reply_scores"]
              if isinstance(s, int | float) and math.isfinite(s)]
    warning_counts = Counter(code for d in digests for code in d["warning_codes"])
    left_out: Counter[str] = Counter()
    for item in trained:
        left_out.update(item["left_out"])
    return {
        "name": name,
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created_at": created_at,
        "updated_at": updated_at,
        "jsonl_file": jsonl_file,
        "system_message": "system_prompt followed by the session's scaffolding",
        "cut_off_policy": policy.value,
        "totals": {
            "conversations": len(digests),
            "messages": sum(d["messages"] for d in digests),
            "trainable_replies": sum(t["trainable_replies"] for t in trained),
            "jsonl_lines": sum(1 for t in trained if t["trainable_replies"]),
            "estimated_tokens": sum(t["estimated_tokens"] for t in trained),
            "replies_left_out": sum(left_out.values()),
        },
        "quality_summary": {
            "mean_reply_score": round(sum(scores) / len(scores), 3) if scores else None,
            "min_reply_score": min(scores) if scores else None,
            "max_reply_score": max(scores) if scores else None,
            "human_reviewed_conversations": sum(1 for d in digests if d["human_reviewed"]),
            "conversations_with_warnings": sum(1 for d in digests if d["warning_codes"]),
            "warnings_by_code": dict(sorted(warning_counts.items())),
            "by_quality_tier": _distribution(d["quality_tier"] for d in digests),
            "repaired_conversations": warning_counts.get("text_repaired", 0),
            "replies_left_out_by_reason": dict(sorted(left_out.items())),
            "conversations_without_trained_reply": sum(
                1 for t in trained if not t["trainable_replies"]),
        },
        "scaffolding_distribution": {
            "persona_archetype": _distribution(d["persona_archetype"] for d in digests),
            "emotional_arc": _distribution(d["emotional_arc_key"] for d in digests),
            "training_topic": _distribution(d["training_topic_key"] for d in digests),
            "batch": _distribution(d["batch_id"] for d in digests),
        },
    }


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
