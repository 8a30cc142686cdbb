"""One display name per code, wherever the window shows it."""

from __future__ import annotations

import pytest

from app.labels import display_name


@pytest.mark.parametrize(("code", "name"), [
    ("confusion_to_clarity", "Confusion → Clarity"),
    ("couple_conflict_to_alignment", "Couple Conflict → Alignment"),
    ("grandparent_529", "Grandparent 529"),
    ("pragmatic_optimist", "Pragmatic Optimist"),
    ("unanswered_last_turn", "Unanswered Last Turn"),
    ("planning_for_eldercare", "Planning for Eldercare"),
    ("rsus_and_company_stock", "RSUs and Company Stock"),
    ("roth_ira_conversion", "Roth IRA Conversion"),
    ("production", "Production"),
])
def test_codes_read_as_names(code, name):
    assert display_name(code) == name


@pytest.mark.parametrize("text", ["Shame → Acceptance", "batch-2025-12", "Batch_A",
                                  "sample batch", "fp_conversation 7"])
def test_text_that_is_not_a_code_is_left_alone(text):
    assert display_name(text) == text


@pytest.mark.parametrize("empty", ["", None])
def test_no_code_is_no_name(empty):
    assert display_name(empty) == ""


def test_the_names_match_what_the_real_files_call_their_arcs(filled_library):
    """The fixtures carry both the code and the generator's name for each arc."""
    pairs = {(r.emotional_arc_key, r.emotional_arc) for r in filled_library.summaries()
             if r.emotional_arc_key}
    assert pairs
    for code, name in pairs:
        assert display_name(code) == name
