"""Quality warnings: things a reviewer should look at, which never reject a conversation."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.cut_off_rule import looks_cut_off
from app.labels import display_name
from app.wording import and_list

SUMMARY_MARKS = ("...", "…")
# Warnings that say something was handled, not that the conversation is doubtful: the JSONL
# trains on the repaired text and leaves the unanswered last turn out. Only the others make
# a conversation "flagged" (kept out of validation by a split, left out by an add that
# leaves out flagged ones).
INFORMATIONAL = frozenset({"text_repaired", "unanswered_last_turn"})
PLAIN_ENTRY = {dict}


@dataclass(frozen=True)
class Warning_:
    """One quality warning, tied to a turn where it has one."""

    code: str
    turn_number: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies and costs more than the rest of a
        # warning's life in an import.
        return {"code": self.code, "turn_number": self.turn_number, "message": self.message}


def harmful_warnings(codes: Iterable[str]) -> tuple[str, ...]:
    """The codes among ``codes`` that would harm training (every one not informational),
    in the order given: a conversation with any of them is flagged."""
    return tuple(code for code in codes if code not in INFORMATIONAL)


def informational_names() -> str:
    """The informational warnings as a person reads them: "Text Repaired and Unanswered
    Last Turn" (the command line's help and the window's add review name them)."""
    return and_list(sorted(display_name(code) for code in INFORMATIONAL))


def _copies_exactly(history: Sequence[Any], roles: list[str], contents: list[str]) -> bool:
    """Whether a history is plain copies of the earlier messages (their roles and texts):
    the usual case, decided in a few list comparisons; ``_history_problem`` would find
    nothing to say about it."""
    return (len(history) == len(roles) and set(map(type, history)) <= PLAIN_ENTRY
            and [entry.get("role") for entry in history] == roles
            and [entry.get("content") for entry in history] == contents)


def _history_problem(
    history: Sequence[Any], earlier: Sequence[Mapping[str, Any]]
) -> str | None:
    entries = [h for h in history if isinstance(h, Mapping)]
    with_roles = [h for h in entries if h.get("role") in ("user", "assistant")]
    if len(with_roles) != len(entries):
        return None  # a summary-style history (legacy files): nothing exact to compare
    if len(with_roles) != len(earlier):
        return (f"the history lists {len(with_roles)} earlier messages, "
                f"but the conversation has {len(earlier)} before this turn")
    for entry, message in zip(with_roles, earlier, strict=True):
        content = entry.get("content")
        if entry["role"] != message["role"]:
            return f"the history has a {entry['role']} message where the conversation has a " \
                   f"{message['role']} message"
        if not isinstance(content, str) or content == message["content"]:
            continue
        if content.rstrip().endswith(SUMMARY_MARKS) or len(content) < len(message["content"]) // 2:
            continue  # an abbreviated summary of the earlier message
        return f"the history's copy of turn {entry.get('turn')} differs from that turn's text"
    return None


def find_warnings(
    pairs: Sequence[Mapping[str, Any]], dialogue: Sequence[Mapping[str, Any]]
) -> list[Warning_]:
    """Inspect the conversation and return its quality warnings."""
    in_order = sorted(pairs, key=lambda p: p["turn_number"])
    histories = [(pair["turn_number"], pair.get("conversation_history") or [])
                 for pair in in_order]
    return dialogue_warnings(dialogue) + history_warnings(histories, dialogue)


def dialogue_warnings(dialogue: Sequence[Mapping[str, Any]]) -> list[Warning_]:
    """The warnings the messages alone show: cut-off texts, an unanswered last client
    message, no reply at all."""
    warnings: list[Warning_] = []
    for message in dialogue:
        why = looks_cut_off(message["content"], message["role"])
        if why and message["role"] == "assistant":
            warnings.append(Warning_("reply_cut_off", message["turn_number"], f"reply {why}"))
        elif why:
            warnings.append(Warning_("client_cut_off", message["turn_number"],
                                     f"client message {why}"))
    if dialogue and dialogue[-1]["role"] == "user":
        warnings.append(Warning_("unanswered_last_turn", dialogue[-1]["turn_number"],
                                 "the last client message never got a reply; it is not "
                                 "trained on and is left out of the JSONL"))
    if not any(m["role"] == "assistant" for m in dialogue):
        warnings.append(Warning_("no_trainable_reply", None,
                                 "the conversation has no consultant reply to train on"))
    return warnings


def history_warnings(
    histories: Sequence[tuple[int, Sequence[Any]]], dialogue: Sequence[Mapping[str, Any]]
) -> list[Warning_]:
    """A ``history_mismatch`` for each pair (its turn and history, in turn order) whose
    history does not copy the messages before its turn."""
    turns = [m["turn_number"] for m in dialogue]
    # Messages built from pairs in turn order are in turn order: the messages before a
    # turn are then a prefix, found by bisection instead of a scan per pair.
    ordered = turns == sorted(turns)
    roles = [m["role"] for m in dialogue]
    contents = [m["content"] for m in dialogue]
    warnings: list[Warning_] = []
    for turn, history in histories:
        # In a legacy pair the client message shares the pair's turn number; it is not earlier.
        if ordered:
            before = bisect_left(turns, turn)
            if _copies_exactly(history, roles[:before], contents[:before]):
                continue
            earlier = dialogue[:before]
        else:
            earlier = [m for m in dialogue if m["turn_number"] < turn]
        problem = _history_problem(history, earlier)
        if problem:
            warnings.append(Warning_("history_mismatch", turn, problem))
    return warnings


def reply_score(message: Mapping[str, Any]) -> float | None:
    """A message's quality_score as a float, or None when it has none."""
    meta = message.get("training_metadata") or {}
    value = meta.get("quality_score")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def source_says_reviewed(replies: Sequence[Mapping[str, Any]]) -> bool:
    """The source file's own review state: every reply's training_metadata says a person
    reviewed it."""
    reviewed = [bool((m.get("training_metadata") or {}).get("human_reviewed")) for m in replies]
    return bool(reviewed) and all(reviewed)


def summarise_quality(
    replies: Sequence[Mapping[str, Any]], warnings: Sequence[Warning_]
) -> dict[str, Any]:
    """Per-conversation quality: mean reply score, review state and warnings."""
    scores = [s for s in (reply_score(m) for m in replies) if s is not None]
    return {
        "mean_score": round(sum(scores) / len(scores), 3) if scores else None,
        "min_score": min(scores) if scores else None,
        "human_reviewed": source_says_reviewed(replies),
        "warnings": [w.as_dict() for w in warnings],
    }
