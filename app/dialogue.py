"""Turn a conversation's pairs, in turn order, into its user/assistant messages: one walk
that repairs each text (when the conversation needs it), places it and annotates it.

Two pair conventions exist in the user's data and both give the same messages:

* enriched files: odd pairs are the client speaking (``target_response`` null), even pairs
  repeat that client message as ``current_user_input`` and carry the consultant's reply;
* legacy files: one pair per exchange (client message and reply together).

A client message is therefore appended only when it is not already the last message, so no
user message is ever duplicated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.quality import Warning_
from app.repair import CLIENT_MESSAGE, REPLY, TextRepair

# Pair fields that become structure (message text, order, conversation-level facts).
# Everything else a pair carries is annotation and is kept on the message it produced.
STRUCTURAL_PAIR_FIELDS = frozenset(
    {
        "id",
        "conversation_id",
        "turn_number",
        "conversation_metadata",
        "system_prompt",
        "conversation_history",
        "current_user_input",
        "target_response",
        "emotional_context",
        "training_metadata",
    }
)
MESSAGE_LEVEL_METADATA = ("conversation_phase", "expected_outcome")


@dataclass(frozen=True, slots=True)
class Dialogue:
    """The messages of a conversation and what building them noticed."""

    messages: list[dict[str, Any]]
    notes: list[Warning_]  # turns merged or skipped
    histories: list[tuple[int, list[Any]]]  # per pair in turn order: its history (repaired)


def _message(role: str, text: str, turn: int, pair: Mapping[str, Any],
             conversation_level: Mapping[str, Any]) -> dict[str, Any]:
    """A message, with what its pair says beyond its text (its annotation).

    Per-pair ``conversation_metadata`` values that differ from the conversation's own (a
    legacy file whose client background changes mid-way, say) are kept under
    ``annotations.conversation_metadata`` so nothing is silently dropped.
    """
    meta = pair.get("conversation_metadata") or {}
    # Most pairs hold structural fields only: one C-level test spares the comprehension.
    extra = {} if STRUCTURAL_PAIR_FIELDS.issuperset(pair) else {
        key: value for key, value in pair.items() if key not in STRUCTURAL_PAIR_FIELDS}
    own = {
        key: value for key, value in meta.items()
        if key not in MESSAGE_LEVEL_METADATA and value is not None
        and value != conversation_level.get(key)
    }
    if own:
        extra["conversation_metadata"] = own
    return {
        "role": role,
        "content": text,
        "turn_number": turn,
        "pair_id": pair.get("id"),
        "conversation_phase": meta.get("conversation_phase"),
        "expected_outcome": meta.get("expected_outcome"),
        "emotional_context": pair.get("emotional_context"),
        "training_metadata": pair.get("training_metadata"),
        "annotations": extra or None,
    }


def _bare_user_message(text: str, turn: int) -> dict[str, Any]:
    return {
        "role": "user",
        "content": text,
        "turn_number": turn,
        "pair_id": None,
        "conversation_phase": None,
        "expected_outcome": None,
        "emotional_context": None,
        "training_metadata": None,
        "annotations": None,
    }


def build_dialogue(
    in_order: Sequence[Mapping[str, Any]], conversation_level: Mapping[str, Any],
    repair: TextRepair | None = None,
) -> Dialogue:
    """The messages of pairs already in turn order, never duplicating a user turn.

    ``conversation_level`` holds the conversation's own metadata values; per-pair values
    that differ from them are kept on the message (see ``_message``). ``repair``: given
    when the conversation is double-escaped or holds control characters; it repairs each
    text as it is placed and keeps the warnings.
    """
    messages: list[dict[str, Any]] = []
    notes: list[Warning_] = []
    histories: list[tuple[int, list[Any]]] = []
    for pair in in_order:
        turn = pair["turn_number"]
        text = pair["current_user_input"]
        reply = pair.get("target_response")  # absent is null, as the fast check reads it
        history = pair.get("conversation_history") or []
        if repair is not None:
            text = repair.message(text, turn, CLIENT_MESSAGE)
            if reply:
                reply = repair.message(reply, turn, REPLY)
            if history:
                history = repair.history(history)
        histories.append((turn, history))
        last = messages[-1] if messages else None
        repeats_last = last is not None and last["role"] == "user" and last["content"] == text
        if not repeats_last and text.strip():
            if last is not None and last["role"] == "user":
                # Two client messages in a row: join them so roles keep alternating.
                last["content"] = f"{last['content']}\n\n{text}"
                notes.append(Warning_("merged_client_turns", turn,
                                      "two client messages in a row were joined into one"))
            elif reply is None:
                messages.append(_message("user", text, turn, pair, conversation_level))
                continue
            else:
                messages.append(_bare_user_message(text, turn))
        elif reply is None:
            if not text.strip():
                notes.append(Warning_("empty_turn", turn, "a turn with no text was skipped"))
            continue
        if reply is not None:
            if not messages or messages[-1]["role"] != "user":
                notes.append(Warning_("reply_without_client_turn", turn,
                                      "a reply with no client message before it was skipped"))
                continue
            if not reply.strip():
                notes.append(Warning_("empty_reply", turn, "an empty reply was skipped"))
                continue
            messages.append(_message("assistant", reply, turn, pair, conversation_level))
    return Dialogue(messages, notes, histories)
