"""The as-trained preview: what the trainer reads, which tokens are trained, per-turn
counts, the budget; first the engine (no Qt), then the window on a real library."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ENRICHED
from hostile_corpus import conversation, dump
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel
from tokenizers import AddedToken, Tokenizer

from app.budget_fit import OverBudget
from app.chat_templates import BUNDLED, ChatTemplate, bundled_template
from app.cut_off_rule import looks_cut_off
from app.cutoff import CutOffPolicy
from app.importer import import_paths
from app.jsonl import jsonl_lines
from app.library import Library
from app.loader import load_conversation_file
from app.tokens import TokenCounter, bundled_tokenizer_path, default_counter
from app.trained_preview import (
    DEFAULT_SETTINGS,
    HISTORY,
    FileSettings,
    Variant,
    build_preview,
    file_settings,
)
from app.trainingfiles import add_conversations, set_max_seq_len
from ui.as_trained_colours import as_trained_colours
from ui.as_trained_preview import AsTrainedWindow
from ui.file_settings import choice_label
from ui.reader_colours import contrast
from ui.themes import dark_palette, light_palette

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "chat_templates"
CUT_AT = 2  # the message index of the reply the helper cuts off (the first reply)


def cut_off_record() -> dict[str, Any]:
    """A real conversation (enriched-1) whose first reply stops mid-sentence, the way the
    generator cuts replies; the later replies are intact."""
    record = load_conversation_file(ENRICHED[1], "b")
    reply = record["messages"][CUT_AT]["content"]
    record["messages"][CUT_AT]["content"] = reply[: reply.index(" ", 200)]
    assert record["messages"][CUT_AT]["role"] == "assistant"
    assert looks_cut_off(record["messages"][CUT_AT]["content"])
    return record


def counter_for_key(key: str) -> TokenCounter:
    return TokenCounter.from_file(bundled_tokenizer_path(), bundled_template(key))


def own_count(key: str, text: str) -> int:
    """The tokenizer library's own count of a rendered text (a fresh tokenizer)."""
    tokenizer = Tokenizer.from_file(str(bundled_tokenizer_path()))
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in BUNDLED[key].special_tokens
                                  if tokenizer.token_to_id(t) is None])
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


# --- the engine: weight 0 is context -------------------------------------------------


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_a_weight0_reply_is_context_not_trained(key: str) -> None:
    record = cut_off_record()
    (line,) = list(jsonl_lines(record, "t", CutOffPolicy.WEIGHT0))
    messages = line["messages"]
    assert messages[CUT_AT]["weight"] == 0
    assert [m.get("weight") for m in messages if m["role"] == "assistant"][1:] == [1, 1, 1]
    shown = counter_for_key(key).as_trained(messages)
    eos = BUNDLED[key].eos_token
    targets = [m["content"] for m in messages if m.get("weight") == 1]
    spans = shown.trained_spans()
    assert [shown.text[s:e].strip() for s, e in spans] == [t.strip() + eos for t in targets]
    cut_text = messages[CUT_AT]["content"]
    at = shown.text.index(cut_text)
    assert not any(s < at + len(cut_text) and e > at for s, e in spans)
    cut_turn = next(t for t in shown.turns if t.message_index == CUT_AT)
    assert cut_turn.tokens > 0 and cut_turn.trained_tokens == 0
    # The same line under keep trains the cut reply too: the weight is what changed it.
    kept = counter_for_key(key).as_trained(
        [{k: v for k, v in m.items() if k != "weight"} for m in messages])
    assert kept.total == shown.total and kept.trained_total > shown.trained_total


def test_weight0_without_generation_blocks() -> None:
    """A user's template without {% generation %}: weight 0 replies and their end token
    are not trained either."""
    source = re.sub(r"\{%-? *(end)?generation *-?%\}", "",
                    (TEMPLATES / "chatml.jinja").read_text(encoding="utf-8"))
    counter = TokenCounter.from_file(bundled_tokenizer_path(), ChatTemplate(
        "custom", "mine.jinja", source, "", "<|im_end|>", ("<|im_start|>", "<|im_end|>")))
    (line,) = list(jsonl_lines(cut_off_record(), "t", CutOffPolicy.WEIGHT0))
    shown = counter.as_trained(line["messages"])
    assert not shown.uses_generation_blocks
    trained = [shown.text[s:e] for s, e in shown.trained_spans()]
    targets = [m["content"] for m in line["messages"] if m.get("weight") == 1]
    assert [t.strip() for t in trained] == [t.strip() + "<|im_end|>" for t in targets]


# --- the engine: the preview ------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_turn_counts_add_up_to_the_tokenizers_own_count(key: str) -> None:
    record = load_conversation_file(ENRICHED[0], "b")
    preview = build_preview(record, counter_for_key(key))
    assert preview.shown is not None
    in_line = [row for row in preview.rows if row.in_line]
    assert sum(row.tokens or 0 for row in in_line) == preview.total
    assert preview.total == own_count(key, preview.shown.text)
    assert sum(row.trained_tokens for row in in_line) == preview.trained_total > 0
    assert [row.role for row in in_line] == [m["role"] for m in record["messages"]][
        : len(in_line)]
    for row in in_line:
        assert row.trained == (row.role == "assistant")
        assert bool(row.why_not) != row.trained


def test_the_budget_cuts_at_max_seq_len() -> None:
    record = load_conversation_file(ENRICHED[1], "b")
    counter = default_counter()
    roomy = build_preview(record, counter, FileSettings("big", 100_000))
    assert roomy.cut_token is None and roomy.lost_tokens == 0
    limit = roomy.total // 2
    tight = build_preview(record, counter, FileSettings("small", limit))
    assert tight.shown is not None
    assert tight.cut_token == limit
    assert tight.cut_char == tight.shown.offsets[limit][0]
    assert tight.lost_tokens == tight.total - limit
    assert sum(row.lost_tokens for row in tight.rows) == tight.lost_tokens
    assert tight.lost_trained == sum(tight.shown.trained[limit:]) > 0
    # The turn holding the cut loses only its tail.
    first = next(row for row in tight.rows if row.lost_tokens)
    assert first.first_token < limit < first.first_token + (first.tokens or 0)
    assert first.lost_tokens == first.first_token + (first.tokens or 0) - limit


def test_trim_shows_the_trimmed_tail_and_weight0_the_context_reply() -> None:
    record = cut_off_record()
    counter = default_counter()
    trimmed = build_preview(record, counter, FileSettings("t", 4096, CutOffPolicy.TRIM))
    assert trimmed.shown is None  # the very first reply is cut: nothing to train on
    assert "no training line" in trimmed.note and "cut off" in trimmed.note
    assert all(not row.in_line for row in trimmed.rows)
    assert "the reply itself is cut off" in trimmed.rows[CUT_AT].why_not
    weighted = build_preview(record, counter, FileSettings("w", 4096, CutOffPolicy.WEIGHT0))
    row = weighted.rows[CUT_AT]
    assert row.in_line and not row.trained and row.why_not.startswith("context (weight 0)")


def test_trim_keeps_the_clean_start_and_lists_what_it_left_out() -> None:
    record = load_conversation_file(ENRICHED[1], "b")
    last = max(i for i, m in enumerate(record["messages"]) if m["role"] == "assistant")
    reply = record["messages"][last]["content"]
    record["messages"][last]["content"] = reply[: reply.index(" ", 100)]
    preview = build_preview(record, default_counter())
    assert preview.shown is not None
    left = [row for row in preview.rows if not row.in_line]
    assert [row.message_index for row in left] == list(range(last - 1, len(record[
        "messages"])))
    assert left[-1].why_not == "left out: the reply itself is cut off"
    assert preview.shown.text.rstrip().endswith(record["messages"][last - 2]["content"]
                                                .rstrip() + "</s>")


def test_per_reply_trains_only_the_last_reply_of_each_line() -> None:
    record = load_conversation_file(ENRICHED[1], "b")
    counter = default_counter()
    replies = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
    for line in range(len(replies)):
        # lines written whole (the default ends this 5,252-token line at its third reply)
        preview = build_preview(record, counter, FileSettings(None), Variant.PER_REPLY, line)
        assert preview.lines == len(replies) and preview.line == line
        assert preview.shown is not None
        (span,) = preview.shown.trained_spans()
        assert preview.shown.text[span[0]:span[1]].strip() == replies[line].strip() + "</s>"
        history = [row for row in preview.rows if row.why_not == HISTORY]
        assert len(history) == line


def test_no_context_variant_drops_the_session_block_but_keeps_the_name() -> None:
    record = load_conversation_file(ENRICHED[1], "b")
    full = build_preview(record, default_counter())
    bare = build_preview(record, default_counter(), variant=Variant.NO_CONTEXT)
    assert full.shown is not None and bare.shown is not None
    assert "Session context" in full.shown.text and "Session context" not in bare.shown.text
    name = record["client"]["name"]
    assert f"Client: {name}\n\n" not in full.shown.text
    assert f"Client: {name}[/INST]" not in full.shown.text
    assert bare.shown.text.index(f"Client: {name}") < bare.shown.text.index("[/INST]")
    assert bare.total < full.total and bare.trained_total == full.trained_total


def test_file_settings_list_the_defaults_then_each_file(filled_library: Library) -> None:
    ids = [row.conversation_id for row in filled_library.summaries() if row.trainable_replies]
    add_conversations(filled_library, "Weighted", ids[:2], create=True,
                      cut_off_policy=CutOffPolicy.WEIGHT0)
    set_max_seq_len(filled_library, "Weighted", 2048)
    settings = file_settings(filled_library)
    assert settings[0] == DEFAULT_SETTINGS
    assert choice_label(None, settings[0].max_seq_len, settings[0].policy) == (
        "Default (4,096 tokens; Trim)")
    assert settings[1] == FileSettings("Weighted", 2048, CutOffPolicy.WEIGHT0, OverBudget.FIT)
    assert choice_label("Weighted", 2048, settings[1].policy) == (
        "Weighted (2,048 tokens; Keep as context, weight 0)")


# --- the window ----------------------------------------------------------------------


def highlighted(window: AsTrainedWindow, background: QColor) -> list[str]:
    """The texts on screen drawn on ``background``, neighbours (across lines, and empty
    lines, which have no character to colour) merged."""
    document = window.text.document()
    units = document.toPlainText().encode("utf-16-le")  # Qt's positions count UTF-16 units

    def text_at(start: int, end: int) -> str:
        return units[2 * start:2 * end].decode("utf-16-le")

    ranges: list[list[int]] = []
    block = document.begin()
    while block.isValid():
        for fmt in block.layout().formats():
            if fmt.format.background().color() != background:
                continue
            start = block.position() + fmt.start
            if ranges and not text_at(ranges[-1][1], start).strip("\n"):
                ranges[-1][1] = start + fmt.length
            else:
                ranges.append([start, start + fmt.length])
        block = block.next()
    return [text_at(start, end) for start, end in ranges]


def struck_out(window: AsTrainedWindow) -> list[int]:
    document = window.text.document()
    starts = []
    block = document.begin()
    while block.isValid():
        starts += [block.position() + fmt.start for fmt in block.layout().formats()
                   if fmt.format.fontStrikeOut()]
        block = block.next()
    return starts


@pytest.fixture
def cut_library(filled_library: Library, tmp_path: Path) -> Library:
    """The real fixtures, plus a real conversation whose first reply is cut off, in a
    training file that keeps cut-off replies as weight-0 context."""
    document = conversation("as_trained_cut_first_reply")
    reply = document["training_pairs"][1]["target_response"]
    document["training_pairs"][1]["target_response"] = reply[: reply.index(" ", 200)]
    path = tmp_path / "cut-first-reply.json"
    path.write_bytes(dump(document))
    assert import_paths(filled_library, [path]).imported == 1
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "weighted", ids, create=True,
                      cut_off_policy=CutOffPolicy.WEIGHT0, over_budget="keep")
    return filled_library


def cut_id(library: Library) -> str:
    return next(row.conversation_id for row in library.summaries()
                if row.source_file == "cut-first-reply.json")


def open_window(qtbot: Any, library: Library, conversation_id: str) -> AsTrainedWindow:
    window = AsTrainedWindow(library)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.rendered, timeout=20_000):
        window.show_record(library.record(conversation_id))
    return window


def rerender(qtbot: Any, window: AsTrainedWindow, change: Any) -> None:
    with qtbot.waitSignal(window.rendered, timeout=20_000):
        change()


def test_the_window_highlights_exactly_the_targets(qtbot: Any, cut_library: Library) -> None:
    record = cut_library.record(cut_id(cut_library))
    window = open_window(qtbot, cut_library, cut_id(cut_library))
    rerender(qtbot, window, lambda: window.select_training_file("weighted"))
    preview = window.preview
    assert preview is not None and preview.shown is not None
    assert preview.settings.policy is CutOffPolicy.WEIGHT0
    (line,) = list(jsonl_lines(record, "t", CutOffPolicy.WEIGHT0))
    targets = [m["content"] for m in line["messages"] if m.get("weight") == 1]
    on_screen = highlighted(window, window.colours.trained_bg)
    assert [t.strip() for t in on_screen] == [t.strip() + "</s>" for t in targets]
    cut_reply = line["messages"][CUT_AT]["content"]
    assert line["messages"][CUT_AT]["weight"] == 0
    assert cut_reply in window.text.toPlainText()
    assert not any(cut_reply[:60] in text for text in on_screen)
    # The table: one row per message, trained = the targets, the cut reply says why not.
    table = window.table
    assert table.rowCount() == len(preview.rows) + 1  # + the total row
    cut_row = [table.item(CUT_AT, c).text() for c in range(table.columnCount())]
    assert cut_row[3] == "no" and "weight 0" in cut_row[5] and "cut off" in cut_row[5]
    cells = [table.item(r, 2).text() for r in range(len(preview.rows))]
    tokens = [int(c.replace(",", "")) for c in cells if c != "—"]
    assert len(tokens) == sum(1 for row in preview.rows if row.in_line)
    assert sum(tokens) == preview.total == int(table.item(len(preview.rows), 2).text()
                                                .replace(",", ""))
    assert preview.total == own_count("mistral", preview.shown.text)
    trained_rows = [r for r in range(len(preview.rows)) if table.item(r, 3).text() == "yes"]
    assert len(trained_rows) == len(targets)


def test_the_budget_mark_and_the_lost_tokens(qtbot: Any, cut_library: Library) -> None:
    conversation_id = cut_id(cut_library)
    set_max_seq_len(cut_library, "weighted", 1024)
    window = open_window(qtbot, cut_library, conversation_id)
    assert window.preview is not None and window.preview.cut_token is None  # default 4,096
    assert window.text.budget_rect() is None
    rerender(qtbot, window, lambda: window.select_training_file("weighted"))
    preview = window.preview
    assert preview is not None and preview.shown is not None
    assert preview.cut_token == 1024 and preview.total > 1024
    starts = struck_out(window)
    assert starts and min(starts) == preview.shown.offsets[1024][0]  # ASCII: same offsets
    assert window.text.budget_rect() is not None
    assert f"{preview.lost_tokens:,}</b> tokens past the limit" in window.summary.text()
    lost = window.text.token_description(1024)
    assert "Token 1,025" in lost and "past the length limit of 1,024 tokens" in lost
    assert "length limit <b>1,024</b> tokens (weighted: Keep as context, weight 0)" in \
        window.summary.text()
    assert window.file_combo.currentText() == "weighted (1,024 tokens; Keep as context, weight 0)"
    words = [label.text() for label in window.findChildren(QLabel)]
    assert "past the length limit: never read" in words
    assert not any("max_seq_len" in text or "weight0" in text for text in words), words
    first = window.text.token_description(0)
    assert f"id {preview.shown.ids[0]}" in first and "'<s>'" in first


def test_switching_the_template_renders_again(qtbot: Any, filled_library: Library) -> None:
    some = next(row.conversation_id for row in filled_library.summaries()
                if row.trainable_replies)
    window = open_window(qtbot, filled_library, some)
    assert window.text.toPlainText().startswith("<s>[INST]")
    mistral_total = window.preview.total if window.preview else 0
    rerender(qtbot, window, lambda: window.select_template("chatml"))
    text = window.text.toPlainText()
    assert text.startswith("<|im_start|>system\n") and "[INST]" not in text
    assert window.preview is not None and window.preview.total != mistral_total
    assert window.preview.total == own_count("chatml", window.preview.shown.text)  # type: ignore[union-attr]
    rerender(qtbot, window, lambda: window.select_template("llama3"))
    assert window.text.toPlainText().startswith("<|begin_of_text|><|start_header_id|>system")


def test_token_boundaries_and_the_tooltip(qtbot: Any, filled_library: Library) -> None:
    some = next(row.conversation_id for row in filled_library.summaries()
                if row.trainable_replies)
    window = open_window(qtbot, filled_library, some)
    colours = window.colours
    assert not highlighted(window, colours.context_alt_bg)
    window.boundaries_check.setChecked(True)
    alternate = highlighted(window, colours.context_alt_bg)
    assert alternate  # every other context token is tinted ...
    assert highlighted(window, colours.trained_alt_bg)  # ... and every other trained one
    preview = window.preview
    assert preview is not None and preview.shown is not None
    # the character under a point of the text is found, with its token
    cursor = window.text.textCursor()
    cursor.setPosition(preview.shown.offsets[5][0])
    rect = window.text.cursorRect(cursor)
    position = window.text.character_under(QPoint(rect.left() + 2, rect.center().y()))
    assert position is not None and window.text.token_at(position) == 5
    window.boundaries_check.setChecked(False)
    assert not highlighted(window, colours.context_alt_bg)


def test_it_follows_the_selection_in_the_main_window(qtbot: Any, cut_library: Library,
                                                     tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from ui.main import MainWindow
    from ui.snapshot import QuietDialogs

    window = MainWindow(cut_library, QuietDialogs(),
                        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    page = window.conversations
    ids = [row.conversation_id for row in page.rows()]
    assert not window.as_trained_action.isEnabled()
    page.select_conversation(ids[0])
    assert window.as_trained_action.isEnabled()
    window.as_trained_action.trigger()
    preview_window = window.as_trained_window
    assert preview_window is not None and preview_window.isVisible()
    qtbot.waitUntil(lambda: preview_window.preview is not None
                    and preview_window.preview.conversation_id == ids[0], timeout=20_000)
    page.select_conversation(ids[1])
    qtbot.waitUntil(lambda: preview_window.preview is not None
                    and preview_window.preview.conversation_id == ids[1], timeout=20_000)
    assert ids[1] in preview_window.title.text()
    # the reader's button opens the same window on its conversation
    page.select_conversation(ids[2])
    qtbot.mouseClick(page.reader.as_trained_button, Qt.MouseButton.LeftButton)
    assert window.as_trained_window is preview_window
    qtbot.waitUntil(lambda: preview_window.preview is not None
                    and preview_window.preview.conversation_id == ids[2], timeout=20_000)


def test_a_conversation_with_no_line_says_why(qtbot: Any, filled_library: Library) -> None:
    row = next(r for r in filled_library.summaries()
               if r.source_file.startswith("single-convo-file-1"))
    window = open_window(qtbot, filled_library, row.conversation_id)
    assert window.preview is not None and window.preview.shown is None
    assert window.message.isVisibleTo(window)
    assert "no training line" in window.message.text()
    assert "Not in the training line" in window.text.toPlainText()


@pytest.mark.parametrize("make_palette", [light_palette, dark_palette])
def test_every_text_colour_reaches_aa_contrast(make_palette: Any) -> None:
    colours = as_trained_colours(make_palette())
    for name, (text, background) in colours.text_pairs().items():
        assert contrast(text, background) >= 4.5, name
    assert contrast(colours.budget_line, colours.page) >= 3.0
    assert colours.trained_bg != colours.page  # trained text stands out from context
    assert contrast(colours.context_text, colours.page) < contrast(colours.trained_text,
                                                                   colours.trained_bg)


def test_the_saved_json_of_a_record_is_unchanged_by_the_preview(filled_library: Library
                                                                 ) -> None:
    """Building a preview never alters the record it reads (the reader shares it)."""
    some = next(row.conversation_id for row in filled_library.summaries()
                if row.trainable_replies)
    record = filled_library.record(some)
    before = json.dumps(record, sort_keys=True, default=str)
    build_preview(record, default_counter(), FileSettings("x", 512, CutOffPolicy.WEIGHT0),
                  Variant.PER_REPLY, 0)
    assert json.dumps(record, sort_keys=True, default=str) == before


def test_the_per_reply_variant_shows_one_line_at_a_time(qtbot: Any,
                                                        filled_library: Library) -> None:
    row = next(r for r in filled_library.summaries()
               if r.source_file.startswith("enriched-1"))
    record = filled_library.record(row.conversation_id)
    replies = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
    add_conversations(filled_library, "roomy", [row.conversation_id], create=True)
    set_max_seq_len(filled_library, "roomy", 100_000)  # this line is longer than 4,096
    window = open_window(qtbot, filled_library, row.conversation_id)
    # a new file's defaults end this line at its last whole reply under 4,096: no cut
    assert window.preview is not None and window.preview.cut_token is None
    assert window.preview.total == 3909
    rerender(qtbot, window, lambda: window.select_training_file("roomy"))
    assert not window.line_combo.isVisibleTo(window)
    rerender(qtbot, window, lambda: window.select_variant(Variant.PER_REPLY))
    assert window.line_combo.isVisibleTo(window)
    assert window.line_combo.count() == len(replies)
    assert window.line_combo.currentIndex() == len(replies) - 1  # the longest line first
    trained = highlighted(window, window.colours.trained_bg)
    assert [t.strip() for t in trained] == [replies[-1].strip() + "</s>"]
    rerender(qtbot, window, lambda: window.line_combo.setCurrentIndex(0))
    trained = highlighted(window, window.colours.trained_bg)
    assert [t.strip() for t in trained] == [replies[0].strip() + "</s>"]
    assert "line 1 of" in window.summary.text()
    later = [r for r in window.preview.rows if not r.in_line]  # type: ignore[union-attr]
    assert later and all(r.message_index > 2 for r in later)


def test_a_row_shows_its_turn_and_copy_gives_the_exact_text(qtbot: Any,
                                                            filled_library: Library) -> None:
    from PySide6.QtGui import QGuiApplication

    some = next(row.conversation_id for row in filled_library.summaries()
                if row.trainable_replies)
    window = open_window(qtbot, filled_library, some)
    preview = window.preview
    assert preview is not None and preview.shown is not None
    last = max(i for i, row in enumerate(preview.rows) if row.in_line)
    window.table.selectRow(last)
    span = preview.rows[last].span
    assert span is not None and window.text.marked == (span[0], span[1])  # ASCII text
    assert window.text.textCursor().position() == span[0]
    window.copy_button.click()
    assert QGuiApplication.clipboard().text() == preview.shown.text
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_characters_outside_the_bmp_do_not_shift_the_colours(qtbot: Any,
                                                              filled_library: Library) -> None:
    """Qt counts UTF-16 units and the tokenizer code points: an emoji early in the line
    must not move any highlight (the text of every highlighted range is checked)."""
    some = next(row.conversation_id for row in filled_library.summaries()
                if row.source_file.startswith("enriched-2"))
    record = filled_library.record(some)
    for message in record["messages"]:
        if message["role"] in ("user", "assistant"):
            message["content"] = "🎉 " + message["content"].rstrip() + " 🙂👍"
    window = AsTrainedWindow(filled_library)
    qtbot.addWidget(window)
    window.show()
    rerender(qtbot, window, lambda: window.show_record(record))
    rerender(qtbot, window, lambda: window.select_template("chatml"))
    targets = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
    on_screen = highlighted(window, window.colours.trained_bg)
    assert window.preview is not None and window.preview.cut_token is None
    assert [t.strip() for t in on_screen] == [t.strip() + "<|im_end|>" for t in targets]
    cursor = window.text.textCursor()
    shown = window.preview.shown
    assert shown is not None
    last = shown.total - 1  # the last token: after dozens of emoji
    cursor.setPosition(window.text.utf16.to_qt(shown.offsets[last][0]))
    window.text.setTextCursor(cursor)
    window.text.ensureCursorVisible()
    rect = window.text.cursorRect(cursor)
    position = window.text.character_under(QPoint(rect.left() + 2, rect.center().y()))
    assert position is not None and window.text.token_at(position) == last


def test_turns_are_numbered_as_the_reader_numbers_them() -> None:
    from app.reading import reading_messages

    record = load_conversation_file(ENRICHED[1], "b")
    preview = build_preview(record, default_counter())
    shown, _loose = reading_messages(record)
    reader = [str(m.number) if m.number else "" for m in shown]
    assert [row.number for row in preview.rows] == reader
    assert preview.rows[0].number == "" and preview.rows[1].number == "1"


def test_a_line_over_the_budget_is_shown_ended_at_its_last_whole_reply_that_fits() -> None:
    """Under a new file's defaults (over_budget fit) the preview is the line the file
    writes: enriched-1's 5,252 tokens end after its third reply (3,909 tokens)."""
    record = load_conversation_file(ENRICHED[1], "b")
    counter = default_counter()
    preview = build_preview(record, counter, DEFAULT_SETTINGS)
    assert preview.shown is not None and preview.total == 3909 and preview.cut_token is None
    whole = build_preview(record, counter, FileSettings(None))  # written whole: cut at 4,096
    assert whole.total == 5252 and whole.cut_token == 4096
    left = [row for row in preview.rows if not row.in_line]
    assert [row.message_index for row in left] == [7, 8]
    assert left[1].why_not == ("left out: it comes after the last whole reply that fits the "
                               "length limit")


def test_a_very_long_line_is_shown_up_to_a_little_past_the_limit(
        qtbot: Any, cut_library: Library, monkeypatch: Any) -> None:
    """A line of a million tokens (a pasted 3 MB reply) held the window over 30 s while
    each token was coloured: the view shows it up to a little past the length limit (here
    100 tokens), says what it leaves out, and Copy line still copies all of it."""
    from PySide6.QtGui import QGuiApplication

    from ui import as_trained_text
    monkeypatch.setattr(as_trained_text, "SHOWN_PAST_THE_LIMIT", 100)
    conversation_id = cut_id(cut_library)
    set_max_seq_len(cut_library, "weighted", 1024)
    window = open_window(qtbot, cut_library, conversation_id)
    rerender(qtbot, window, lambda: window.select_training_file("weighted"))
    preview = window.preview
    assert preview is not None and preview.shown is not None and preview.total > 1124
    shown = preview.shown
    end = shown.offsets[1124][0]
    rest = preview.total - 1124
    assert window.text.toPlainText().startswith(shown.text[:end] + (
        f"\n\n… {rest:,} more tokens ({len(shown.text) - end:,} characters) of this line are "
        "not shown here, past the length limit of 1,024 tokens: the trainer never reads "
        "them."))
    assert shown.text[end:end + 200] not in window.text.toPlainText()
    assert min(struck_out(window)) == shown.offsets[1024][0], "the limit still marked"
    assert window.text.budget_rect() is not None
    assert window.text.token_at(end + 5) is None, "no token named in the words after it"
    last = max(i for i, row in enumerate(preview.rows) if row.in_line)
    window.table.selectRow(last)  # a turn past what is shown: its end (no Qt warning)
    window.copy_button.click()
    assert QGuiApplication.clipboard().text() == shown.text


def test_a_line_within_reach_is_shown_whole(qtbot: Any, cut_library: Library) -> None:
    window = open_window(qtbot, cut_library, cut_id(cut_library))
    rerender(qtbot, window, lambda: window.select_training_file("weighted"))
    assert window.preview is not None and window.preview.shown is not None
    assert window.text.toPlainText().startswith(window.preview.shown.text)
    assert "not shown here" not in window.text.toPlainText()


def test_one_texts_tokens_are_the_tokenizers_own() -> None:
    """The counter encodes one text through the batch call (it lets other threads run);
    the tokens and their offsets are the plain call's, on every fixture's line."""
    counter = default_counter()
    lines = [line for path in ENRICHED
             for line in jsonl_lines(load_conversation_file(path, "b"), "t")]
    assert len(lines) >= 3
    for line in lines:
        text = counter.text(line["messages"])
        plain = counter.tokenizer.encode(text, add_special_tokens=False)
        ours = counter._encode(text)
        assert (ours.ids, ours.offsets) == (plain.ids, plain.offsets)
        assert counter.count_text(text) == len(plain.ids)
