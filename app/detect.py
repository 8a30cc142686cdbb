"""Tell the kinds of input apart before anything else looks at them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    ENRICHED = "enriched"  # current generator: scaffolding and/or input_parameters
    LEGACY = "legacy"  # older hand-authored files: training pairs, no scaffolding
    RAW = "raw"  # a conversation that was never enriched (turns, no training pairs)
    FULL = "full"  # one of our full training files
    UNKNOWN = "unknown"


SCAFFOLDING_KEYS = (
    "persona_archetype",
    "emotional_arc",
    "emotional_arc_key",
    "training_topic",
    "training_topic_key",
)


def earlier_format_conversation(item: Any) -> bool:
    """A conversation of a full file in the earlier format (the user's own, made before
    LoRA Studio): ``conversation_metadata`` and ``training_pairs``, not the ``messages``
    of our canonical records. Import turns it back into the enriched document it was made
    from (``app.fullsplit``)."""
    return isinstance(item, dict) and "training_pairs" in item


def is_earlier_full(document: Any) -> bool:
    """A full training file holding conversations of the earlier format: import splits it
    into its conversations, so ``validate`` checks each as import does, not against the
    schema of our own full files."""
    conversations = document.get("conversations") if isinstance(document, dict) else None
    return (detect_kind(document) is Kind.FULL and isinstance(conversations, list)
            and any(earlier_format_conversation(item) for item in conversations))


def detect_kind(document: Any) -> Kind:
    """Classify a parsed JSON document by its shape."""
    if not isinstance(document, dict):
        return Kind.UNKNOWN
    if "training_file_metadata" in document and "conversations" in document:
        return Kind.FULL
    pairs = document.get("training_pairs")
    if isinstance(pairs, list):
        if "input_parameters" in document:
            return Kind.ENRICHED
        for pair in pairs:
            meta = pair.get("conversation_metadata") if isinstance(pair, dict) else None
            if isinstance(meta, dict) and any(key in meta for key in SCAFFOLDING_KEYS):
                return Kind.ENRICHED
        return Kind.LEGACY
    if isinstance(document.get("turns"), list):
        return Kind.RAW
    return Kind.UNKNOWN
