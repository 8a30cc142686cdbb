"""Derive JSONL training lines from a full-file conversation record.

Every line is ``{"messages": [...], "metadata": {...}}``: the ``messages`` array is the chat
format that Axolotl, TRL, LLaMA-Factory, Unsloth and OpenAI read as it is, and ``metadata``
has the same keys and types on every line (nulls allowed), so that HF ``datasets`` infers
one Arrow schema for the whole file.

``datasets`` fixes each column's type from the first chunk of the file (10 MB), so a value
that is missing throughout that chunk must still have its final type: missing text is
written as ``""`` and a missing number as ``-1.0``, never as null, and warnings are one
comma-separated string rather than a list that could be empty everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from app.cutoff import DEFAULT_POLICY, CutOffPolicy, line_text, trained_view
from app.records import LineMetadata, LineSummary, ReplyContext, line_summary

MISSING_NUMBER = -1.0
MISSING_TEXT = ""


def _float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return MISSING_NUMBER


def _str(value: Any) -> str:
    return value if isinstance(value, str) else MISSING_TEXT


def reply_context(
    message: Mapping[str, Any], index: int, client_message: Mapping[str, Any] | None = None
) -> ReplyContext:
    """The emotional context of one reply, flattened to fixed keys and types.

    The client's emotion comes from the client message the reply answers when that message
    carries its own context (current enriched files, where the reply pair's context often
    describes the consultant's tone instead); legacy files keep it on the reply's pair.
    """
    context = ((client_message or {}).get("emotional_context")
               or message.get("emotional_context") or {})
    detected = context.get("detected_emotions") or {}
    training = message.get("training_metadata") or {}
    return {
        "message_index": index,
        "turn_number": int(message.get("turn_number") or 0),
        "conversation_phase": _str(message.get("conversation_phase")),
        "client_emotion": _str(detected.get("primary")),
        "client_emotion_intensity": _float(detected.get("intensity")),
        "client_valence": _str(detected.get("valence")),
        "quality_score": _float(training.get("quality_score")),
    }


def line_metadata(
    summary: LineSummary, training_file: str, replies: list[ReplyContext],
    left_out_replies: int = 0,
) -> LineMetadata:
    """The conversation's summary (``app.records.line_summary``) with the JSONL's fixed
    types."""
    return {
        "conversation_id": summary["conversation_id"],
        "batch_id": _str(summary["batch_id"]),
        "training_file": training_file,
        "source_file": _str(summary["source_file"]),
        "client_persona": _str(summary["client_persona"]),
        "persona_archetype": _str(summary["persona_archetype"]),
        "emotional_arc": _str(summary["emotional_arc"]),
        "emotional_arc_key": _str(summary["emotional_arc_key"]),
        "training_topic": _str(summary["training_topic"]),
        "training_topic_key": _str(summary["training_topic_key"]),
        "quality_tier": _str(summary["quality_tier"]),
        "quality_score": _float(summary["quality_score"]),
        "human_reviewed": summary["human_reviewed"],
        "warnings": ",".join(summary["warning_codes"]),
        "token_count": 0,  # the build fills in the exact count of the rendered line
        "replies": replies,
        "left_out_replies": left_out_replies,
    }


def jsonl_lines(
    record: Mapping[str, Any],
    training_file: str,
    policy: CutOffPolicy | str = DEFAULT_POLICY,
    end: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the JSONL line of one conversation (none if it has no trained reply).

    ``policy`` decides what happens to cut-off turns (see ``app.cutoff``); under
    ``weight0`` every assistant message carries ``weight`` 1 (trained) or 0 (context).
    ``end``: the line keeps only its first ``end`` messages (a line ended early to fit the
    token budget, ``app.budget_fit``; it must end on a trained reply); the replies after
    them count as left out. Exports that want one line per reply split these lines
    (``app.export.per_reply``).
    """
    view = trained_view(record, policy)
    messages = view.messages[:end]
    after_end = sum(view.trained[len(messages):])
    weighted = CutOffPolicy(policy) is CutOffPolicy.WEIGHT0
    chat: list[dict[str, Any]] = []
    for message, trained in zip(messages, view.trained[:len(messages)], strict=True):
        item: dict[str, Any] = {"role": message["role"], "content": line_text(message)}
        if weighted and message["role"] == "assistant":
            item["weight"] = 1 if trained else 0
        chat.append(item)
    reply_indexes = [i for i, trained in enumerate(view.trained[:len(messages)]) if trained]
    if not reply_indexes:
        return
    replies = [reply_context(messages[i], i, messages[i - 1]) for i in reply_indexes]
    left_out = sum(view.left_out.values()) + after_end
    yield {"messages": chat,
           "metadata": line_metadata(line_summary(record), training_file, replies, left_out)}
