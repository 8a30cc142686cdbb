"""A training file's training settings: what it does with cut-off replies, its length
limit (the longest line the trainer takes, in tokens), and what a line over it becomes.
Each changes what the JSONL holds, so changing them rebuilds the file (the page runs that
as a job)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.budget_fit import DESCRIPTIONS as OVER_BUDGET_DESCRIPTIONS
from app.budget_fit import FOR_NEW_FILES, OverBudget
from app.budget_words import over_budget_sentence
from app.cutoff import DESCRIPTIONS, LABELS, CutOffPolicy, policy_label
from app.library import Library
from app.settings_preview import ForecastStopped, SettingsEffect, settings_effect
from app.settings_words import settings_sentence
from app.token_lines import MAX_MAX_SEQ_LEN, MIN_MAX_SEQ_LEN
from app.trainingfiles import TrainingFileInfo
from app.wording import LENGTH_LIMIT, plural
from ui.tasks import Task, start

OVER_BUDGET_NAMES = {
    OverBudget.FIT: "End it at its last whole reply that fits",
    OverBudget.KEEP: "Write it whole",
}
OVER_BUDGET_SHORT = {OverBudget.FIT: "end at their last whole reply that fits",
                     OverBudget.KEEP: "written whole"}
BUDGET_NOTE = ("The longest line the trainer takes (the recipes pass it on as the trainer's "
               "max_seq_len). A line over it is cut by TRL (its last reply ends "
               "mid-sentence) and left out by Axolotl, unless the file ends it early (below). "
               "The Tokens column on the Conversations page warns of a conversation longer "
               "than the smallest limit of the files writing its line whole (its line under "
               "the default cut-off policy).")
LIMIT_LABEL = f"{LENGTH_LIMIT.capitalize()}:"
OVER_LIMIT_LABEL = "A line over the limit:"


@dataclass(frozen=True)
class FileSettings:
    cut_off_policy: str
    max_seq_len: int
    over_budget: str = FOR_NEW_FILES.value  # app.budget_fit.OverBudget


def settings_of(info: TrainingFileInfo) -> FileSettings:
    return FileSettings(info.cut_off_policy, info.max_seq_len, info.over_budget)


# What some settings would do to the file (``app.settings_preview``), run on a worker
# that stops (``ForecastStopped``) once the second argument says so.
Stop = Callable[[], bool]
Forecast = Callable[[FileSettings, Stop], SettingsEffect]
FORECAST_DELAY_MS = 250  # a spin box stepped several times is worked out once
WORKING_OUT = "With these settings: working out what they would do to this file…"


def forecast_settings(library: Library, name: str, chosen: FileSettings,
                      cancelled: Stop | None = None) -> SettingsEffect:
    """What ``chosen`` would do to the training file ``name`` (a ``Forecast``, once the
    library and file are given)."""
    return settings_effect(library, name, chosen.cut_off_policy, chosen.max_seq_len,
                           chosen.over_budget, cancelled=cancelled)


def _now(new: int, now: int) -> str:
    return "" if new == now else f" (now {now:,})"


def effect_text(new: SettingsEffect, now: SettingsEffect) -> str:
    """What the chosen settings would do to the file, beside what it holds now."""
    parts = [f"{plural(new.trained_replies, 'reply', 'replies')} trained"
             f"{_now(new.trained_replies, now.trained_replies)}"]
    if new.shortened or now.shortened:
        parts.append(f"{plural(new.shortened, 'line')} shortened to fit"
                     f"{_now(new.shortened, now.shortened)}")
    if new.over or now.over:
        parts.append(f"{plural(new.over, 'line')} longer than the {LENGTH_LIMIT}, written "
                     f"whole for the trainer to cut or drop{_now(new.over, now.over)}")
    if new.no_line or now.no_line:
        parts.append(f"{plural(new.no_line, 'conversation')} would give no line"
                     f"{_now(new.no_line, now.no_line)}")
    return "With these settings: " + "; ".join(parts) + "."


class FileSettingsDialog(QDialog):
    """The settings of one training file, each with what it means for the trainer."""

    def __init__(self, info: TrainingFileInfo, parent: QWidget | None = None,
                 forecast: Forecast | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Training settings of {info.name}")
        self._before = settings_of(info)
        self._forecast = forecast
        self._effects: dict[FileSettings, SettingsEffect] = {}  # worked out so far
        # Forecasts running on workers, with the settings each was started for.
        self._tasks: dict[Task, FileSettings] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FORECAST_DELAY_MS)
        self._timer.timeout.connect(self._work_out)
        self.now_label = QLabel(f"Now: {settings_line(info)}.", self)
        self.now_label.setWordWrap(True)
        self.effect_label = QLabel(self)
        self.effect_label.setWordWrap(True)
        self.effect_label.setVisible(forecast is not None)
        self.policy = QComboBox(self)
        for policy in CutOffPolicy:
            self.policy.addItem(LABELS[policy], policy.value)
        self.policy.setCurrentIndex(self.policy.findData(info.cut_off_policy))
        self.policy_note = QLabel(self)
        self.policy_note.setWordWrap(True)
        self.budget = QSpinBox(self)
        self.budget.setRange(MIN_MAX_SEQ_LEN, MAX_MAX_SEQ_LEN)
        self.budget.setSingleStep(256)
        self.budget.setGroupSeparatorShown(True)
        self.budget.setSuffix(" tokens")
        self.budget.setValue(info.max_seq_len)
        budget_note = QLabel(BUDGET_NOTE, self)
        budget_note.setWordWrap(True)
        self.over_budget = QComboBox(self)
        for setting in OverBudget:
            self.over_budget.addItem(OVER_BUDGET_NAMES[setting], setting.value)
        self.over_budget.setCurrentIndex(self.over_budget.findData(info.over_budget))
        self.over_budget_note = QLabel(self)
        self.over_budget_note.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Cut-off replies:", self.policy)
        form.addRow("", self.policy_note)
        form.addRow(LIMIT_LABEL, self.budget)
        form.addRow("", budget_note)
        form.addRow(OVER_LIMIT_LABEL, self.over_budget)
        form.addRow("", self.over_budget_note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Rebuild with these")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel("These settings change what the JSONL holds: the file is rebuilt when "
                       "you change them. The full JSON always keeps every turn.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.now_label)
        layout.addLayout(form)
        layout.addWidget(self.effect_label)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(640)  # the notes wrap less: shorter on a small screen at 150 %
        self.policy.currentIndexChanged.connect(self._changed)
        self.budget.valueChanged.connect(self._changed)
        self.over_budget.currentIndexChanged.connect(self._changed)
        self._changed()

    def chosen(self) -> FileSettings:
        return FileSettings(str(self.policy.currentData()), self.budget.value(),
                            str(self.over_budget.currentData()))

    def _changed(self) -> None:
        policy = CutOffPolicy(self.policy.currentData())
        text = DESCRIPTIONS[policy]
        self.policy_note.setText(text[:1].upper() + text[1:] + ".")
        fit = OVER_BUDGET_DESCRIPTIONS[OverBudget(self.over_budget.currentData())]
        self.over_budget_note.setText(fit[:1].upper() + fit[1:] + ".")
        # Nothing to rebuild until something differs from what the file has.
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            self.chosen() != self._before)
        if self._forecast is not None:
            self._stop_forecasts(unless_for=self.chosen())
            self._show_effect()
            self._timer.start()

    def _stop_forecasts(self, unless_for: FileSettings | None = None) -> None:
        """Stop the forecasts running for settings other than ``unless_for`` (None: all):
        on a big file each counts many lines, and they are no longer wanted."""
        for task, chosen in list(self._tasks.items()):
            if chosen != unless_for:
                task.cancel()

    def _show_effect(self) -> bool:
        """Say what the chosen settings would do, if that is known; False when not yet."""
        now, new = self._effects.get(self._before), self._effects.get(self.chosen())
        if now is None or new is None:
            self.effect_label.setText(WORKING_OUT)
            return False
        if self.chosen() == self._before:
            self.effect_label.setText(
                f"Now: {plural(now.trained_replies, 'reply', 'replies')} trained. "
                "Change a setting to see what it would do before the file is rebuilt.")
        else:
            self.effect_label.setText(effect_text(new, now))
        return True

    def _work_out(self) -> None:
        """Work out, on a worker, what the chosen settings (and the file's own) do; the
        dialog stays free, and an answer for settings no longer chosen is kept for later."""
        forecast, chosen = self._forecast, self.chosen()
        if forecast is None or self._show_effect() or any(
                settings == chosen and not task.is_cancelled()
                for task, settings in self._tasks.items()):
            return
        wanted = [item for item in dict.fromkeys((self._before, chosen))
                  if item not in self._effects]

        def work(_progress: Callable[[int, int, str], None],
                 cancelled: Stop) -> dict[FileSettings, SettingsEffect]:
            found: dict[FileSettings, SettingsEffect] = {}
            for item in wanted:  # stopped: what was worked out is still kept
                try:
                    found[item] = forecast(item, cancelled)
                except ForecastStopped:
                    break
            return found

        task = Task(work)
        task.signals.succeeded.connect(self._worked_out)
        task.signals.failed.connect(self._not_worked_out)
        task.signals.done.connect(lambda: self._tasks.pop(task, None))
        self._tasks[task] = chosen
        start(task)

    def _worked_out(self, effects: dict[FileSettings, SettingsEffect]) -> None:
        self._effects.update(effects)
        self._show_effect()

    def _not_worked_out(self, why: str) -> None:
        self.effect_label.setText(f"What these settings would do cannot be worked out now "
                                  f"({why}); Rebuild with these still applies them.")

    def done(self, result: int) -> None:
        """Closed: forecasts still running are no longer wanted, and stop."""
        self._timer.stop()
        self._stop_forecasts()
        super().done(result)


# Where the window raises a file's length limit.
RAISE_WITH = "Settings… on the LoRA Training JSON Files page"
# Where the window sets a file to end a line over it at its last whole reply that fits.
FIT_WITH = f"'{OVER_LIMIT_LABEL[:-1]}' in the same Settings…"
# How the window finds the conversations over a file's length limit (``TrainingFilesPage``).
FIND_WITH = "Select … over the limit, beside Remove from file, picks them"


def choice_label(name: str | None, limit: int, policy: str) -> str:
    """A training file's entry where the person picks whose settings apply (As trained…):
    its name with its length limit and cut-off policy, in the Settings dialog's words."""
    return f"{name or 'Default'} ({limit:,} tokens; {policy_label(policy)})"


def settings_line(info: TrainingFileInfo) -> str:
    """The file's settings in a few words, for its details (Settings… changes them)."""
    return (f"cut-off replies: {policy_label(info.cut_off_policy)} · {LENGTH_LIMIT} "
            f"{info.max_seq_len:,} tokens · lines over it: "
            f"{over_budget_name(info.over_budget)}")


def over_budget_name(setting: str) -> str:
    """What a line over the budget becomes, in a few words."""
    return OVER_BUDGET_SHORT[OverBudget(setting)]


def over_budget_text(name: str, head: Mapping[str, Any]) -> str | None:
    """``app.budget_words``' sentence in the window's words: it starts a sentence, and
    the length is raised with Settings…."""
    sentence = over_budget_sentence(name, head, RAISE_WITH, FIT_WITH, FIND_WITH)
    return sentence[:1].upper() + sentence[1:] if sentence else None


def settings_text(info: TrainingFileInfo, head: Mapping[str, Any],
                  fitted_before: int | None = None) -> str:
    """After a change: ``app.settings_words``' sentence (the command line says the same),
    with where the window raises the limit, fits lines and finds those over it."""
    return settings_sentence(info.name, info.cut_off_policy, info.max_seq_len,
                             info.over_budget, head, fitted_before,
                             RAISE_WITH, FIT_WITH, FIND_WITH)
