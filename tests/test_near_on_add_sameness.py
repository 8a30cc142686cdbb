"""The add review's near-duplicate check stops at the first near conversation instead of
listing every one (in a library of one template's re-generations each new conversation
nearly repeats thousands: 5.5 million comparisons for 10,000). What the review shows and
does must not change: the same conversations counted as near-duplicates, and for every
choice the same ones left out and the same ones reported as added beside their twin, as the
full lists gave (``near_reference``). Checked on the real fixtures, the tests'
near-duplicate files, and a generated library of clustered re-generations (real files,
imported), with cancel stopping the check."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import near_reference
import pytest
from common_sentences import (
    near_twin,
    regeneration,
    smallest_sentences,
    stock_dialogues,
    templates,
    vocabulary,
    write,
)
from conftest import ENRICHED, LEGACY
from shorter_copy import shorter_copy

from app.build import BuildCancelled
from app.importer import import_paths
from app.library import Library
from app.trainingfiles import AddPlan, add_conversations, plan_addition

CHOICES = ("leave_out_hidden", "leave_out_flagged", "leave_out_near_duplicates",
           "leave_out_samples", "leave_out_over_budget")
FILLER = [f"Sentence number {n} is about the garden we planted in spring." for n in range(40)]


def _regenerations(folder: Path, seed: int, count: int) -> list[Path]:
    """Re-generations of two real fixtures: each keeps a random share of the sentences of
    its last reply, gains random sentences of a shared pool, and some end early (shorter
    copies). Near ones chain without being near end to end, as real re-generations do."""
    rng = random.Random(seed)
    paths = []
    for number in range(count):
        source = ENRICHED[number % 2]
        document = json.loads(source.read_text(encoding="utf-8"))
        cid = f"fp_conversation_regen_{seed}_{number}"
        document["dataset_metadata"]["dataset_name"] = cid
        pairs = document["training_pairs"]
        for pair in pairs:
            pair["conversation_id"] = cid
        if rng.random() < 0.25:
            pairs[:] = pairs[: rng.randint(2, len(pairs))]
        replied = [p for p in pairs if p["target_response"]]
        for pair in replied:
            sentences = pair["target_response"].split(". ")
            kept = [s for s in sentences if rng.random() < 0.85] or sentences[:1]
            pair["target_response"] = ". ".join(kept)
        replied[-1]["target_response"] += " " + " ".join(
            rng.sample(FILLER, rng.randint(0, 25))) + f" Closing line {number}."
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{cid}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def _assert_same(library: Library, plan: AddPlan, name: str | None, seed: int) -> int:
    """The plan agrees with the full lists for every choice, on its own groups and on
    random ones; returns how many near-duplicates it found."""
    new = list(zip(plan.new, plan.new_pks, strict=True))
    twins = near_reference.all_twins(library, name, new)
    assert plan.near_duplicates == tuple(cid for cid in plan.new if cid in twins)
    rng = random.Random(seed)
    plans = [plan]
    for _ in range(6):
        def some() -> frozenset[str]:
            return frozenset(c for c in plan.new if rng.random() < 0.3)
        plans.append(replace(plan, hidden=some(), flagged=some(), samples=some(),
                             over_budget=some()))
    for variant in plans:
        for flags in itertools.product((False, True), repeat=len(CHOICES)):
            chosen = variant.choose(**dict(zip(CHOICES, flags, strict=True)))
            assert chosen.left_out() == near_reference.left_out(chosen, twins), flags
            assert chosen.near_duplicates_added() == near_reference.near_duplicates_added(
                chosen, twins), flags
    return len(twins)


def test_the_fixtures_and_near_duplicate_files_give_the_same_review(
        library: Library, tmp_path: Path) -> None:
    from test_add_review import near_twin_file

    import_paths(library, [*ENRICHED, *LEGACY, shorter_copy(tmp_path / "short", 3),
                           shorter_copy(tmp_path / "short5", 5, "fp_conversation_short5"),
                           near_twin_file(tmp_path / "twin")])
    ids = [row.conversation_id for row in library.summaries()]
    plan = plan_addition(library, "All", ids, create=True)
    assert _assert_same(library, plan, None, 1) >= 3
    add_conversations(library, "Half", ids[::2], create=True)
    assert _assert_same(library, plan_addition(library, "Half", ids), "Half", 2) >= 1


@pytest.mark.parametrize("seed", [3, 4])
def test_clustered_regenerations_give_the_same_review(library: Library, tmp_path: Path,
                                                      seed: int) -> None:
    import_paths(library, [*ENRICHED, *_regenerations(tmp_path / "regen", seed, 120)])
    ids = [row.conversation_id for row in library.summaries()]
    random.Random(seed).shuffle(ids)
    plan = plan_addition(library, "All", ids, create=True)
    found = _assert_same(library, plan, None, seed)
    assert 10 < found < len(plan.new)  # both near and not near ones
    add_conversations(library, "Some", ids[:40], create=True)
    _assert_same(library, plan_addition(library, "Some", ids[20:]), "Some", seed)


def test_dialogues_sharing_stock_lines_give_the_same_review(library: Library,
                                                           tmp_path: Path) -> None:
    """Different dialogues that all hold two stock lines among their smallest sentence
    hashes (the check no longer compares them pair by pair), some re-generated: with a
    fifth to a third of their sentences changed, or with the sentences behind their
    smallest hashes changed (sharing little but the stock lines among those): the same
    decisions as the full lists."""
    rng = random.Random(8)
    words = vocabulary(templates())
    stock = stock_dialogues(tmp_path / "stock", 120, seed=8)
    again = []
    for number, path in enumerate(stock[::4]):
        document = json.loads(path.read_text(encoding="utf-8"))
        cid = f"fp_conversation_again_{number}"
        again.append(write(tmp_path / "again", near_twin(
            document, cid, smallest_sentences(document, 10), rng, words) if number % 2 else
            regeneration(document, cid, rng.uniform(0.2, 0.35), rng, words)))
    import_paths(library, [*ENRICHED, *stock, *again])
    ids = [row.conversation_id for row in library.summaries()]
    rng.shuffle(ids)
    plan = plan_addition(library, "All", ids, create=True)
    assert 10 < _assert_same(library, plan, None, 8) < len(plan.new)
    add_conversations(library, "Some", ids[:50], create=True)
    _assert_same(library, plan_addition(library, "Some", ids[30:]), "Some", 8)


def test_cancel_stops_the_near_duplicate_check(library: Library, tmp_path: Path) -> None:
    """Cancel during the check ends the plan (``BuildCancelled``) before it has looked at
    every conversation; the progress said what it was doing and how far it was."""
    import_paths(library, _regenerations(tmp_path / "regen", 5, 250))
    ids = [row.conversation_id for row in library.summaries()]
    seen: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, what: str) -> None:
        seen.append((done, total, what))

    def cancelled() -> Any:
        return any(what.startswith("looking for near") and done > 0
                   for done, _total, what in seen)

    with pytest.raises(BuildCancelled):
        plan_addition(library, "All", ids, create=True, progress=progress,
                      cancelled=cancelled)
    near = [(done, total) for done, total, what in seen if what.startswith("looking for near")]
    assert near and 0 < near[-1][0] < near[-1][1]


def test_a_plan_stays_hashable_and_its_copies_equal() -> None:
    """A plan is a frozen value the window may keep in a set or a cache: its near-duplicate
    check (which holds the sketches) is shared by its copies and compared by identity."""
    plan = AddPlan(name="x", create=True, requested=0, new=(), new_pks=(), already=(),
                   missing=(), without_reply=(), untrainable=())
    copy = replace(plan, requested=0)
    assert hash(plan) == hash(copy) and plan == copy
