"""The "Create training files" toolbar button and what choosing one of its entries does."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.add_undo import AdditionUndo, add_recorded
from app.errors import LibraryError
from app.library import Library
from app.stopped_jobs import build_stopped, check_stopped
from app.trainingfiles import (
    Addition,
    AddPlan,
    TrainingFileInfo,
    check_new_name,
    get_training_file,
    list_training_files,
    plan_addition,
)
from ui.add_review import AddReviewDialog
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.name_prompt import ask_name
from ui.tasks import in_child, run_with_progress, saying_if_killed, stopped_unchanged
from ui.wording import agreeing, plural

NEW_FILE_LABEL = "New training file…"


CREATE_TIP = "Add the checked conversations to a training file"
# Greyed out, the button says what it waits for (a disabled button shows its tooltip).
NOTHING_CHECKED_TIP = ("Check the conversations to add first: Space checks the selected "
                       "rows, Ctrl+A every row shown")


class CreateTrainingFilesButton(QToolButton):
    """A drop-down listing the full JSON training files (never the JSONL) and "New…"."""

    chosen = Signal(object)  # a training file name, or None for a new file

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.setText("Create training files")
        self.setToolTip(CREATE_TIP)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_ = QMenu(self)
        self.menu_.aboutToShow.connect(self.rebuild_menu)
        self.setMenu(self.menu_)
        self.rebuild_menu()

    def rebuild_menu(self) -> None:
        self.menu_.clear()
        files = list_training_files(self.library)
        if files:
            heading = self.menu_.addAction("Add checked conversations to:")
            heading.setEnabled(False)
        for info in files:
            action = self.menu_.addAction(_label(info))
            action.setData(info.name)
            action.triggered.connect(lambda _=False, n=info.name: self.chosen.emit(n))
        self.menu_.addSeparator()
        new_action = self.menu_.addAction(NEW_FILE_LABEL)
        new_action.triggered.connect(lambda _=False: self.chosen.emit(None))

    def entries(self) -> list[QAction]:
        """The menu's actions, for tests and accessibility tools."""
        return list(self.menu_.actions())


def _label(info: TrainingFileInfo) -> str:
    """The file as the LoRA Training JSON Files page lists it, with its size ("November
    review.json" here and "November review" there read as two things)."""
    return f"{info.name}  ({plural(info.conversations, 'conversation')})"


def added_of_checked(plan: AddPlan, added: int) -> tuple[str, str]:
    """How many of the checked conversations an add put in ("1,334 of the 2,000 checked
    conversations"; "1,334 conversations" when that was all of them), and, briefly, how
    many the plan skipped and why ("666 skipped: no reply to train under the file's
    cut-off policy"; "" when none): once the review closed, the status said only the
    number added (audit55 S3). Those the review left out are ``after_the_add``'s."""
    counts = plan.skipped_briefly()
    of = (plural(added, "conversation") if added >= plan.requested
          else f"{added:,} of the {plural(plan.requested, 'checked conversation')}")
    if not counts:
        return of, ""
    skipped = sum(n for n, _alone, _after_count in counts)
    why = (counts[0][1] if len(counts) == 1
           else ", ".join(f"{n:,} {after_count}" for n, _alone, after_count in counts))
    return of, f"{skipped:,} skipped: {why}"


def after_the_add(plan: AddPlan) -> str:
    """What the status says after the counts of an add: what the review left out, and
    lines kept over the file's length limit (a trainer cuts or drops them)."""
    said = []
    left = len(plan.left_out())
    if left:
        said.append(f"{plural(left, 'conversation')} left out as the review chose")
    over = [cid for cid in plan.adding if cid in plan.over_budget]
    if over:
        n = len(over)
        what = (f"{agreeing(n, 'has', 'have')} a first reply longer than the length limit, "
                "written whole" if plan.fits_lines
                else f"{agreeing(n, 'is', 'are')} over the length limit")
        said.append(f"{plural(n, 'added conversation')} {what} (the file's details say what "
                    "a trainer does with "
                    f"{agreeing(n, 'it', 'them')})")
    return "".join(f"; {part}" for part in said)


class CreateController(QObject):
    """Plans an add once, lets the user review it, then builds once in the background."""

    built = Signal(str)  # name of the training file that changed (after the change signal)
    reviewing = Signal(object)  # the AddReviewDialog, once the plan is made and it opened
    show_in_table = Signal(object, str)  # the review's "Show in the table": ids, which
    status = Signal(str)  # a build the person cancelled, said in the status bar
    # Edit ▸ Undo (``ui.add_undo_flow``): a build starts (Undo waits), its undo once made,
    # or it was not made (Undo offers again what it offered).
    add_starts = Signal()
    added = Signal(object)  # AdditionUndo
    add_not_made = Signal()

    def __init__(self, window: QWidget, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges, checked_ids: Callable[[], list[str]],
                 hidden_ids: Callable[[], Collection[str]] = frozenset,
                 names: Callable[[str], str] = str) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.dialogs = dialogs
        self.changes = changes
        self.checked_ids = checked_ids
        self.hidden_ids = hidden_ids
        self.names = names  # a conversation as the review lists it
        self.review: AddReviewDialog | None = None
        self.last_created = False  # the last build made a new file (not an addition)
        # What the last build put in, and the file's size after it: the status bar says
        # both (the review's counts are gone once it closes; skipped ones are not added).
        self.last_added = 0
        self.last_total = 0
        self.last_plan: AddPlan | None = None  # what the last build carried out

    def add_checked(self, name: str | None) -> bool:
        """Review adding every checked conversation to ``name`` (None: a new file, whose
        name is asked for here). True when the plan is being made: the review opens when
        it is ready (``reviewing``). The plan counts missing tokens, which takes seconds
        for thousands of conversations, so it is made in a child process."""
        ids = self.checked_ids()
        create = name is None
        if not ids:
            self.dialogs.warn(self.window, "Nothing checked",
                              "No conversations are checked: check the ones to add first.")
            return False
        if create:  # a bad or taken name is asked again, as typed; the plan checks again
            name = ask_name(self.dialogs, self.window, "New training file",
                            "Name of the new training file for "
                            f"{plural(len(ids), 'checked conversation')}:", "",
                            functools.partial(check_new_name, self.library))
            if name is None:
                return False
        title = "Cannot create the training file" if create else f"Cannot add to '{name}'"
        if not create:
            try:
                name = get_training_file(self.library, str(name)).name
            except LibraryError as exc:
                self.dialogs.warn(self.window, title, str(exc))
                return False
        run_with_progress(
            self.window, f"Checking {plural(len(ids), 'conversation')} for '{name}'",
            saying_if_killed(in_child(plan_addition, self.library, name, ids, create=create,
                                      hidden=frozenset(self.hidden_ids())),
                             functools.partial(check_stopped, str(name), create=create)),
            self._review, lambda message: self.dialogs.warn(self.window, title, message))
        return True

    def _review(self, plan: AddPlan) -> None:
        self.review = AddReviewDialog(plan, self.window, self.names)
        self.review.confirmed.connect(self.apply)
        self.review.show_in_table.connect(self.show_in_table)
        self.review.open()
        self.reviewing.emit(self.review)

    def apply(self, plan: AddPlan) -> None:
        """Build the file once, in the background, with the plan the user chose."""
        def done(recorded: tuple[Addition, AdditionUndo]) -> None:
            addition, undo = recorded
            info = addition.info
            self.added.emit(undo)
            self.last_created = plan.create
            self.last_plan = plan
            # (what this addition put in: the file may also hold another's made meanwhile)
            self.last_added, self.last_total = addition.added, info.conversations
            self.changes.training_file_built.emit(info.name)
            self.changes.training_files_changed.emit()
            self.built.emit(info.name)

        def failed(message: str) -> None:
            self.add_not_made.emit()
            if stopped_unchanged(task, message):  # the person's own Cancel: no failure box
                self.status.emit(f"Cancelled: training file '{plan.name}' was not created"
                                 if plan.create else
                                 f"Cancelled: nothing was added to training file "
                                 f"'{plan.name}'")
                return
            if task.is_cancelled():  # killed after Cancel, it may be built: the page shows
                self.changes.training_file_built.emit(plan.name)
                self.changes.training_files_changed.emit()
            self.dialogs.warn(self.window, "Build failed", message)

        self.add_starts.emit()
        task = run_with_progress(
            self.window, f"Building '{plan.name}'",
            saying_if_killed(in_child(add_recorded, self.library, plan),
                             lambda: build_stopped(plan.name, len(plan.adding_pks),
                                                   create=plan.create)),
            done, failed)
