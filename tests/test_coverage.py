"""Coverage of a training file: persona × arc (or topic) counts over the library's values."""

from __future__ import annotations

from collections import Counter

from app.coverage import NONE, Axis, coverage
from app.trainingfiles import add_conversations


def test_counts_and_gaps_over_every_value_the_library_knows(filled_library):
    rows = filled_library.summaries()
    chosen = [r for r in rows if r.persona_archetype][:3]
    add_conversations(filled_library, "Some", [r.conversation_id for r in chosen], create=True)

    grid = coverage(filled_library, "Some", Axis.PERSONA, Axis.ARC)
    expected = Counter((r.persona_archetype, r.emotional_arc_key or NONE) for r in chosen)
    assert {cell: grid.count(*cell) for cell in expected} == dict(expected)
    assert sum(grid.counts.values()) == 3
    # Rows and columns are the library's values, the file's missing ones included; "no
    # value" only when a member lacks one (here none does, though the legacy ones do).
    assert set(grid.rows) == {r.persona_archetype for r in rows if r.persona_archetype}
    assert set(grid.columns) == {r.emotional_arc_key for r in rows if r.emotional_arc_key}
    assert len(grid.gaps()) == len(grid.rows) * len(grid.columns) - len(expected)
    assert grid.without_value() == 0
    assert grid.row_total(chosen[0].persona_archetype) == sum(
        1 for r in chosen if r.persona_archetype == chosen[0].persona_archetype)

    topics = coverage(filled_library, "Some", Axis.PERSONA, Axis.TOPIC)
    assert set(topics.columns) == {r.training_topic_key for r in rows if r.training_topic_key}
    assert sum(topics.counts.values()) == 3


def test_no_value_is_a_row_and_column_of_its_members_not_a_combination(filled_library):
    rows = filled_library.summaries()
    legacy = [r.conversation_id for r in rows if not r.persona_archetype][:2]
    valued = next(r for r in rows if r.persona_archetype and r.emotional_arc_key)
    add_conversations(filled_library, "Mixed", [*legacy, valued.conversation_id], create=True)
    grid = coverage(filled_library, "Mixed", Axis.PERSONA, Axis.ARC)
    assert grid.rows[-1] == NONE and grid.columns[-1] == NONE  # listed last
    assert grid.count(NONE, NONE) == 2 and grid.without_value() == 2
    combinations = grid.combinations()
    assert len(combinations) == (len(grid.rows) - 1) * (len(grid.columns) - 1)
    assert not any(NONE in cell for cell in combinations + grid.gaps())
    assert len(grid.gaps()) == len(combinations) - 1
    assert not grid.is_gap(NONE, grid.columns[0]) and not grid.is_gap(grid.rows[0], NONE)
