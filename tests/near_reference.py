"""The add review's near-duplicate check as it was before it stopped at the first near one
(every pair compared, every twin listed, the closest first), and the review's rule applied
to those lists: the reference the faster check must agree with
(``test_near_on_add_sameness``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.library import Library
from app.near_in_file import _file_sketches, _sketches_of, lookup_keys
from app.similar import Unpacked, closeness, near_matches
from app.trainingfiles import AddPlan

Twins = dict[str, tuple[str, ...]]


def all_twins(library: Library, name: str | None, new: Sequence[tuple[str, int]]) -> Twins:
    """New id -> every member or earlier new one it nearly repeats, the closest first."""
    by_key: dict[int, list[tuple[str, bytes]]] = {}

    def index(cid: str, sketch: bytes) -> None:
        for key in lookup_keys(sketch):
            by_key.setdefault(key, []).append((cid, sketch))

    for member, sketch in (_file_sketches(library, name) if name is not None else []):
        index(member, sketch)
    sketches = _sketches_of(library, [pk for _cid, pk in new])
    unpacked: dict[bytes, Unpacked] = {}
    found: Twins = {}
    for cid, pk in new:
        mine = sketches.get(pk)
        if mine is None:
            continue
        candidates = {pair for key in lookup_keys(mine) for pair in by_key.get(key, ())}
        matches = near_matches(mine, sorted(candidates), unpacked)
        if matches:
            found[cid] = tuple(m.conversation_id
                               for m in sorted(matches, key=closeness, reverse=True))
        index(cid, mine)
    return found


def _repeats(plan: AddPlan, twins: Twins, cid: str, out: Mapping[str, str]) -> bool:
    new = frozenset(plan.new)
    return any(twin not in new or twin not in out for twin in twins.get(cid, ()))


def left_out(plan: AddPlan, twins: Twins) -> dict[str, str]:
    """``AddPlan.left_out`` as it was, judged on the full lists."""
    out: dict[str, str] = {}
    for cid in plan.new:
        for chosen, key in (
                (plan.leave_out_hidden and cid in plan.hidden, "hidden"),
                (plan.leave_out_flagged and cid in plan.flagged, "flagged"),
                (plan.leave_out_near_duplicates and _repeats(plan, twins, cid, out), "near"),
                (plan.leave_out_samples and cid in plan.samples, "samples"),
                (plan.leave_out_over_budget and cid in plan.over_budget, "over_budget")):
            if chosen:
                out[cid] = key
                break
    return out


def near_duplicates_added(plan: AddPlan, twins: Twins) -> list[str]:
    """``AddPlan.near_duplicates_added`` as it was."""
    out = left_out(plan, twins)
    return [cid for cid in plan.new if cid not in out and _repeats(plan, twins, cid, out)]
