"""A conversation the file's cut-off policy trains nothing of is not added, and a training
file without a JSONL line is never handed to a trainer (an empty JSONL is no dataset)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hostile_corpus import cut_in_the_middle

from app.cli import main
from app.cutoff import CutOffPolicy, policy_label
from app.errors import LibraryError
from app.export import ExportFormat, export
from app.importer import import_paths
from app.library import Library
from app.trainingfiles import (
    add_conversations,
    list_training_files,
    member_ids,
    plan_addition,
    set_cut_off_policy,
)

# Two real fixture conversations whose first reply is cut off: trim trains nothing of them,
# and neither does weight0 (each of their replies is cut off).
FIRST_REPLY_CUT = ("fp_conversation_18dc6347-db6f-44f2-8728-0538236d3c0b",
                   "fp_conversation_330dc058-6d75-4609-96f7-b6e87b39f536")
JSONL_FORMATS = [f for f in ExportFormat if f is not ExportFormat.JSON]


def run(library: Library, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str,
                                                                                    str]:
    capsys.readouterr()
    code = main(["--data-dir", str(library.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("policy", [CutOffPolicy.TRIM, CutOffPolicy.WEIGHT0])
def test_an_add_skips_conversations_the_policy_trains_nothing_of(
        filled_library: Library, policy: CutOffPolicy) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()]
    assert set(FIRST_REPLY_CUT) <= set(ids)
    plan = plan_addition(filled_library, "Clean", ids, create=True, cut_off_policy=policy)
    assert plan.untrainable == FIRST_REPLY_CUT
    assert not set(FIRST_REPLY_CUT) & set(plan.adding)
    (why,) = [why for why, skipped in plan.skipped().items() if skipped == list(FIRST_REPLY_CUT)]
    assert f"cut-off policy ({policy_label(policy)}: " in why
    keep = plan_addition(filled_library, "Clean", ids, create=True, cut_off_policy="keep")
    assert keep.untrainable == () and set(FIRST_REPLY_CUT) <= set(keep.adding)


def test_an_existing_file_judges_by_its_own_policy(filled_library: Library) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()]
    clean = [cid for cid in ids if cid not in FIRST_REPLY_CUT]
    add_conversations(filled_library, "Keeps", clean[:2], create=True, cut_off_policy="keep")
    add_conversations(filled_library, "Trims", clean[:2], create=True)
    assert set(FIRST_REPLY_CUT) <= set(plan_addition(filled_library, "Keeps",
                                                     list(FIRST_REPLY_CUT)).adding)
    with pytest.raises(LibraryError, match=re.escape(
            "nothing to add: 2 with no reply to train under the file's cut-off policy (Trim: ")):
        add_conversations(filled_library, "Trims", list(FIRST_REPLY_CUT))
    assert member_ids(filled_library, "Trims") == clean[:2]


def test_the_command_line_names_them_and_creates_no_empty_file(
        filled_library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    filled_library.close()
    code, out, err = run(filled_library, capsys, "add", "OnlyCut", "--new", *FIRST_REPLY_CUT)
    assert code == 1
    assert out.startswith("skipped 2 with no reply to train under the file's cut-off policy "
                          "(Trim: a cut-off turn comes before its first clean reply; repair")
    assert all(cid in out for cid in FIRST_REPLY_CUT)
    assert "error: 'OnlyCut' was not created" in err
    with Library.open(filled_library.root) as library:
        assert list_training_files(library) == []


def test_add_says_what_the_policy_and_the_budget_leave_out(
        filled_library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Like the window's add review: replies left out to cut-offs, lines over the budget."""
    assert import_paths(filled_library, [cut_in_the_middle(tmp_path)]).imported == 1
    long_one = "fp_conversation_2e6e3685-eb74-46c9-b11d-13a3e162a4b5"  # 5,000+ tokens
    filled_library.close()
    code, out, err = run(filled_library, capsys, "add", "Noted", "--new",
                         "--cut-off-policy", "weight0", "--over-budget", "keep",
                         "fp_conversation_cut_in_the_middle", long_one)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "added 2 to 'Noted': now 2 conversations, 6 trainable replies"
    assert lines[1] == ("1 added conversation loses 1 cut-off reply to the 'weight0' cut-off "
                        "policy of 'Noted' (they are not trained; the full JSON keeps them "
                        "for review)")
    assert lines[2] == ("1 added conversation is over the length limit of 'Noted'; "
                        "--leave-out-over-budget leaves it out")
    assert lines[3].startswith("1 of the 2 lines of 'Noted' is longer than its length "
                               "limit of 4,096 tokens.")


def test_add_leaves_out_the_ones_over_the_budget_as_the_window_can(
        filled_library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    """The window's add review leaves them out on request ('Leave them out'): so does the
    command line, with the same reason."""
    long_one = "fp_conversation_2e6e3685-eb74-46c9-b11d-13a3e162a4b5"  # 5,000+ tokens
    ids = [row.conversation_id for row in filled_library.summaries()
           if row.conversation_id not in FIRST_REPLY_CUT]
    # A file that fits its lines has none over the budget here (tests/test_budget_fit.py)
    assert not plan_addition(filled_library, "Fits", ids, create=True).over_budget
    window = plan_addition(filled_library, "Fits", ids, create=True,
                           over_budget="keep").choose(leave_out_over_budget=True)
    assert window.left_out() == {long_one: "over_budget"}
    filled_library.close()
    code, out, err = run(filled_library, capsys, "add", "Fits", "--new", "--over-budget",
                         "keep", "--leave-out-over-budget", *ids)
    assert code == 0, err
    assert out.splitlines()[0] == ("skipped 1 over the file's length limit "
                                   f"(left out): {long_one}")
    assert "over the length limit of" not in out
    with Library.open(filled_library.root) as library:
        assert member_ids(library, "Fits") == window.adding


def test_a_policy_change_that_leaves_no_line_is_said_and_no_export_is_empty(
        filled_library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_conversations(filled_library, "OnlyCut", list(FIRST_REPLY_CUT), create=True,
                      cut_off_policy="keep")
    filled_library.close()
    code, out, err = run(filled_library, capsys, "set", "OnlyCut", "--cut-off-policy", "trim")
    assert code == 0, err
    said = ("the training file 'OnlyCut' has no line to train on: none of its 2 "
            "conversations has a reply its cut-off policy (Trim) trains, so its JSONL is "
            "empty. Add conversations with clean replies to it; the full JSON can still be "
            "saved for review.")
    assert out.splitlines()[1].startswith("Rebuilt 'OnlyCut': cut-off replies: ")
    assert out.splitlines()[2] == said + " Until then an export for a trainer is refused."
    for fmt in JSONL_FORMATS:
        target = tmp_path / "out" / f"only-cut-{fmt.value}"
        code, out, err = run(filled_library, capsys, "export", "OnlyCut", "--format",
                             fmt.value, "-o", str(target), "--recipes")
        assert (code, out) == (1, ""), fmt
        assert err == f"error: {said} Nothing was exported.\n", fmt
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir()), fmt
    code, _, err = run(filled_library, capsys, "export", "OnlyCut", "--format", "json",
                       "-o", str(tmp_path / "review.json"))
    assert code == 0, err  # the full JSON is for people: it keeps both conversations


def test_a_library_change_that_empties_the_jsonl_is_refused_on_export(
        filled_library: Library, tmp_path: Path) -> None:
    """Whatever made the JSONL empty, the export says so instead of writing 0 bytes."""
    add_conversations(filled_library, "Cut", list(FIRST_REPLY_CUT), create=True,
                      cut_off_policy="keep")
    set_cut_off_policy(filled_library, "Cut", "weight0")
    with pytest.raises(LibraryError, match=re.escape(
            "none of its 2 conversations has a reply its cut-off policy (Keep as context, "
            "weight 0) trains")):
        export(filled_library, "Cut", ExportFormat.JSONL, tmp_path / "cut.jsonl")
    assert not (tmp_path / "cut.jsonl").exists()
