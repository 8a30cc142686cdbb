"""The types the import's fast checks demand of an input file's fields.

One table per block of the file, read by both checks of a file: the walk that checks and
gathers in one pass (``app.pairwalk``) and the check that explains a failure
(``app.canonical.check_structure``). ``tests/test_fast_checks.py`` holds them to the JSON
Schema, the one definition of the format: they never admit a type the schema refuses.
"""

from __future__ import annotations

import re

SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
MAX_TURN = 10_000

PAIR_FIELD_TYPES: tuple[tuple[str, tuple[type, ...], str], ...] = (
    ("id", (str,), "a string"),
    ("conversation_id", (str,), "a string"),
    ("turn_number", (int,), "a whole number"),
    ("current_user_input", (str,), "a string"),
    ("system_prompt", (str,), "a string"),
    ("target_response", (str, type(None)), "a string or null"),
    ("conversation_metadata", (dict,), "an object"),
    ("emotional_context", (dict,), "an object"),
    ("training_metadata", (dict,), "an object"),
    ("conversation_history", (list,), "an array"),
)
TAXONOMY_KEYS = ("persona_archetype", "emotional_arc_key", "training_topic_key")

# Optional fields whose values flow into the training files: when present they must have
# these types (None allowed), so that what import accepts always builds valid outputs.
TEXT = ((str,), "text")
NUMBER = ((int, float), "a number")
FLAG = ((bool,), "true or false")
OBJECT = ((dict,), "an object")
INPUT_PARAMETER_TYPES = {
    key: TEXT for key in ("persona_id", "persona_name", "persona_key", "persona_archetype",
                          "emotional_arc_id", "emotional_arc_name", "emotional_arc_key",
                          "training_topic_id", "training_topic_name", "training_topic_key")
}
METADATA_TEXT_TYPES = {
    key: TEXT for key in ("client_persona", "client_background", "session_context",
                          "conversation_phase", "expected_outcome")
}
TRAINING_METADATA_TYPES = {"quality_score": NUMBER, "human_reviewed": FLAG,
                           "quality_criteria": OBJECT}
EMOTIONAL_CONTEXT_TYPES = {"detected_emotions": OBJECT}
DETECTED_EMOTION_TYPES = {
    "primary": TEXT, "secondary": TEXT, "tertiary": TEXT, "valence": TEXT,
    "intensity": NUMBER, "primary_confidence": NUMBER, "secondary_confidence": NUMBER,
    "tertiary_confidence": NUMBER,
}
