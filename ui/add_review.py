"""The review before an add: what the checked conversations would do to the training file,
with the choice to leave groups out, then one "Add N" button.

The plan is computed once (``app.trainingfiles.plan_addition``) before this dialog opens;
the dialog only chooses among its groups and hands the chosen plan back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QTextBlockFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.cutoff import policy_label
from app.labels import display_name
from app.quality import informational_names
from app.trainingfiles import AddPlan
from ui.button_order import tab_as_shown, tab_through
from ui.conversations_model import ConversationsModel
from ui.elided_label import ElidedLabel
from ui.wording import agreeing, plural


def conversation_names(model: ConversationsModel) -> Callable[[str], str]:
    """How the review names a conversation: as the table shows it (client, batch, source
    file), so a person knows which it is; an id the table does not hold stays an id."""
    def name(conversation_id: str) -> str:
        index = model.index_
        n = index.by_id.get(conversation_id)
        if n is None:
            return f"{conversation_id} (not in the library)"
        row = index.rows[n]
        return " · ".join((row.persona_name or "—", row.batch_id, row.source_file))

    return name


SHOW_TIP = ("Close this review without adding anything and show exactly these "
            "conversations in the table (the filter bar has the way back)")
# What the list under the choices is called (by a screen reader too): it names the ones
# added with a warning as well, once a choice is left unticked.
SKIPPED_LABEL = "Skipped or left out:"
WITH_ADDED_LABEL = "Skipped, left out, or added with a warning:"
NOTHING_TO_SHOW_TIP = "No conversation is skipped or left out"


def shown_as(why: str, n: int, name: str) -> str:
    """Which conversations a group is, as the table's filter bar says it: "the 3
    conversations already in 'seed'", "the 2 conversations flagged with warnings that would
    harm training, left out of 'seed'"."""
    # (Showing them closes the review unadded: those the add would keep are "kept in" it.)
    for mark, done in ((" (left out)", "left out of"), (" (added)", "kept in the add to"),
                       (" (added whole)", "kept whole in the add to")):
        if why.endswith(mark):
            why = f"{why.removesuffix(mark)}, {done} '{name}'"
            break
    return f"the {plural(n, 'conversation')} {why}"


def leave_out(which: str) -> QCheckBox:
    """A "Leave them out" box, spoken with the group it leaves out (five read alike)."""
    box = QCheckBox("Leave them out")
    box.setAccessibleName(f"Leave out {which}")
    return box


def _count(n: int) -> str:
    return f"{n:,}"


def _are(ids: Collection[str]) -> str:
    """"1 of the new ones is", "2 of the new ones are" (and "0 … are")."""
    return agreeing(len(ids), "is", "are")


def flagged_tooltip(plan: AddPlan) -> str:
    """What "Leave them out" leaves out of the flagged ones: every kind of harmful warning
    counted, so the count beside it never reads as fewer kinds than it holds; and what it
    keeps (the warnings the JSONL already handles)."""
    kept = (f"Kept: {informational_names()}, which the JSONL already handles"
            + (f" ({plural(len(plan.handled), 'new conversation')} "
               f"{agreeing(len(plan.handled), 'has', 'have')} only those)."
               if plan.handled else "."))
    if not plan.flagged:
        return f"None of the new ones has a warning that would harm training.\n{kept}"
    kinds = "\n".join(f"  {display_name(code)}: {plural(count, 'conversation')}"
                      for code, count in plan.flagged_by_code)
    return (f"Leave out the {plural(len(plan.flagged), 'new conversation')} with a warning "
            f"that would harm training (one may have several):\n{kinds}\n{kept}")


def near_duplicates_line(plan: AddPlan) -> str:
    """The words after the near-duplicates' count: what they repeat, and why it matters."""
    near = len(plan.near_duplicates)
    return (f"of the new ones {agreeing(near, 'nearly repeats', 'nearly repeat')} one in "
            "the file or the selection")


def near_duplicates_tooltip(plan: AddPlan) -> str:
    """What "Leave them out" on the near-duplicates line does, and what it keeps."""
    why = "Near-identical lines give one conversation extra weight in training."
    if not plan.near_duplicates:
        return ("None of the new ones nearly repeats a conversation already in the file or "
                f"earlier in the selection. {why}")
    n = len(plan.near_duplicates)
    return (f"Leave out the {plural(n, 'new conversation')} that "
            f"{agreeing(n, 'nearly repeats', 'nearly repeat')} another (most of "
            f"{agreeing(n, 'its', 'their')} sentences are the same, or one of the two is a "
            f"shorter copy of the other): {why[0].lower()}"
            f"{why[1:]} One is left out only while a conversation it repeats stays (one "
            "already in the file, or an earlier one of the selection that is added), so a "
            "pair is never lost whole.")


def _none_of_the_new(checks: list[str]) -> str:
    """The checks of the new ones that found nothing, in one line: "None of the new ones is
    hidden by the filter, flagged or a near-duplicate"."""
    listed = checks[0] if len(checks) == 1 else f"{', '.join(checks[:-1])} or {checks[-1]}"
    return f"None of the new ones is {listed}"


def over_budget_line(plan: AddPlan) -> str:
    """The words after the over-budget count: a file that fits its lines is over its
    budget only where a first reply alone is too long, and says so."""
    n = len(plan.over_budget)
    if plan.fits_lines:
        return (f"of the new ones {agreeing(n, 'has', 'have')} a first reply longer than the "
                "file's length limit")
    return f"of the new ones {_are(plan.over_budget)} over the file's length limit"


def over_budget_tooltip(plan: AddPlan) -> str:
    """What being over the budget does to a line in a trainer, and the two ways out."""
    if not plan.over_budget:
        return "Every new one fits the file's length limit"
    n = len(plan.over_budget)
    them = agreeing(n, "it", "them")
    ways_out = (f"Leave {them} out here, or keep {them} and raise the limit in the file's "
                "Settings… on the LoRA Training JSON Files page"
                + (" once the file is made." if plan.create else "."))
    if plan.fits_lines:  # written whole although the file fits its lines
        keep = (f"So {agreeing(n, 'it is', 'they are')} left out unless you untick this; to "
                f"keep {them}, raise the limit in the file's Settings… on the LoRA Training "
                "JSON Files page" + (" once the file is made." if plan.create else "."))
        return (f"{plural(n, 'new conversation')} {agreeing(n, 'has', 'have')} a first reply "
                "longer than the file's length limit "
                f"({plan.max_seq_len:,} tokens) on its own: the file cannot end "
                f"{agreeing(n, 'its line', 'their lines')} at a reply that fits, so it writes "
                f"{them} whole and every reply in {them} counts as trained. TRL would cut "
                f"{them} inside that first reply and train the cut reply (nothing after it "
                f"is learned); Axolotl would leave {them} out. {keep}")
    return (f"{plural(n, 'new conversation')} {agreeing(n, 'is', 'are')} longer than the "
            "file's length limit (max_seq_len): TRL would cut "
            f"{them} there (nothing after that point is learned) and Axolotl would leave "
            f"{them} out. {ways_out}")


class AddReviewDialog(QDialog):
    """Counts by group; "Leave them out" for hidden, flagged, near-duplicate and
    over-budget ones, and for samples mixed with one's own; Add N or Cancel."""

    confirmed = Signal(object)  # the chosen AddPlan
    # (conversation ids, which they are): "Show in the table" closed the review
    show_in_table = Signal(object, str)

    def __init__(self, plan: AddPlan, parent: QWidget | None = None,
                 names: Callable[[str], str] = str) -> None:
        super().__init__(parent)
        self.plan = plan
        self.names = names  # a conversation as the person knows it (``conversation_names``)
        title = (f"New training file '{plan.name}'" if plan.create
                 else f"Add to '{plan.name}'")
        self.setWindowTitle(title)
        # A long name is cut with "…" to the dialog's width; the tooltip has all of it.
        self.heading = ElidedLabel(title, self)
        bold = QFont(self.heading.font())
        bold.setBold(True)
        self.heading.setFont(bold)
        requested = QLabel(plural(plan.requested, "checked conversation"))

        grid = QGridLayout()
        grid.setColumnStretch(2, 1)
        self.counts: dict[str, QLabel] = {}
        self.texts: dict[str, QLabel] = {}  # the words after each count
        row = 0

        def line(key: str, text: str, n: int, choice: QCheckBox | None = None,
                 always: bool = False, checked_for: str = "") -> None:
            """One count and its words; ``checked_for``: what a check of every new one
            looked for, said once among the checks that found none instead of a row of
            its own with a 0 and a greyed box."""
            nonlocal row
            if not n and not always and not checked_for:
                return
            label = QLabel(text)
            self.texts[key] = label
            number = QLabel(_count(n))
            number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.counts[key] = number
            if not n and checked_for:
                found_none.append(checked_for)
                return
            grid.addWidget(number, row, 0)
            grid.addWidget(label, row, 1, 1, 1 if choice is not None else 2)
            if choice is not None:
                grid.addWidget(choice, row, 2)
                choices.append(choice)
            row += 1

        found_none: list[str] = []
        choices: list[QCheckBox] = []  # the "Leave them out" boxes shown, top to bottom

        self.leave_out_hidden = leave_out("the ones hidden by the filter")
        self.leave_out_flagged = leave_out("the flagged ones")
        self.leave_out_near_duplicates = leave_out("the near-duplicates")
        self.leave_out_samples = leave_out("the sample conversations")
        self.leave_out_over_budget = leave_out("the ones over the length limit")
        line("new", "new: not in the file yet", len(plan.new), always=True)
        if not plan.create:
            line("already", "already in the file: skipped", len(plan.already), always=True)
        line("missing", "no longer in the library: skipped", len(plan.missing))
        line("without_reply", "without a consultant reply: skipped", len(plan.without_reply))
        policy = policy_label(plan.cut_off_policy)
        line("untrainable", "with no reply to train under the file's cut-off policy "
             f"({policy}): skipped", len(plan.untrainable))
        line("hidden", f"of the new ones {_are(plan.hidden)} hidden by the current filter",
             len(plan.hidden), self.leave_out_hidden, checked_for="hidden by the filter")
        line("flagged", f"of the new ones {_are(plan.flagged)} flagged with warnings that "
             "would harm training",
             len(plan.flagged), self.leave_out_flagged, checked_for="flagged")
        line("near_duplicates", near_duplicates_line(plan), len(plan.near_duplicates),
             self.leave_out_near_duplicates, checked_for="a near-duplicate")
        line("over_budget", over_budget_line(plan), len(plan.over_budget),
             self.leave_out_over_budget, checked_for="over the length limit")
        if plan.new and found_none:
            grid.addWidget(QLabel(_none_of_the_new(found_none)), row, 1, 1, 2)
            row += 1
        replies = plan.replies_left_out
        line("cut_off", f"of the new ones {agreeing(len(plan.cut_off), 'loses', 'lose')} "
             f"{plural(replies, 'cut-off reply', 'cut-off replies')} (the file's "
             f"cut-off policy: {policy})", len(plan.cut_off))
        line("samples", f"of the new ones {_are(plan.samples)} the app's sample conversations",
             len(plan.samples), self.leave_out_samples)
        # Samples never go in with real data unnoticed: mixed, they are left out unless
        # the user says otherwise.
        self.leave_out_samples.setChecked(plan.mixes_samples)
        # Lines no trainer trains right (a first reply alone over the limit) are left out
        # unless the person keeps them (``AddPlan.unfittable_left_out``).
        self.leave_out_over_budget.setChecked(plan.unfittable_left_out)
        self.leave_out_hidden.setEnabled(bool(plan.hidden))
        self.leave_out_flagged.setEnabled(bool(plan.flagged))
        self.leave_out_near_duplicates.setEnabled(bool(plan.near_duplicates))
        self.leave_out_near_duplicates.setToolTip(near_duplicates_tooltip(plan))
        self.leave_out_hidden.setToolTip("Add only the checked conversations the filter shows")
        self.leave_out_flagged.setToolTip(flagged_tooltip(plan))
        self.leave_out_over_budget.setEnabled(bool(plan.over_budget))
        self.leave_out_over_budget.setToolTip(over_budget_tooltip(plan))
        self.texts["over_budget"].setToolTip(over_budget_tooltip(plan))

        self.details = QTextEdit()
        self.details.setReadOnly(True)
        self.details.setAcceptRichText(False)
        self.details.setMaximumHeight(150)
        # Wrapped: a reason runs to a sentence or two, read in full without scrolling
        # sideways (each name still starts a line of its own, and its wrapped lines start
        # further in: ``show_hanging``).
        self.details.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.details.setPlaceholderText("Nothing is skipped.")
        self.show_menu = QMenu(self)
        self.show_button = QPushButton("Show in the table")
        self.show_button.setAutoDefault(False)  # Enter stays on Add
        self.show_button.setMenu(self.show_menu)
        self.skipped_label = skipped_label = QLabel(SKIPPED_LABEL)
        skipped_label.setBuddy(self.details)  # what a screen reader calls the list
        skipped_row = QHBoxLayout()
        skipped_row.addWidget(skipped_label)
        skipped_row.addStretch(1)
        skipped_row.addWidget(self.show_button)

        self.buttons = QDialogButtonBox()
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.add_button: QPushButton = self.buttons.addButton(
            "Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.rejected.connect(self.reject)
        self.add_button.clicked.connect(self._confirm)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(requested)
        layout.addLayout(grid)
        layout.addLayout(skipped_row)
        layout.addWidget(self.details)
        layout.addWidget(self.buttons)
        # At least as wide as its lines: a minimum width of its own stops the layout from
        # setting one, and with five-digit counts the lines were cut at the right edge.
        self.setMinimumWidth(max(520, layout.minimumSize().width()))
        # Made default only once it is in the dialog (before, the dialog never learnt it and
        # Cancel became the default: Enter cancelled); the keyboard starts on it, not on the
        # first "Leave them out", which Space would tick.
        self.add_button.setDefault(True)
        # Tab as the eye reads: the choices row by row, Show in the table, the list, the
        # buttons (it went from Add up to Show in the table, and from Cancel back to Add).
        tab_through([*choices, self.show_button, self.details])
        tab_as_shown(self.buttons, after=self.details)

        for box in (self.leave_out_hidden, self.leave_out_flagged,
                    self.leave_out_near_duplicates, self.leave_out_samples,
                    self.leave_out_over_budget):
            box.toggled.connect(self._update)
        self._update()
        (self.add_button if self.add_button.isEnabled() else self.cancel_button).setFocus()

    def chosen(self) -> AddPlan:
        return self.plan.choose(leave_out_hidden=self.leave_out_hidden.isChecked(),
                                leave_out_flagged=self.leave_out_flagged.isChecked(),
                                leave_out_near_duplicates=(
                                    self.leave_out_near_duplicates.isChecked()),
                                leave_out_samples=self.leave_out_samples.isChecked(),
                                leave_out_over_budget=self.leave_out_over_budget.isChecked())

    def _update(self) -> None:
        plan = self.chosen()
        n = len(plan.adding)
        self.add_button.setText(f"Add {n:,}" if n else "Nothing to add")
        self.add_button.setEnabled(n > 0)
        skipped = plan.skipped()
        added = plan.added_with_warnings()
        self.skipped_label.setText(WITH_ADDED_LABEL if added else SKIPPED_LABEL)
        show_hanging(self.details, [
            line for why, ids in (*skipped.items(), *added.items())
            for line in (f"{len(ids):,} {why}:", *(f"{ENTRY}{name}" for name in _first(
                [self.names(cid) for cid in ids[:LISTED]], len(ids))))])
        self._fill_show_menu(plan, skipped, added)

    def _fill_show_menu(self, plan: AddPlan, skipped: dict[str, list[str]],
                        added: dict[str, list[str]]) -> None:
        """One entry per group the table can show (not those gone from the library), and
        all of them together when there are several; then those added with a warning."""
        self.show_menu.clear()
        gone = set(plan.missing)
        groups = [(why, [cid for cid in ids if cid not in gone])
                  for why, ids in skipped.items()]
        groups = [(why, ids) for why, ids in groups if ids]
        if len(groups) > 1:
            every = [cid for _why, ids in groups for cid in ids]
            what = (f"the {plural(len(every), 'conversation')} skipped or left out of "
                    f"'{plan.name}'")
            self._add_show_entry(f"All {len(every):,} skipped or left out", every, what)
            self.show_menu.addSeparator()
        for why, ids in groups:
            self._add_show_entry(f"The {len(ids):,} {why}", ids,
                                 shown_as(why, len(ids), plan.name))
        if groups and added:
            self.show_menu.addSeparator()
        for why, ids in added.items():
            self._add_show_entry(f"The {len(ids):,} {why}", ids,
                                 shown_as(why, len(ids), plan.name))
        self.show_button.setEnabled(bool(groups or added))
        self.show_button.setToolTip(SHOW_TIP if groups or added else NOTHING_TO_SHOW_TIP)

    def _add_show_entry(self, text: str, ids: list[str], what: str) -> None:
        action = self.show_menu.addAction(text)
        action.setToolTip(SHOW_TIP)
        action.triggered.connect(lambda _=False: self._show(ids, what))

    def _show(self, ids: list[str], what: str) -> None:
        """Nothing is added: the review closes and the table shows these."""
        self.reject()
        self.show_in_table.emit(tuple(ids), what)

    def _confirm(self) -> None:
        plan = self.chosen()
        self.accept()
        self.confirmed.emit(plan)


LISTED = 30  # conversations a group lists by name; "Show in the table" shows every one
ENTRY = "    "  # what a listed conversation's line starts with, under its group's reason


def show_hanging(view: QTextEdit, lines: list[str]) -> None:
    """``lines`` as paragraphs whose wrapped lines start further in than any line's first
    (a hanging indent): a long reason or name that wraps reads as one entry, and where the
    next one starts shows at the left. (Wrapped lines started at the left edge, where the
    next group's reason starts too.) Each line's own leading spaces indent its first line,
    so the text copied keeps its layout."""
    hang = 2 * QFontMetricsF(view.document().defaultFont()).horizontalAdvance(ENTRY)
    paragraph = QTextBlockFormat()
    paragraph.setLeftMargin(hang)
    paragraph.setTextIndent(-hang)
    view.clear()
    cursor = QTextCursor(view.document())
    cursor.setBlockFormat(paragraph)
    for number, line in enumerate(lines):
        if number:
            cursor.insertBlock(paragraph)
        cursor.insertText(line)
    view.moveCursor(QTextCursor.MoveOperation.Start)  # read from the top (the edit's own
    # cursor, at the start of the empty text, moved on with every line put before it)


def _first(lines: list[str], total: int) -> list[str]:
    """The lines of the first ``LISTED`` of a group of ``total``, and how many more."""
    return lines[:LISTED] + ([f"… and {total - LISTED:,} more (Show in the table shows "
                              "every one)"] if total > LISTED else [])
