"""The add review names what it skips as the table does, and shows exactly those in the
table (nothing added), with the way back to the filters from before."""

from __future__ import annotations

from conftest import open_window
from sqlalchemy import select

from app.library import Library
from app.models import TrainingFile
from app.trainingfiles import add_conversations, member_ids


def revision(library: Library, name: str) -> int:
    with library.session() as session:
        return session.scalar(select(TrainingFile.revision).where(TrainingFile.name == name))


def open_review(qtbot, window, name: str):
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked(name)
    review = window.creator.review
    assert review is not None and review.isVisible()
    return review


def test_skipped_ones_are_named_as_the_table_names_them_and_shown_there(
        qtbot, two_batches, dialogs, tmp_path):
    legacy = two_batches.summaries("legacy-batch")
    enriched = two_batches.summaries("enriched-batch")
    ids = [r.conversation_id for r in legacy]
    add_conversations(two_batches, "seed", ids[:2], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    checked = ids + [r.conversation_id for r in enriched[:2]]
    page.model.set_checked_ids(checked)
    page.set_batch_filter("legacy-batch")
    page.filter_bar.search.setText("Marcus")
    page.filter_bar.apply_search_now()
    review = open_review(qtbot, window, "seed")

    details = review.details.toPlainText()
    assert "2 already in 'seed':" in details
    for row in legacy[:2]:  # client · batch · source file, as the table's columns say
        assert f"{row.persona_name} · legacy-batch · {row.source_file}" in details
    assert not any(cid in details for cid in checked), "no id a person cannot act on"

    entries = {a.text(): a for a in review.show_menu.actions() if a.text()}
    assert review.show_button.isEnabled()
    # one group skipped until a choice leaves more out; the hidden ones, added all the
    # same, are named apart
    kept = {r.conversation_id for r in enriched[:2]} | {
        r.conversation_id for r in legacy if "Marcus" not in (r.persona_name or "")}
    assert list(entries) == ["The 2 already in 'seed'",
                             f"The {len(kept)} hidden by the current filter (added)"]
    review.leave_out_hidden.setChecked(True)
    entries = {a.text(): a for a in review.show_menu.actions() if a.text()}
    hidden = {r.conversation_id for r in enriched[:2]} | {
        r.conversation_id for r in legacy if "Marcus" not in (r.persona_name or "")}
    assert list(entries) == [f"All {2 + len(hidden)} skipped or left out",
                             "The 2 already in 'seed'",
                             f"The {len(hidden)} hidden by the current filter (left out)"]

    # Showing the hidden ones closes the review, adds nothing, and turns the other
    # filters off (they hid them)
    entries[f"The {len(hidden)} hidden by the current filter (left out)"].trigger()
    assert not review.isVisible()
    assert member_ids(two_batches, "seed") == ids[:2]
    assert revision(two_batches, "seed") == 1
    assert {r.conversation_id for r in page.rows()} == hidden
    assert page.batch_filter.value() is None and page.search.text() == ""
    bar = page.filter_bar
    assert bar.only_box.isVisible()
    assert bar.only_label.text() == (f"Only the {len(hidden)} conversations hidden by the "
                                     "current filter, left out of 'seed'")
    assert bar.only_back.text() == "Back to the earlier filters"
    assert set(page.checked_ids()) == set(checked), "checks are kept"
    assert window.clear_filters_action.isEnabled()

    bar.only_back.click()
    assert not bar.only_box.isVisible()
    assert page.batch_filter.value() == "legacy-batch"
    assert page.search.text() == "Marcus"
    assert {r.conversation_id for r in page.rows()} == {
        r.conversation_id for r in legacy if "Marcus" in (r.persona_name or "")}


def test_the_already_in_set_is_shown_until_clear_filters(qtbot, two_batches, dialogs,
                                                         tmp_path):
    ids = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    add_conversations(two_batches, "seed", ids[:3], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    page.model.set_checked_ids(ids[:5])
    review = open_review(qtbot, window, "seed")
    (entry,) = [a for a in review.show_menu.actions() if a.text()]
    with qtbot.waitSignal(window.creator.show_in_table, timeout=5000):
        entry.trigger()
    assert [r.conversation_id for r in page.rows()] == ids[:3]
    assert page.filter_bar.only_label.text() == "Only the 3 conversations already in 'seed'"
    assert page.filter_bar.only_back.text() == "Show all", "no filter was on before"
    assert page.reader_conversation_id() == ids[0], "the first one is read"
    # Check all shown checks exactly what the set shows
    window.select_none_action.trigger()
    window.select_all_action.trigger()
    assert sorted(page.checked_ids()) == sorted(ids[:3])
    window.clear_filters_action.trigger()
    assert not page.filter_bar.only_box.isVisible()
    assert page.model.rowCount() == two_batches.count()


def test_nothing_skipped_leaves_nothing_to_show(qtbot, two_batches, dialogs, tmp_path):
    ids = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    add_conversations(two_batches, "seed", ids[:1], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids[1:3])
    review = open_review(qtbot, window, "seed")
    assert not review.show_button.isEnabled()
    assert review.show_button.toolTip() == "No conversation is skipped or left out"
    review.reject()


def test_the_ones_added_with_a_warning_are_named_and_shown(qtbot, two_batches, dialogs,
                                                           tmp_path):
    """A box left unticked adds its group all the same: the review names them under the
    ones skipped (they were only counted), and Show in the table shows them."""
    from app.token_counts import ensure_counts
    from app.trainingfiles import change_settings, plan_addition

    ids = [r.conversation_id for r in two_batches.summaries()]
    ensure_counts(two_batches, ids)
    add_conversations(two_batches, "Short", ids[:1], create=True)
    change_settings(two_batches, "Short", max_seq_len=1024, over_budget="keep")
    over = plan_addition(two_batches, "Short", ids[1:]).over_budget
    assert over, "the fixtures hold conversations longer than 1,024 tokens"
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    page.model.set_checked_ids(ids[1:])
    review = open_review(qtbot, window, "Short")
    assert not review.leave_out_over_budget.isChecked(), "a file that writes lines whole"

    why = "over the file's length limit (added)"
    details = review.details.toPlainText()
    assert f"{len(over)} {why}:" in details
    names = {r.conversation_id: f"{r.persona_name} · {r.batch_id} · {r.source_file}"
             for r in two_batches.summaries()}
    assert all(names[cid] in details for cid in over)
    assert review.skipped_label.text() == "Skipped, left out, or added with a warning:"
    entries = {a.text(): a for a in review.show_menu.actions() if a.text()}
    assert f"The {len(over)} {why}" in entries

    review.leave_out_over_budget.setChecked(True)  # the group moves to those left out
    details = review.details.toPlainText()
    assert why not in details
    assert f"{len(over)} over the file's length limit (left out):" in details

    review.leave_out_over_budget.setChecked(False)
    entries = {a.text(): a for a in review.show_menu.actions() if a.text()}
    entries[f"The {len(over)} {why}"].trigger()
    assert not review.isVisible()
    assert member_ids(two_batches, "Short") == ids[:1], "nothing was added"
    assert {r.conversation_id for r in page.rows()} == set(over)
    assert page.filter_bar.only_label.text() == (
        f"Only the {len(over)} conversations over the file's length limit, kept in the add "
        "to 'Short'")
