"""A training file's conversation list counts each member's line in *this* file: the
length the file's cut-off policy, length limit and fit gave it, which is what a trainer cuts
or leaves out and what a person weighs when choosing what to remove. Checked against the
JSONL the page saves, counted again with the library's own tokenizer and chat template."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from conftest import FIRST_REPLY_CUT
from PySide6.QtCore import Qt

from app.library import Library
from app.token_counts import NO_LINE, ensure_counts
from app.tokenizer_choice import counting
from app.trainingfiles import add_conversations, change_settings, create_training_file
from ui.members_model import ID_ROLE, MEMBER_TOKENS

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 15_000
LIMIT = 700  # the fixtures' lines are 700-5,800 tokens: most are ended to fit, some not


def shown(page, role: int = Qt.ItemDataRole.DisplayRole) -> dict[str, object]:
    model = page.members_model
    return {model.index(r, 0).data(ID_ROLE): model.index(r, MEMBER_TOKENS).data(role)
            for r in range(model.rowCount())}


def saved_line_tokens(qtbot, page, dialogs, library: Library, target: Path) -> dict[str, int]:
    """Each conversation's line in the JSONL the page saves, counted with the library's
    tokenizer and chat template (not read from the line's own metadata)."""
    dialogs.save_paths.append(target)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["jsonl"].trigger()
    _choice, counter = counting(library)
    lines = [orjson.loads(line) for line in target.read_bytes().splitlines() if line.strip()]
    return {line["metadata"]["conversation_id"]: counter.count(line["messages"])
            for line in lines}


def make_fitted(page, library: Library) -> None:
    """'Fitted': every fixture, cut-off turns kept, lines ended to fit 700 tokens."""
    ids = [row.conversation_id for row in library.summaries()]
    create_training_file(library, "Fitted", cut_off_policy="keep", over_budget="fit")
    add_conversations(library, "Fitted", ids)
    change_settings(library, "Fitted", max_seq_len=LIMIT)
    page.refresh(select_name="Fitted")


@pytest.fixture
def fitted(page, filled_library: Library) -> Library:
    """'Fitted', in a library that has counted every conversation (as the window's
    background count does)."""
    ensure_counts(filled_library)
    make_fitted(page, filled_library)
    return filled_library


def test_tokens_are_the_lines_of_this_file_as_the_saved_jsonl_has_them(
        qtbot, page, dialogs, fitted: Library, tmp_path: Path) -> None:
    on_disk = saved_line_tokens(qtbot, page, dialogs, fitted, tmp_path / "Fitted.jsonl")
    assert shown(page) == {cid: f"{count:,}" for cid, count in on_disk.items()}
    model = page.members_model
    library_counts = {model.row_at(r).conversation_id: model.row_at(r).tokens
                      for r in range(model.rowCount())}
    differ = [cid for cid in on_disk if on_disk[cid] != library_counts[cid]]
    assert len(differ) > len(on_disk) // 2, "most lines are ended to fit: not the library's"

    # the tooltip keeps the library's count where it differs, and says which is which
    tips = shown(page, Qt.ItemDataRole.ToolTipRole)
    for cid in differ:
        library = ("no line for it: the default cut-off policy trains none of its replies"
                   if library_counts[cid] == NO_LINE else
                   f"{library_counts[cid]:,} tokens (its whole line under the default cut-off "
                   "policy)")
        assert f"The library counts {library}; Tokens is its line in this file" in str(
            tips[cid])
    same = [cid for cid in on_disk if cid not in differ]
    assert all("The library counts" not in str(tips[cid]) for cid in same)
    tip = model.headerData(MEMBER_TOKENS, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Tokens in its line in this file, as the trainer reads it")


def test_a_tokens_sort_puts_the_longest_line_of_this_file_first(
        qtbot, page, dialogs, fitted: Library, tmp_path: Path) -> None:
    on_disk = saved_line_tokens(qtbot, page, dialogs, fitted, tmp_path / "Fitted.jsonl")
    page.members.sortByColumn(MEMBER_TOKENS, Qt.SortOrder.DescendingOrder)
    model = page.members_model
    order = [model.index(r, 0).data(ID_ROLE) for r in range(model.rowCount())]
    assert [on_disk[cid] for cid in order] == sorted(on_disk.values(), reverse=True)
    assert [model.index(r, MEMBER_TOKENS).data() for r in range(model.rowCount())] == [
        f"{on_disk[cid]:,}" for cid in order]


def test_a_member_the_file_writes_no_line_for_shows_a_dash_and_sorts_last(
        qtbot, page, filled_library: Library) -> None:
    """Under 'trim' the two fixtures cut off in their first reply train nothing in this
    file: no line, which the file's build knows while the library has not counted them yet
    (its count is then the characters ÷ 4 estimate, never shown as the line's)."""
    make_fitted(page, filled_library)
    change_settings(filled_library, "Fitted", cut_off_policy="trim")
    page.refresh(select_name="Fitted")
    texts, tips = shown(page), shown(page, Qt.ItemDataRole.ToolTipRole)
    for cid in FIRST_REPLY_CUT:
        assert texts[cid] == "—"
        assert ("No training line in this file: it has no consultant reply that the file's "
                "cut-off policy trains") in str(tips[cid])
    assert not any("The library counts" in str(tip) for tip in tips.values()), \
        "an estimate is no count"
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        page.members.sortByColumn(MEMBER_TOKENS, order)
        model = page.members_model
        last = {model.index(r, 0).data(ID_ROLE) for r in range(model.rowCount() - 2,
                                                                 model.rowCount())}
        assert last == FIRST_REPLY_CUT
