"""A file that ends longer lines at their last whole reply that fits (``fit``) still writes
a line whole when its first reply alone is longer than the budget, and every reply of it
counts as trained: a trainer then cuts that first reply and trains the cut. The build keeps
doing so (the person's choice); the add review, the command line and the file's details say
it plainly for those lines, and the review offers to leave them out. Real library, the real
fixtures, the real tokenizer and chat template."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.budget_fit import reply_ends
from app.cli import added_notes
from app.jsonl import jsonl_lines
from app.library import Library
from app.tokens import default_counter
from app.trainingfiles import (
    AddPlan,
    add_conversations,
    apply_addition,
    change_settings,
    header,
    plan_addition,
)
from ui.add_review import AddReviewDialog
from ui.file_settings import over_budget_text

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

LIMIT = 700  # some of the fixtures' first replies fit in it, some do not
ENRICHED_1 = "fp_conversation_2e6e3685-eb74-46c9-b11d-13a3e162a4b5"  # first reply 1,153


def _first_reply_over(library: Library, ids: list[str] | tuple[str, ...]) -> set[str]:
    """Counted here, apart from the app: those whose line ended at its first reply is still
    longer than ``LIMIT``."""
    counter = default_counter()
    over = set()
    for cid in ids:
        line, = (line["messages"] for line in jsonl_lines(library.record(cid), "Small"))
        if counter.count(line[:reply_ends(line)[0]]) > LIMIT:
            over.add(cid)
    return over


@pytest.fixture
def small(filled_library: Library) -> tuple[Library, AddPlan]:
    """'Small' (fit, 700 tokens) and the plan to add every other trainable conversation."""
    add_conversations(filled_library, "Small", [ENRICHED_1], create=True)
    change_settings(filled_library, "Small", max_seq_len=LIMIT)
    ids = [row.conversation_id for row in filled_library.summaries()
           if row.conversation_id != ENRICHED_1]
    return filled_library, plan_addition(filled_library, "Small", ids)


def test_the_review_says_a_first_reply_is_too_long_and_leaves_those_out(
        qtbot, small: tuple[Library, AddPlan]) -> None:
    library, plan = small
    first_over = _first_reply_over(library, plan.new)
    assert 1 < len(first_over) < len(plan.new) and plan.over_budget == first_over
    assert plan.fits_lines and plan.max_seq_len == LIMIT
    review = AddReviewDialog(plan)
    qtbot.addWidget(review)
    n = len(first_over)
    assert review.counts["over_budget"].text() == str(n)
    assert review.texts["over_budget"].text() == (
        "of the new ones have a first reply longer than the file's length limit")
    tip = review.leave_out_over_budget.toolTip()
    assert tip == review.texts["over_budget"].toolTip()
    assert tip.startswith(
        f"{n} new conversations have a first reply longer than the file's length limit "
        f"({LIMIT:,} tokens) on its own: the file cannot end their lines at a reply "
        "that fits, so it writes them whole and every reply in them counts as trained. TRL "
        "would cut them inside that first reply and train the cut reply (nothing after it "
        "is learned); Axolotl would leave them out. So they are left out unless you untick "
        "this; to keep them, raise the limit")
    # No trainer trains such a line right: left out unless the person keeps them.
    assert review.leave_out_over_budget.isEnabled()
    assert review.leave_out_over_budget.isChecked()
    assert set(review.chosen().left_out()) == first_over
    assert review.add_button.text() == f"Add {len(plan.new) - n:,}"
    review.leave_out_over_budget.setChecked(False)
    assert review.chosen().left_out() == {}
    assert review.add_button.text() == f"Add {len(plan.new):,}"


def test_a_file_that_writes_lines_whole_keeps_them_unless_told(
        qtbot, small: tuple[Library, AddPlan]) -> None:
    """There the person chose lines written whole: the box is offered, not ticked."""
    library, _plan = small
    change_settings(library, "Small", over_budget="keep")
    ids = [row.conversation_id for row in library.summaries()
           if row.conversation_id != ENRICHED_1]
    plan = plan_addition(library, "Small", ids)
    assert plan.over_budget and not plan.fits_lines
    review = AddReviewDialog(plan)
    qtbot.addWidget(review)
    assert review.leave_out_over_budget.isEnabled()
    assert not review.leave_out_over_budget.isChecked()


def test_the_command_line_leaves_them_out_unless_kept(
        small: tuple[Library, AddPlan], library_location, capsys) -> None:
    from app.cli import main
    from app.trainingfiles import member_ids
    library, plan = small
    ids = sorted(plan.new)
    over = sorted(plan.over_budget)
    args = ["--library", str(library_location)]
    library.close()  # (the command line opens it as another LoRA Studio would)

    def members() -> set[str]:
        again = Library.open(library_location)
        try:
            return set(member_ids(again, "Small"))
        finally:
            again.close()

    assert main([*args, "add", "Small", *ids]) == 0
    out = capsys.readouterr().out
    assert (f"left out {len(over)} conversations whose first reply alone is longer than the "
            f"length limit of 'Small' ({LIMIT:,} tokens): no trainer trains such a line "
            "right (TRL cuts inside that reply and trains the cut); --keep-over-budget adds "
            "them whole: ") in out
    assert not set(over) & members() and set(ids) - set(over) <= members()
    assert main([*args, "add", "Small", "--keep-over-budget", *over]) == 0
    assert set(over) <= members()


def test_after_the_add_the_notes_and_the_details_say_why_those_lines_stay_long(
        small: tuple[Library, AddPlan]) -> None:
    library, plan = small
    apply_addition(library, plan)
    head = header(library, "Small")
    over = len(plan.over_budget) + 1  # and enriched-1, whose first reply is 1,153 tokens
    assert head["tokens"]["lines_over_max_seq_len"] == over
    notes = added_notes(plan, head)
    n = len(plan.over_budget)
    assert (f"{n} added conversations have a first reply longer than the length limit of "
            "'Small' on its own: written whole, every reply counted as trained (a trainer "
            "cuts them inside that reply); --leave-out-over-budget leaves them out") in notes
    details = over_budget_text("Small", head)
    lines = head["totals"]["jsonl_lines"]
    assert details is not None and details.startswith(
        f"{over} of the {lines} lines of 'Small' are longer than its length "
        f"limit of {LIMIT:,} tokens: their first reply alone is longer, so there is no "
        "shorter ending that fits and those lines are written whole, every reply in them "
        "counted as trained. The trainer recipes pass that limit on: TRL would cut those "
        f"lines at {LIMIT:,} tokens, inside the first reply, and train the cut reply "
        "(nothing after that point is learned) and Axolotl would leave them out.")
    assert "or remove those conversations from it" in details


def test_the_files_page_marks_those_lines_and_selects_them_for_removal(
        qtbot, page, dialogs, small: tuple[Library, AddPlan]) -> None:
    """The file's conversation list marks each member whose line in this file is over its
    budget (the file's own line, not the library's count), and one button selects them all
    for Remove from file."""
    from ui.members_model import ID_ROLE, MEMBER_TOKENS

    library, plan = small
    apply_addition(library, plan)
    over = set(plan.over_budget) | {ENRICHED_1}
    page.refresh(select_name="Small")
    model = page.members_model
    assert model.rowCount() == len(plan.new) + 1
    icon = Qt.ItemDataRole.DecorationRole
    marked = {model.index(r, 0).data(ID_ROLE) for r in range(model.rowCount())
              if model.index(r, MEMBER_TOKENS).data(icon) is not None}
    assert marked == over
    row = next(r for r in range(model.rowCount())
               if model.index(r, 0).data(ID_ROLE) == ENRICHED_1)
    tip = model.index(row, MEMBER_TOKENS).data(Qt.ItemDataRole.ToolTipRole)
    assert (f"longer than the file's length limit of {LIMIT:,}: its first reply alone is "
            "longer, so the line is written whole and every reply in it counts as trained "
            "(a trainer cuts that first reply). Remove from file leaves it out.") in tip
    fitted = next(r for r in range(model.rowCount())
                  if model.index(r, 0).data(ID_ROLE) not in over)
    assert model.index(fitted, MEMBER_TOKENS).data(icon) is None
    ended = next(r for r in range(model.rowCount()) if model.row_at(r).tokens > LIMIT
                 and model.index(r, 0).data(ID_ROLE) not in over)  # fitted: not marked
    line, counted = model.row_at(ended).line_tokens, model.row_at(ended).tokens
    assert 0 < line <= LIMIT and model.index(ended, MEMBER_TOKENS).data() == f"{line:,}"
    assert (f"The library counts {counted:,} tokens (its whole line under the default cut-off "
            "policy); Tokens is its line in this file") in model.index(ended, 0).data(
                Qt.ItemDataRole.ToolTipRole)
    button = page.select_over_budget_button
    assert not button.isHidden() and button.text() == f"Select the {len(over)} over the limit"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert set(page.selected_member_ids()) == over
    assert page.remove_button.isEnabled()
    assert page.totals_label.toolTip().endswith(
        "or remove those conversations from it (Select … over the limit, beside Remove "
        "from file, picks them).")
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=15_000):
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert header(library, "Small")["tokens"]["lines_over_max_seq_len"] == 0
    qtbot.waitUntil(page.select_over_budget_button.isHidden, timeout=15_000)


def test_the_status_after_the_add_says_what_was_left_out_or_kept_whole(
        small: tuple[Library, AddPlan]) -> None:
    from ui.create_flow import after_the_add
    _library, plan = small
    n = len(plan.over_budget)
    assert after_the_add(plan.choose(leave_out_over_budget=True)) == (
        f"; {n} conversations left out as the review chose")
    assert after_the_add(plan.choose(leave_out_over_budget=False)) == (
        f"; {n} added conversations have a first reply longer than the length limit, written "
        "whole (the file's details say what a trainer does with them)")
