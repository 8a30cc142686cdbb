"""The window's one Edit ▸ Undo (Ctrl+Z), shared by every kind of change it can undo.

Each kind (a batch rename or move: ``ui.batch_flow``; a removal from a training file:
``ui.member_undo_flow``; a removal from the library: ``ui.library_undo_flow``; a deleted
training file: ``ui.file_undo_flow``; a renamed one: ``ui.file_rename_undo_flow``; a review
mark: ``ui.review_undo_flow``) keeps its own last change and says how Undo should read.
Only the last change of all is offered: the controller starting a change takes the slot,
and the one that had it forgets its own, so one level of undo reaches across kinds.
A change that may fail (a rebuild with new settings) only holds the slot while it runs
(``hold``): what Undo offered is kept, and offered again if the change was not made
(``release``).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

UNDO = "Undo"
NOTHING_TO_UNDO = ("Nothing to undo: Undo reverses the last batch rename, move of "
                   "conversations to a batch, review mark, addition of conversations to a "
                   "training file or its creation, removal of conversations from a training "
                   "file or from the library, change of a training file's settings, rename "
                   "of a training file, or deletion of one")
HELD = ("Undo waits for the change under way: once it is done, Undo reverses it; if it is "
        "cancelled or fails, Undo offers again what it offered before")


class UndoOwner(Protocol):
    def undo_last(self) -> bool: ...

    def forget_undo(self) -> None: ...


class UndoSlot(QObject):
    """The Undo action, and which controller's last change it offers."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.owner: UndoOwner | None = None
        self.holder: UndoOwner | None = None  # whose change runs (``hold``)
        self._offer: tuple[str | None, str | None, str] = (None, NOTHING_TO_UNDO, "")
        self.action = QAction(UNDO, self)
        self.action.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        self.action.triggered.connect(self._undo)
        self.show(None, None, NOTHING_TO_UNDO, "")

    def take(self, owner: UndoOwner) -> None:
        """``owner`` starts a change: what another controller offered is forgotten."""
        self.holder = None
        previous, self.owner = self.owner, owner
        if previous is not None and previous is not owner:
            previous.forget_undo()

    def show(self, owner: UndoOwner | None, label: str | None, refused: str | None,
             tip: str) -> None:
        """How Undo reads for ``owner``'s last change (``label`` None: it has none;
        ``refused``: why it is greyed out); ignored unless ``owner`` holds the slot, or
        nobody does."""
        if self.owner is not None and owner is not self.owner:
            return
        self._offer = label, refused, tip
        if self.holder is None:
            self._apply(label, refused, tip)

    def hold(self, owner: UndoOwner) -> None:
        """``owner`` starts a change that may not be made (it can fail or be cancelled):
        Undo is greyed out while it runs; ``take`` once it was made, ``release`` if not."""
        self.holder = owner
        self._apply(None, HELD, "")

    def release(self, owner: UndoOwner) -> None:
        """``owner``'s change was not made: Undo offers again what it offered before."""
        if self.holder is owner:
            self.holder = None
            self._apply(*self._offer)

    def _apply(self, label: str | None, refused: str | None, tip: str) -> None:
        action = self.action
        action.setText(UNDO if label is None else label.replace("&", "&&"))
        action.setEnabled(refused is None)
        action.setToolTip(refused or tip)
        action.setStatusTip(refused or tip)

    def _undo(self) -> None:
        if self.owner is not None and self.holder is None:
            self.owner.undo_last()
