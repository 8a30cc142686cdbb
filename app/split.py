"""A train/validation split that cannot leak and does not lose small arcs.

Rules, in order of precedence:

1. By conversation: a line is one conversation, so no conversation is on both sides.
2. Near-duplicates (``app.similar``) travel together: a group of very similar dialogues, or
   of a conversation and a shorter copy of it, goes wholly to one side, so validation never
   scores the model on what it trained on.
3. Flagged conversations (a quality warning other than the informational ones of
   ``app.quality.INFORMATIONAL``) stay in training: validation measures clean examples.
4. Every emotional arc with at least two conversations keeps at least one in training; an
   arc with a single conversation trains on it.
5. Validation takes its share from each arc in proportion to the arc's size (largest
   remainders), and within an arc spreads over personas and topics: each pick prefers the
   persona and topic that validation holds least of. Ties are broken by a seeded shuffle,
   so the same lines and seed always give the same split.

If the rules leave fewer eligible conversations than the share asks for, validation is
smaller; the manifest says how many lines each side has. When they leave none at all (a
file of one conversation, or of arcs of one, or of flagged ones), no validation file is
written: an empty JSONL does not load in ``datasets``, so a trainer would fail on it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.errors import LibraryError
from app.quality import harmful_warnings
from app.similar import groups


@dataclass(frozen=True)
class LineFacts:
    """What the split needs to know about one line."""

    conversation_id: str
    arc: str
    persona: str
    topic: str
    warnings: frozenset[str]
    sketch: bytes

    @property
    def flagged(self) -> bool:
        return bool(harmful_warnings(self.warnings))


@dataclass
class SplitPlan:
    valid: set[int]  # line indexes held out for validation
    requested: int  # how many validation lines the share asked for
    groups: int  # near-duplicate groups of more than one conversation
    flagged: int  # flagged lines (all in training)
    arcs: dict[str, dict[str, int]] = field(default_factory=dict)  # arc → train/valid counts


def no_validation_sentence(name: str, folder: str) -> str:
    """Why a split wrote no validation file, and what to do (the export's note: the
    command line prints it, the window shows it, the manifest keeps it)."""
    return (f"No valid.jsonl was written in {folder}: not one conversation of '{name}' could "
            "be held out for validation (it takes only unflagged conversations, from "
            "emotional arcs that have at least two, near-duplicates together), and an empty "
            "file would not load in a trainer. Train on train.jsonl alone, without an "
            f"evaluation set, or add conversations to '{name}' and split again.")


def parse_valid_share(text: str) -> float:
    """The validation share as a person types it: a fraction ("0.1", "0,1") or a percentage
    ("10", "10%", "12.5 %"); a number of 1 or more is read as a percentage, as nobody holds
    out more than everything. Raises ``LibraryError`` saying what it takes."""
    typed = text.strip().replace(",", ".")
    percent = typed.endswith("%")
    try:
        value = float(typed.removesuffix("%").strip())
    except ValueError:
        value = float("nan")
    if percent or 1 <= value < 100:
        value /= 100
    if not 0 < value < 1:  # also NaN
        raise LibraryError(f"'{text.strip()}' is not a validation share: type a fraction "
                           "between 0 and 1 (0.1) or a percentage below 100 (10%)")
    return value


def validation_size(count: int, valid_fraction: float) -> int:
    if not 0 < valid_fraction < 1:
        raise LibraryError("the validation share must be between 0 and 1 (for example 0.1)")
    size = round(count * valid_fraction)
    if count >= 2:
        size = min(max(size, 1), count - 1)
    return size


def _quotas(arc_sizes: Counter[str], capacity: dict[str, int], target: int) -> dict[str, int]:
    """Validation lines per arc: proportional (largest remainder), within each capacity."""
    total = sum(arc_sizes.values())
    exact = {arc: target * size / total for arc, size in arc_sizes.items()}
    quota = {arc: min(int(value), capacity[arc]) for arc, value in exact.items()}
    by_remainder = sorted(arc_sizes, key=lambda a: (-(exact[a] - int(exact[a])), a))
    while sum(quota.values()) < target:
        grown = False
        for arc in by_remainder:
            if sum(quota.values()) >= target:
                break
            if quota[arc] < capacity[arc]:
                quota[arc] += 1
                grown = True
        if not grown:
            break
    return quota


def plan_split(facts: Sequence[LineFacts], valid_fraction: float, seed: int) -> SplitPlan:
    """Decide which lines go to validation (see the module docstring for the rules)."""
    target = validation_size(len(facts), valid_fraction)
    units = [[index_of[cid] for cid in group]
             for index_of in [{f.conversation_id: i for i, f in enumerate(facts)}]
             for group in groups([(f.conversation_id, f.sketch) for f in facts])]
    arc_sizes = Counter(f.arc for f in facts)
    eligible = [u for u in units if not any(facts[i].flagged for i in u)]
    # An arc keeps at least one conversation in training; a single one stays there.
    capacity = {arc: max(size - 1, 0) for arc, size in arc_sizes.items()}
    eligible_lines = Counter(facts[i].arc for u in eligible for i in u)
    capacity = {arc: min(capacity[arc], eligible_lines[arc]) for arc in capacity}
    quota = _quotas(arc_sizes, capacity, target)

    rng = random.Random(seed)
    rng.shuffle(eligible)
    # Candidates per arc, bucketed by (persona, topic) of the unit's first conversation; a
    # bucket's list is in shuffled order, so each pick is cheap at any file size.
    buckets: dict[str, dict[tuple[str, str], list[list[int]]]] = {}
    for unit in eligible:
        first = facts[unit[0]]
        buckets.setdefault(first.arc, {}).setdefault((first.persona, first.topic), []).append(
            unit)
    tie = {key: rng.random() for arc in sorted(buckets) for key in sorted(buckets[arc])}
    taken: Counter[str] = Counter()  # per arc, lines in validation
    personas: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    valid: set[int] = set()
    for arc in sorted(buckets):
        pool = buckets[arc]
        while taken[arc] < quota[arc] and len(valid) < target:
            choices = [key for key, units_left in pool.items() if units_left]
            if not choices:
                break
            key = min(choices, key=lambda k: (personas[k[0]], topics[k[1]], tie[k]))
            unit = pool[key].pop(0)
            need = Counter(facts[i].arc for i in unit)
            if any(taken[a] + n > quota[a] for a, n in need.items()):
                continue  # a near-duplicate group too big for what is left
            for i in unit:
                valid.add(i)
                taken[facts[i].arc] += 1
                personas[facts[i].persona] += 1
                topics[facts[i].topic] += 1
    arcs = {arc: {"train": size - taken[arc], "valid": taken[arc]}
            for arc, size in sorted(arc_sizes.items())}
    return SplitPlan(valid, target, sum(1 for u in units if len(u) > 1),
                     sum(1 for f in facts if f.flagged), arcs)
