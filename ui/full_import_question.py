"""The question before importing a training file of ours: keep the batches its
conversations name, and make the training file again with its settings.

A person restoring a library from its saved training file, or receiving a colleague's,
expects both: the batches they grouped the conversations in, and the file that trains as
it did (its cut-off policy, length limit and order). Both are the answers already chosen;
the earlier rule (one batch named after the file) stays one click away.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import LibraryError
from app.full_found import FullFileFacts
from app.idtext import clean_batch_id
from app.wording import first_few
from ui.button_order import tab_as_shown
from ui.wording import and_list, plural

WIDTH = 76  # characters a line of the question's text
BATCHES_NAMED = 6  # a file of thousands of batches is described in a few lines
DESCRIBED = 3  # files described one by one; more are counted (the box stays on screen)


@dataclass(frozen=True)
class FullImportAnswer:
    """What the person chose: ``own_batches`` (else one batch a file: ``batch``, or the
    file's name when None), and whether to make each training file again."""

    own_batches: bool = True
    recreate: bool = True
    batch: str | None = None


def described(facts: FullFileFacts) -> str:
    """One file in words: its conversations, batches and settings; that the library has
    it already, and that its tokens would be counted otherwise here."""
    shown = [f"{name} ({count:,})" for name, count in facts.batches.items()]
    listed = and_list(shown) if len(shown) <= BATCHES_NAMED else first_few(shown,
                                                                          BATCHES_NAMED)
    batches = f" from {plural(len(shown), 'batch', 'batches')}: {listed}" if shown else ""
    said = [f"'{facts.path.name}': training file '{facts.name}', "
            f"{plural(facts.conversations, 'conversation')}{batches}; "
            f"{facts.settings_words()}."]
    if facts.same_as:
        said.append(f"{facts.already_words()}: it is not made again unless you ask.")
    elif counted := facts.tokens_words():
        said.append(f"Made again, {counted}.")
    return " ".join(said)


def offered(facts: Sequence[FullFileFacts]) -> list[FullFileFacts]:
    """The files the question offers to make again: those the library does not hold
    already; when it holds them all, all of them (the offer is then not ticked)."""
    return [f for f in facts if not f.same_as] or list(facts)


class FullImportQuestion(QDialog):
    """Keep the records' batches or one batch a file, and recreate the training files."""

    def __init__(self, facts: Sequence[FullFileFacts], typed_batch: bool = False,
                 parent: QWidget | None = None) -> None:
        """``typed_batch``: a batch name was asked before (other files are imported too),
        so "one batch" means that name, else the file's name, and no name is asked here."""
        super().__init__(parent)
        self.typed_batch = typed_batch
        one = len(facts) == 1
        self.setWindowTitle("Import a training file" if one else "Import training files")
        intro = ("This is a training file made by LoRA Studio:" if one else
                 "These are training files made by LoRA Studio:")
        shown = [textwrap.fill(described(f), WIDTH) for f in facts[:DESCRIBED]]
        if len(facts) > DESCRIBED:
            held = sum(1 for f in facts[DESCRIBED:] if f.same_as)
            also = (f" ({held:,} of them already in this library with the same conversations "
                    "and settings)" if held else "")
            shown.append(f"and {plural(len(facts) - DESCRIBED, 'more training file')}{also}.")
        text = "\n\n".join([intro, *shown])
        self.about = QLabel(text, self)
        self.about.setAccessibleName("The training file to import")
        self.keep = QRadioButton(
            "Keep the batch each conversation names (a batch the library already has "
            "gets them added)", self)
        stem = facts[0].path.stem if one else ""
        self.one_batch = QRadioButton(
            "Put them all in one batch: the name you typed, or one named after the file"
            if typed_batch else
            ("Put them all in one batch named:" if one else
             "Put each file's conversations in one batch named (empty: after the file):"),
            self)
        group = QButtonGroup(self)
        group.addButton(self.keep)
        group.addButton(self.one_batch)
        self.keep.setChecked(True)
        self.batch = QLineEdit(stem, self)
        self.batch.setAccessibleName("One batch for all the conversations")
        self.batch.setVisible(not typed_batch)
        self.batch.setEnabled(False)
        self.one_batch.toggled.connect(self.batch.setEnabled)
        # named as many as are described; those the library holds already are left out
        # unless it holds them all (its own saved file imported back)
        self.offered = offered(facts)
        quoted = [f"'{f.name}'" for f in self.offered]
        names = and_list(quoted) if len(quoted) <= DESCRIBED else first_few(quoted, DESCRIBED)
        self.recreate = QCheckBox(
            textwrap.fill(f"Also make the training file{'' if len(quoted) == 1 else 's'} "
                          f"{names} again: the same settings, its conversations in the file's "
                          "order (another name if the library has a file of that name)",
                          WIDTH), self)
        self.recreate.setChecked(not all(f.same_as for f in facts))
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        batch_row = QHBoxLayout()
        batch_row.addWidget(self.one_batch)
        batch_row.addWidget(self.batch, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.about)
        layout.addWidget(self.keep)
        layout.addLayout(batch_row)
        layout.addWidget(self.recreate)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        tab_as_shown(buttons)

    def answer(self) -> FullImportAnswer:
        """The choices as they stand (a batch name is checked by ``_accept``)."""
        typed = self.batch.text().strip()
        one = self.one_batch.isChecked()
        return FullImportAnswer(
            own_batches=not one, recreate=self.recreate.isChecked(),
            batch=clean_batch_id(typed) if one and typed and not self.typed_batch else None)

    def _accept(self) -> None:
        try:
            self.answer()
        except LibraryError as exc:  # a name no batch may have: said here, asked again
            self.problem.setText(f"{str(exc).rstrip('.').capitalize()}: type another name.")
            self.problem.show()
            return
        self.accept()
