"""Removing conversations from the library, from the window: checked ones, a whole batch,
or the sample conversations, always after a question that names the training files the
removal rebuilds (the safe answer is the default)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.errors import LibraryError
from app.library import Library
from app.library_undo import (
    UNDO_KEPT_UP_TO,
    LibraryRemovalUndo,
    remove_recorded,
    undo_kept,
)
from app.removal import RemovalPlan, RemovalResult, plan_removal, stopped_by_force
from app.samples import sample_ids
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.library_undo_flow import LibraryRemovalUndoController
from ui.tasks import in_child, run_with_progress, saying_if_killed
from ui.wording import agreeing, plural

MAX_LISTED = 12


def the_conversations(count: int) -> str:
    """"the conversation", "the 2 conversations": a count of one is not written out."""
    return "the conversation" if count == 1 else f"the {plural(count, 'conversation')}"


def removal_question(plan: RemovalPlan, what: str) -> str:
    """The confirmation text: how many, from where, and which training files change (its
    pronouns agree with the count: one conversation is "it", not "they")."""
    one = plan.count == 1
    they, them = ("It", "it") if one else ("They", "them")
    lines = [f"Remove {what} from the library?", ""]
    if plan.training_files:
        lines.append(f"{they} {agreeing(plan.count, 'is', 'are')} in "
                     f"{plural(len(plan.training_files), 'training file')}, which will be rebuilt "
                     f"without {them} (JSON and JSONL):")
        lines += [f"  • {name}" for name in plan.training_files[:MAX_LISTED]]
        if len(plan.training_files) > MAX_LISTED:
            lines.append(f"  … and {len(plan.training_files) - MAX_LISTED:,} more")
    else:
        lines.append(f"No training file holds {them}.")
    if undo_kept(plan):
        source = ("the file it was imported from is" if one
                  else "the files they were imported from are")
        lines += ["", "You can undo this with Edit ▸ Undo (Ctrl+Z) until your next change; "
                  f"{source} not touched."]
    else:
        lines += ["", f"This cannot be undone: Edit ▸ Undo keeps a removal of up to "
                  f"{UNDO_KEPT_UP_TO:,} conversations. The files they were imported from are "
                  "not touched: importing them again brings the conversations back (not "
                  "their place in the training files)."]
    return "\n".join(lines)


class RemoveController(QObject):
    """Plans a removal, asks (naming the training files), removes in the background."""

    status = Signal(str)
    removed = Signal(object)  # RemovalResult, after the change signals

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, checked_ids: Callable[[], list[str]],
                 current_batch: Callable[[], str | None],
                 undo: LibraryRemovalUndoController | None = None) -> None:
        super().__init__(window)
        self.undo = undo  # Edit ▸ Undo of the last removal (None: none is kept)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        self.checked_ids = checked_ids
        self.current_batch = current_batch

    def remove_checked(self) -> bool:
        ids = self.checked_ids()
        if not ids:
            self.dialogs.warn(self.window, "Remove from library",
                              "No conversations are checked: check the ones to remove first.")
            return False
        return self._plan_ask_run(lambda: plan_removal(self.library, ids),
                                  lambda n: f"{the_conversations(n)} you checked")

    def remove_batch(self) -> bool:
        batch = self.current_batch()
        if batch is None:
            self.dialogs.warn(self.window, "Remove batch",
                              "Choose a batch in the Batch ID filter, or select one of its "
                              "conversations, first.")
            return False
        return self._plan_ask_run(lambda: plan_removal(self.library, batch_id=batch),
                                  lambda n: f"the batch '{batch}' and its "
                                            f"{plural(n, 'conversation')}")

    def remove_samples(self) -> bool:
        ids = sample_ids(self.library)
        if not ids:
            self.status.emit("The library holds no sample conversations.")
            return False
        return self._plan_ask_run(lambda: plan_removal(self.library, ids),
                                  lambda n: f"{the_conversations(n)} that came with the "
                                            "app")

    def _plan_ask_run(self, make_plan: Callable[[], RemovalPlan],
                      describe: Callable[[int], str]) -> bool:
        try:
            plan = make_plan()
        except LibraryError as exc:
            self.dialogs.warn(self.window, "Remove from library", str(exc))
            return False
        if not plan.count:
            self.dialogs.warn(self.window, "Remove from library",
                              "None of these conversations is in the library any more.")
            return False
        question = removal_question(plan, describe(plan.count))
        if not self.dialogs.confirm_destructive(self.window, "Remove from library", question,
                                                f"Remove {plan.count:,}"):
            return False
        self.run(plan)
        return True

    def run(self, plan: RemovalPlan) -> None:
        def done(outcome: tuple[RemovalResult, LibraryRemovalUndo | None]) -> None:
            result, undo = outcome
            with self.undo.one_check() if self.undo is not None else nullcontext():
                if self.undo is not None:
                    self.undo.record(undo)  # (before the change signals: they check it)
                self.changes.conversations_changed.emit()
                self.changes.batches_changed.emit()
                if result.rebuilt:
                    self.changes.training_files_changed.emit()
            text = f"Removed {plural(result.removed, 'conversation')} from the library"
            if result.rebuilt:
                text += "; rebuilt " + ", ".join(f"'{n}'" for n in result.rebuilt)
            self.status.emit(text)
            self.removed.emit(result)

        def failed(message: str) -> None:
            if self.undo is not None:
                self.undo.not_made()
            self.changes.training_files_changed.emit()  # some may have been rebuilt
            self.dialogs.warn(self.window, "Conversations not removed", message)

        # Killed after Cancel, not "nothing was changed": files may be rebuilt.
        if self.undo is not None:
            self.undo.starting()
        work = saying_if_killed(in_child(remove_recorded, self.library, plan,
                                         keep=undo_kept(plan)),
                                lambda: stopped_by_force(plan))
        run_with_progress(self.window, "Removing conversations", work, done, failed)


class SamplesBanner(QFrame):
    """Shown while the sample conversations are in the library, so they never mix with
    the user's own unnoticed; one click removes them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)  # the banner must not set the window's minimum width
        self.remove_button = QPushButton("Remove sample conversations")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.remove_button)
        self.setVisible(False)

    def show_count(self, count: int) -> None:
        self.label.setText(
            f"The library holds the {plural(count, 'conversation')} that came with the app, to try "
            "things out. Remove them before you build training files from your own.")
        self.setVisible(count > 0)


def install_removal(window: Any) -> RemoveController:
    """Give the main window its removal actions (Edit menu, the table's context menu), the
    samples banner above the table, and keep them up to date. One call from the window."""
    page = window.conversations
    window.library_undo = LibraryRemovalUndoController(
        window, window.library, window.dialogs, window.changes, window.undo)
    window.library_undo.status.connect(window.show_message)
    window.edit_menu.aboutToShow.connect(window.library_undo.check)
    remover = RemoveController(window, window.library, window.dialogs, window.changes,
                               page.checked_ids, page.current_batch, window.library_undo)
    window.remove_checked_action = window._action(
        "Remove checked from library…", remover.remove_checked,
        QKeySequence(Qt.Key.Key_Delete),
        "Remove the checked conversations from the library (training files holding them "
        "are rebuilt)")
    window.remove_checked_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    window.remove_batch_action = window._action(
        "Remove batch from library…", remover.remove_batch, None,
        "Remove the batch chosen in the filter (or of the selected conversation) and its "
        "conversations")
    window.remove_samples_action = window._action(
        "Remove sample conversations", remover.remove_samples, None,
        "Remove the sample conversations that came with the app")
    window.edit_menu.addSeparator()
    window.edit_menu.addActions([window.remove_checked_action, window.remove_batch_action,
                                 window.remove_samples_action])
    separator = QAction(window)
    separator.setSeparator(True)
    page.table.addActions([separator, window.remove_checked_action,
                           window.remove_batch_action])
    banner = SamplesBanner(page)
    layout = page.layout()
    if isinstance(layout, QBoxLayout):
        layout.insertWidget(0, banner)
    banner.remove_button.clicked.connect(remover.remove_samples)
    window.samples_banner = banner

    def show_samples(count: int) -> None:
        banner.show_count(count)
        window.remove_samples_action.setEnabled(count > 0)

    # Counted off the GUI thread after every reload of the table: in a large library the
    # query would stall the window each time. Until the first count, nothing to remove.
    samples = page.follow_reloads(lambda library: len(sample_ids(library)))
    samples.answered.connect(show_samples)
    window.remove_samples_action.setEnabled(False)

    def update_enabled() -> None:
        window.remove_checked_action.setEnabled(page.model.checked_count > 0)
        window.remove_batch_action.setEnabled(page.current_batch() is not None)

    page.reloaded.connect(update_enabled)
    page.model.checks_changed.connect(update_enabled)
    page.model.shown_changed.connect(update_enabled)
    page.table.selectionModel().currentRowChanged.connect(update_enabled)
    remover.status.connect(window.show_message)
    samples.request()  # now too, not only once the table has read its rows
    update_enabled()
    return remover
