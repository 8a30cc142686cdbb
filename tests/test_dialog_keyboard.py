"""The dialogs the app builds, walked with the keyboard on the real widgets: Tab reaches
every control in the order the eye reads them and comes back round, each stop is told
apart by what a screen reader says, the keyboard starts somewhere sensible, Enter takes
the default button and Escape cancels."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from keyboard_walk import (
    describe,
    label_of,
    out_of_reading_order,
    reachable,
    spoken_name,
    tab_chain,
)
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QWidget,
)

from app.importer import import_paths
from app.library import Library
from app.trainingfiles import AddPlan, add_conversations, get_training_file
from ui.add_review import AddReviewDialog
from ui.dialogs import destructive_box, question_box
from ui.file_settings import FileSettingsDialog, forecast_settings
from ui.import_flow import ImportSummaryDialog
from ui.team_dialog import TeamLibraryDialog
from ui.tokenizer_settings import TokenizerDialog

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


class CancelFirst(QProxyStyle):
    """A desktop that sets Cancel left of OK (GNOME's order; macOS's is alike)."""

    def styleHint(self, hint: QStyle.StyleHint, *args: Any) -> int:
        if hint == QStyle.StyleHint.SH_DialogButtonLayout:
            return QDialogButtonBox.ButtonLayout.GnomeLayout.value
        return super().styleHint(hint, *args)


@pytest.fixture(autouse=True, params=["OK first", "Cancel first"])
def desktop(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    """Each dialog on a desktop that sets OK left of Cancel, and on one that does not:
    Tab follows the buttons as they stand on either."""
    if request.param == "OK first":
        yield request.param
        return
    before = qapp.style().name()
    qapp.setStyle(CancelFirst(QStyleFactory.create(before)))
    try:
        yield request.param
    finally:
        qapp.setStyle(before)


class PickNothing:
    """The tokenizer dialog's file pickers are never opened here."""

    def open_files(self, parent: Any, title: str, filters: str) -> list[Path]:
        return []


def shown(qtbot, dialog: QDialog) -> QDialog:
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                    and QApplication.focusWidget().window() is dialog)
    return dialog


def walked(qtbot, dialog: QDialog) -> list[QWidget]:
    """Tab round the dialog: every control reached, in reading order, each told apart."""
    chain = tab_chain(qtbot, dialog)
    missed = [describe(w) for w in reachable(dialog) if w not in chain]
    assert missed == [], "Tab never reaches:\n" + "\n".join(missed)
    wrong = out_of_reading_order(chain, dialog)
    assert wrong == [], "Tab goes against the reading order:\n" + "\n".join(wrong)
    unnamed = [describe(w) for w in chain if not spoken_name(w)]
    assert unnamed == [], "spoken with no name:\n" + "\n".join(unnamed)
    said = Counter((spoken_name(w), label_of(w)) for w in chain)
    alike = [f"{name!r} (label {label!r}) × {n}" for (name, label), n in said.items() if n > 1]
    assert alike == [], "read out alike:\n" + "\n".join(alike)
    return chain


def every_group(n: int = 4) -> AddPlan:
    """A plan with every group that offers "Leave them out"."""
    ids = [f"conversation-{i}" for i in range(12)]
    return AddPlan(name="pilot", create=True, requested=len(ids), new=tuple(ids),
                   new_pks=tuple(range(len(ids))), hidden=frozenset(ids[:n]),
                   flagged=frozenset(ids[n:2 * n]), near_duplicates=tuple(ids[2 * n:3 * n]),
                   over_budget=frozenset(ids[:2]), samples=frozenset(ids[-2:]))


def test_the_add_review_tabs_down_its_choices_then_to_its_buttons(qtbot) -> None:
    """Five boxes all read "Leave them out": a screen reader now says which group each
    leaves out. Tab went from Add up to Show in the table and from Cancel back to Add;
    the list of what is skipped had no name."""
    review = shown(qtbot, AddReviewDialog(every_group()))
    assert QApplication.focusWidget() is review.add_button  # the default: Enter adds
    chain = walked(qtbot, review)
    boxes = [review.leave_out_hidden, review.leave_out_flagged,
             review.leave_out_near_duplicates, review.leave_out_over_budget,
             review.leave_out_samples]
    assert all(box in chain for box in boxes)
    assert [spoken_name(box) for box in boxes] == [
        "Leave out the ones hidden by the filter", "Leave out the flagged ones",
        "Leave out the near-duplicates", "Leave out the ones over the length limit",
        "Leave out the sample conversations"]
    # the list names those added with a warning too while a box is unticked
    assert spoken_name(review.details) == "Skipped, left out, or added with a warning:"
    for box in boxes:
        box.setChecked(True)
    assert spoken_name(review.details) == "Skipped or left out:"


def test_escape_in_the_add_review_cancels(qtbot) -> None:
    review = shown(qtbot, AddReviewDialog(every_group()))
    confirmed: list[object] = []
    review.confirmed.connect(confirmed.append)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert not review.isVisible() and review.result() == QDialog.DialogCode.Rejected
    assert confirmed == []


@pytest.fixture
def summary_dialog(qtbot, library: Library, fixture_folder: Path) -> ImportSummaryDialog:
    dialog = ImportSummaryDialog(import_paths(library, [fixture_folder]))
    return shown(qtbot, dialog)  # type: ignore[return-value]


def test_the_import_summary_starts_on_its_list_and_tabs_to_its_buttons(
        qtbot, summary_dialog: ImportSummaryDialog) -> None:
    chain = walked(qtbot, summary_dialog)
    assert chain[0] is summary_dialog.details
    assert summary_dialog.copy_button in chain and summary_dialog.show_batch_button in chain


@pytest.mark.parametrize(("key", "result"), [(Qt.Key.Key_Return, QDialog.DialogCode.Accepted),
                                             (Qt.Key.Key_Escape, QDialog.DialogCode.Rejected)])
def test_enter_in_the_import_summarys_list_closes_it_and_escape_too(
        qtbot, summary_dialog: ImportSummaryDialog, key: Qt.Key,
        result: QDialog.DialogCode) -> None:
    QTest.keyClick(summary_dialog.details, key)
    assert not summary_dialog.isVisible() and summary_dialog.result() == result


@pytest.fixture
def settings_dialog(qtbot, filled_library: Library) -> FileSettingsDialog:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Pilot", ids[:3], create=True)
    dialog = FileSettingsDialog(get_training_file(filled_library, "Pilot"), None,
                                functools.partial(forecast_settings, filled_library, "Pilot"))
    return shown(qtbot, dialog)  # type: ignore[return-value]


def test_the_settings_dialog_tabs_to_rebuild_then_cancel(
        qtbot, settings_dialog: FileSettingsDialog) -> None:
    """Once a setting changed, "Rebuild with these" is offered; Tab goes on to it from the
    last setting and between it and Cancel in the order they stand."""
    assert QApplication.focusWidget() is settings_dialog.policy
    settings_dialog.budget.setValue(settings_dialog.budget.value() + 256)
    chain = walked(qtbot, settings_dialog)
    assert settings_dialog.buttons.button(settings_dialog.buttons.StandardButton.Ok) in chain


@pytest.mark.parametrize(("key", "result"), [(Qt.Key.Key_Return, QDialog.DialogCode.Accepted),
                                             (Qt.Key.Key_Escape, QDialog.DialogCode.Rejected)])
def test_enter_rebuilds_with_the_new_settings_and_escape_cancels(
        qtbot, settings_dialog: FileSettingsDialog, key: Qt.Key,
        result: QDialog.DialogCode) -> None:
    settings_dialog.budget.setValue(settings_dialog.budget.value() + 256)
    QTest.keyClick(settings_dialog.budget, key)
    assert not settings_dialog.isVisible() and settings_dialog.result() == result


@pytest.fixture
def tokenizer_dialog(qtbot, library: Library) -> TokenizerDialog:
    dialog = TokenizerDialog(library, PickNothing())  # type: ignore[arg-type]
    shown(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.checking, timeout=30_000)
    return dialog


def test_the_tokenizer_dialog_names_its_sample_and_tabs_to_use_then_cancel(
        qtbot, tokenizer_dialog: TokenizerDialog) -> None:
    dialog = tokenizer_dialog
    assert QApplication.focusWidget() is dialog.bundled_tokenizer
    chain = walked(qtbot, dialog)
    assert spoken_name(dialog.sample) == "Sample conversation rendered with this choice"
    assert dialog.use_button in chain
    dialog.own_tokenizer.setChecked(True)
    dialog.own_template.setChecked(True)
    dialog.bundled_tokenizer.setFocus()
    chain = walked(qtbot, dialog)  # both "Choose…" told apart by their group's title
    assert dialog.tokenizer_browse in chain and dialog.template_browse in chain


def test_enter_uses_the_checked_choice_and_escape_cancels(
        qtbot, tokenizer_dialog: TokenizerDialog, library: Library) -> None:
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not tokenizer_dialog.isVisible(), timeout=30_000)
    assert tokenizer_dialog.result() == QDialog.DialogCode.Accepted
    again = shown(qtbot, TokenizerDialog(library, PickNothing()))  # type: ignore[arg-type]
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert not again.isVisible() and again.result() == QDialog.DialogCode.Rejected


def test_the_team_dialog_tabs_from_its_fields_to_open_then_cancel(qtbot) -> None:
    """Filled from an address, the keyboard starts on the password; Tab went from Cancel
    back to Open, on its left."""
    dialog = shown(qtbot, TeamLibraryDialog(None, "postgresql://ana@db.example.org/lora"))
    assert QApplication.focusWidget() is dialog.password
    chain = walked(qtbot, dialog)
    assert dialog.open_button in chain
    assert chain.index(dialog.test_button) == chain.index(dialog.remember) + 1
    QTest.keyClick(dialog.password, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected


def test_an_empty_team_dialog_starts_on_the_database(qtbot) -> None:
    dialog = shown(qtbot, TeamLibraryDialog(None))
    assert QApplication.focusWidget() is dialog.database  # the host says localhost
    walked(qtbot, dialog)


@pytest.mark.parametrize("make", [
    lambda: destructive_box("Remove 3", "Remove 3 conversations?", "Remove 3", None)[0],
    lambda: question_box("Open elsewhere?", "Open another library folder?", None)])
def test_a_question_starts_on_its_safe_answer_and_tabs_round_its_buttons(qtbot, make) -> None:
    box: QMessageBox = shown(qtbot, make())  # type: ignore[assignment]
    assert QApplication.focusWidget() is box.defaultButton()
    assert len(walked(qtbot, box)) == 2
