"""What the reader shows of a conversation, worked out without Qt.

The canonical record keeps each message's annotation as the source file had it; a person
reading it wants other things: one turn number per message whatever convention the file
used, the client's emotion on the client's own message, each warning on the message it is
about, and whether the message is a training target. This module derives exactly that, so
the widgets only lay it out (and the tests can check it without a window).

Turn numbers: enriched files give every message its own pair (client turn 1, reply turn 2,
client turn 3 …); legacy files put a client message and its reply in one pair, so both carry
the pair's number. The reader numbers the dialogue messages 1, 2, 3 … in order, which is the
enriched convention and never gives two messages the same number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.cut_off_rule import looks_cut_off
from app.cutoff import DEFAULT_POLICY, trained_view

# Warning codes about a reply, and about a client message; others go on the last message
# of their turn.
REPLY_CODES = frozenset({"reply_cut_off", "empty_reply", "reply_without_client_turn"})
CLIENT_CODES = frozenset({"unanswered_last_turn", "merged_client_turns", "client_cut_off"})
PLAN = re.compile(
    r"^\s*(?P<start>[^()→>]+?)\s*\((?P<start_level>[0-9.]+)\)\s*(?:→|->)\s*"
    r"(?P<end>[^()→>]+?)\s*\((?P<end_level>[0-9.]+)\)"
)
ARROW = re.compile(r"\s*(?:→|->)\s*")


@dataclass(frozen=True, slots=True)
class Emotion:
    """The client's detected emotion on one turn."""

    primary: str | None
    secondary: str | None
    intensity: float | None  # 0 to 1
    valence: str | None


@dataclass(frozen=True, slots=True)
class ReadingMessage:
    index: int  # position in the record's messages (0 is the system message)
    role: str  # system, user, assistant
    number: int | None  # the reader's turn number; None for the system message
    source_turn: int | None  # turn_number in the source file
    content: str
    emotion: Emotion | None  # on client messages: the client's state
    phase: str | None
    strategy: str | None
    quality_score: float | None
    warnings: list[Mapping[str, Any]] = field(default_factory=list)
    not_trained: str | None = None  # why this message is not a training target, if it is not


@dataclass(frozen=True, slots=True)
class ArcPlan:
    """The emotional arc the conversation was written to follow."""

    start: str
    end: str
    start_intensity: float | None
    end_intensity: float | None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _emotion(context: Mapping[str, Any] | None) -> Emotion | None:
    detected = (context or {}).get("detected_emotions") or {}
    if not isinstance(detected, Mapping) or not any(
            detected.get(k) is not None for k in ("primary", "intensity", "valence")):
        return None
    return Emotion(detected.get("primary"), detected.get("secondary"),
                   _number(detected.get("intensity")), detected.get("valence"))


def _strategy(message: Mapping[str, Any]) -> str | None:
    strategy = (message.get("annotations") or {}).get("response_strategy")
    if isinstance(strategy, Mapping):
        value = strategy.get("primary_strategy")
        return str(value) if value else None
    return None


CUT_OFF_REPLY = "the reply is cut off, so it is not a training target"


def untrained_reasons(record: Mapping[str, Any]) -> dict[int, str]:
    """Message index → why that message is not a training target.

    The one place the reader learns what is trained: ``app.cutoff.trained_view`` under the
    default cut-off policy (a training file may choose another). A reply it does not train
    is "not trained"; a client message past the last trained reply is left out of the line.
    """
    messages = record.get("messages") or []
    view = trained_view(record, DEFAULT_POLICY)
    in_line = len(view.messages)
    reasons: dict[int, str] = {}
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "assistant" and not (index < in_line and view.trained[index]):
            if looks_cut_off(str(message.get("content") or "")):
                reasons[index] = CUT_OFF_REPLY
            else:
                reasons[index] = ("it comes after a cut-off turn, so the training file "
                                  "stops before it")
        elif role == "user" and index >= in_line:
            if index + 1 == len(messages):
                reasons[index] = "nobody answered it, so it is left out of the JSONL"
            elif not in_line:
                reasons[index] = ("no reply of this conversation is trained, so it gets no "
                                  "JSONL line and this message is left out of the JSONL")
            else:
                reasons[index] = ("it comes after the last trained reply, so it is left out "
                                  "of the JSONL")
    return reasons


def nothing_trained(messages: Sequence[ReadingMessage]) -> str | None:
    """Why no reply of the conversation is trained, in one sentence for the reader's head
    (each reply's own badge says it too, but a person reading from the top should not have
    to find that out reply by reply); None when at least one reply is trained."""
    replies = [m for m in messages if m.role == "assistant"]
    if not replies:
        return ("Nothing here is trained: the conversation has no consultant reply, so it "
                "gets no training line.")
    if any(m.not_trained is None for m in replies):
        return None
    first = replies[0]
    if first.not_trained == CUT_OFF_REPLY:
        what = f"the first reply (turn {first.number}) is cut off"
    else:  # a cut-off client turn comes before it
        what = "a client turn before the first reply is cut off"
    return (f"Nothing here is trained: {what}, and a training line stops before a cut-off "
            "turn (the default cut-off policy). Fix or generate the file again and import "
            "it, or keep it only to read.")


def _warning_home(warning: Mapping[str, Any], dialogue: Sequence[ReadingMessage]) -> int | None:
    """Which dialogue message (position in ``dialogue``) a warning is about."""
    turn = warning.get("turn_number")
    if turn is None:
        return None
    same = [i for i, m in enumerate(dialogue) if m.source_turn == turn]
    if not same:
        return None
    code = warning.get("code")
    wanted = "assistant" if code in REPLY_CODES else "user" if code in CLIENT_CODES else None
    preferred = [i for i in same if dialogue[i].role == wanted]
    return (preferred or same)[-1]


def reading_messages(
    record: Mapping[str, Any],
) -> tuple[list[ReadingMessage], list[Mapping[str, Any]]]:
    """The messages as the reader shows them, and the warnings no single message owns."""
    messages = record.get("messages") or []
    untrained = untrained_reasons(record)
    shown: list[ReadingMessage] = []
    number = 0
    for index, message in enumerate(messages):
        role = message["role"]
        emotion = None
        if role == "user":
            emotion = _emotion(message.get("emotional_context"))
            following = messages[index + 1] if index + 1 < len(messages) else None
            if emotion is None and following is not None and following["role"] == "assistant" \
                    and following.get("turn_number") == message.get("turn_number"):
                # A legacy pair: the client's emotion is annotated on the pair of the reply.
                emotion = _emotion(following.get("emotional_context"))
        if role != "system":
            number += 1
        training = message.get("training_metadata") or {}
        shown.append(ReadingMessage(
            index=index, role=role, number=number if role != "system" else None,
            source_turn=message.get("turn_number"), content=message.get("content") or "",
            emotion=emotion, phase=message.get("conversation_phase"),
            strategy=_strategy(message),
            quality_score=_number(training.get("quality_score")) if role == "assistant"
            else None,
            warnings=[], not_trained=untrained.get(index),
        ))
    dialogue = [m for m in shown if m.role != "system"]
    loose: list[Mapping[str, Any]] = []
    for warning in (record.get("quality") or {}).get("warnings") or []:
        home = _warning_home(warning, dialogue)
        if home is None:
            loose.append(warning)
        else:
            dialogue[home].warnings.append(warning)
    return shown, loose


def client_intensity(messages: Sequence[ReadingMessage]) -> list[tuple[int, float]]:
    """(turn number, intensity) of every client message that has one, in order."""
    return [(m.number, m.emotion.intensity) for m in messages
            if m.role == "user" and m.number is not None and m.emotion is not None
            and m.emotion.intensity is not None]


def arc_plan(record: Mapping[str, Any]) -> ArcPlan | None:
    """The planned start and end of the arc.

    Enriched files state it per pair as ``emotional_progression_target``
    ("fear(0.8) → confidence(0.8)"); otherwise the arc's name ("Fear → Confidence") gives
    the two emotions without levels.
    """
    for message in record.get("messages") or []:
        target = (message.get("training_metadata") or {}).get("emotional_progression_target")
        match = PLAN.match(target) if isinstance(target, str) else None
        if match:
            return ArcPlan(match["start"], match["end"], _level(match["start_level"]),
                           _level(match["end_level"]))
    name = (record.get("scaffolding") or {}).get("emotional_arc")
    parts = ARROW.split(name.strip()) if isinstance(name, str) else []
    if len(parts) == 2 and all(parts):
        return ArcPlan(parts[0], parts[1], None, None)
    return None


def _level(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= 1 else None
