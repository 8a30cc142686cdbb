"""The Training files page against a real library: real widgets, real files, scripted answers."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QThreadPool
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QToolButton
from sqlalchemy import func, select
from stored import stored_bytes

from app import labels
from app.models import BuildFragment
from app.trainingfiles import (
    TrainingFileInfo,
    add_conversations,
    create_training_file,
    get_training_file,
    header,
    list_training_files,
    member_ids,
)
from ui import members_model, training_files_page
from ui.distribution_chart import DistributionChart, top_counts
from ui.file_settings import over_budget_text
from ui.member_sort import file_tokens
from ui.members_model import (
    ID_ROLE,
    MEMBER_ARC,
    MEMBER_BATCH,
    MEMBER_CLIENT,
    MEMBER_TOKENS,
    MEMBER_TOPIC,
    MEMBER_WARNINGS,
)
from ui.training_files_model import (
    CONVERSATIONS,
    JSON_SIZE,
    NAME,
    ROW_ROLE,
    SORT_ROLE,
    TOKENS,
    TrainingFilesModel,
    human_size,
)
from ui.training_files_page import EMPTY_HEADING, TrainingFilesPage
from ui.wording import MISSING

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 15_000


def all_ids(library) -> list[str]:
    return [row.conversation_id for row in library.summaries()]


def make_file(library, name: str, ids: list[str], over_budget: str = "fit"
              ) -> TrainingFileInfo:
    """A file holding every conversation given: under 'keep', which trains the two fixtures
    cut off in their first reply too (trim would leave them out of an add)."""
    create_training_file(library, name, cut_off_policy="keep", over_budget=over_budget)
    if ids:
        add_conversations(library, name, ids)
    return get_training_file(library, name)


@pytest.fixture
def demo(page, filled_library) -> TrainingFileInfo:
    """A file with all fifteen conversations, shown and selected on the page."""
    info = make_file(filled_library, "Demo", all_ids(filled_library))
    page.refresh()
    return info


def jsonl_lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


# --- empty state and listing ---------------------------------------------------------------


def test_empty_library_shows_the_empty_state(qtbot, library, dialogs):
    page = TrainingFilesPage(library, dialogs)
    qtbot.addWidget(page)
    assert page.stack.currentWidget() is page.empty_state
    assert page.empty_heading.text() == EMPTY_HEADING
    assert "New training file…" in page.empty_text.text()
    assert not page.download_button.isEnabled()
    page.resize(1200, 750)
    page.grab()  # lays the page out
    text = page.empty_text
    assert text.height() >= text.heightForWidth(text.width()), "the explanation is clipped"


def test_created_file_is_listed_with_its_counts_and_details(page, filled_library):
    assert page.stack.currentWidget() is page.empty_state
    ids = all_ids(filled_library)
    # Lines written whole, so the long fixture is over the budget and the page says so.
    info = make_file(filled_library, "Demo", ids, over_budget="keep")

    page.refresh()

    assert page.stack.currentWidget() is page.content
    assert page.model.rowCount() == 1
    row = page.model.index(0, 0)
    assert row.data() == "Demo"
    assert row.siblingAtColumn(CONVERSATIONS).data() == "15"
    assert row.siblingAtColumn(JSON_SIZE).data() == human_size(info.json_bytes)
    assert row.data(ROW_ROLE) == info
    assert page.selected_file() == info
    assert page.download_button.isEnabled()
    assert page.name_label.text() == "Demo"
    totals = page.totals_label.text()
    assert "15 conversations" in totals
    assert f"{info.trainable_replies} trainable replies" in totals
    tokens = header(filled_library, "Demo")["tokens"]
    assert tokens["total"] > 0  # exact counts, not the characters ÷ 4 estimate
    assert f"{tokens['total']:,} tokens (longest line {tokens['max']:,}" in totals
    assert tokens["lines_over_max_seq_len"] == 1  # one real fixture is longer than 4,096
    assert f"; 1 line over the length limit of {tokens['max_seq_len']:,})" in totals
    # what the trainer does with it, and what to do, where the count is shown
    tip = page.totals_label.toolTip()
    assert tip == over_budget_text("Demo", header(filled_library, "Demo"))
    assert tip.startswith("1 of the 15 lines of 'Demo' is longer than its length limit of ")
    assert "TRL would cut that line at 4,096 tokens" in tip
    assert f"(its longest line has {tokens['max']:,} tokens: Settings… on the LoRA " in tip
    assert "~" not in totals
    # the list says the number the details say, not the characters ÷ 4 estimate beside it
    assert row.siblingAtColumn(TOKENS).data() == f"{tokens['total']:,}"
    assert row.siblingAtColumn(TOKENS).data(SORT_ROLE) == tokens["total"] == info.tokens
    assert tokens["total"] != info.estimated_tokens
    assert page.model.headerData(TOKENS, Qt.Orientation.Horizontal) == "Tokens"
    assert "Reply scores: mean" in page.quality_label.text()
    assert page.charts["batch"].rows() == [("batch-2025-12", 15)]
    assert sum(count for _, count in page.charts["persona_archetype"].rows()) == 15
    assert page.members_model.rowCount() == 15
    assert page.members_model.index(0, 0).data(ID_ROLE) == ids[0]
    first = filled_library.summaries()[0]
    assert page.members_model.index(0, MEMBER_CLIENT).data() == first.persona_name
    assert "batch-2025-12" in page.members_model.index(0, MEMBER_CLIENT).data(
        Qt.ItemDataRole.ToolTipRole)


def test_fitted_member_columns_are_as_wide_as_their_contents(qtbot, demo, page):
    """The client and token columns are measured once per file from their texts: as wide
    as Qt's ResizeToContents makes them (the view's own measure of every row, or the
    heading), and never narrower: a column a pixel short of its widest text draws that
    text cut ("Marcus Thomps…"). Text widths are fractional; a column rounded down was
    short by that fraction. The other columns share the rest."""
    page.show()
    qtbot.waitExposed(page)
    heading = page.members.horizontalHeader()
    for column in sorted(training_files_page.FIT_MEMBER_COLUMNS):
        wanted = max(page.members.sizeHintForColumn(column), heading.sectionSizeHint(column))
        assert 0 <= heading.sectionSize(column) - wanted <= 1, column
    stretched = [c for c in range(heading.count())
                 if c not in training_files_page.FIT_MEMBER_COLUMNS]
    assert sum(heading.sectionSize(c) for c in range(heading.count())) == \
        page.members.viewport().width()
    assert all(heading.sectionSize(c) > 0 for c in stretched)
    page.refresh(select_name=None)  # the same file again: the same widths
    before = [heading.sectionSize(c) for c in range(heading.count())]
    page._show_nothing()
    assert all(heading.sectionSize(c) == heading.sectionSizeHint(c)
               for c in training_files_page.FIT_MEMBER_COLUMNS)  # headings only
    page.refresh()
    assert [heading.sectionSize(c) for c in range(heading.count())] == before


def test_numbers_are_right_aligned(demo, page):
    index = page.model.index(0, CONVERSATIONS)
    alignment = index.data(Qt.ItemDataRole.TextAlignmentRole)
    assert Qt.AlignmentFlag(alignment) & Qt.AlignmentFlag.AlignRight
    assert page.model.index(0, NAME).data(Qt.ItemDataRole.TextAlignmentRole) is None


def test_model_passes_the_model_tester(qtmodeltester, filled_library):
    ids = all_ids(filled_library)
    make_file(filled_library, "First", ids[:3])
    make_file(filled_library, "Second", [])
    model = TrainingFilesModel()
    model.set_files(list_training_files(filled_library))
    qtmodeltester.check(model)


def test_sorting_by_json_size_compares_bytes_not_text(page, filled_library):
    ids = all_ids(filled_library)
    make_file(filled_library, "Empty", [])
    make_file(filled_library, "One", ids[-1:])
    make_file(filled_library, "Two", ids[:2])
    page.refresh()

    page.table.sortByColumn(JSON_SIZE, Qt.SortOrder.AscendingOrder)

    proxy = page.proxy
    shown = [proxy.index(row, JSON_SIZE) for row in range(proxy.rowCount())]
    sizes = [index.data(SORT_ROLE) for index in shown]
    texts = [index.data() for index in shown]
    assert sizes == sorted(sizes)
    assert texts != sorted(texts), "the sizes chosen must sort differently as text"


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform, when shown
def test_download_holds_only_downloads_each_saying_what_it_is_for(qtbot, demo, page):
    page.show()
    qtbot.waitExposed(page)
    assert page.download_button.popupMode() == QToolButton.ToolButtonPopupMode.InstantPopup
    assert page.download_button.menu() is page.download_menu
    texts = [action.text() for action in page.download_menu.actions()
             if not action.isSeparator() and not action.menu()]
    assert texts == [
        f"JSON — for people to review ({human_size(demo.json_bytes)})",
        f"JSONL — for the trainer ({human_size(demo.jsonl_bytes)})",
        "JSONL, messages only — for trainers that reject extra keys (OpenAI, Together)",
        "JSONL, one line per reply — for trainers that learn from the last message only",
        "JSONL without session context — for training on the bare system prompt",
        "Train / validation split… — train.jsonl and valid.jsonl in a folder, for the trainer",
        "Train / validation split, one line per reply… — for MLX-LM",
        "Also save trainer recipes (TRL, Axolotl, LLaMA-Factory, MLX-LM)",  # how, not a download
    ]
    assert page.download_menu.actions()[-1] is page.recipes_action
    assert not any("Rename" in t or "Delete" in t for t in texts)
    assert set(page.file_actions) == {
        "json", "jsonl", "messages", "per_reply", "no_context", "split", "split_per_reply",
        "show", "rename",
        "settings", "delete"}
    # Rename and Delete are buttons of their own, Delete set apart at the far end.
    assert page.rename_button.isVisibleTo(page) and page.delete_button.isVisibleTo(page)
    assert page.delete_button.x() - page.rename_button.x() > 3 * page.rename_button.width()


def test_download_is_disabled_without_a_selection(demo, page):
    page.table.clearSelection()
    assert page.selected_file() is None
    assert not page.download_button.isEnabled()
    assert not page.file_actions["json"].isEnabled()
    page.table.selectRow(0)
    assert page.download_button.isEnabled()


def test_every_reply_score_and_warning_count_is_written_one_way(demo, page, filled_library):
    """Two decimals for every score ("min 3.0" beside "mean 3.00" read as two kinds of
    number); thousands separators for every count, the warnings' "×N" too."""
    import re

    scores = page.quality_label.text().splitlines()[0]
    assert re.fullmatch(r"Reply scores: mean \d+\.\d\d · min \d+\.\d\d · max \d+\.\d\d"
                        r" · [\d,]+ human-reviewed", scores), scores
    head = header(filled_library, "Demo")
    quality = head["quality_summary"]
    code = next(iter(quality["warnings_by_code"]))
    big = {**head, "quality_summary": {**quality, "conversations_with_warnings": 4503,
                                       "warnings_by_code": {code: 4503}}}
    warnings = training_files_page.quality_text(big).splitlines()[1]
    assert warnings.startswith("Warnings: 4,503 conversations with warnings (")
    assert warnings.endswith("×4,503)"), warnings


def test_removing_every_conversation_says_so_and_greys_out_the_jsonl(
        qtbot, demo, page, dialogs, filled_library):
    """Emptying a file is said before it is done; then the downloads an export would
    refuse (every JSONL: no line to train on) are greyed out, saying why, and the full
    JSON still downloads."""
    page.members.selectAll()
    dialogs.confirms.append(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)

    question = dialogs.asked[0][2]
    assert question.startswith("Remove 15 conversations from 'Demo'?")
    assert "This leaves 'Demo' with no conversations: its JSONL will have no line to " \
        "train on" in question
    assert get_training_file(filled_library, "Demo").conversations == 0
    assert page.selected_file().name == "Demo"
    assert page.file_actions["json"].isEnabled()
    for key in ("jsonl", "messages", "per_reply", "no_context", "split"):
        action = page.file_actions[key]
        assert not action.isEnabled(), key
        assert action.toolTip().startswith(
            "The training file 'Demo' has no line to train on: it holds no conversations"), key
    assert page.why_no_lines() == page.file_actions["jsonl"].toolTip()
    assert page.download_button.toolTip().endswith(page.why_no_lines())


def test_removing_some_conversations_does_not_warn_of_an_empty_file(demo, page, dialogs):
    page.members.selectRow(0)
    dialogs.confirms.append(False)
    page.remove_button.click()
    assert "no conversations" not in dialogs.asked[0][2]
    assert page.file_actions["jsonl"].isEnabled()
    assert page.why_no_lines() is None
    assert "no line to train on" not in page.file_actions["jsonl"].toolTip()


def test_refresh_keeps_the_selected_file(page, filled_library):
    ids = all_ids(filled_library)
    make_file(filled_library, "Alpha", ids[:1])
    make_file(filled_library, "Beta", ids[1:3])
    page.refresh(select_name="Beta")
    assert page.selected_file().name == "Beta"
    make_file(filled_library, "Gamma", [])
    page.refresh()
    assert page.selected_file().name == "Beta"
    assert page.members_model.rowCount() == 2


def test_a_large_files_details_are_read_on_a_worker_and_show_the_same(
        qtbot, page, filled_library, monkeypatch):
    """From DETAILS_IN_WORKER_FROM members on, the header, members and coverage are read off
    the GUI thread; what the page shows in the end is what a read on the GUI thread shows."""
    ids = all_ids(filled_library)
    make_file(filled_library, "Small", ids[:2])
    make_file(filled_library, "Large", ids)
    page.refresh(select_name="Large")
    at_once = (page.totals_label.text(), page.quality_label.text(),
               [page.members_model.row_at(r) for r in range(page.members_model.rowCount())],
               page.charts["batch"].rows())
    reads: list[str] = []
    real = training_files_page.read_details

    def noted(library, name, axis):
        reads.append(threading.current_thread().name)
        return real(library, name, axis)

    monkeypatch.setattr(training_files_page, "read_details", noted)
    monkeypatch.setattr(training_files_page, "DETAILS_IN_WORKER_FROM", 10)
    page.refresh(select_name="Small")  # 2 members: read at once, here
    assert reads == [threading.current_thread().name]
    assert page.members_model.rowCount() == 2
    page.refresh(select_name="Large")  # 15 members: on a worker
    assert page.name_label.text() == "Large"
    assert page.totals_label.text() == "Reading 15 conversations…"
    assert page.members_model.rowCount() == 0, "the last file's members are not shown as its"
    assert page.download_button.isEnabled() and page.rename_button.isEnabled()
    qtbot.waitUntil(lambda: page.members_model.rowCount() == 15, timeout=WAIT_MS)
    # the near-duplicates within the file are counted on a worker of their own
    qtbot.waitUntil(lambda: training_files_page.COUNTING_NEAR not in page.quality_label.text(),
                    timeout=WAIT_MS)
    assert reads[1] != threading.current_thread().name
    assert (page.totals_label.text(), page.quality_label.text(),
            [page.members_model.row_at(r) for r in range(page.members_model.rowCount())],
            page.charts["batch"].rows()) == at_once
    assert page.coverage.isEnabled() and page.details.isEnabled()


def test_only_the_latest_read_of_the_details_is_shown(qtbot, page, filled_library,
                                                      monkeypatch):
    """Two files chosen one after the other: the first file's late answer never replaces
    the second's."""
    ids = all_ids(filled_library)
    make_file(filled_library, "First", ids[:12])
    make_file(filled_library, "Second", ids)
    monkeypatch.setattr(training_files_page, "DETAILS_IN_WORKER_FROM", 10)
    real = training_files_page.read_details
    first_may_end = threading.Event()

    def first_answers_last(library, name, axis):
        if name == "First":
            first_may_end.wait(WAIT_MS / 1000)
        return real(library, name, axis)

    monkeypatch.setattr(training_files_page, "read_details", first_answers_last)
    page.refresh(select_name="First")
    page.refresh(select_name="Second")
    qtbot.waitUntil(lambda: page.members_model.rowCount() == 15, timeout=WAIT_MS)
    first_may_end.set()
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0,
                    timeout=WAIT_MS)
    qtbot.wait(50)  # queued answers delivered
    assert page.name_label.text() == "Second"
    assert page.members_model.rowCount() == 15


# --- copies --------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "suffix"), [("json", ".json"), ("jsonl", ".jsonl")])
def test_copies_are_byte_identical_to_the_stored_files(qtbot, demo, page, dialogs, tmp_path,
                                                       filled_library, key, suffix):
    target = tmp_path / "out" / f"copy{suffix}"
    dialogs.save_paths.append(target)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as saved:
        page.file_actions[key].trigger()

    assert saved.args[0].startswith("Saved ")
    assert dialogs.asked[0][2].name == f"Demo{suffix}"
    stored = stored_bytes(filled_library, "Demo")[0 if key == "json" else 1]
    assert target.read_bytes() == stored
    # The message stays, with the path, its size, and what to do next.
    assert page.banner.isVisibleTo(page)
    text = page.banner.label.text()
    assert f"copy{suffix} ({human_size(len(stored))})" in text
    assert str(target.parent) in text
    assert f"with {target.name}.manifest.json" in text
    qtbot.mouseClick(page.banner.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == str(target)
    qtbot.mouseClick(page.banner.close_button, Qt.MouseButton.LeftButton)
    assert not page.banner.isVisibleTo(page)
    assert not dialogs.warnings


def test_the_saved_message_goes_once_the_file_is_rebuilt(qtbot, demo, page, dialogs,
                                                         tmp_path, filled_library):
    """It said "Saved Demo.jsonl …" beside the line saying that copy is older than the
    file: a message of the file as it was goes when the file changes (and stays when the
    same file is shown again unchanged)."""
    from app.trainingfiles import change_settings

    page.show()  # (behind its tab the details wait until it shows)
    dialogs.save_paths.append(tmp_path / "copy.jsonl")
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["jsonl"].trigger()
    assert page.banner.isVisibleTo(page)
    page.refresh(select_name="Demo")
    qtbot.waitUntil(lambda: page.name_label.text() == "Demo", timeout=WAIT_MS)
    assert page.banner.isVisibleTo(page), "the same file, unchanged: it stays"
    change_settings(filled_library, "Demo", max_seq_len=2048)
    page.refresh(select_name="Demo")
    qtbot.waitUntil(lambda: not page.banner.isVisibleTo(page), timeout=WAIT_MS)


def test_messages_only_lines_have_only_messages(qtbot, demo, page, dialogs, tmp_path,
                                               filled_library):
    target = tmp_path / "messages.jsonl"
    dialogs.save_paths.append(target)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["messages"].trigger()

    assert dialogs.asked[0][2].name == "Demo.messages.jsonl"
    lines = jsonl_lines(target)
    assert len(lines) == len(stored_bytes(filled_library, "Demo")[1].splitlines())
    assert all(list(line) == ["messages"] for line in lines)


def test_per_reply_copy_has_a_line_per_trainable_reply(qtbot, demo, page, dialogs, tmp_path):
    target = tmp_path / "per-reply.jsonl"
    dialogs.save_paths.append(target)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["per_reply"].trigger()

    assert dialogs.asked[0][2].name == "Demo.per-reply.jsonl"
    lines = jsonl_lines(target)
    assert len(lines) == demo.trainable_replies
    assert all(line["messages"][-1]["role"] == "assistant" for line in lines)
    assert all(len(line["metadata"]["replies"]) == 1 for line in lines)


def test_split_writes_train_and_valid_that_add_up(qtbot, demo, page, dialogs, tmp_path,
                                                 filled_library):
    folder = tmp_path / "split"
    dialogs.folders.append(folder)
    dialogs.texts.append("0.2")

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as saved:
        page.file_actions["split"].trigger()

    assert "Saved train.jsonl (" in saved.args[0] and " and valid.jsonl (" in saved.args[0]
    assert page.banner.path_text() == str(folder)  # a split's path is its folder
    assert ("text", "Validation share", "0.1") in dialogs.asked
    train, valid = jsonl_lines(folder / "train.jsonl"), jsonl_lines(folder / "valid.jsonl")
    assert len(train) + len(valid) == len(stored_bytes(filled_library, "Demo")[1].splitlines())
    assert len(valid) == 3  # a fifth of fifteen
    assert not dialogs.warnings


@pytest.mark.parametrize("answer", ["100", "0", "ten percent", "-5%"])
def test_a_refused_share_is_asked_again_and_the_folder_kept(qtbot, demo, page, dialogs,
                                                            tmp_path, answer):
    """A share typed as the person thinks of it ("10%") is taken; one the split cannot use
    is offered again as typed, with the reason, and the chosen folder is not lost."""
    folder = tmp_path / "split"
    dialogs.folders.append(folder)
    dialogs.texts.extend([answer, "20%"])

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["split"].trigger()

    asked = [a for a in dialogs.asked if a[0] == "text"]
    assert asked == [("text", "Validation share", "0.1"), ("text", "Validation share", answer)]
    assert f"'{answer}' is not a validation share" in dialogs.labels[1]
    assert "percentage below 100 (10%)" in dialogs.labels[1]
    assert not dialogs.warnings
    assert len(jsonl_lines(folder / "valid.jsonl")) == 3  # a fifth of fifteen


def test_a_cancelled_share_saves_nothing(demo, page, dialogs, tmp_path):
    folder = tmp_path / "split"
    dialogs.folders.append(folder)
    dialogs.texts.append(None)

    page.file_actions["split"].trigger()

    assert not folder.exists() and not dialogs.warnings


def test_unwritable_destination_shows_the_reason(qtbot, demo, page, dialogs, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    target = blocker / "inside" / "Demo.json"
    dialogs.save_paths.extend([target, None])  # asked again there: Cancel

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["json"].trigger()

    assert len(dialogs.warnings) == 1
    message = dialogs.warnings[0][1]
    assert message.startswith("Demo.json cannot be saved there. ")
    assert f"{blocker} is a file, not a folder" in message  # the words of every system
    assert [a[2] for a in dialogs.asked if a[0] == "save_path"][1:] == [target]
    assert not target.exists()
    assert page.selected_file().name == "Demo"  # the page carries on


def test_cancelled_save_dialog_writes_nothing(demo, page, dialogs, tmp_path):
    dialogs.save_paths.append(None)
    page.file_actions["jsonl"].trigger()
    assert not dialogs.warnings
    assert list(tmp_path.glob("*.jsonl")) == []


# --- managing ------------------------------------------------------------------------------


def test_rename_refuses_a_path_like_name(demo, page, dialogs, filled_library):
    dialogs.texts.extend(["../x", None])  # refused, asked again as typed: Cancel

    page.file_actions["rename"].trigger()

    assert dialogs.asked == [("text", "Rename training file", "Demo"),
                             ("text", "Rename training file", "../x")]
    assert "not allowed" in dialogs.labels[1] and dialogs.labels[1].endswith("New name:")
    assert dialogs.warnings == []
    assert [info.name for info in list_training_files(filled_library)] == ["Demo"]
    assert page.selected_file().name == "Demo"


def test_rename_to_a_taken_or_too_long_name_asks_again_until_one_is_taken(
        qtbot, demo, page, dialogs, filled_library):
    make_file(filled_library, "Other", [])
    page.refresh("Demo")
    long_name = "x" * 93
    dialogs.texts.extend(["other", long_name, "Demo — v2"])

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as renamed:
        page.file_actions["rename"].trigger()

    assert [default for _kind, _title, default in dialogs.asked] == ["Demo", "other", long_name]
    assert "already exists" in dialogs.labels[1]
    assert "at most 80 characters (this one has 93)" in dialogs.labels[2]
    assert renamed.args[0] == ("Renamed training file 'Demo' to 'Demo — v2': Edit ▸ Undo "
                               "(Ctrl+Z) names it as before")
    assert sorted(i.name for i in list_training_files(filled_library)) == ["Demo — v2", "Other"]


def test_rename_shows_the_new_name(qtbot, demo, page, dialogs, filled_library):
    dialogs.texts.append("Demo v2")

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as renamed:
        page.file_actions["rename"].trigger()

    assert renamed.args[0] == ("Renamed training file 'Demo' to 'Demo v2': Edit ▸ Undo "
                               "(Ctrl+Z) names it as before")
    assert page.selected_file().name == "Demo v2"
    assert page.name_label.text() == "Demo v2"
    assert get_training_file(filled_library, "Demo v2").conversations == 15


def test_delete_after_confirming_returns_to_the_empty_state(qtbot, demo, page, dialogs,
                                                           filled_library):
    dialogs.confirms.append(True)

    with qtbot.waitSignal(page.status, timeout=60000):  # a delete runs as a job
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)

    question = dialogs.asked[0][2]
    assert question.startswith("Delete training file 'Demo'?")
    assert "copies you saved elsewhere are not touched" in question
    assert list_training_files(filled_library) == []
    with filled_library.session() as session:  # its stored renderings went with it
        assert session.scalar(select(func.count()).select_from(BuildFragment)) == 0
    assert page.stack.currentWidget() is page.empty_state


def test_delete_declined_keeps_the_file(demo, page, dialogs, filled_library):
    dialogs.confirms.append(False)
    page.file_actions["delete"].trigger()
    assert [info.name for info in list_training_files(filled_library)] == ["Demo"]
    assert page.stack.currentWidget() is page.content


def test_removing_a_member_rebuilds_the_file(qtbot, demo, page, dialogs, filled_library):
    removed = page.members_model.index(0, 0).data(ID_ROLE)
    assert not page.remove_button.isEnabled()
    page.members.selectRow(0)
    assert page.remove_button.isEnabled()
    dialogs.confirms.append(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as done:
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)

    assert done.args[0] == "Removed 1 conversation from 'Demo'"
    assert removed not in member_ids(filled_library, "Demo")
    assert page.model.index(0, CONVERSATIONS).data() == "14"
    assert page.members_model.rowCount() == 14
    assert "14 conversations" in page.totals_label.text()
    # 14 members, each a line (cut-off policy keep)
    assert len(stored_bytes(filled_library, "Demo")[1].splitlines()) == 14


# --- the chart -----------------------------------------------------------------------------


def test_chart_sorts_by_count_and_folds_a_long_tail(qtbot):
    chart = DistributionChart("Topic")
    qtbot.addWidget(chart)
    chart.set_counts({"b": 1, "a": 5, "c": 3})
    assert chart.rows() == [("a", 5), ("c", 3), ("b", 1)]
    many = {f"key{i:02d}": i + 1 for i in range(20)}
    folded = top_counts(many, limit=5)
    assert len(folded) == 5
    assert folded[-1] == ("16 others", sum(range(1, 17)))


def test_chart_with_no_data_still_paints(qtbot):
    chart = DistributionChart("Nothing here")
    qtbot.addWidget(chart)
    chart.set_counts({})
    chart.resize(chart.sizeHint())
    assert chart.rows() == []
    assert chart.sizeHint().height() > 0
    assert not chart.grab().isNull()


def test_members_model_passes_qt_model_tester(qtmodeltester, page, filled_library):
    make_file(filled_library, "Checked", all_ids(filled_library)[:4])
    page.refresh(select_name="Checked")
    assert page.members_model.rowCount() == 4
    qtmodeltester.check(page.members_model)
    page.members.sortByColumn(MEMBER_TOKENS, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(page.members_model)


def click_heading(qtbot, page, column: int) -> None:
    heading = page.members.horizontalHeader()
    where = QPoint(heading.sectionViewportPosition(column) + 4, heading.height() // 2)
    qtbot.mouseClick(heading.viewport(), Qt.MouseButton.LeftButton, pos=where)


def shown(page, column: int, role=Qt.ItemDataRole.DisplayRole) -> list:
    model = page.members_model
    return [model.index(r, column).data(role) for r in range(model.rowCount())]


def test_members_sort_on_their_values_with_missing_ones_last(qtbot, demo, page,
                                                            filled_library):
    """A click on a heading sorts the list (a second reverses it, a third gives the file's
    order back): counts as numbers, names ignoring case, a dash last either way."""
    page.show()
    qtbot.waitExposed(page)
    model = page.members_model
    assert page.members.isSortingEnabled()
    assert shown(page, 0, ID_ROLE) == all_ids(filled_library)  # file order at first
    assert model.headerData(MEMBER_BATCH, Qt.Orientation.Horizontal) == "Batch ID"
    assert set(shown(page, MEMBER_BATCH)) == {"batch-2025-12"}

    click_heading(qtbot, page, MEMBER_TOKENS)
    click_heading(qtbot, page, MEMBER_TOKENS)  # longest first
    counts = [file_tokens(model.row_at(r)) for r in range(model.rowCount())]
    counted = [count for count in counts if count > 0]
    assert counted == sorted(counted, reverse=True)
    assert counts[:len(counted)] == counted  # not counted and no line: last
    assert int(shown(page, MEMBER_TOKENS)[0].replace(",", "")) == max(counted)

    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        page.members.sortByColumn(MEMBER_ARC, order)
        texts = shown(page, MEMBER_ARC)
        named = [text for text in texts if text != MISSING]
        assert texts == named + [MISSING] * (len(texts) - len(named))
        assert named == sorted(named, key=str.casefold,
                               reverse=order == Qt.SortOrder.DescendingOrder)

    page.members.sortByColumn(MEMBER_WARNINGS, Qt.SortOrder.DescendingOrder)
    flagged = [len(model.row_at(r).warning_codes) for r in range(model.rowCount())]
    assert flagged == sorted(flagged, reverse=True)

    page.members.sortByColumn(MEMBER_TOKENS, Qt.SortOrder.AscendingOrder)
    click_heading(qtbot, page, MEMBER_TOKENS)
    click_heading(qtbot, page, MEMBER_TOKENS)  # the third click: the file's order
    assert shown(page, 0, ID_ROLE) == all_ids(filled_library)


@pytest.mark.parametrize("column", [MEMBER_ARC, MEMBER_TOPIC])
def test_an_arc_or_topic_sort_names_each_code_once(demo, page, monkeypatch, column):
    """Named once a row, 10,000 members took 0.1 s to sort by arc on the GUI thread."""
    model = page.members_model
    codes = {(row.emotional_arc, row.emotional_arc_key, row.training_topic,
              row.training_topic_key) for row in map(model.row_at, range(model.rowCount()))}
    assert len(codes) < model.rowCount()
    named: list[str | None] = []

    def counted(show):
        def name(code: str | None) -> str:
            named.append(code)
            return show(code)
        return name

    monkeypatch.setattr(members_model, "display", counted(labels.display_name))
    monkeypatch.setattr(members_model, "topic_display", counted(labels.topic_display))
    page.members.sortByColumn(column, Qt.SortOrder.AscendingOrder)
    monkeypatch.undo()
    assert 0 < len(named) <= len(codes)


def test_removing_after_a_sort_removes_the_rows_selected(qtbot, demo, page, dialogs,
                                                        filled_library):
    page.members.sortByColumn(MEMBER_TOKENS, Qt.SortOrder.DescendingOrder)
    model = page.members_model
    longest = [model.row_at(r).conversation_id for r in (0, 1)]
    assert longest != all_ids(filled_library)[:2]
    page.members.selectRow(0)
    page.members.selectionModel().select(
        model.index(1, 0), QItemSelectionModel.SelectionFlag.Select
        | QItemSelectionModel.SelectionFlag.Rows)
    assert set(page.selected_member_ids()) == set(longest)
    dialogs.confirms.append(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as done:
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)

    assert done.args[0] == "Removed 2 conversations from 'Demo'"
    assert member_ids(filled_library, "Demo") == [
        cid for cid in all_ids(filled_library) if cid not in longest]
    assert model.rowCount() == 13
    counts = [file_tokens(model.row_at(r)) for r in range(13)]
    assert counts == sorted(counts, reverse=True)  # the list keeps its order


@pytest.mark.parametrize("present", ["train.jsonl", "manifest.json"])
def test_the_split_asks_before_replacing_and_declining_keeps_the_files(
        demo, page, dialogs, tmp_path, present):
    """The split writes train.jsonl, valid.jsonl and manifest.json
    (app.export.export_targets): a folder holding any one of them, even someone's lone
    manifest.json, is asked about, and No leaves it as it was and writes nothing."""
    folder = tmp_path / "split"
    folder.mkdir()
    (folder / present).write_bytes(b"mine\n")
    dialogs.folders.append(folder)
    dialogs.texts.append("0.2")
    dialogs.confirms.append(False)

    page.file_actions["split"].trigger()

    kind, title, question = dialogs.asked[-1]
    # A question that replaces files is a destructive one: its default is Cancel.
    assert (kind, title) == ("confirm_destructive", "Replace files")
    assert f"{present} already exists in {folder}. Replace it?" in question
    assert (folder / present).read_bytes() == b"mine\n"
    assert [p.name for p in folder.iterdir()] == [present]


def test_the_split_names_every_file_it_would_replace_and_replaces_them_on_yes(
        qtbot, demo, page, dialogs, tmp_path):
    folder = tmp_path / "split"
    folder.mkdir()
    for name in ("train.jsonl", "valid.jsonl", "manifest.json"):
        (folder / name).write_bytes(b"mine\n")
    dialogs.folders.append(folder)
    dialogs.texts.append("0.2")
    dialogs.confirms.append(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["split"].trigger()

    question = dialogs.asked[-1][2]
    assert ("train.jsonl, valid.jsonl and manifest.json already exist in "
            f"{folder}. Replace them?") in question
    assert not dialogs.warnings
    assert orjson.loads((folder / "manifest.json").read_bytes())["manifest_version"]
    assert len(jsonl_lines(folder / "valid.jsonl")) == 3


@pytest.mark.parametrize(("key", "suffix"), [("json", ".json"), ("jsonl", ".jsonl")])
def test_a_single_copy_asks_before_replacing_the_manifest_beside_it(
        demo, page, dialogs, tmp_path, key, suffix):
    """The save dialog asks about the copy; the manifest it writes beside it may be
    someone's own too: named and asked about, and No writes nothing."""
    target = tmp_path / "out" / f"copy{suffix}"
    target.parent.mkdir()
    manifest = target.with_name(f"copy{suffix}.manifest.json")
    manifest.write_bytes(b'{"mine": true}')
    dialogs.save_paths.append(target)
    dialogs.confirms.append(False)

    page.file_actions[key].trigger()

    kind, title, question = dialogs.asked[-1]
    assert (kind, title) == ("confirm_destructive", "Replace files")
    assert question == (
        f"copy{suffix}.manifest.json already exists in {target.parent}. Replace it? "
        f"copy{suffix}.manifest.json is the manifest saved beside every copy (what was "
        "exported, with checksums). Nothing else in the folder is touched.")
    assert manifest.read_bytes() == b'{"mine": true}'
    assert not target.exists()


def test_a_single_copy_replaces_the_manifest_on_yes_and_asks_nothing_without_one(
        qtbot, demo, page, dialogs, tmp_path):
    target = tmp_path / "copy.jsonl"
    manifest = tmp_path / "copy.jsonl.manifest.json"
    manifest.write_bytes(b'{"mine": true}')
    dialogs.save_paths.append(target)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["jsonl"].trigger()
    assert orjson.loads(manifest.read_bytes())["training_file"] == "Demo"
    assert target.exists() and not dialogs.warnings

    asked = len(dialogs.asked)
    other = tmp_path / "other.jsonl"
    dialogs.save_paths.append(other)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["jsonl"].trigger()
    assert [a[0] for a in dialogs.asked[asked:]] == ["save_path"]  # nothing there to ask about
    assert other.exists()


def test_the_members_warnings_are_the_ones_the_header_counts(page, filled_library, tmp_path):
    """The Warnings column of a file's conversations lists the quality warnings of their
    records, the ones the header above counts; the library's near-duplicate flag is not one
    of them (a near-duplicate without other warnings shows none, or only the ≈ of a member
    that nearly repeats another of the file, which no header counts)."""
    from test_add_review import _near_twin

    twin, original = _near_twin(filled_library, tmp_path / "in")
    make_file(filled_library, "Twin alone", [twin])
    page.refresh()
    assert page.select_file("Twin alone")
    assert shown(page, MEMBER_WARNINGS) == [""]
    make_file(filled_library, "With twin", all_ids(filled_library))
    page.refresh()
    assert page.select_file("With twin")
    warned = dict(zip(shown(page, 0, ID_ROLE), shown(page, MEMBER_WARNINGS), strict=True))
    assert warned[twin] == "≈" and warned[original] == ""
    quality = header(filled_library, "With twin")["quality_summary"]
    assert sum(1 for text in warned.values() if text.replace("≈", "")) == quality[
        "conversations_with_warnings"]
    assert f"Warnings: {quality['conversations_with_warnings']} conversations with warnings" in (
        page.quality_label.text())


def test_a_file_built_before_exact_counts_shows_its_estimate_marked(qtbot, demo, page,
                                                                       filled_library):
    """Its header has no tokens.total: the list keeps the old estimate, marked with ~."""
    from dataclasses import replace
    old = replace(demo, tokens=None)
    model = TrainingFilesModel()
    model.set_files([old])
    cell = model.index(0, TOKENS)
    assert cell.data() == f"~{demo.estimated_tokens:,}"
    assert cell.data(SORT_ROLE) == demo.estimated_tokens
    assert "~ marks a file built before exact counts" in model.headerData(
        TOKENS, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
