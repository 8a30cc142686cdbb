"""Review, then add: the window plans the add once, shows what it would do, builds once."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from conftest import ENRICHED, LEGACY, open_window
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel, QProgressDialog, QPushButton
from sqlalchemy import select
from stored import stored_bytes, stored_files

from app.cli import added_notes
from app.importer import import_paths
from app.labels import display_name
from app.library import Library
from app.models import TrainingFile
from app.similar import NEAR_DUPLICATE
from app.token_counts import ensure_counts
from app.trainingfiles import (
    add_conversations,
    apply_addition,
    get_training_file,
    list_training_files,
    member_ids,
    plan_addition,
)
from ui.add_review import AddReviewDialog

# The warnings the JSONL already handles (the repaired text is trained, the unanswered last
# turn left out): spelled out, so the tests say what they mean.
HANDLED = {"text_repaired", "unanswered_last_turn"}


def revision(library: Library, name: str) -> int:
    with library.session() as session:
        return session.scalar(select(TrainingFile.revision).where(TrainingFile.name == name))


def test_the_review_counts_new_already_hidden_flagged_and_budget(qtbot, two_batches, dialogs,
                                                                 tmp_path):
    legacy = two_batches.summaries("legacy-batch")
    enriched = two_batches.summaries("enriched-batch")
    ids = [r.conversation_id for r in legacy]
    # Lines written whole, so the review counts every line over the budget.
    add_conversations(two_batches, "seed", ids[:2], create=True, over_budget="keep")
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    # Check every legacy row and two enriched ones, then filter to the legacy batch: the two
    # enriched rows are checked but hidden.
    page.model.set_checked_ids(ids + [r.conversation_id for r in enriched[:2]])
    page.set_batch_filter("legacy-batch")
    warned = {r.conversation_id: set(r.warning_codes) for r in legacy[2:] + enriched[:2]
              if r.warning_codes}
    assert warned, "the fixtures include conversations with quality warnings"
    # only a warning that would harm training flags one (the JSONL handles the others)
    flagged = {cid for cid, codes in warned.items() if codes - HANDLED}

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
                      "flagged": str(len(flagged)), "near_duplicates": "0",
                      "over_budget": str(over)}
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
        "with no reply to train under the file's cut-off policy (Trim): skipped")
    qtbot.waitExposed(review)
    # The checks that found nothing among the new ones are one line, not rows of zeros
    # with greyed boxes (the batch is one filter's worth, nothing hidden, nothing over).
    shown = [label.text() for label in review.findChildren(QLabel) if label.isVisible()]
    assert review.counts["hidden"].text() == "0" and review.counts["over_budget"].text() == "0"
    assert not any("hidden by the current filter" in text for text in shown)
    assert not any("over the file's length limit" in text for text in shown)
    assert not review.leave_out_hidden.isVisible()
    assert not review.leave_out_over_budget.isVisible()
    none_line = [text for text in shown if text.startswith("None of the new ones is ")]
    assert len(none_line) == 1
    assert "hidden by the filter" in none_line[0]
    assert none_line[0].endswith("over the length limit")
    assert review.add_button.text() == f"Add {len(ENRICHED) - 2}"
    assert ("2 with no reply to train under the file's cut-off policy (Trim: a cut-off turn "
            "comes before its first clean reply;") in review.details.toPlainText()
    # that long reason reads in full without scrolling sideways: the lines wrap
    qtbot.waitUntil(review.details.isVisible)
    assert review.details.horizontalScrollBar().maximum() == 0
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
    """The count beside "Leave them out" holds every kind of warning that would harm
    training: its tooltip lists each kind with its count (it named three kinds, whatever
    was counted), and says which it keeps. The library's near-duplicate flag is not one of
    them (it has its own line). A file that keeps cut-off turns adds the fixtures with
    cut-off replies."""
    from test_duplicates import _one_sentence_changed, _variant

    import_paths(filled_library, [_variant(tmp_path / "in", "near", _one_sentence_changed)])
    rows = filled_library.summaries()
    plan = plan_addition(filled_library, "Everything", [r.conversation_id for r in rows],
                         create=True, cut_off_policy="keep")
    kinds = Counter(code for r in rows if r.conversation_id in plan.new
                    for code in r.warning_codes if code not in {NEAR_DUPLICATE, *HANDLED})
    assert len(kinds) > 1
    only_handled = [r for r in rows if r.conversation_id in plan.new
                    and r.warning_codes and set(r.warning_codes) <= HANDLED]
    assert only_handled
    review = AddReviewDialog(plan)
    qtbot.addWidget(review)
    tip = review.leave_out_flagged.toolTip()
    assert tip.splitlines()[0] == (
        f"Leave out the {len(plan.flagged)} new conversations with a warning that would "
        "harm training (one may have several):")
    listed = dict(line.strip().rsplit(": ", 1) for line in tip.splitlines()[1:]
                  if line.startswith("  "))
    assert listed == {display_name(code): f"{n} conversation{'s' * (n != 1)}"
                      for code, n in kinds.items()}
    assert tip.splitlines()[-1] == (
        "Kept: Text Repaired and Unanswered Last Turn, which the JSONL already handles "
        f"({len(only_handled)} new conversations have only those).")


def near_twin_file(folder: Path) -> Path:
    """A near-duplicate of a real fixture as a file (one sentence added to its last reply,
    which no later pair's history repeats): it has no quality warning of its own."""
    from test_duplicates import _variant

    def last_reply_longer(pairs: list[dict[str, Any]]) -> None:
        reply = [p for p in pairs if p["target_response"]][-1]
        reply["target_response"] += " That is a fair question to ask."

    return _variant(folder, "near", last_reply_longer)


def _near_twin(library: Library, folder: Path) -> tuple[str, str]:
    """Import ``near_twin_file``: its id and the id of the conversation it repeats."""
    from test_duplicates import SOURCE

    import_paths(library, [near_twin_file(folder)])
    rows = {r.conversation_id: r for r in library.summaries()}
    twin = rows["fp_conversation_near"]
    original = json.loads(SOURCE.read_text(encoding="utf-8"))["dataset_metadata"][
        "dataset_name"]
    assert twin.warning_codes == (NEAR_DUPLICATE,), "only the library's flag"
    return twin.conversation_id, original


def test_the_reviews_warning_count_is_the_built_files_header_count(qtbot, filled_library,
                                                                   tmp_path):
    """"N flagged with warnings that would harm training" in the review is what the header
    of the file built from exactly those conversations counts of those warnings, and what
    its JSONL lines carry; the conversations with warnings, harmful or not, are the
    header's count: the library's near-duplicate flag is no warning of the conversation's
    file (it was counted too)."""
    twin, _original = _near_twin(filled_library, tmp_path / "in")
    ids = [r.conversation_id for r in filled_library.summaries()]
    plan = plan_addition(filled_library, "Everything", ids, create=True,
                         cut_off_policy="keep")
    assert twin in plan.new
    review = AddReviewDialog(plan)
    qtbot.addWidget(review)
    shown = int(review.counts["flagged"].text())

    apply_addition(filled_library, review.chosen())
    files = stored_files(filled_library, "Everything")
    quality = orjson.loads(files.json_path.read_bytes())["training_file_metadata"][
        "quality_summary"]
    assert len(plan.warned) == quality["conversations_with_warnings"] > shown > 0
    assert shown == len(plan.flagged)
    assert dict(plan.flagged_by_code) == {code: n for code, n in
                                          quality["warnings_by_code"].items()
                                          if code not in HANDLED}
    lines = [orjson.loads(line) for line in files.jsonl_path.read_bytes().splitlines()]
    carried = {line["metadata"]["conversation_id"]: set(line["metadata"]["warnings"].split(","))
               for line in lines if line["metadata"]["warnings"]}
    assert set(carried) == {cid for cid, _codes in plan.warned}
    assert {cid for cid, codes in carried.items() if codes - HANDLED} == plan.flagged
    assert twin not in review.leave_out_flagged.toolTip()
    assert "Near Duplicate" not in review.leave_out_flagged.toolTip()


def test_a_near_duplicate_is_its_own_line_with_its_own_choice(qtbot, filled_library,
                                                              tmp_path):
    """A near-duplicate without other warnings is counted on the near-duplicates line only;
    "Leave them out" there leaves it out of the file and keeps the conversation it repeats."""
    twin, original = _near_twin(filled_library, tmp_path / "in")
    others = [r.conversation_id for r in filled_library.summaries()
              if r.conversation_id not in (twin, original)]
    plan = plan_addition(filled_library, "Pair", [original, twin, *others[:3]], create=True)
    assert plan.near_duplicates == (twin,)
    assert twin not in plan.flagged
    review = AddReviewDialog(plan)
    qtbot.addWidget(review)
    assert review.counts["near_duplicates"].text() == "1"
    assert review.texts["near_duplicates"].text() == (
        "of the new ones nearly repeats one in the file or the selection")
    assert "extra weight in training" in review.leave_out_near_duplicates.toolTip()
    flagged = int(review.counts["flagged"].text())
    review.leave_out_flagged.setChecked(True)
    assert review.add_button.text() == f"Add {5 - flagged}"
    review.leave_out_flagged.setChecked(False)
    review.leave_out_near_duplicates.setChecked(True)
    assert review.add_button.text() == "Add 4"
    assert ("1 nearly repeating a conversation already in the file or earlier in the "
            f"selection (left out):\n    {twin}") in review.details.toPlainText()
    chosen: list[object] = []
    review.confirmed.connect(chosen.append)
    review.add_button.click()
    apply_addition(filled_library, chosen[0])  # type: ignore[arg-type]
    assert member_ids(filled_library, "Pair") == [original, *others[:3]]


def test_near_duplicates_are_judged_against_the_file_and_the_selection(filled_library,
                                                                       tmp_path):
    """The twin of a conversation already in the file is a near-duplicate there; the twin
    of one in neither the file nor the selection is not (the library's flag alone says
    nothing about what the file would hold)."""
    twin, original = _near_twin(filled_library, tmp_path / "in")
    add_conversations(filled_library, "Has it", [original], create=True)
    has_it = plan_addition(filled_library, "Has it", [twin])
    assert has_it.near_duplicates == (twin,)
    assert has_it.near_check.with_member_twin == {twin}
    add_conversations(filled_library, "Without it", [twin], create=True)
    lone = plan_addition(filled_library, "Lone", [twin], create=True)
    assert lone.near_duplicates == () and lone.flagged == frozenset()


def test_leaving_out_near_duplicates_never_keeps_two_of_a_group(filled_library, tmp_path):
    """C is in the file; A nearly repeats C; B nearly repeats A most closely, and C too.
    Leaving out near-duplicates leaves out A (C stays) and B as well (C stays): judged by
    its closest twin alone, B was kept because A was out, and the file held B beside C."""
    from test_duplicates import _variant

    first, second = " That is a fair question to ask.", " Let us take it one step at a time."

    def with_sentences(*sentences: str) -> Any:
        def change(pairs: list[dict[str, Any]]) -> None:
            reply = [p for p in pairs if p["target_response"]][-1]
            reply["target_response"] += "".join(sentences)
        return change

    folder = tmp_path / "group"
    import_paths(filled_library, [_variant(folder, "near_a", with_sentences(first)),
                                  _variant(folder, "near_b", with_sentences(first, second))])
    a, b = "fp_conversation_near_a", "fp_conversation_near_b"
    c = _near_twin_source()
    add_conversations(filled_library, "Has C", [c], create=True)
    plan = plan_addition(filled_library, "Has C", [a, b])
    assert plan.near_duplicates == (a, b)
    assert plan.near_check.with_member_twin == {a, b}
    assert plan.near_duplicates_added() == [a, b]
    chosen = plan.choose(leave_out_near_duplicates=True)
    assert chosen.adding == [] and chosen.near_duplicates_added() == []
    hidden_a = plan_addition(filled_library, "Has C", [a, b], hidden=[a]).choose(
        leave_out_hidden=True, leave_out_near_duplicates=True)
    assert hidden_a.adding == []  # B still repeats C, which stays


def _near_twin_source() -> str:
    from test_duplicates import SOURCE

    return str(json.loads(SOURCE.read_text(encoding="utf-8"))["dataset_metadata"][
        "dataset_name"])


def test_a_near_duplicate_stays_when_the_one_it_repeats_is_left_out(filled_library,
                                                                    tmp_path):
    """Leaving out near-duplicates never loses a pair whole: when the conversation repeated
    is left out for another reason (here hidden by the filter), its twin is added."""
    twin, original = _near_twin(filled_library, tmp_path / "in")
    plan = plan_addition(filled_library, "Pair", [original, twin], create=True,
                         hidden=[original])
    assert plan.choose(leave_out_near_duplicates=True).adding == [original]
    both = plan.choose(leave_out_hidden=True, leave_out_near_duplicates=True)
    assert both.adding == [twin]
    # the twin added is no near-duplicate of the file: nothing it repeats stays in it (the
    # CLI's note said "--leave-out-near-duplicates leaves it out", which it did not)
    assert both.near_duplicates_added() == []
    assert not any("near-duplicate" in note for note in added_notes(both, {}))
    assert plan.near_duplicates_added() == [twin]
    assert both.skipped() == {"hidden by the current filter (left out)": [original]}


def test_over_budget_ones_can_be_left_out_and_the_review_says_what_a_trainer_does_to_them(
        qtbot, two_batches, dialogs, tmp_path):
    """A line over max_seq_len is cut (TRL) or dropped (Axolotl) by the trainer: the review
    said only how many there were, with no way to keep them out of the file."""
    ids = [r.conversation_id for r in two_batches.summaries()]
    # A new file ends a longer line at its last whole reply that fits: none is over.
    assert not plan_addition(two_batches, "fits", ids, create=True).over_budget
    # One that writes its lines whole (made before the setting existed, or set so).
    add_conversations(two_batches, "fits", ids[:1], create=True, over_budget="keep")
    ids = ids[1:]
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids)
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked("fits")
    review = window.creator.review
    assert review is not None
    plan = review.plan
    over = set(plan.over_budget)
    assert over, "an enriched fixture's line is longer than the default 4,096 tokens"
    tip = review.leave_out_over_budget.toolTip()
    assert "TRL would cut" in tip and "Axolotl would leave" in tip and "Settings…" in tip
    assert review.texts["over_budget"].toolTip() == tip
    before = len(plan.adding)
    assert review.leave_out_over_budget.isEnabled()
    assert not review.leave_out_over_budget.isChecked(), "kept unless the person says so"

    review.leave_out_over_budget.setChecked(True)
    assert review.add_button.text() == f"Add {before - len(over)}"
    assert "over the file's length limit (left out)" in (
        review.details.toPlainText())
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        review.add_button.click()
    added = member_ids(two_batches, "fits")[1:]
    assert len(added) == before - len(over)
    assert not set(added) & over


def test_enter_in_the_review_adds_and_the_keyboard_starts_on_add(qtbot, two_batches, dialogs,
                                                                 tmp_path):
    """The review's "Add N" is its default button: Enter adds. Cancel had become the default
    (the button was made default before it was in the dialog), so Enter cancelled, and the
    keyboard started on the first "Leave them out", which Space would tick."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    ids = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids)
    dialogs.texts.append("by-enter")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked(None)
    review = window.creator.review
    assert review is not None and review.isVisible()
    assert review.add_button.isDefault() and not review.cancel_button.isDefault()
    assert review.focusWidget() is review.add_button
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        QTest.keyClick(review, Qt.Key.Key_Return)
    assert len(member_ids(two_batches, "by-enter")) == len(review.plan.adding)


def test_no_line_of_the_review_is_cut_with_five_digit_counts(qtbot):
    """6,000 checked conversations: the count column grows, and the dialog, held at its own
    minimum width, cut the near-duplicates line ("…or the select") at its right edge."""
    from app.trainingfiles import AddPlan

    ids = [f"conversation-{i}" for i in range(12_000)]
    plan = AddPlan(name="everything", create=True, requested=len(ids), new=tuple(ids),
                   new_pks=tuple(range(len(ids))), flagged=frozenset(ids[:1_600]),
                   over_budget=frozenset(ids[:10_400]))
    review = AddReviewDialog(plan)
    qtbot.addWidget(review)
    review.show()
    qtbot.waitExposed(review)
    for key, label in review.texts.items():
        assert label.width() >= label.sizeHint().width(), f"the {key} line is cut"


def test_the_over_budget_advice_for_a_new_file_says_its_settings_come_once_it_is_made():
    """A new file has no Settings… to raise its length in until it is built: the advice
    said to go there as if it already existed."""
    from app.trainingfiles import AddPlan
    from ui.add_review import over_budget_tooltip

    ids = ("long-one", "short-one")
    def plan(create: bool) -> AddPlan:
        return AddPlan(name="file", create=create, requested=2, new=ids, new_pks=(1, 2),
                       over_budget=frozenset(ids[:1]))

    assert over_budget_tooltip(plan(create=True)).endswith(
        "Settings… on the LoRA Training JSON Files page once the file is made.")
    assert over_budget_tooltip(plan(create=False)).endswith(
        "Settings… on the LoRA Training JSON Files page.")


def test_a_wrapped_reason_or_name_continues_further_in_than_any_entry_starts(
        qtbot, two_batches, dialogs, tmp_path):
    """The skipped list wraps its long reasons: the wrapped lines started at the left edge,
    where the next group's reason starts, so one entry ran into the next. They hang now:
    every wrapped line starts right of where its entry's text starts."""
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.set_batch_filter("enriched-batch")
    window.select_all_action.trigger()
    dialogs.texts.append("Hanging")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        window.create_button.chosen.emit(None)
    review = window.creator.review
    assert review is not None
    qtbot.waitUntil(review.details.isVisible)
    details = review.details
    document = details.document()
    wrapped = 0
    block = document.begin()
    while block.isValid():
        text = block.text()
        layout = block.layout()
        starts = QTextCursor(block)
        starts.setPosition(block.position() + len(text) - len(text.lstrip()))
        first = details.cursorRect(starts).left()
        for number in range(1, layout.lineCount()):
            wrapped += 1
            line = QTextCursor(block)
            line.setPosition(block.position() + layout.lineAt(number).textStart())
            assert details.cursorRect(line).left() > first, (text, number)
        block = block.next()
    assert wrapped, "the untrainable ones' reason runs to two lines at least"
    assert "\n    " in details.toPlainText()  # a listed one still starts further in
    assert details.verticalScrollBar().value() == 0  # read from the top
    review.reject()


def test_a_build_cancelled_with_its_cancel_button_says_so_without_a_failure_box(
        qtbot, two_batches, dialogs, tmp_path, monkeypatch):
    """Cancel is the person's own choice: the status bar says nothing was added, and no box
    titled "Build failed" says "Cancelled: nothing was changed." as if something broke."""
    from test_undo_cancelled import WAIT_MS, started_after_cancel

    from app import add_undo
    from ui import create_flow
    from ui.tasks import job_over, jobs_of

    ids = [r.conversation_id for r in two_batches.summaries("legacy-batch")]
    add_conversations(two_batches, "seed", ids[:2], create=True)
    before = stored_bytes(two_batches, "seed")
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(ids[:4])
    with qtbot.waitSignal(window.creator.reviewing, timeout=WAIT_MS):
        assert window.creator.add_checked("seed")
    qtbot.waitUntil(lambda: not jobs_of(window), timeout=WAIT_MS)
    started_after_cancel(monkeypatch, create_flow, add_undo.add_recorded)
    review = window.creator.review
    assert review is not None
    with qtbot.waitSignal(window.creator.status, timeout=WAIT_MS) as said:
        review.add_button.click()
        (task,) = jobs_of(window)
        progress = None

        def shown() -> bool:
            nonlocal progress
            found = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
            progress = found[0] if found else None
            return progress is not None

        qtbot.waitUntil(shown, timeout=WAIT_MS)
        progress.findChild(QPushButton).click()
        qtbot.waitUntil(lambda: job_over(task), timeout=WAIT_MS)
    assert said.args == ["Cancelled: nothing was added to training file 'seed'"]
    assert dialogs.warnings == []
    assert stored_bytes(two_batches, "seed") == before
