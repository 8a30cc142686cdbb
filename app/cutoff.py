"""Which consultant replies a training file trains on when some turns were cut off.

About one reply in twelve in generated conversations ends mid-word (the generator stopped
at an escape sequence). Trained on, it teaches the model to stop mid-sentence. Which turns
are cut off is ``app.cut_off_rule``'s call: a reply must end like a finished sentence, a
client message (informal) is cut off only on a clear sign. A training file has a *cut-off
policy* (stored per file, ``training_files.cut_off_policy``):

* ``trim`` (the default): each conversation is trained up to its last clean reply before the
  first cut-off turn (a cut-off reply or a cut-off client message); the rest is left out of
  the JSONL. Every trainer then does the right thing with no special settings.
* ``weight0``: cut-off replies, and replies that answer a cut-off client message, stay in the
  line as context with ``"weight": 0``; every other reply has ``"weight": 1``. OpenAI
  fine-tuning honours it, and so does Axolotl with ``message_field_training: weight``;
  trainers that ignore the key (TRL, LLaMA-Factory, Unsloth) would train those replies;
  the TRL script ``export --recipes`` writes leaves them out through its chat template.
* ``keep``: the behaviour before policies existed: every reply is a target.

Whatever the policy, a line keeps strict role alternation and ends on a trained reply. The
full JSON always keeps the whole conversation for review.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.cut_off_rule import is_cut_off


class CutOffPolicy(StrEnum):
    TRIM = "trim"
    WEIGHT0 = "weight0"
    KEEP = "keep"


DEFAULT_POLICY = CutOffPolicy.TRIM

# How a person reads each policy (the Settings… dialog's choices, before their colon): the
# window, the add review and the command line's sentences name a policy so, never by its code
# (the code is for the command line's options and the stored value).
LABELS = {
    CutOffPolicy.TRIM: "Trim: stop before the first cut-off turn",
    CutOffPolicy.WEIGHT0: "Keep as context, weight 0",
    CutOffPolicy.KEEP: "Train every reply",
}


def policy_label(policy: CutOffPolicy | str) -> str:
    """A policy's short name as Settings… shows it ("Trim", not "trim" nor "Trim: stop …")."""
    return LABELS[CutOffPolicy(policy)].split(":")[0]

DESCRIPTIONS = {
    CutOffPolicy.TRIM: "train each conversation up to its last clean reply before a cut-off "
                       "turn (works the same in every trainer)",
    CutOffPolicy.WEIGHT0: "keep cut-off replies as untrained context with \"weight\": 0 "
                          "(OpenAI; Axolotl with message_field_training: weight; the TRL "
                          "script LoRA Studio saves)",
    CutOffPolicy.KEEP: "train every reply, cut off or not (the behaviour before policies)",
}

# Why a reply is not a training target.
REASONS = {
    "reply_cut_off": "the reply itself is cut off",
    "answers_cut_off_client": "it answers a client message that is cut off",
    "after_cut_off_turn": "it comes after a cut-off turn (trimmed)",
}


# Why a conversation with replies gives no line under a policy, and what to do about it.
_NOTHING_TRAINED = {
    CutOffPolicy.TRIM: "a cut-off turn comes before its first clean reply",
    CutOffPolicy.WEIGHT0: "every reply is cut off or answers a cut-off client message",
    CutOffPolicy.KEEP: "it has no consultant reply",
}


def untrainable_reason(policy: CutOffPolicy | str) -> str:
    """How an add report names the conversations ``policy`` trains nothing of."""
    policy = CutOffPolicy(policy)
    return (f"with no reply to train under the file's cut-off policy ({policy_label(policy)}: "
            f"{_NOTHING_TRAINED[policy]}; repair the source file and import it again, "
            "replacing the stored copy)")


def parse_policy(value: str) -> CutOffPolicy:
    """The policy named by ``value``; a clear message when there is none of that name."""
    try:
        return CutOffPolicy(value)
    except ValueError:
        choices = ", ".join(p.value for p in CutOffPolicy)
        raise ValueError(f"'{value}' is not a cut-off policy; choose one of {choices}") from None


@dataclass(frozen=True)
class TrainedView:
    """What a trainer sees of one conversation under a policy."""

    messages: list[Mapping[str, Any]]  # system first, ends on a trained reply; [] if none
    trained: list[bool]  # per message: a training target
    left_out: Counter[str] = field(default_factory=Counter)  # reason → replies not trained
    # per message of the whole conversation: why a reply is not trained (a ``REASONS``
    # key), "" for trained replies and other roles
    reasons: list[str] = field(default_factory=list)

    @property
    def trained_replies(self) -> int:
        return sum(self.trained)


def _cuts(messages: Sequence[Mapping[str, Any]]) -> list[bool]:
    return [m["role"] != "system" and is_cut_off(str(m["content"]), m["role"]) for m in messages]


def trained_view(record: Mapping[str, Any], policy: CutOffPolicy | str,
                 cuts: list[bool] | None = None) -> TrainedView:
    """The messages of a conversation's line and which of them are trained.

    A trailing unanswered client turn is never part of a line. ``cuts`` (per message: cut
    off) may be passed in when it is already known.
    """
    policy = CutOffPolicy(policy)
    messages: Sequence[Mapping[str, Any]] = record["messages"]
    cut = cuts if cuts is not None else _cuts(messages)
    left_out: Counter[str] = Counter()
    trained = [False] * len(messages)
    reasons = [""] * len(messages)
    cut_seen = False  # trim: a cut-off turn came earlier
    for index, message in enumerate(messages):
        if message["role"] == "user" and policy is CutOffPolicy.TRIM and cut[index]:
            cut_seen = True
        if message["role"] != "assistant":
            continue
        reason = None
        if policy is CutOffPolicy.TRIM:
            if cut[index]:
                reason, cut_seen = "reply_cut_off", True
            elif cut_seen:
                reason = "after_cut_off_turn"
        elif policy is CutOffPolicy.WEIGHT0:
            if cut[index]:
                reason = "reply_cut_off"
            elif index > 0 and messages[index - 1]["role"] == "user" and cut[index - 1]:
                reason = "answers_cut_off_client"
        if reason:
            left_out[reason] += 1
            reasons[index] = reason
        else:
            trained[index] = True
    last = max((i for i, is_trained in enumerate(trained) if is_trained), default=-1)
    return TrainedView(list(messages[: last + 1]), trained[: last + 1], left_out, reasons)


def line_text(message: Mapping[str, Any]) -> str:
    """A message's text as a line holds it: a client message or reply without whitespace
    around it (inner text untouched). A reply ending in "…exists?  \\n\\n" would teach the
    model to emit that whitespace before it ends its turn; the stored record keeps the text
    as the file had it, so the full JSON still shows it."""
    content = str(message["content"])
    return content if message["role"] == "system" else content.strip()


def trained_characters(messages: Sequence[Mapping[str, Any]]) -> int:
    """The characters of ``messages`` as a line holds them (the token estimate's basis)."""
    return sum(len(line_text(message)) for message in messages)


def policy_digest(record: Mapping[str, Any], chars_per_token: int) -> dict[str, Any]:
    """Per policy, the numbers a header needs (stored in the conversation's digest)."""
    result = {}
    cuts = _cuts(record["messages"])
    # Most conversations have no cut-off turn: then every policy trains the same.
    policies = list(CutOffPolicy) if any(cuts) else [CutOffPolicy.KEEP]
    for policy in policies:
        view = trained_view(record, policy, cuts)
        result[policy.value] = {
            "trained_messages": len(view.messages),
            "trainable_replies": view.trained_replies,
            "estimated_tokens": trained_characters(view.messages) // chars_per_token,
            "left_out": dict(sorted(view.left_out.items())),
        }
    for policy in CutOffPolicy:
        if policy.value not in result:
            result[policy.value] = {**result[CutOffPolicy.KEEP.value], "left_out": {}}
    return {policy.value: result[policy.value] for policy in CutOffPolicy}


def left_out_counts(digests: Sequence[Mapping[str, Any]],
                    policy: CutOffPolicy | str) -> dict[str, dict[str, int]]:
    """Per conversation id, how many replies the policy leaves out and why (only
    conversations that lose at least one reply are listed)."""
    policy = CutOffPolicy(policy)
    found = {}
    for item in digests:
        left = item["policies"][policy.value]["left_out"]
        if left:
            found[str(item["conversation_id"])] = dict(left)
    return found
