"""A training file's settings from the window: cut-off policy and length limit,
changed with one rebuild, on a real library, through the real page and dialog."""

from __future__ import annotations

import functools

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QDialogButtonBox, QLabel
from stored import stored_bytes

from app.cutoff import CutOffPolicy
from app.settings_words import shortened_text
from app.trainingfiles import (
    TrainingFileInfo,
    add_conversations,
    change_settings,
    get_training_file,
    header,
)
from ui.file_settings import FileSettings, FileSettingsDialog, settings_of

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def jsonl_bytes(library, name: str) -> bytes:
    return stored_bytes(library, name)[1]

WAIT_MS = 15_000


@pytest.fixture
def pilot(page, filled_library) -> TrainingFileInfo:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Pilot", ids, create=True)
    page.refresh()
    assert page.selected_file().name == "Pilot"
    return get_training_file(filled_library, "Pilot")


def test_the_dialog_offers_a_rebuild_only_for_a_change(qtbot, pilot):
    dialog = FileSettingsDialog(pilot)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.chosen() == settings_of(pilot) == FileSettings("trim", 4096)
    assert not ok.isEnabled()
    trim_note = dialog.policy_note.text()
    dialog.policy.setCurrentIndex(dialog.policy.findData(CutOffPolicy.WEIGHT0.value))
    assert ok.isEnabled() and dialog.policy_note.text() != trim_note
    assert '"weight": 0' in dialog.policy_note.text()
    dialog.policy.setCurrentIndex(dialog.policy.findData(CutOffPolicy.TRIM.value))
    dialog.budget.setValue(1024)
    assert ok.isEnabled() and dialog.chosen() == FileSettings("trim", 1024)


def test_new_settings_rebuild_the_file_and_say_what_the_budget_cuts(
        qtbot, page, pilot, dialogs, filled_library):
    assert b'"weight"' not in jsonl_bytes(filled_library, "Pilot")
    dialogs.settings.append(FileSettings("weight0", 256))

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as done:
        page.settings_button.click()

    info = get_training_file(filled_library, "Pilot")
    assert (info.cut_off_policy, info.max_seq_len) == ("weight0", 256)
    head = header(filled_library, "Pilot")
    assert head["tokens"]["max_seq_len"] == 256
    over = head["tokens"]["lines_over_max_seq_len"]
    assert over > 0
    assert b'"weight"' in jsonl_bytes(filled_library, "Pilot")  # rebuilt under weight0
    message = done.args[0]
    assert message.startswith("Rebuilt 'Pilot': cut-off replies: Keep as context, weight 0; "
                              "length limit 256 tokens.")
    lines = head["totals"]["jsonl_lines"]
    which = f"All {over} lines" if over == lines else f"{over} of the {lines} lines"
    assert f". {which} of 'Pilot' are longer than its length limit of 256" in message
    assert "Raise the limit (its longest line has" in message
    assert "tokens: Settings… on the LoRA Training JSON Files page)" in message
    qtbot.waitUntil(lambda: "length limit 256 tokens" in page.dates_label.text(),
                    timeout=WAIT_MS)
    assert "max_seq_len" not in page.dates_label.text()
    assert "cut-off replies: Keep as context, weight 0" in page.dates_label.text()


def test_cancelling_the_dialog_changes_nothing(page, pilot, dialogs, filled_library):
    before = jsonl_bytes(filled_library, "Pilot")
    dialogs.settings.append(None)
    page.file_actions["settings"].trigger()
    assert dialogs.asked[-1][:2] == ("training_settings", "Pilot")
    info = get_training_file(filled_library, "Pilot")
    assert (info.cut_off_policy, info.max_seq_len) == ("trim", 4096)
    assert jsonl_bytes(filled_library, "Pilot") == before


def test_the_conversations_table_learns_the_new_budget(qtbot, filled_library, dialogs,
                                                       settings):
    from conftest import settle

    from ui.main import MainWindow

    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Pilot", ids, create=True)
    window = MainWindow(filled_library, dialogs, settings)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, window)
    model = window.conversations.model

    def budgets() -> dict[str, int]:
        return {model.row_at(r).conversation_id: model.row_at(r).token_budget
                for r in range(model.rowCount())}

    assert {budgets()[cid] for cid in ids} == {4096}
    window.pages.setCurrentWidget(window.training_files)
    window.training_files.select_file("Pilot")
    # Lines written whole (a line a file shortens to fit is not held to its limit:
    # tests/test_tokens_mark_agrees.py).
    dialogs.settings.append(FileSettings("trim", 512, "keep"))
    with qtbot.waitSignal(window.training_files.status, timeout=WAIT_MS):
        window.training_files.settings_button.click()
    qtbot.waitUntil(lambda: {budgets()[cid] for cid in ids} == {512}, timeout=WAIT_MS)
    assert {b for cid, b in budgets().items() if cid not in ids} == {4096}


def test_a_line_over_the_budget_ends_at_its_last_whole_reply_or_stays_whole(
        qtbot, page, pilot, dialogs, filled_library):
    """The new file fits its lines (enriched-1's 5,252 tokens end at 3,909); the dialog
    says what each choice does, and choosing to write lines whole rebuilds the file so."""
    assert pilot.over_budget == "fit"
    assert "lines over it: end at their last whole reply that fits" in page.dates_label.text()
    dialog = FileSettingsDialog(pilot)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.over_budget.currentData() == "fit" and not ok.isEnabled()
    assert "last whole reply that fits" in dialog.over_budget_note.text()
    labels = [label.text() for label in dialog.findChildren(QLabel)]
    assert "Length limit:" in labels and "A line over the limit:" in labels
    assert not any("sequence length" in text or "budget" in text for text in labels)
    dialog.over_budget.setCurrentIndex(dialog.over_budget.findData("keep"))
    assert ok.isEnabled() and dialog.chosen() == FileSettings("trim", 4096, "keep")
    assert "drops it (Axolotl)" in dialog.over_budget_note.text()
    assert header(filled_library, "Pilot")["tokens"]["lines_over_max_seq_len"] == 0

    dialogs.settings.append(FileSettings("trim", 4096, "keep"))
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as done:
        page.settings_button.click()
    assert get_training_file(filled_library, "Pilot").over_budget == "keep"
    head = header(filled_library, "Pilot")
    assert head["tokens"]["lines_over_max_seq_len"] == 1 and head["tokens"]["max"] == 5252
    assert "over_token_budget" not in head["quality_summary"]["replies_left_out_by_reason"]
    assert "Lines over the limit are written whole. The only line" not in done.args[0]
    assert "Lines over the limit are written whole. 1 of the" in done.args[0]
    qtbot.waitUntil(lambda: "lines over it: written whole" in page.dates_label.text(),
                    timeout=WAIT_MS)


def test_choosing_to_fit_lines_says_how_many_replies_that_left_out(
        qtbot, page, pilot, dialogs, filled_library):
    """A file switched to ``fit`` whose lines then all fit is told what the switch did:
    "every line fits" alone hides the replies the window just left out of the JSONL."""
    change_settings(filled_library, "Pilot", over_budget="keep")
    page.refresh()
    qtbot.waitUntil(lambda: page.selected_file() is not None
                    and page.selected_file().over_budget == "keep", timeout=WAIT_MS)
    dialogs.settings.append(FileSettings("trim", 4096, "fit"))
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as done:
        page.settings_button.click()
    head = header(filled_library, "Pilot")
    fitted = head["quality_summary"]["replies_left_out_by_reason"]["over_token_budget"]
    assert fitted >= 1 and head["tokens"]["lines_over_max_seq_len"] == 0
    assert fitted == 1  # enriched-1 ends at 3,909 tokens, before its last reply
    assert done.args[0] == (
        "Rebuilt 'Pilot': cut-off replies: Trim; length limit 4,096 tokens. Every line fits: "
        "1 long conversation was shortened to fit (its last reply is left out of the JSONL; "
        "the full JSON keeps it). The change left out 1 reply (it was trained before).")
    assert shortened_text(3) == (
        "long conversations were shortened to fit (3 replies at their ends are left out of "
        "the JSONL; the full JSON keeps them)")


def test_a_higher_limit_says_the_replies_it_brought_back(
        qtbot, page, pilot, dialogs, filled_library):
    """audit57 W1, in the window: the sentence after Settings… (the one `max-len` prints)
    says what the change did, here the reply a higher limit trains again."""
    fitted = header(filled_library, "Pilot")["quality_summary"][
        "replies_left_out_by_reason"]["over_token_budget"]
    assert fitted == 1
    dialogs.settings.append(FileSettings("trim", 8192, "fit"))
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as done:
        page.settings_button.click()
    head = header(filled_library, "Pilot")
    assert "over_token_budget" not in head["quality_summary"]["replies_left_out_by_reason"]
    assert done.args[0] == (
        "Rebuilt 'Pilot': cut-off replies: Trim; length limit 8,192 tokens; every line fits. "
        "The change brought back 1 reply that was left out (now trained).")


def test_the_dialog_shows_the_settings_now_and_what_a_change_would_do(
        qtbot, pilot, filled_library):
    from app.settings_preview import settings_effect
    from ui.file_settings import WORKING_OUT, effect_text, forecast_settings

    dialog = FileSettingsDialog(pilot, None, functools.partial(
        forecast_settings, filled_library, "Pilot"))
    qtbot.addWidget(dialog)
    assert dialog.now_label.text() == (
        "Now: cut-off replies: Trim · length limit 4,096 tokens · lines over it: end at "
        "their last whole reply that fits.")
    qtbot.waitUntil(lambda: dialog.effect_label.text() != WORKING_OUT, timeout=WAIT_MS)
    assert dialog.effect_label.text().startswith("Now: ")
    assert "Change a setting to see what it would do" in dialog.effect_label.text()

    dialog.budget.setValue(2048)
    assert dialog.effect_label.text() == WORKING_OUT  # said at once, worked out on a worker
    qtbot.waitUntil(lambda: dialog.effect_label.text() != WORKING_OUT, timeout=WAIT_MS)
    now = settings_effect(filled_library, "Pilot", "trim", 4096, "fit")
    new = settings_effect(filled_library, "Pilot", "trim", 2048, "fit")
    assert new.trained_replies < now.trained_replies and new.shortened > now.shortened
    text = dialog.effect_label.text()
    assert text == effect_text(new, now)
    assert text.startswith(f"With these settings: {new.trained_replies:,} replies trained "
                           f"(now {now.trained_replies:,}); {new.shortened} lines shortened "
                           f"to fit (now {now.shortened})")
    # Nothing was rebuilt to find out.
    assert get_training_file(filled_library, "Pilot").max_seq_len == 4096

    dialog.over_budget.setCurrentIndex(dialog.over_budget.findData("keep"))
    qtbot.waitUntil(lambda: dialog.effect_label.text() not in (WORKING_OUT, text),
                    timeout=WAIT_MS)
    assert "longer than the length limit, written whole" in dialog.effect_label.text()


def test_the_page_gives_the_dialog_its_forecast(page, pilot, dialogs, filled_library):
    dialogs.settings.append(None)
    page.file_actions["settings"].trigger()
    forecast = dialogs.forecasts[-1]
    assert forecast is not None
    assert forecast(FileSettings("weight0", 256, "keep")).over > 0


LAPTOP_AT_150 = (1366 / 1.5, 768 / 1.5)  # logical pixels of a 1366x768 screen at 150 %
FRAME_AND_TASKBAR = 80  # title bar and task bar, in logical pixels


def test_the_dialog_with_its_forecast_fits_a_laptop_screen_at_150_percent(
        qtbot, pilot, filled_library):
    from ui.file_settings import WORKING_OUT, forecast_settings

    dialog = FileSettingsDialog(pilot, None, functools.partial(
        forecast_settings, filled_library, "Pilot"))
    qtbot.addWidget(dialog)
    dialog.policy.setCurrentIndex(dialog.policy.findData("weight0"))
    dialog.over_budget.setCurrentIndex(dialog.over_budget.findData("keep"))
    dialog.budget.setValue(256)  # every part of the forecast is said
    dialog.show()
    qtbot.waitUntil(lambda: dialog.effect_label.text() != WORKING_OUT, timeout=WAIT_MS)
    width, height = LAPTOP_AT_150
    hint = dialog.sizeHint()
    assert hint.width() < width - 40, hint
    needed = max(hint.height(), dialog.layout().totalHeightForWidth(dialog.width()))
    assert 300 < needed < height - FRAME_AND_TASKBAR, needed


def _held_forecast(library, started, go_on, outcomes):
    """The real forecast; for weight0 it holds at its first check of Cancel until
    ``go_on`` (so other settings can be chosen, or the dialog closed, while it runs), and
    ``outcomes`` says how each such forecast ended."""
    from ui.file_settings import forecast_settings

    def forecast(chosen, cancelled):
        if chosen.cut_off_policy != "weight0":
            return forecast_settings(library, "Pilot", chosen, cancelled)

        def held():
            started.set()
            go_on.wait(WAIT_MS / 1000)
            return cancelled()

        try:
            effect = forecast_settings(library, "Pilot", chosen, held)
        except Exception as exc:
            outcomes.append(type(exc).__name__)
            raise
        outcomes.append("worked out")
        return effect
    return forecast


@pytest.mark.parametrize("then", ["choose other settings", "close the dialog"])
def test_a_forecast_no_longer_wanted_stops(qtbot, pilot, filled_library, then):
    import threading

    from app.settings_preview import settings_effect
    from ui.file_settings import WORKING_OUT, effect_text

    started, go_on, outcomes = threading.Event(), threading.Event(), []
    dialog = FileSettingsDialog(pilot, None, _held_forecast(filled_library, started, go_on,
                                                            outcomes))
    qtbot.addWidget(dialog)
    try:
        qtbot.waitUntil(lambda: dialog.effect_label.text() != WORKING_OUT, timeout=WAIT_MS)
        dialog.policy.setCurrentIndex(dialog.policy.findData("weight0"))
        qtbot.waitUntil(started.is_set, timeout=WAIT_MS)  # its lines are being counted
        if then == "close the dialog":
            dialog.reject()
        else:
            dialog.policy.setCurrentIndex(dialog.policy.findData("keep"))
    finally:
        go_on.set()
    qtbot.waitUntil(lambda: bool(outcomes), timeout=WAIT_MS)
    assert outcomes == ["ForecastStopped"], "it stopped at its next look at Cancel"
    if then == "choose other settings":
        qtbot.waitUntil(lambda: dialog.effect_label.text() != WORKING_OUT, timeout=WAIT_MS)
        assert dialog.effect_label.text() == effect_text(
            settings_effect(filled_library, "Pilot", "keep", 4096, "fit"),
            settings_effect(filled_library, "Pilot", "trim", 4096, "fit"))
    assert QThreadPool.globalInstance().waitForDone(WAIT_MS)
    assert outcomes == ["ForecastStopped"]
