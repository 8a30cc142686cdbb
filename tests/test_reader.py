"""The reader: what it derives from a record (no Qt), and the widget showing it, in colours
that keep their contrast on a light and a dark palette."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from app.importer import import_paths
from app.reading import arc_plan, client_intensity, reading_messages
from app.review_marks import mark_reviewed
from ui.conversation_view import ConversationView
from ui.reader_colours import contrast, reader_colours
from ui.themes import dark_palette, light_palette

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def record_from(filled_library, source_prefix: str) -> dict:
    row = next(r for r in filled_library.summaries() if r.source_file.startswith(source_prefix))
    return filled_library.record(row.conversation_id)


# --- what the reader derives -----------------------------------------------------------------


def test_legacy_pairs_get_one_turn_number_per_message(filled_library):
    record = record_from(filled_library, "c-alpha-build_v3.4-LoRA-FP-convo-01")
    messages, _ = reading_messages(record)
    dialogue = [m for m in messages if m.role != "system"]
    # The source gives a client message and its reply the same turn_number ...
    assert dialogue[0].source_turn == dialogue[1].source_turn == 1
    # ... the reader numbers them 1, 2, 3 … so no two messages share a number.
    assert [m.number for m in dialogue] == list(range(1, len(dialogue) + 1))
    # The client's emotion of a legacy pair is annotated on the reply's pair.
    detected = record["messages"][2]["emotional_context"]["detected_emotions"]
    assert dialogue[0].emotion is not None
    assert dialogue[0].emotion.primary == detected["primary"] == "overwhelm"
    assert dialogue[0].emotion.intensity == detected["intensity"]
    assert dialogue[1].emotion is None  # chips are for the client


def test_enriched_turn_numbers_are_the_source_numbers(filled_library):
    record = record_from(filled_library, "enriched-1")
    messages, _ = reading_messages(record)
    dialogue = [m for m in messages if m.role != "system"]
    assert [m.number for m in dialogue] == [m.source_turn for m in dialogue]
    assert messages[0].role == "system" and messages[0].number is None


def test_each_warning_sits_on_the_message_it_concerns(filled_library):
    record = record_from(filled_library, "single-convo-file-1")
    codes = {(w["code"], w["turn_number"]) for w in record["quality"]["warnings"]}
    assert {("reply_cut_off", 2), ("client_cut_off", 3), ("unanswered_last_turn", 5)} <= codes
    messages, loose = reading_messages(record)
    by_number = {m.number: m for m in messages if m.number}
    assert "reply_cut_off" in [w["code"] for w in by_number[2].warnings]
    assert by_number[2].role == "assistant"
    assert by_number[2].not_trained and "cut off" in by_number[2].not_trained
    assert [w["code"] for w in by_number[3].warnings] == ["client_cut_off"]
    assert by_number[3].role == "user"
    assert [w["code"] for w in by_number[5].warnings] == ["unanswered_last_turn"]
    assert by_number[5].role == "user" and "nobody answered" in by_number[5].not_trained
    # The first reply is cut off, so under the default policy nothing of it is trained:
    # even the opening client message is left out of the JSONL.
    assert by_number[1].warnings == []
    assert "left out of the JSONL" in by_number[1].not_trained
    assert loose == []


def test_a_clean_conversation_is_trained_throughout(filled_library):
    record = record_from(filled_library, "enriched-1")
    messages, _ = reading_messages(record)
    replies = [m for m in messages if m.role == "assistant"]
    assert replies and all(m.not_trained is None for m in replies)


def test_the_planned_arc_and_the_intensities(filled_library):
    record = record_from(filled_library, "enriched-1")
    plan = arc_plan(record)
    assert (plan.start, plan.start_intensity, plan.end, plan.end_intensity) == (
        "fear", 0.8, "confidence", 0.8)
    messages, _ = reading_messages(record)
    assert client_intensity(messages) == [(1, 0.82), (3, 0.68), (5, 0.58), (7, 0.71)]
    # Without a progression target, the arc's name still gives its two ends.
    bare = {**record, "messages": [{**m, "training_metadata": None}
                                   for m in record["messages"]]}
    plan = arc_plan(bare)
    assert (plan.start, plan.end, plan.start_intensity) == ("Fear", "Confidence", None)


# --- the widget ------------------------------------------------------------------------------


@pytest.fixture
def view(qtbot) -> ConversationView:
    widget = ConversationView()
    qtbot.addWidget(widget)
    widget.resize(640, 900)
    return widget


def test_bubbles_chips_chart_and_folded_system_prompt(view, filled_library):
    record = record_from(filled_library, "single-convo-file-1")
    view.show_record(record)
    dialogue = [m for m in record["messages"] if m["role"] != "system"]
    assert len(view.bubbles) == len(dialogue)
    roles = [b.objectName() for b in view.bubbles]
    assert roles[:2] == ["clientBubble", "consultantBubble"]
    client, consultant = view.bubbles[0], view.bubbles[1]
    assert client.styleSheet() != consultant.styleSheet()  # the two speakers look different
    assert client.role_label.text() == f"{record['client']['name']} (client)"
    assert consultant.role_label.text() == "Elena Morales (consultant)"
    # The system prompt is folded until asked for.
    assert not view.system_text.isVisibleTo(view)
    assert view.system_text.text() == record["messages"][0]["content"]
    view.system_toggle.click()
    assert view.system_text.isVisibleTo(view)
    # The chart has the client's intensities and the plan.
    messages, _ = reading_messages(record)
    assert view.chart.points() == client_intensity(messages)
    assert view.chart.plan() == arc_plan(record)
    # "not trained" sits on the cut-off reply, with the warning under it.
    assert consultant.badge is not None and consultant.badge.text() == "not trained"
    assert any(label.text().startswith("⚠ reply ends in a lone backslash")
               for label in consultant.warning_labels)
    assert client.badge is not None and "left out of the JSONL" in client.badge.toolTip()
    assert "[not trained:" in view.toPlainText()


def test_markdown_is_rendered_not_shown_raw(view, filled_library):
    record = record_from(filled_library, "enriched-1")
    with_bold = next(i for i, m in enumerate(record["messages"])
                     if m["role"] != "system" and "**" in m["content"])
    view.show_record(record)
    bubble = view.bubbles[with_bold - 1]
    assert all(b.badge is None for b in view.bubbles if b.objectName() == "consultantBubble")
    html = bubble.body.text()
    assert "**" not in html
    assert "font-weight:700" in html.replace(" ", "")


def test_html_in_a_message_stays_text(view, filled_library):
    record = record_from(filled_library, "enriched-1")
    record["messages"][1]["content"] = "I saved <b>$500</b> <script>x()</script> this month"
    view.show_record(record)
    html = view.bubbles[0].body.text()
    assert "&lt;b&gt;" in html and "&lt;script&gt;" in html


def test_review_and_as_trained_buttons_ask_for_their_conversation(qtbot, view, filled_library):
    record = record_from(filled_library, "enriched-2")
    view.show_record(record)
    assert view.review_button.text() == "Mark reviewed"
    assert view.review_label.text() == "Not reviewed yet"
    with qtbot.waitSignal(view.review_requested) as asked:
        qtbot.mouseClick(view.review_button, Qt.MouseButton.LeftButton)
    assert asked.args == [record["conversation_id"], True]
    with qtbot.waitSignal(view.as_trained_requested) as trained:
        qtbot.mouseClick(view.as_trained_button, Qt.MouseButton.LeftButton)
    assert trained.args == [record["conversation_id"]]

    mark_reviewed(filled_library, [record["conversation_id"]], "Ana")
    view.show_record(filled_library.record(record["conversation_id"]))
    assert view.review_label.text().startswith("✓ Reviewed by Ana on ")
    assert view.review_button.text() == "Undo review"
    with qtbot.waitSignal(view.review_requested) as asked:
        qtbot.mouseClick(view.review_button, Qt.MouseButton.LeftButton)
    assert asked.args == [record["conversation_id"], False]


def test_nothing_selected_shows_the_placeholder(view, filled_library):
    view.show_record(record_from(filled_library, "enriched-1"))
    view.show_record(None)
    assert view.stack.currentIndex() == 0
    assert view.bubbles == []
    assert view.toPlainText() == ""


# --- colours ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make_palette", [light_palette, dark_palette], ids=["light", "dark"])
def test_every_text_colour_reaches_aa_contrast(make_palette):
    colours = reader_colours(make_palette())
    for name, (text, background) in colours.text_pairs().items():
        assert contrast(text, background) >= 4.5, name


def test_colours_follow_the_palette():
    light, dark = reader_colours(light_palette()), reader_colours(dark_palette())
    assert light.client_bubble.lightness() > 200 and dark.client_bubble.lightness() < 60
    assert light.consultant_bubble != light.client_bubble
    assert dark.consultant_bubble != dark.client_bubble
    # The fixed grey the old reader used fails on a dark palette: why colours are derived.
    base = dark_palette().color(QPalette.ColorRole.Base)
    assert contrast(QColor("#6b7280"), base) < 4.5


def test_a_palette_change_redraws_in_the_new_colours(qtbot, view, filled_library):
    view.setPalette(light_palette())
    view.show_record(record_from(filled_library, "enriched-1"))
    before = view.bubbles[0].styleSheet()
    view.setPalette(dark_palette())
    assert view.bubbles[0].styleSheet() != before
    assert reader_colours(dark_palette()).client_bubble.name() in view.bubbles[0].styleSheet()


def test_samples_import_cleanly_for_the_reader(library):
    """The samples the snapshots read have a planned arc on every conversation."""
    from app.bundle import resources_dir

    import_paths(library, [resources_dir() / "samples"])
    for row in library.summaries():
        assert arc_plan(library.record(row.conversation_id)) is not None


def test_coverage_cells_follow_the_palette_and_stay_readable(qtbot, filled_library):
    from app.coverage import coverage
    from app.trainingfiles import add_conversations
    from ui.coverage_grid import CoverageGrid

    ids = [r.conversation_id for r in filled_library.summaries() if r.trainable_replies][:4]
    add_conversations(filled_library, "Grid", ids, create=True)
    grid = CoverageGrid()
    qtbot.addWidget(grid)
    grid.setPalette(light_palette())
    grid.show_coverage(coverage(filled_library, "Grid"))
    grid.setPalette(dark_palette())  # the desktop turns dark after the grid was filled
    model = grid.model
    base = dark_palette().color(QPalette.ColorRole.Base)
    gaps = full = 0
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            background = index.data(Qt.ItemDataRole.BackgroundRole) or base
            text = index.data(Qt.ItemDataRole.ForegroundRole)
            assert contrast(text, background) >= 4.5
            assert background.lightness() < 110  # dark cells on a dark desktop
            gaps += index.data(Qt.ItemDataRole.UserRole) == 0
            full += index.data(Qt.ItemDataRole.UserRole) > 0
    assert gaps and full


def test_the_planned_arc_and_emotions_read_as_display_names(view, filled_library):
    """The codes read as everywhere else in the window (app.labels), not lower case."""
    view.show_record(record_from(filled_library, "enriched-1"))
    assert view.chart.plan_text() == "Fear 0.8 → Confidence 0.8"
    assert "planned Fear 0.8 → Confidence 0.8" in view.chart.accessibleDescription()
    tips = view.chart.toolTip().splitlines()
    assert tips and all(line.split(": ", 1)[1][:1].isupper() for line in tips), tips


@pytest.mark.parametrize("window_width", [1440, 1000])
def test_at_its_narrowest_the_reader_cuts_no_bubble(qtbot, filled_library, window_width):
    """Three emotion chips on one line made a client bubble 400 px wide: in a reader of
    ``READER_MIN`` its right side (and the valence) was cut. The chips wrap instead; so
    they do in the reader of the smallest window (3/8 of it, 367 px)."""
    from PySide6.QtWidgets import QApplication

    from ui.message_bubble import MessageBubble
    from ui.reader_splitter import READER_MIN, fitted_reader_width

    splitter = window_width - 20  # (the page's margins)
    width = fitted_reader_width(splitter, table_wants=splitter)  # the table wants it all
    assert width == READER_MIN if window_width == 1440 else 360 <= width < READER_MIN
    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(width, 800)
    view.show()
    viewport = view.messages_scroll.viewport()
    for row in filled_library.summaries():
        view.show_record(filled_library.record(row.conversation_id))
        assert view.bubbles  # every one built (the later ones come a turn at a time)
        QApplication.processEvents()
        assert view.messages_scroll.widget().width() <= viewport.width(), row.source_file
        for bubble in view.findChildren(MessageBubble):
            right = bubble.mapTo(viewport, bubble.rect().topRight()).x()
            assert right < viewport.width(), (row.source_file, bubble.message.number)


def _wrapped_lines(label, width: int) -> list[str]:
    """The lines a word-wrapped label of ``width`` pixels shows its text in (Qt's own
    line breaking, as the label lays its text out)."""
    from PySide6.QtGui import QTextLayout, QTextOption

    lines = []
    for paragraph in label.text().split("\n"):
        layout = QTextLayout(paragraph, label.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.beginLayout()
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            lines.append(paragraph[line.textStart():line.textStart() + line.textLength()])
        layout.endLayout()
    return lines


def test_a_narrow_reader_never_puts_batch_and_its_name_on_two_lines(view, filled_library):
    """At 1093 px the header read "… Eldercare Expenses · batch" and "batch-009" below it:
    the word and the name it introduces stay together, and so do "from" and the file."""
    for row in filled_library.summaries():
        record = filled_library.record(row.conversation_id)
        view.show_record(record)
        batch = record["batch_id"]
        for width in range(200, 640, 3):  # (the reader's narrowest is 260)
            for line in _wrapped_lines(view.facts, width):
                words = line.split()
                assert not words or words[-1] not in ("batch", "from"), (width, line)
                assert not line.lstrip().startswith(batch) or "batch" in line, (width, line)


def test_the_header_names_the_conversation_as_a_person_knows_it_the_id_small_below(
        qtbot, view, filled_library):
    """The header's second line was the raw id (fp_…): it names the batch and the source
    file now, and the id sits below in a smaller font, selectable and copied whole by its
    Copy id action (messages such as a duplicate's name conversations by id)."""
    from PySide6.QtWidgets import QApplication

    record = record_from(filled_library, "single-convo-file-1")
    view.show_record(record)
    conversation_id = record["conversation_id"]
    source = record["source"]["file_name"]
    facts = view.facts.text().split("\n")
    assert not any(conversation_id in line for line in facts)
    assert facts[-1] == f"batch\u00a0{record['batch_id']} · from\u00a0{source}"
    label = view.id_label
    assert label.text() == f"id {conversation_id}"
    assert label.font().pointSizeF() < view.facts.font().pointSizeF()
    assert label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert conversation_id in label.toolTip()
    copy = next(a for a in label.actions() if a.text() == "Copy id")
    QApplication.clipboard().clear()
    copy.trigger()
    assert QApplication.clipboard().text() == conversation_id
    assert conversation_id in view.toPlainText()  # still there for copying the whole text


def test_a_conversation_with_no_trained_reply_says_why_at_the_top(view, filled_library):
    """A person reading from the top learns at once that nothing of it is trained, and
    why, not reply by reply from the badges."""
    view.show()
    view.show_record(record_from(filled_library, "single-convo-file-1"))
    note = view.nothing_trained_label
    assert note.isVisible()
    assert note.text() == (
        "⚠ Nothing here is trained: the first reply (turn 2) is cut off, and a training "
        "line stops before a cut-off turn (the default cut-off policy). Fix or generate the "
        "file again and import it, or keep it only to read.")
    view.show_record(record_from(filled_library, "enriched-1"))  # trained throughout
    assert not note.isVisible() and note.text() == ""


def test_the_first_bubbles_show_at_once_and_the_rest_follow(qtbot, filled_library):
    """Every bubble built and laid out at each current-row change held the window 0.1-0.4 s
    on an idle machine: the first ones are built with the conversation, the rest a few at
    each turn of the event loop; a conversation shown meanwhile drops the rest."""
    from ui.conversation_view import FIRST_BUBBLES
    from ui.message_bubble import MessageBubble

    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(700, 800)
    view.show()
    records = sorted((filled_library.record(r.conversation_id)
                      for r in filled_library.summaries()),
                     key=lambda record: -len(reading_messages(record)[0]))
    longest, other = records[0], records[1]
    spoken = [m for m in reading_messages(longest)[0] if m.role != "system"]
    assert len(spoken) > FIRST_BUBBLES + 2

    view.show_record(longest)
    assert len(view.findChildren(MessageBubble)) == FIRST_BUBBLES
    qtbot.waitUntil(lambda: len(view.findChildren(MessageBubble)) == len(spoken), timeout=5000)
    assert [b.message for b in view.findChildren(MessageBubble)] == spoken

    view.show_record(longest)
    view.show_record(other)  # before the first one's rest was built
    wanted = [m for m in reading_messages(other)[0] if m.role != "system"]

    def shown() -> list:
        return [b.message for b in view.findChildren(MessageBubble) if not b.isHidden()]

    # (however loaded the machine: the rest come a turn of the event loop each)
    qtbot.waitUntil(lambda: len(shown()) >= len(wanted), timeout=5000)
    qtbot.wait(50)  # a bubble of the dropped rest would come after them
    assert shown() == wanted


def test_a_very_long_message_shows_its_beginning_and_opens_whole_on_demand(qtbot,
                                                                           filled_library):
    """A reply of 3,000,000 characters (pasted by mistake) held the window 43 s laid out as
    rich text in its bubble: the bubble shows its beginning, ended at a word, says how much
    more there is, and the link opens the whole of it as plain text."""
    import copy

    from ui.message_bubble import SHOWN_UP_TO, MessageBubble, WholeMessage

    record = copy.deepcopy(record_from(filled_library, "enriched-2"))
    reply = next(m for m in record["messages"] if m["role"] == "assistant")
    sentence = "Let us look at the numbers together, step by step. "
    reply["content"] = sentence * (3_000_000 // len(sentence))
    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(700, 800)
    view.show()
    view.show_record(record)
    view.build_every_bubble()
    bubble = next(b for b in view.findChildren(MessageBubble)
                  if b.message.content == reply["content"])
    shown = bubble.body.text()
    assert "Let us look at the numbers together" in shown
    assert len(shown) < 3 * SHOWN_UP_TO  # (its HTML: a few thousand characters, not millions)
    assert bubble.more is not None
    rest = len(reply["content"]) - len(bubble.message.content[:SHOWN_UP_TO].rsplit(" ", 1)[0])
    assert bubble.more.text().startswith(f"… {rest:,} more characters (this message has "
                                         f"{len(reply['content']):,}). <a href=")
    bubble.more.linkActivated.emit("show-all")
    whole = next(w for w in view.window().findChildren(WholeMessage))
    assert whole.text.toPlainText() == reply["content"]
    assert whole.isVisible()
    short = next(b for b in view.findChildren(MessageBubble) if b is not bubble)
    assert short.more is None, "a message of ordinary length is shown whole"
