"""The shapes that cross modules: the conversation record, its summary, a JSONL line's
metadata and the training-file header, as typed dictionaries.

They stay plain dicts at run time (the records are orjson-serialised as they are) but the
type checker knows every key, so a format change is an edit mypy guides. ``summarise`` is the
one function that derives a conversation's summary; the importer stores it, the library lists
it, training-file headers count it and each JSONL line's metadata is cut from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict, cast

import orjson

from app.cutoff import DEFAULT_POLICY, policy_digest, trained_characters
from app.quality import reply_score

CHARS_PER_TOKEN = 4  # the usual rough estimate for English text with BPE tokenizers

# --- the canonical conversation record (what the library stores, a full file lists) --------


class Message(TypedDict):
    """One chat message. System messages carry only role and content; the others also carry
    the annotation of the training pair they came from."""

    role: str
    content: str
    turn_number: NotRequired[int]
    pair_id: NotRequired[str | None]
    conversation_phase: NotRequired[str | None]
    expected_outcome: NotRequired[str | None]
    emotional_context: NotRequired[dict[str, Any] | None]
    training_metadata: NotRequired[dict[str, Any] | None]
    annotations: NotRequired[dict[str, Any] | None]


class Source(TypedDict):
    file_name: str
    content_sha256: str
    kind: str
    pair_conversation_id: str | None
    dataset_metadata: dict[str, Any]


class Client(TypedDict):
    persona: str | None
    name: str | None
    archetype_name: str | None
    background: str | None
    session_context: str | None


class Scaffolding(TypedDict):
    persona_archetype: str | None
    emotional_arc: str | None
    emotional_arc_key: str | None
    training_topic: str | None
    training_topic_key: str | None


class Stats(TypedDict):
    messages: int
    client_turns: int
    trainable_replies: int
    ends_with_unanswered_client_turn: bool


class QualityWarning(TypedDict):
    code: str
    turn_number: int | None
    message: str


class Quality(TypedDict):
    mean_score: float | None
    min_score: float | None
    human_reviewed: bool
    warnings: list[QualityWarning]
    reviewed_by: NotRequired[str]  # a review mark the library holds (see app.review)
    reviewed_at: NotRequired[str | None]


class ConversationRecord(TypedDict):
    """The canonical record (``app.canonical.normalise``), as documented in docs/FORMATS.md."""

    conversation_id: str
    batch_id: str | None
    quality_tier: str | None
    source: Source
    client: Client
    scaffolding: Scaffolding
    input_parameters: dict[str, Any] | None
    consultant_profile: Any
    system_prompt: str
    messages: list[Message]
    stats: Stats
    quality: Quality


# --- the summary ---------------------------------------------------------------------------


class PolicyDigest(TypedDict):
    """What one cut-off policy trains of a conversation (``app.cutoff.policy_digest``)."""

    trained_messages: int
    trainable_replies: int
    estimated_tokens: int
    left_out: dict[str, int]  # reason -> replies left out


class Digest(TypedDict):
    """The part of the summary a training-file header is computed from.

    Stored per conversation (``conversations.digest``) so a header never needs the records.
    ``batch_id`` and ``human_reviewed`` are overlaid with the library's current values when
    read back (batches can be renamed, marks set, after import).
    """

    conversation_id: str
    batch_id: str | None
    quality_tier: str | None
    persona_archetype: str | None
    emotional_arc_key: str | None
    training_topic_key: str | None
    messages: int
    trained_messages: int
    trainable_replies: int
    reply_scores: list[float]
    human_reviewed: bool
    warning_codes: list[str]
    estimated_tokens: int
    profile_hash: str
    policies: dict[str, PolicyDigest]  # per cut-off policy (app.cutoff), its value as key


class ConversationSummary(Digest):
    """Everything the library lists about a conversation (its ``conversations`` row) and
    every JSONL line repeats in its metadata."""

    persona_name: str | None
    client_persona: str | None
    emotional_arc: str | None
    training_topic: str | None
    turns: int
    # The replies a file of the default cut-off policy (trim) trains (``policies`` has
    # every policy's count; ``trainable_replies`` counts every consultant reply).
    replies_trained: int
    quality_score: float | None
    warnings_text: str
    created: str | None
    source_file: str
    content_sha256: str


class LineSummary(TypedDict):
    """The part of the summary a JSONL line's metadata repeats (``app.jsonl``)."""

    conversation_id: str
    batch_id: str | None
    source_file: str
    client_persona: str | None
    persona_archetype: str | None
    emotional_arc: str | None
    emotional_arc_key: str | None
    training_topic: str | None
    training_topic_key: str | None
    quality_tier: str | None
    quality_score: float | None
    human_reviewed: bool
    warning_codes: list[str]


def profile_hash(profile: Any) -> str:
    """A stable fingerprint of a consultant profile (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(profile, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def trainable_messages(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The messages a trainer sees: a trailing unanswered client turn is left out."""
    messages = list(record["messages"])
    while messages and messages[-1]["role"] == "user":
        messages.pop()
    return messages


def warning_line(warning: Mapping[str, Any]) -> str:
    """A warning as the Warnings column says it: "Turn 2: reply: …"."""
    turn = warning.get("turn_number")
    return (f"Turn {turn}: " if turn else "") + str(warning["message"])


def summarise(record: Mapping[str, Any]) -> ConversationSummary:
    """The one summary of a conversation record.

    Tolerant of missing blocks (a record from an older library, or a test's minimal one):
    what is absent is None, zero or empty.
    """
    line = line_summary(record)
    quality = record.get("quality") or {}
    client = record.get("client") or {}
    source = record.get("source") or {}
    trained = trainable_messages(record)
    replies = [m for m in trained if m["role"] == "assistant"]
    scores = [s for s in map(reply_score, replies) if s is not None]
    policies = policy_digest(record, CHARS_PER_TOKEN)
    return {
        "conversation_id": line["conversation_id"],
        "batch_id": line["batch_id"],
        "quality_tier": line["quality_tier"],
        "persona_archetype": line["persona_archetype"],
        "emotional_arc_key": line["emotional_arc_key"],
        "training_topic_key": line["training_topic_key"],
        "messages": len(record["messages"]),
        "trained_messages": len(trained),
        "trainable_replies": len(replies),
        "reply_scores": scores,
        "human_reviewed": line["human_reviewed"],
        "warning_codes": line["warning_codes"],
        "estimated_tokens": trained_characters(trained) // CHARS_PER_TOKEN,
        "profile_hash": profile_hash(record.get("consultant_profile")),
        "policies": policies,
        "persona_name": client.get("name"),
        "client_persona": line["client_persona"],
        "emotional_arc": line["emotional_arc"],
        "training_topic": line["training_topic"],
        "turns": max(len(record["messages"]) - 1, 0),
        "replies_trained": policies[DEFAULT_POLICY.value]["trainable_replies"],
        "quality_score": line["quality_score"],
        "warnings_text": "\n".join(warning_line(w) for w in quality.get("warnings") or []),
        "created": (source.get("dataset_metadata") or {}).get("created_date"),
        "source_file": line["source_file"],
        "content_sha256": source.get("content_sha256") or "",
    }


def line_summary(record: Mapping[str, Any]) -> LineSummary:
    """The summary's fields a JSONL line repeats, without the rest: a build writes one
    line per conversation, and the policy digest and profile hash ``summarise`` works
    out were a third of a line's cost."""
    scaffolding = record.get("scaffolding") or {}
    quality = record.get("quality") or {}
    warnings = quality.get("warnings") or []
    return {
        "conversation_id": record["conversation_id"],
        "batch_id": record.get("batch_id"),
        "source_file": (record.get("source") or {}).get("file_name") or "",
        "client_persona": (record.get("client") or {}).get("persona"),
        "persona_archetype": scaffolding.get("persona_archetype"),
        "emotional_arc": scaffolding.get("emotional_arc"),
        "emotional_arc_key": scaffolding.get("emotional_arc_key"),
        "training_topic": scaffolding.get("training_topic"),
        "training_topic_key": scaffolding.get("training_topic_key"),
        "quality_tier": record.get("quality_tier"),
        "quality_score": quality.get("mean_score"),
        "human_reviewed": bool(quality.get("human_reviewed")),
        "warning_codes": sorted({str(w["code"]) for w in warnings}),
    }


def digest_of(summary: ConversationSummary) -> Digest:
    """The header's part of a summary, as stored with the conversation."""
    return cast(Digest, {k: v for k, v in summary.items() if k in Digest.__required_keys__})


# --- a JSONL line's metadata -----------------------------------------------------------------


class ReplyContext(TypedDict):
    """One trained reply's emotional context, flattened to fixed keys and types."""

    message_index: int
    turn_number: int
    conversation_phase: str
    client_emotion: str
    client_emotion_intensity: float
    client_valence: str
    quality_score: float


class LineMetadata(TypedDict):
    """The ``metadata`` of a JSONL line: the summary's listing fields with fixed types
    (missing text ``""``, missing numbers ``-1.0``; see ``app.jsonl``)."""

    conversation_id: str
    batch_id: str
    training_file: str
    source_file: str
    client_persona: str
    persona_archetype: str
    emotional_arc: str
    emotional_arc_key: str
    training_topic: str
    training_topic_key: str
    quality_tier: str
    quality_score: float
    human_reviewed: bool
    warnings: str
    token_count: int  # exact tokens of the rendered line (app.token_lines)
    replies: list[ReplyContext]
    left_out_replies: int  # replies the file's cut-off policy does not train (app.cutoff)


# --- the training-file header ----------------------------------------------------------------


class Totals(TypedDict):
    conversations: int
    messages: int
    trainable_replies: int
    jsonl_lines: int
    estimated_tokens: int
    replies_left_out: int


class QualitySummary(TypedDict):
    mean_reply_score: float | None
    min_reply_score: float | None
    max_reply_score: float | None
    human_reviewed_conversations: int
    conversations_with_warnings: int
    warnings_by_code: dict[str, int]
    by_quality_tier: dict[str, int]
    repaired_conversations: int
    replies_left_out_by_reason: dict[str, int]
    conversations_without_trained_reply: int


class ScaffoldingDistribution(TypedDict):
    persona_archetype: dict[str, int]
    emotional_arc: dict[str, int]
    training_topic: dict[str, int]
    batch: dict[str, int]


class TokenSummary(TypedDict):
    """How the JSONL's tokens were counted and what they add up to (app.token_lines)."""

    tokenizer: str
    tokenizer_sha256: str
    chat_template: str
    counted: str
    max_seq_len: int
    total: int
    max: int
    p95: int
    lines_over_max_seq_len: int


class TrainingFileHeader(TypedDict):
    """``training_file_metadata``: the top of a full training file."""

    name: str
    format: str
    format_version: str
    created_at: str
    updated_at: str
    jsonl_file: str
    system_message: str
    cut_off_policy: str  # app.cutoff.CutOffPolicy
    over_budget: NotRequired[str]  # app.budget_fit.OverBudget: written only when "fit"
    totals: Totals
    quality_summary: QualitySummary
    scaffolding_distribution: ScaffoldingDistribution
    tokens: NotRequired[TokenSummary]  # added by the build once every line is counted
