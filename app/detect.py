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
