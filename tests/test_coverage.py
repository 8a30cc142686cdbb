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
    # Rows and columns are the library's values, the file's missing ones included.
    assert set(grid.rows) == {r.persona_archetype or NONE for r in rows}
    assert set(grid.columns) == {r.emotional_arc_key or NONE for r in rows}
    assert grid.rows[-1] == NONE  # legacy conversations have no archetype: listed last
    assert len(grid.gaps()) == len(grid.rows) * len(grid.columns) - len(expected)
    assert grid.row_total(chosen[0].persona_archetype) == sum(
        1 for r in chosen if r.persona_archetype == chosen[0].persona_archetype)

    topics = coverage(filled_library, "Some", Axis.PERSONA, Axis.TOPIC)
    assert set(topics.columns) == {r.training_topic_key or NONE for r in rows}
    assert sum(topics.counts.values()) == 3
