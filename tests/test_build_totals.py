"""A training file's header totals (app/file_totals.py, app/build_delta.py): kept by adding
and subtracting the conversations a change touches, they always equal the totals made from
scratch, and the header made from them equals the header computed straight from the
members' digests; a library build takes that way only when its stored totals still
describe the file's members."""

from __future__ import annotations

import math
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import corrected
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from old_schema import downgrade
from stored import stored_bytes

from app import FORMAT_VERSION, trainingfiles
from app.build import make_header, write_training_files
from app.build_delta import Delta
from app.cutoff import CutOffPolicy
from app.file_totals import FileTotals, StoredTotals, contribution, contribution_of_lines
from app.fullfile import FORMAT_NAME, build_header
from app.importer import import_paths
from app.library import Library
from app.models import TrainingFile
from app.review_marks import mark_reviewed
from app.token_lines import histogram_percentile, percentile
from app.trainingfiles import add_conversations, remove_conversations

NAME = "Totals"
POLICIES = [p.value for p in CutOffPolicy]


# --- the totals themselves, against a straight computation -----------------------------

def _distribution(values: Sequence[Any]) -> dict[str, int]:
    counts = Counter("(none)" if v is None else str(v) for v in values)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def reference_header(digests: Sequence[dict[str, Any]], policy: str) -> dict[str, Any]:
    """The header as computed straight from the digests (as the code did before totals),
    the mean reply score taken from the exact sum (``math.fsum``)."""
    trained = [d["policies"][policy] for d in digests]
    scores = [s for d in digests for s in d["reply_scores"]
              if isinstance(s, int | float) and math.isfinite(s)]
    warnings = Counter(code for d in digests for code in d["warning_codes"])
    left_out: Counter[str] = Counter()
    for item in trained:
        left_out.update(item["left_out"])
    return {
        "name": NAME, "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "created_at": "c",
        "updated_at": "u", "jsonl_file": "f.jsonl",
        "system_message": "system_prompt followed by the session's scaffolding",
        "cut_off_policy": policy,
        "totals": {
            "conversations": len(digests),
            "messages": sum(d["messages"] for d in digests),
            "trainable_replies": sum(t["trainable_replies"] for t in trained),
            "jsonl_lines": sum(1 for t in trained if t["trainable_replies"]),
            "estimated_tokens": sum(t["estimated_tokens"] for t in trained),
            "replies_left_out": sum(left_out.values()),
        },
        "quality_summary": {
            "mean_reply_score": round(math.fsum(scores) / len(scores), 3) if scores else None,
            "min_reply_score": min(scores) if scores else None,
            "max_reply_score": max(scores) if scores else None,
            "human_reviewed_conversations": sum(1 for d in digests if d["human_reviewed"]),
            "conversations_with_warnings": sum(1 for d in digests if d["warning_codes"]),
            "warnings_by_code": dict(sorted(warnings.items())),
            "by_quality_tier": _distribution([d["quality_tier"] for d in digests]),
            "repaired_conversations": warnings.get("text_repaired", 0),
            "replies_left_out_by_reason": dict(sorted(left_out.items())),
            "conversations_without_trained_reply": sum(
                1 for t in trained if not t["trainable_replies"]),
        },
        "scaffolding_distribution": {
            "persona_archetype": _distribution([d["persona_archetype"] for d in digests]),
            "emotional_arc": _distribution([d["emotional_arc_key"] for d in digests]),
            "training_topic": _distribution([d["training_topic_key"] for d in digests]),
            "batch": _distribution([d["batch_id"] for d in digests]),
        },
    }


few = st.sampled_from
policy_digests = st.fixed_dictionaries({
    "trained_messages": st.integers(0, 40), "trainable_replies": st.integers(0, 20),
    "estimated_tokens": st.integers(0, 10_000),
    "left_out": st.dictionaries(few(["cut_off", "empty", "repaired"]), st.integers(1, 5),
                                max_size=2)})
digests = st.fixed_dictionaries({
    "conversation_id": st.uuids().map(str),
    "batch_id": few(["b1", "b2", None]),
    "quality_tier": few(["gold", "silver", None]),
    "persona_archetype": few(["saver", "spender", None]),
    "emotional_arc_key": few(["calm", "anxious", None]),
    "training_topic_key": few(["tax", "pension", None]),
    "messages": st.integers(0, 60),
    "trained_messages": st.integers(0, 60),
    "trainable_replies": st.integers(0, 30),
    # Finite floats that do not add up exactly in binary, plus ints and infinities (skipped).
    "reply_scores": st.lists(st.one_of(
        few([0.1, 0.2, 0.3, 0.7, 1e-17, 1e16, 2.5]), st.floats(-1e6, 1e6),
        st.integers(-3, 10), few([math.inf, -math.inf])), max_size=6),
    "human_reviewed": st.booleans(),
    "warning_codes": st.lists(few(["text_repaired", "short", "near_duplicate"]),
                              max_size=2, unique=True),
    "estimated_tokens": st.integers(0, 10_000),
    "profile_hash": few(["p1", "p2"]),
    "policies": st.fixed_dictionaries({p: policy_digests for p in POLICIES}),
})
members = st.tuples(digests, st.lists(st.integers(1, 9000), max_size=3))


@settings(max_examples=150, deadline=None)
@given(st.lists(members, max_size=12), st.lists(st.tuples(st.booleans(), members), max_size=30),
       few(POLICIES))
def test_totals_kept_by_changes_equal_totals_from_scratch(
    start: list[Any], changes: list[tuple[bool, Any]], policy: str,
) -> None:
    """Random adds and removes, each applied as a delta: at every step the totals, and the
    header made from them, equal those made from scratch and the straight computation."""
    def part(item: Any) -> Counter[Any]:
        digest, tokens = item
        return contribution(digest, policy, tokens, 7 * len(tokens), 3)

    current = list(start)
    totals = FileTotals.of(part(m) for m in current)
    for add, item in changes:
        if add:
            current.append(item)
            totals = totals.changed([part(item)], [])
        elif current:
            gone = current.pop(len(current) // 2)
            totals = totals.changed([], [part(gone)])
        from_scratch = FileTotals.of(part(m) for m in current)
        assert totals == from_scratch
        stored = StoredTotals(totals, "s", None, "m").dumps()  # and it reads back the same
        assert StoredTotals.loads(stored) == StoredTotals(from_scratch, "s", None, "m")
        header = build_header(NAME, [d for d, _ in current], "c", "u", "f.jsonl", policy)
        assert header == reference_header([d for d, _ in current], policy)
        lines = [n for _, tokens in current for n in tokens]
        histogram = totals.line_tokens()
        assert histogram_percentile(histogram, 0.95) == percentile(lines, 0.95)
        assert sum(n * c for n, c in histogram) == sum(lines)
        assert totals.n("json_size") == 7 * len(lines)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 100_000), max_size=300),
       st.floats(0.01, 1.0))
def test_a_histograms_percentile_is_the_lists(values: list[int], share: float) -> None:
    histogram = sorted(Counter(values).items())
    assert histogram_percentile(histogram, share) == percentile(values, share)


def test_a_header_from_totals_has_the_tokens_of_its_lines() -> None:
    from app.tokens import default_counter

    counter = default_counter()
    tokens = [5, 900, 4097, 4096, 12, 12]
    header = make_header(NAME, [], tokens, created_at="c", updated_at="u",
                         jsonl_name="f.jsonl", cut_off_policy="trim", counter=counter,
                         max_seq_len=4096)
    assert header["tokens"]["total"] == sum(tokens)
    assert header["tokens"]["max"] == 4097
    assert header["tokens"]["p95"] == percentile(tokens, 0.95)
    assert header["tokens"]["lines_over_max_seq_len"] == 1
    assert FileTotals.of([contribution_of_lines(tokens)]).line_tokens() == [
        (5, 1), (12, 2), (900, 1), (4096, 1), (4097, 1)]


# --- the library's builds -----------------------------------------------------------------

@pytest.fixture
def lib(filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> Library:
    monkeypatch.setattr(trainingfiles, "now_iso", lambda: "2026-01-01T00:00:00Z")
    return filled_library


class Deltas:
    """Whether each build took the delta (the real planner, watched)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken: list[bool] = []
        real = trainingfiles.plan_delta

        def watch(*args: Any, **kwargs: Any) -> Delta | None:
            result = real(*args, **kwargs)
            self.taken.append(result is not None)
            return result

        monkeypatch.setattr(trainingfiles, "plan_delta", watch)


def _ids(library: Library) -> list[str]:
    """The conversations an add to a file of the default policy takes (trim trains nothing
    of a conversation cut off in its first reply: an add skips it)."""
    ids = [row.conversation_id for row in library.summaries() if row.trainable_replies]
    return list(trainingfiles.plan_addition(library, "any name", ids, create=True).new)


def _stored_totals(library: Library, name: str) -> StoredTotals:
    with library.session() as session:
        row = session.query(TrainingFile).filter_by(name=name).one()
        found = StoredTotals.loads(row.totals)
    assert found is not None
    return found


def assert_like_a_full_rebuild(library: Library, name: str) -> None:
    """The stored build, byte for byte, and its stored totals, equal a render of the
    whole file from scratch made elsewhere (the library's own build stays as it is)."""
    incremental = stored_bytes(library, name)
    head = trainingfiles.header(library, name)
    pks = trainingfiles._member_pks(library, name)
    digests = trainingfiles._digests(library, pks)
    info = trainingfiles.get_training_file(library, name)
    with tempfile.TemporaryDirectory() as folder:
        full = write_training_files(
            Path(folder, "full.json"), Path(folder, "full.jsonl"), name=name,
            digests=digests, records=Library.records_by_pk(library, pks),
            profile_of=library.profile, created_at=head["created_at"],
            updated_at=head["updated_at"], jsonl_name=f"{name}.jsonl",
            cut_off_policy=head["cut_off_policy"], max_seq_len=info.max_seq_len,
            over_budget=info.over_budget)
        assert (full.json_path.read_bytes(), full.jsonl_path.read_bytes()) == incremental
    stored = _stored_totals(library, name)
    jsonl = incremental[1].splitlines()
    tokens = [orjson.loads(line)["metadata"]["token_count"] for line in jsonl]
    assert stored.totals.line_tokens() == sorted(Counter(tokens).items())
    assert stored.totals.n("jsonl_size") == len(incremental[1])
    assert stored.totals.n("conversations") == len(pks)
    without_sizes = FileTotals(Counter({fact: n for fact, n in stored.totals.facts.items()
                                        if fact[0] not in ("n", "tokens")}))
    policy = head["cut_off_policy"]
    lines = {line["metadata"]["conversation_id"]: line for line in map(orjson.loads, jsonl)}

    def fitted(digest: Any) -> tuple[int, int]:
        """The replies a line left out to fit the token budget (app.budget_fit): those
        its metadata leaves out beyond the cut-off policy's."""
        line = lines.get(digest["conversation_id"])
        if line is None:
            return 0, 0
        policy_left_out = sum(digest["policies"][policy]["left_out"].values())
        return line["metadata"]["left_out_replies"] - policy_left_out, 0

    assert without_sizes == FileTotals.of(
        Counter({f: n for f, n in contribution(d, policy, (), 0, 0, fitted(d)).items()
                 if f[0] != "n"})
        for d in digests)


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@example(steps=[(False, 0), (False, 0), (False, 0), (True, 0)])  # emptied, then one added
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), min_size=1, max_size=5))
def test_random_adds_and_removes_keep_the_build_a_full_rebuild(
    lib: Library, monkeypatch: pytest.MonkeyPatch, steps: list[tuple[bool, int]],
) -> None:
    ids = _ids(lib)
    if NAME in [f.name for f in trainingfiles.list_training_files(lib)]:
        trainingfiles.delete_training_file(lib, NAME)
    add_conversations(lib, NAME, ids[:3], create=True)
    deltas = Deltas(monkeypatch)
    for add, pick in steps:
        members = trainingfiles.member_ids(lib, NAME)
        outside = [cid for cid in ids if cid not in members]
        if add and outside:
            add_conversations(lib, NAME, [outside[pick % len(outside)]])
        elif members:
            remove_conversations(lib, NAME, [members[pick % len(members)]])
        else:
            continue
        assert deltas.taken[-1], "a plain add or remove read the whole file"
        assert_like_a_full_rebuild(lib, NAME)


def _totals_forgotten(library: Library, name: str) -> bool:
    """No totals a build could use (none: a rebuild owed forgets them too)."""
    with library.session() as session:
        totals = session.query(TrainingFile).filter_by(name=name).one().totals
    return StoredTotals.loads(totals) is None


def test_a_change_to_a_member_makes_the_next_change_read_the_whole_file(
        lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding and removing trust the kept members to be as built: every change to a
    conversation forgets the totals of the files holding it, so that trust holds."""
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:5], create=True)
    add_conversations(lib, "Other", ids[7:9], create=True)
    deltas = Deltas(monkeypatch)
    mark_reviewed(lib, [ids[1]], "Ana")  # and no rebuild follows
    assert _totals_forgotten(lib, NAME) and not _totals_forgotten(lib, "Other")
    add_conversations(lib, NAME, [ids[5]])
    assert deltas.taken == [False]
    assert_like_a_full_rebuild(lib, NAME)
    mark_reviewed(lib, [ids[2]], "Ana")
    remove_conversations(lib, NAME, [ids[2]])  # the removed one changed: not subtracted
    assert deltas.taken == [False, False]
    assert_like_a_full_rebuild(lib, NAME)
    add_conversations(lib, NAME, [ids[6]])  # unchanged since: the delta again
    assert deltas.taken[-1]
    assert_like_a_full_rebuild(lib, NAME)


def test_a_member_row_gone_behind_the_builds_back_takes_the_full_way(
        lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:5], create=True)
    pk = lib.resolve_ids([ids[3]])[ids[3]]
    database = lib.root / "library.sqlite3"
    conn = sqlite3.connect(database)
    conn.execute("DELETE FROM training_file_members WHERE conversation_pk = ?", (pk,))
    conn.commit()
    conn.close()
    deltas = Deltas(monkeypatch)
    add_conversations(lib, NAME, [ids[5]])
    assert deltas.taken and not any(deltas.taken)
    assert_like_a_full_rebuild(lib, NAME)


def test_stored_totals_that_do_not_read_back_are_made_again(
        lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:4], create=True)
    with lib.session() as session, session.begin():
        session.query(TrainingFile).filter_by(name=NAME).one().totals = b"{not json"
    deltas = Deltas(monkeypatch)
    remove_conversations(lib, NAME, [ids[0]])
    assert deltas.taken == [False]
    assert_like_a_full_rebuild(lib, NAME)
    add_conversations(lib, NAME, [ids[0]])
    assert deltas.taken[-1]
    assert_like_a_full_rebuild(lib, NAME)


def test_a_v6_library_gets_totals_at_its_first_change(
        lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:4], create=True)
    before = stored_bytes(lib, NAME)
    root = lib.root
    lib.close()
    downgrade(root / "library.sqlite3", 6)
    with Library(root) as upgraded:
        assert stored_bytes(upgraded, NAME) == before
        deltas = Deltas(monkeypatch)
        add_conversations(upgraded, NAME, [ids[4]])
        assert deltas.taken == [False]  # no totals yet: made from every member
        assert_like_a_full_rebuild(upgraded, NAME)
        remove_conversations(upgraded, NAME, [ids[1]])
        assert deltas.taken[-1]
        assert_like_a_full_rebuild(upgraded, NAME)


def test_moving_renaming_and_replacing_forget_the_totals_of_the_files_holding_them(
        lib: Library, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:4], create=True)
    add_conversations(lib, "Other", ids[6:8], create=True)
    deltas = Deltas(monkeypatch)
    steps = [
        lambda: lib.move_conversations([ids[1]], "moved"),
        lambda: lib.rename_batch("moved", "renamed"),
        lambda: import_paths(lib, [corrected(ids[2], tmp_path)], replace=True),
    ]
    for number, step in enumerate(steps):
        step()
        assert _totals_forgotten(lib, NAME), number
        assert not _totals_forgotten(lib, "Other"), number
        add_conversations(lib, NAME, [ids[4 + number % 2]]) if number < 2 else \
            remove_conversations(lib, NAME, [ids[4]])
        assert deltas.taken[-1] is False
        assert_like_a_full_rebuild(lib, NAME)
        assert not _totals_forgotten(lib, NAME)  # made again by that build
    assert b"(Corrected.)" in stored_bytes(lib, NAME)[1]


