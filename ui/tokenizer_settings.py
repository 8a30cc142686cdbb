"""Settings ▸ Tokenizer and chat template: which tokenizer and template a library counts
with (and the as-trained view renders with).

The dialog shows what is in use, lets the user pick the bundled tokenizer or a Hugging Face
``tokenizer.json``, and a bundled chat template or one from a ``tokenizer_config.json`` (its
``chat_template``) or a ``.jinja`` file. Every choice is checked in the background as it
is made (the files load, the pair renders a sample conversation and trains its replies),
with the sample shown; a failure is a sentence naming the file and the reason, and the
dialog cannot be accepted until the choice is sound. Accepting saves through
``app.tokenizer_choice.choose`` into the library itself, so the command line counts the
same way; in a team library that changes it for every member, so the dialog says so and
asks first (the other members' windows hear of it and count again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThreadPool, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.chat_templates import BUNDLED
from app.errors import LibraryError
from app.library import Library
from app.tokenizer_choice import (
    CUSTOM_KEY,
    SAMPLE_CONVERSATION,
    TokenizerChoice,
    candidate_counter,
    choose,
    load_choice,
)
from app.tokens import BUNDLED_TOKENIZER_NAME
from ui.button_order import tab_as_shown
from ui.dialogs import Dialogs
from ui.reader_colours import NOT_TRAINED_HUE, POSITIVE_HUE, blend, readable
from ui.tasks import Task
from ui.wording import plural

TOKENIZER_FILTER = "Hugging Face tokenizer (tokenizer.json);;JSON files (*.json);;All files (*)"
TEMPLATE_FILTER = ("Chat templates (tokenizer_config.json *.jinja *.j2);;"
                   "JSON files (*.json);;All files (*)")
CHECK_DELAY_MS = 150


@dataclass(frozen=True)
class Request:
    """What the dialog would change (the arguments of ``choose``)."""

    tokenizer_file: Path | None = None
    bundled_tokenizer: bool = False
    template: str | None = None
    template_file: Path | None = None

    def arguments(self) -> dict[str, Any]:
        return {"tokenizer_file": self.tokenizer_file,
                "bundled_tokenizer": self.bundled_tokenizer,
                "template": self.template, "template_file": self.template_file}


def in_use_text(choice: TokenizerChoice) -> str:
    return f"Tokenizer: {choice.tokenizer_name}\nChat template: {choice.template_label}"


def team_note(library: Library) -> str:
    return (f"This is a team library ({library.display}): its tokenizer and chat template "
            "are the library's, shared by every member. A change here changes them for "
            "everyone, and every member's token counts are made again.")


class TokenizerDialog(QDialog):
    """Choose the library's tokenizer and chat template; saved only when accepted."""

    checked = Signal()  # a check of the current choice finished (tests wait on it)

    def __init__(self, library: Library, dialogs: Dialogs,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.dialogs = dialogs
        self.choice = load_choice(library)
        self._candidate = ""  # the checked choice, as the question before saving names it
        self.problem = ""  # why the current choice cannot be used ("" = fine or unchecked)
        self.saved: TokenizerChoice | None = None
        self._saving = False
        self._generation = 0
        self._checked_generation = -1
        self._tasks: dict[int, Task] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check)
        self.setWindowTitle("Tokenizer and chat template")

        self.in_use = QLabel(in_use_text(self.choice))
        self.in_use.setWordWrap(True)
        in_use_box = QGroupBox("In use")
        in_use_layout = QVBoxLayout(in_use_box)
        in_use_layout.addWidget(self.in_use)
        self.team = QLabel(team_note(library) if library.is_team else "")
        self.team.setWordWrap(True)
        self.team.setObjectName("teamNote")
        self.team.setVisible(library.is_team)
        in_use_layout.addWidget(self.team)

        self.bundled_tokenizer = QRadioButton(
            f"Bundled: {BUNDLED_TOKENIZER_NAME.removesuffix(' (bundled)')} "
            "(Apache-2.0, works offline)")
        self.own_tokenizer = QRadioButton("Your base model's tokenizer.json")
        self.tokenizer_path = QLineEdit()
        self.tokenizer_path.setPlaceholderText("…/tokenizer.json")
        self.tokenizer_browse = QPushButton("Choose…")
        tokenizer_group = QButtonGroup(self)
        tokenizer_group.addButton(self.bundled_tokenizer)
        tokenizer_group.addButton(self.own_tokenizer)
        tokenizer_box = QGroupBox("Tokenizer")
        grid = QGridLayout(tokenizer_box)
        grid.addWidget(self.bundled_tokenizer, 0, 0, 1, 3)
        grid.addWidget(self.own_tokenizer, 1, 0)
        grid.addWidget(self.tokenizer_path, 1, 1)
        grid.addWidget(self.tokenizer_browse, 1, 2)
        grid.setColumnStretch(1, 1)

        self.bundled_template = QRadioButton("Bundled")
        self.template_combo = QComboBox()
        for key, spec in BUNDLED.items():
            self.template_combo.addItem(spec.label, key)
        self.own_template = QRadioButton("From a file")
        self.template_path = QLineEdit()
        self.template_path.setPlaceholderText("…/tokenizer_config.json or a .jinja file")
        self.template_browse = QPushButton("Choose…")
        template_group = QButtonGroup(self)
        template_group.addButton(self.bundled_template)
        template_group.addButton(self.own_template)
        template_box = QGroupBox("Chat template")
        grid = QGridLayout(template_box)
        grid.addWidget(self.bundled_template, 0, 0)
        grid.addWidget(self.template_combo, 0, 1, 1, 2)
        grid.addWidget(self.own_template, 1, 0)
        grid.addWidget(self.template_path, 1, 1)
        grid.addWidget(self.template_browse, 1, 2)
        grid.setColumnStretch(1, 1)
        hint = QLabel("A template from tokenizer_config.json is its chat_template field. "
                      "Templates with {% generation %} blocks say exactly what is trained; "
                      "without them, the assistant's replies and their end token are.")
        hint.setWordWrap(True)
        grid.addWidget(hint, 2, 0, 1, 3)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("tokenizerCheck")
        self.sample = QPlainTextEdit()
        self.sample.setReadOnly(True)
        self.sample.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.sample.setMaximumHeight(120)
        self.sample.setToolTip("A short sample conversation rendered with this choice")
        self.sample.setAccessibleName("Sample conversation rendered with this choice")
        check_box = QGroupBox("Check")
        check_layout = QVBoxLayout(check_box)
        check_layout.addWidget(self.status)
        check_layout.addWidget(self.sample)
        note = QLabel("Changing either recounts every conversation's tokens in the "
                      "background; the Tokens column and the as-trained view follow.")
        note.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("Use these",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(in_use_box)
        layout.addWidget(tokenizer_box)
        layout.addWidget(template_box)
        layout.addWidget(check_box)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        tab_as_shown(self.buttons)

        custom_tokenizer = self.choice.tokenizer == CUSTOM_KEY
        (self.own_tokenizer if custom_tokenizer else self.bundled_tokenizer).setChecked(True)
        if custom_tokenizer:
            self.tokenizer_path.setPlaceholderText(f"in use: {self.choice.tokenizer_name} "
                                                   "(kept in the library)")
        custom_template = self.choice.template == CUSTOM_KEY
        (self.own_template if custom_template else self.bundled_template).setChecked(True)
        if custom_template:
            self.template_path.setPlaceholderText(f"in use: {self.choice.template_name}")
        else:
            self.template_combo.setCurrentIndex(
                max(0, self.template_combo.findData(self.choice.template)))

        for button in (self.bundled_tokenizer, self.own_tokenizer, self.bundled_template,
                       self.own_template):
            button.toggled.connect(self._changed)
        self.template_combo.currentIndexChanged.connect(self._changed)
        self.tokenizer_path.textChanged.connect(self._changed)
        self.template_path.textChanged.connect(self._changed)
        self.tokenizer_browse.clicked.connect(self._browse_tokenizer)
        self.template_browse.clicked.connect(self._browse_template)
        self.resize(640, 620)
        self._changed()

    # --- the request -------------------------------------------------------------------

    def set_tokenizer_file(self, path: Path) -> None:
        self.own_tokenizer.setChecked(True)
        self.tokenizer_path.setText(str(path))

    def set_template_file(self, path: Path) -> None:
        self.own_template.setChecked(True)
        self.template_path.setText(str(path))

    def set_bundled_template(self, key: str) -> None:
        self.bundled_template.setChecked(True)
        self.template_combo.setCurrentIndex(self.template_combo.findData(key))

    def request(self) -> Request:
        """What accepting would change; an empty own-file field keeps the file in use."""
        tokenizer_file = template_file = None
        bundled = False
        template = None
        if self.own_tokenizer.isChecked():
            text = self.tokenizer_path.text().strip()
            tokenizer_file = Path(text).expanduser() if text else None
        elif self.choice.tokenizer == CUSTOM_KEY:
            bundled = True
        if self.own_template.isChecked():
            text = self.template_path.text().strip()
            template_file = Path(text).expanduser() if text else None
        else:
            template = str(self.template_combo.currentData())
        return Request(tokenizer_file, bundled, template, template_file)

    def _missing_file(self) -> str:
        """A sentence when an own-file choice has no file yet (and none is in use)."""
        if (self.own_tokenizer.isChecked() and not self.tokenizer_path.text().strip()
                and self.choice.tokenizer != CUSTOM_KEY):
            return "Choose your base model's tokenizer.json, or use the bundled tokenizer."
        if (self.own_template.isChecked() and not self.template_path.text().strip()
                and self.choice.template != CUSTOM_KEY):
            return ("Choose a tokenizer_config.json or a .jinja chat template, or use a "
                    "bundled template.")
        return ""

    def _browse_tokenizer(self) -> None:
        paths = self.dialogs.open_files(self, "Choose a tokenizer.json", TOKENIZER_FILTER)
        if paths:
            self.set_tokenizer_file(paths[0])

    def _browse_template(self) -> None:
        paths = self.dialogs.open_files(self, "Choose a chat template", TEMPLATE_FILTER)
        if paths:
            self.set_template_file(paths[0])

    # --- checking in the background ----------------------------------------------------

    def _changed(self, *_args: object) -> None:
        self.tokenizer_path.setEnabled(self.own_tokenizer.isChecked())
        self.tokenizer_browse.setEnabled(self.own_tokenizer.isChecked())
        self.template_combo.setEnabled(self.bundled_template.isChecked())
        self.template_path.setEnabled(self.own_template.isChecked())
        self.template_browse.setEnabled(self.own_template.isChecked())
        self._generation += 1
        self.use_button.setEnabled(False)
        missing = self._missing_file()
        if missing:
            self._check_timer.stop()
            self._show_result(missing, None)
            return
        self.status.setText("Checking…")
        self._check_timer.start()

    @property
    def checking(self) -> bool:
        return self._checked_generation != self._generation

    def check(self) -> None:
        """Load the files and render the sample, off the GUI thread (a tokenizer.json of
        a large vocabulary takes a second to load)."""
        generation = self._generation
        request, library = self.request(), self.library

        def work(_progress: object, _cancelled: object) -> tuple[int, str, str]:
            try:
                counter = candidate_counter(library, **request.arguments())
                shown = counter.as_trained(SAMPLE_CONVERSATION)
            except LibraryError as exc:
                return generation, str(exc), ""
            summary = (f"Fine: {counter.tokenizer_name} with {counter.template.label} renders "
                       f"the sample below in {shown.total:,} tokens, {shown.trained_total:,} of "
                       "them trained (the assistant's replies).")
            return generation, "", f"{summary}\n{shown.text}"

        task = Task(work)
        task.signals.succeeded.connect(self._checked)
        task.signals.failed.connect(lambda text: self._checked((generation, text, "")))
        task.signals.done.connect(lambda: self._tasks.pop(generation, None))
        self._tasks[generation] = task
        self._pool.start(task)

    def _checked(self, result: tuple[int, str, str]) -> None:
        generation, problem, sample = result
        if generation != self._generation:
            return
        self._checked_generation = generation
        if problem:
            self._show_result(problem, None)
        else:
            summary, _, text = sample.partition("\n")
            self._candidate = summary.removeprefix("Fine: ").partition(" renders ")[0]
            self._show_result("", (summary, text))
        self.checked.emit()

    def _show_result(self, problem: str, fine: tuple[str, str] | None) -> None:
        self.problem = problem
        page = self.palette().color(self.backgroundRole())
        hue = NOT_TRAINED_HUE if problem else POSITIVE_HUE
        background = blend(page, hue, 0.16)
        text = readable(self.palette().color(self.foregroundRole()), background)
        self.status.setStyleSheet(f"QLabel#tokenizerCheck {{ background: {background.name()}; "
                                  f"color: {text.name()}; padding: 6px; border-radius: 4px; }}")
        self.status.setText(problem or (fine[0] if fine else ""))
        self.sample.setPlainText(fine[1] if fine else "")
        self.use_button.setEnabled(fine is not None)
        if problem:
            self._checked_generation = self._generation

    # --- accepting ---------------------------------------------------------------------

    def wait(self) -> None:
        """Block until the checks queued are done (tests)."""
        self._check_timer.stop()
        if self.checking and not self._tasks:
            self.check()
        self._pool.waitForDone()

    def accept(self) -> None:
        """Save the choice in the background (``choose`` checks the files again and copies
        them into the library); on a problem say it and stay open. A team library's
        choice is everyone's: the dialog asks first (Cancel keeps it open, unchanged)."""
        if self.checking or self.problem or self._saving:
            return
        if self.library.is_team and not self.dialogs.confirm_destructive(
                self, "Change the tokenizer for every member?",
                f"The team library {self.library.display} will count tokens with "
                f"{self._candidate or 'this choice'} for every member: everyone's token "
                f"counts of its {plural(self.library.count(), 'conversation')} are made again, and "
                "its training files are rebuilt with it. The other members' windows follow "
                "within seconds.", "Change for everyone"):
            return
        self._saving = True
        self.use_button.setEnabled(False)
        self.status.setText("Saving…")
        request, library = self.request(), self.library

        def work(_progress: object, _cancelled: object) -> TokenizerChoice | str:
            try:
                return choose(library, **request.arguments())
            except LibraryError as exc:
                return str(exc)

        task = Task(work)
        task.signals.succeeded.connect(self._saved)
        task.signals.failed.connect(self._saved)
        self._tasks[-1] = task
        self._pool.start(task)

    def _saved(self, outcome: TokenizerChoice | str) -> None:
        self._saving = False
        self._tasks.pop(-1, None)
        if isinstance(outcome, str):
            self._show_result(outcome, None)
            return
        self.saved = outcome
        super().accept()
