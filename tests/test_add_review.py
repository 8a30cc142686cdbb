"""Review, then add: the window plans the add once, shows what it would do, builds once."""

from __future__ import annotations

from collections import Counter

from conftest import ENRICHED, LEGACY, open_window
from sqlalchemy import select
from stored import stored_bytes

from app.importer import import_paths
from app.labels import display_name
from app.library import Library
from app.models import TrainingFile
from app.similar import NEAR_DUPLICATE
from app.token_counts import ensure_counts
from app.trainingfiles import (
    add_conversations,
    get_training_file,
    list_training_files,
    member_ids,
    plan_addition,
)
from ui.add_review import AddReviewDialog


def revision(library: Library, name: str) -> int:
    with library.session() as session:
        return session.scalar(select(TrainingFile.revision).where(TrainingFile.name == name))


def test_the_review_counts_new_already_hidden_flagged_and_budget(qtbot, two_batches, dialogs,
                                                                 tmp_path):
    legacy = two_batches.summaries("legacy-batch")
    enriched = two_batches.summaries("enriched-batch")
    ids = [r.conversation_id for r in legacy]
    add_conversations(two_batches, "seed", ids[:2], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    # Check every legacy row and two enriched ones, then filter to the legacy batch: the two
    # enriched rows are checked but hidden.
    page.model.set_checked_ids(ids + [r.conversation_id for r in enriched[:2]])
    page.set_batch_filter("legacy-batch")
    flagged = {r.conversation_id for r in legacy[2:] + enriched[:2] if r.warning_codes}
    assert flagged, "the legacy fixtures include conversations with quality warnings"

    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked("seed")
    review = window.creator.review
    assert review is not None and review.isVisible()
    assert review.windowTitle() == "Add to 'seed'"
    counts = {key: label.text() for key, label in review.counts.items()}
    new = len(ids) - 2 + 2
    plan = review.plan
    cut_off = counts.pop("cut_off", "0")
    assert cut_off == str(len(plan.cut_off))
    assert plan.cut_off <= flagged, "a conversation losing replies is flagged as cut off"
    adding = ids[2:] + [r.conversation_id for r in enriched[:2]]
    tokens = ensure_counts(two_batches, adding)  # exact tokens of each training line
    over = sum(1 for cid in adding if tokens[cid] > 4096)
    assert counts == {"new": str(new), "already": "2", "hidden": "2",
                      "flagged": str(len(flagged)), "over_budget": str(over)}
    assert review.add_button.text() == f"Add {new}"
    assert "2 already in 'seed'" in review.details.toPlainText()

    review.leave_out_hidden.setChecked(True)
    hidden_flagged = len(flagged & {r.conversation_id for r in enriched[:2]})
    assert review.add_button.text() == f"Add {new - 2}"
    review.leave_out_flagged.setChecked(True)
    expected = new - 2 - (len(flagged) - hidden_flagged)
    assert review.add_button.text() == f"Add {expected}"
    assert "hidden by the current filter (left out)" in review.details.toPlainText()

    with qtbot.waitSignal(window.creator.built, timeout=30000):
        review.add_button.click()
    added = member_ids(two_batches, "seed")
    assert added[:2] == ids[:2]
    assert len(added) == 2 + expected
    assert not set(added[2:]) & flagged
    assert not set(added) & {r.conversation_id for r in enriched}
    assert revision(two_batches, "seed") == 2  # made once, added to once


def test_cancel_in_the_review_writes_nothing(qtbot, two_batches, dialogs, tmp_path):
    ids = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    add_conversations(two_batches, "seed", ids[:2], create=True)
    before = get_training_file(two_batches, "seed")
    before_bytes = stored_bytes(two_batches, "seed")
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids[:4])
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked("seed")
    review = window.creator.review
    assert review is not None
    review.cancel_button.click()
    assert not review.isVisible()
    after = get_training_file(two_batches, "seed")
    assert (after.updated_at, after.conversations) == (before.updated_at, 2)
    assert stored_bytes(two_batches, "seed") == before_bytes


def test_all_already_in_the_file_shows_nothing_to_add(qtbot, two_batches, dialogs, tmp_path):
    ids = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    add_conversations(two_batches, "seed", ids[:3], create=True)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids[:3])
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked("seed")
    review = window.creator.review
    assert review is not None
    assert review.counts["already"].text() == "3"
    assert review.counts["new"].text() == "0"
    assert not review.add_button.isEnabled()
    assert review.add_button.text() == "Nothing to add", "as a new file's review says it"


def test_a_long_name_in_the_review_heading_is_cut_with_an_ellipsis(qtbot, two_batches,
                                                                  dialogs, tmp_path):
    """A name as long as names go (80 characters) does not fit the review's heading: it
    ends with "…" within the heading's width, and the tooltip has the whole name."""
    from PySide6.QtWidgets import QLabel

    name = "Elena Q4 – emotional set for the winter review of every long conversation WWWWWW"
    assert len(name) == 80
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.select_all_action.trigger()
    dialogs.texts.append(name)
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    review = window.creator.review
    assert review is not None
    qtbot.waitExposed(review)
    heading = next(label for label in review.findChildren(QLabel)
                   if label.text().startswith("New training file '"))
    shown = heading.text()
    assert shown.endswith("…"), shown
    assert heading.fontMetrics().horizontalAdvance(shown) <= heading.contentsRect().width()
    assert name in heading.toolTip()
    review.reject()


def test_a_new_file_is_named_reviewed_and_built_once(qtbot, two_batches, dialogs, tmp_path):
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.set_batch_filter("enriched-batch")
    window.select_all_action.trigger()
    dialogs.texts.append("Fresh set")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    review = window.creator.review
    assert review is not None
    assert review.windowTitle() == "New training file 'Fresh set'"
    assert "already" not in review.counts  # a new file holds nothing yet
    # two fixtures are cut off in their first reply: the new file's policy (trim) would
    # train nothing of them, so the review skips them and says why
    assert review.counts["untrainable"].text() == "2"
    assert review.texts["untrainable"].text() == (
        "with no reply to train under the file's 'trim' policy: skipped")
    assert review.add_button.text() == f"Add {len(ENRICHED) - 2}"
    assert ("2 with no reply to train under the file's 'trim' cut-off policy (a cut-off turn "
            "comes before its first clean reply;") in review.details.toPlainText()
    assert list_training_files(two_batches) == [], "nothing exists before Add"
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        review.add_button.click()
    info = get_training_file(two_batches, "Fresh set")
    assert info.conversations == len(ENRICHED) - 2
    assert revision(two_batches, "Fresh set") == 1, "built once: no empty revision first"


def test_samples_mixed_with_real_conversations_are_left_out_unless_kept(
    qtbot, library, dialogs, tmp_path
):
    from app.bundle import resources_dir
    from app.samples import sample_ids

    samples = resources_dir() / "samples"
    import_paths(library, sorted(p for p in samples.iterdir() if p.is_dir()))
    import_paths(library, LEGACY[:2])
    own = [r.conversation_id for r in library.summaries()
           if r.conversation_id not in set(sample_ids(library))]
    window = open_window(qtbot, library, dialogs, tmp_path)
    window.select_all_action.trigger()
    dialogs.texts.append("real data")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    review = window.creator.review
    assert review is not None
    assert review.counts["samples"].text() == "8"
    assert review.leave_out_samples.isChecked(), "mixed: samples are left out by default"
    assert review.add_button.text() == f"Add {len(own)}"
    assert "8 of the app's sample conversations (left out)" in review.details.toPlainText()
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        review.add_button.click()
    assert member_ids(library, "real data") == own


def test_leave_them_out_names_every_kind_of_warning_it_counts(qtbot, filled_library,
                                                              tmp_path):
    """The count beside "Leave them out" holds near-duplicates and repaired text too: its
    tooltip lists each kind with its count (it named three kinds, whatever was counted)."""
    from test_duplicates import _one_sentence_changed, _variant

    import_paths(filled_library, [_variant(tmp_path / "in", "near", _one_sentence_changed)])
    rows = filled_library.summaries()
    plan = plan_addition(filled_library, "Everything", [r.conversation_id for r in rows],
                         create=True)
    kinds = Counter(code for r in rows if r.conversation_id in plan.new
                    for code in r.warning_codes)
    assert kinds[NEAR_DUPLICATE] == 1 and len(kinds) > 1
    review = AddReviewDialog(plan)
    qtbot.addWidget(review)
    tip = review.leave_out_flagged.toolTip()
    assert tip.splitlines()[0] == (
        f"Leave out the {len(plan.flagged)} new conversations with any quality warning "
        "(one may have several):")
    listed = dict(line.strip().rsplit(": ", 1) for line in tip.splitlines()[1:]
                  if line.startswith("  "))
    assert listed == {display_name(code): f"{n} conversation{'s' * (n != 1)}"
                      for code, n in kinds.items()}
    assert "Near Duplicate is the library's own flag" in tip
