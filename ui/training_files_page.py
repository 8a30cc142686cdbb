"""The LoRA Training JSON Files page: the files in the library, what is in each, and copies
to save.

A narrow list on the left; on the right, where the eye goes, the selected file's name, its
actions (Download, which only downloads; Rename; Delete, apart), a message that stays after
a download, its totals, and tabs for its conversations, its coverage and its distributions.

Everything that changes a file or writes a copy goes through ``app.trainingfiles`` and
``app.export``; rebuilds and copies run behind ``run_with_progress`` so the window stays
responsive, and every question to the user goes through the injected ``Dialogs``.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QDesktopServices, QFont, QFontMetricsF, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.budget_fit import OverBudget
from app.coverage import Axis, Coverage, coverage
from app.cutoff import policy_label
from app.errors import LibraryError
from app.export import (
    DEFAULT_VALID_FRACTION,
    FORMATS,
    CannotWriteThere,
    ExportFormat,
    RebuildFirst,
    export,
    export_notes,
    export_targets,
    nothing_to_train,
    owes_rebuild,
)
from app.file_rename_undo import FileRenameUndo
from app.file_undo import UNDO_KEPT_UP_TO, FileDeletionUndo, delete_recorded, undo_kept
from app.labels import OwnNames, display_name
from app.library import Library
from app.member_undo import RemovalUndo, remove_recorded
from app.near_in_file import NearCheckCancelled, NearInFile, near_members
from app.recipes import recipe_paths
from app.reply_openings import WHY as OPENINGS_WHY
from app.reply_openings import FileOpenings, OpeningsCancelled, file_openings
from app.settings_undo import settings_undo
from app.settings_words import fitted_replies
from app.split import parse_valid_share
from app.stored_builds import DamagedBuild
from app.trainingfiles import (
    MemberRow,
    TrainingFileInfo,
    change_settings,
    check_rename,
    delete_training_file,
    header,
    list_training_files,
    member_rows,
    rebuild_training_files,
    rename_training_file,
)
from app.wording import LENGTH_LIMIT
from ui.cell_width import cell_margin, widest_cell
from ui.changes import LibraryChanges
from ui.coverage_grid import CoverageGrid
from ui.dialogs import Dialogs, as_sentence
from ui.distribution_chart import DistributionChart
from ui.download_menu import (
    JSON_FILTER,
    JSONL_FILTER,
    MAIN,
    RECIPES_TEXT,
    RECIPES_TIP,
    SPLIT,
    SPLIT_PER_REPLY,
    SPLIT_PER_REPLY_PURPOSE,
    SPLIT_PER_REPLY_TEXT,
    SPLIT_PURPOSE,
    SPLIT_TEXT,
    VARIANTS,
    Download,
    menu_text,
)
from ui.file_list_splitter import LIST_MIN, FileListSplitter
from ui.file_settings import (
    forecast_settings,
    over_budget_text,
    settings_line,
    settings_of,
    settings_text,
)
from ui.members_model import (
    MEMBER_BATCH,
    MEMBER_CLIENT,
    MEMBER_TOKENS,
    MEMBER_WARNINGS,
    NEAR_MARK,
    MembersModel,
)
from ui.name_prompt import ask_name
from ui.reply_openings_view import ReplyOpeningsView
from ui.row_selection import HeadingSelection, selected_rows
from ui.saved_banner import SavedBanner, saved_text
from ui.saved_copies import SavedCopiesLine, other_kind_to_save, with_out_of_date
from ui.tasks import (
    Task,
    Work,
    changing,
    run_with_progress,
    start,
    stoppable_count,
    stopped_unchanged,
)
from ui.training_files_model import (
    CONVERSATIONS,
    NAME,
    ROW_ROLE,
    SORT_ROLE,
    TrainingFilesModel,
    human_size,
    local_time_text,
)
from ui.wording import agreeing, and_list, plural
from ui.writable_saves import choose_save_folder

EMPTY_HEADING = "No training files yet"
# Said the same way whether the library is empty or not: the steps from the start.
EMPTY_TEXT = (
    "Import conversation files (File ▸ Import files…, or drag files and folders onto the "
    "window), check the ones you want on the Conversations page, then use Create training "
    "files ▸ New training file… in the toolbar. The full JSON and its JSONL are built "
    "together and appear here."
)
# After a refusal to copy a file owing a rebuild (``app.export.RebuildFirst``): what a
# window that may only read its library can do, instead of the command line's advice.
REBUILD_FIRST_ADVICE = (
    "This window opened the library only to read it, so it cannot rebuild the file: close "
    "the other window or app that holds the library, then open the library here again and "
    "save the copy, which rebuilds the file first.")
# An export the page runs: its progress, its Cancel, and what it tells (``app.export``).
ExportWork = Callable[[Callable[[int, int, str], None], Callable[[], bool], Callable[[str], None]],
                      object]
LIST_COLUMNS = {NAME, CONVERSATIONS}  # the rest is in the details, in words
NAME_CHARS_SHOWN = 32  # the list is fitted to names this long at most (longer: elided)
FIT_MEMBER_COLUMNS = {MEMBER_CLIENT, MEMBER_BATCH, MEMBER_TOKENS}
CHART_KEYS = (
    ("persona_archetype", "Persona archetype"),
    ("emotional_arc", "Arc"),
    ("training_topic", "Topic"),
    ("batch", "Batch ID"),
)
# A place that refuses a copy's bytes: the warning's title, what was to be saved there, how
# to ask again at the same place, and what else the warning says ("" when nothing).
Refused = tuple[str, str, Callable[[], None], str]


def totals_text(info: TrainingFileInfo, head: Mapping[str, Any]) -> str:
    totals = head.get("totals") or {}
    lines = totals.get("jsonl_lines", info.conversations)
    return " · ".join((
        plural(info.conversations, "conversation"),
        plural(info.trainable_replies, "trainable reply", "trainable replies"),
        tokens_text(info, head),
        plural(lines, "JSONL line"),
    ))


def tokens_text(info: TrainingFileInfo, head: Mapping[str, Any]) -> str:
    """The exact count the header carries (as the trainer reads the lines); the old
    characters ÷ 4 estimate, marked with ~, only for a file built before exact counts."""
    tokens = head.get("tokens") or {}
    if "total" not in tokens:
        return f"~{info.estimated_tokens:,} tokens"
    text = f"{tokens['total']:,} tokens (longest line {tokens.get('max', 0):,}"
    over = tokens.get("lines_over_max_seq_len", 0)
    if over:
        text += (f"; {plural(over, 'line')} over the {LENGTH_LIMIT} of "
                 f"{tokens.get('max_seq_len', 0):,}")
    return text + ")"


def score_text(score: object) -> str:
    """One format for every reply score on the page: two decimals ("3.00")."""
    return f"{score:.2f}" if isinstance(score, int | float) else "not given"


COUNTING_NEAR = "looking for near-duplicates in this file…"
NEAR_TIP = (
    "Each of them nearly repeats a conversation earlier in this file (most sentences the "
    "same, or a shorter copy of it), so that dialogue gets extra weight in training. They "
    f"are marked {NEAR_MARK} in the Warnings column of the Conversations tab; Select "
    "near-duplicates there selects them (sorted by Warnings, together at the top), to read "
    "or to remove from the file, which keeps the first of each.")
NOT_COUNTED = "near-duplicates not counted (see the status bar)"
NEAR_KEPT = 8  # files whose counts are kept for when they are chosen again
OPENINGS_TAB = "Reply openings"


def near_text(count: int) -> str:
    """How many members nearly repeat another of the file, as the warnings line says it."""
    return (f"{plural(count, 'conversation')} "
            f"{agreeing(count, 'is a near-duplicate', 'are near-duplicates')} of another in "
            f"this file ({NEAR_MARK} in the Warnings column)")


def quality_text(head: Mapping[str, Any], near: int | str = 0) -> str:
    """Reply scores and warnings from the header's ``quality_summary``, in two lines; the
    warnings end with ``near``: how many members nearly repeat another of the file (not a
    warning of any record, so no header counts it), or what to say while it is counted."""
    quality = head.get("quality_summary") or {}
    mean = quality.get("mean_reply_score")
    if mean is None:
        scores = "Reply scores: none of the replies is scored"
    else:
        scores = " · ".join(f"{what} {score_text(quality.get(key))}" for what, key in (
            ("Reply scores: mean", "mean_reply_score"), ("min", "min_reply_score"),
            ("max", "max_reply_score")))
    reviewed = quality.get("human_reviewed_conversations")
    if reviewed is not None:
        scores += f" · {reviewed:,} human-reviewed"
    by_code: Mapping[str, int] = quality.get("warnings_by_code") or {}
    flagged = quality.get("conversations_with_warnings") or 0
    codes = ", ".join(f"{display_name(code)} ×{count:,}" for code, count in
                      sorted(by_code.items(), key=lambda item: (-item[1], item[0])))
    own = (f"{plural(flagged, 'conversation')} with warnings" + (f" ({codes})" if codes else "")
           if flagged else "none")
    if isinstance(near, str):  # being counted, or could not be
        return f"{scores}\nWarnings: {own} · {near}"
    if not near:
        return f"{scores}\nWarnings: {own}"
    return f"{scores}\nWarnings: " + (f"{own} · " if flagged else "") + near_text(near)


DOWNLOAD_TIP = "Save a copy: the JSON for people to review, the JSONL for the trainer"
# The downloads that write a JSONL: none of them can be saved from a file with no line.
NEEDS_LINES = (*(d.key for d in (*MAIN, *VARIANTS) if d.fmt is not ExportFormat.JSON),
               "split", "split_per_reply")


MEMBER_ROWS_SAMPLED = 100  # rows a fitted member column is measured on
DETAILS_IN_WORKER_FROM = 2_000  # members; a smaller file's details are read at once ...
LIBRARY_READ_IN_WORKER_FROM = 20_000  # conversations: ... unless the library is this large
# Members from which a file's near-duplicates are counted on a worker, even when its details
# are read at once: the count compares each member with the earlier ones sharing a lookup
# hash, and in a file whose members all hold one common sentence with a small hash that is
# every earlier one (2,000 such members took 14 s, 200 about 0.1 s, on a loaded machine).
NEAR_AT_ONCE_BELOW = 100


@dataclass(frozen=True)
class FileDetails:
    """What the details show of one training file, read together."""

    head: dict[str, Any]
    members: list[MemberRow]
    grid: Coverage | None


def read_details(library: Library, name: str, axis: Axis) -> FileDetails | None:
    """The file's header, members and coverage; None when it is gone (deleted elsewhere
    since the list was read). Safe on a worker thread: reads only."""
    try:
        head = header(library, name)
        members = member_rows(library, name)
    except LibraryError:
        return None
    try:
        grid: Coverage | None = coverage(library, name, Axis.PERSONA, axis)
    except LibraryError:
        grid = None
    return FileDetails(head, members, grid)


def deletion_question(info: TrainingFileInfo) -> str:
    """Delete…'s question: what goes (its conversations, size and settings), what stays,
    and whether Edit ▸ Undo brings it back."""
    text = (f"Delete training file '{info.name}'? It holds "
            f"{plural(info.conversations, 'conversation')} (JSON {human_size(info.json_bytes)}, "
            f"JSONL {human_size(info.jsonl_bytes)}); its settings (cut-off replies: "
            f"{policy_label(info.cut_off_policy)}; {LENGTH_LIMIT} {info.max_seq_len:,} "
            "tokens) go with it. Its JSON and JSONL are removed from the library; copies you "
            "saved elsewhere are not touched.")
    if undo_kept(info):
        return text + ("\n\nYou can undo this with Edit ▸ Undo (Ctrl+Z) until your next "
                       "change.")
    if info.built:
        return text + (f"\n\nThis cannot be undone: Edit ▸ Undo keeps a deleted training "
                       f"file of up to {UNDO_KEPT_UP_TO:,} conversations. Download a copy "
                       "first if you may need it.")
    return text + ("\n\nThis cannot be undone: its JSON and JSONL were made by an earlier "
                   "version of LoRA Studio and are kept only as files in the library folder, "
                   "which are deleted. Download a copy first if you may need it.")


class TrainingFilesPage(QWidget):
    """Lists training files; shows the selected one's header and members; saves copies."""

    status = Signal(str)
    selection_changed = Signal()  # another file (or none) is selected
    open_conversation = Signal(str)  # a member was double-clicked: read it
    # (old, new) as a rename starts writing, None once it was refused: rows read after the
    # write reach the Conversations page before ``training_file_renamed`` can, without the
    # old name.
    renaming = Signal(object)
    # Edit ▸ Undo (``ui.member_undo_flow``): a removal from a file starts (what Undo
    # offered before goes), then is done, with what puts it back (an ``app.member_undo.
    # RemovalUndo``), said after the views were told.
    removal_starts = Signal()
    removal_not_made = Signal()  # a removal from a file failed or was cancelled
    members_removed = Signal(object)
    # The same for a change of a file's settings (``ui.settings_undo_flow``), with an
    # ``app.settings_undo.SettingsUndo``; or the change failed or was cancelled (with the
    # file's ``TrainingFileInfo`` from before): what Undo offered before may stay.
    settings_starts = Signal()
    settings_changed = Signal(object)
    settings_not_changed = Signal(object)
    # Delete… of a file done (``ui.file_undo_flow``), with an ``app.file_undo.FileDeletionUndo``.
    file_deleted = Signal(object)
    # Rename… (``ui.file_rename_undo_flow``): starts (Undo waits), then is done with an
    # ``app.file_rename_undo.FileRenameUndo``, or was not made (Undo offers what it did).
    rename_starts = Signal()
    file_renamed = Signal(object)
    rename_not_made = Signal()

    def __init__(self, library: Library, dialogs: Dialogs,
                 changes: LibraryChanges | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.dialogs = dialogs
        self.changes = changes or LibraryChanges(self)
        self._refreshing = False
        self._select_next: str | None = None  # the file to show after the next refresh
        self._reading = 0  # which read of the details is the latest (older ones are dropped)
        self._readers: set[Task] = set()  # details being read on worker threads
        self._library_size: int | None = None  # conversations, once counted
        self._details_owed = False  # the selected file changed while the page was hidden
        # Near-duplicates within a file (``app.near_in_file.near_members``) by the file and
        # the members they were counted over, and the file and members the details show.
        self._near: dict[tuple[str, tuple[str, ...]], Mapping[str, str]] = {}
        self._shown: tuple[str, tuple[str, ...], dict[str, Any]] | None = None
        self._near_task: Task | None = None  # the latest count on a worker
        # The reply openings (``app.reply_openings``) of files as they were when counted
        # (their info and members), and the count under way. Counted on a worker, and
        # only while the Reply openings tab is shown: it reads every line of the file.
        self._openings: dict[tuple[TrainingFileInfo, tuple[str, ...]], FileOpenings] = {}
        self._openings_task: Task | None = None
        self._openings_counting: tuple[TrainingFileInfo, tuple[str, ...]] | None = None
        self._shown_info: TrainingFileInfo | None = None
        self.export_folder: Path | None = None  # where the last copy went; offered next time
        self.model = TrainingFilesModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.stack = QStackedWidget(self)
        self.empty_state = self._build_empty_state()
        self.content = self._build_content()
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.refresh()
        self.changes.training_file_built.connect(self._show_next)
        self.changes.training_files_changed.connect(self.refresh)
        self.changes.conversations_changed.connect(self._forget_library_size)

    # --- construction --------------------------------------------------------------

    def _build_empty_state(self) -> QWidget:
        panel = QWidget(self)
        heading = QLabel(EMPTY_HEADING, panel)
        heading.setObjectName("emptyHeading")
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        heading.setFont(font)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(EMPTY_TEXT, panel)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # A wrapped label centred by a layout gets its size hint, not its height for width.
        text.setFixedWidth(480)
        text.setMinimumHeight(text.heightForWidth(480))
        layout = QVBoxLayout(panel)
        layout.addStretch(1)
        layout.addWidget(heading, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(8)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.empty_heading, self.empty_text = heading, text
        return panel

    def _build_content(self) -> QWidget:
        panel = QWidget(self)
        layout = QVBoxLayout(panel)
        self._build_actions(panel)
        file_list = self._build_list(panel)
        self.details = self._build_details(panel)
        # the list as wide as its names and counts (the members table needs the room)
        self.splitter = FileListSplitter(file_list, self.details, self.list_wants, panel)
        self.model.modelReset.connect(self.splitter.fit)  # other names: fitted again
        layout.addWidget(self.splitter, 1)
        # Tab goes the way the eye reads: the list, what to do with the chosen file, then
        # what is in it (the buttons are made first, so by creation they came last).
        chain = (self.table, self.download_button, self.rename_button, self.settings_button,
                 self.delete_button, self.tabs)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)
        return panel

    def _action(self, key: str, text: str, tip: str, handler: Callable[[], None]) -> QAction:
        action = QAction(text, self)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(handler)
        self.file_actions[key] = action
        self._tips[key] = tip
        return action

    def _build_actions(self, parent: QWidget) -> None:
        """Download (only downloads), Rename and Delete, kept apart."""
        self.file_actions: dict[str, QAction] = {}
        self._tips: dict[str, str] = {}  # each action's own tip, while it can act
        self.download_menu = QMenu("Download", parent)
        self.download_menu.setToolTipsVisible(True)
        self.download_menu.addSection("The training file")
        for download in MAIN:
            self.download_menu.addAction(self._action(
                download.key, menu_text(download, None), download.tip,
                functools.partial(self._save_copy, download)))
        self.download_menu.addSection("Reshaped for other trainers")
        for download in VARIANTS:
            self.download_menu.addAction(self._action(
                download.key, menu_text(download, None), download.tip,
                functools.partial(self._save_copy, download)))
        self.download_menu.addAction(self._action(
            "split", f"{SPLIT_TEXT} — {SPLIT_PURPOSE}",
            FORMATS[SPLIT].description,
            functools.partial(self._save_split, SPLIT)))
        self.download_menu.addAction(self._action(
            "split_per_reply", f"{SPLIT_PER_REPLY_TEXT} — {SPLIT_PER_REPLY_PURPOSE}",
            FORMATS[SPLIT_PER_REPLY].description,
            functools.partial(self._save_split, SPLIT_PER_REPLY)))
        self.download_menu.addSeparator()
        self.recipes_action = QAction(RECIPES_TEXT, parent)  # a choice, kept while it lasts
        self.recipes_action.setCheckable(True)
        self.recipes_action.setToolTip(RECIPES_TIP)
        self.download_menu.addAction(self.recipes_action)

        self.download_button = QToolButton(parent)
        self.download_button.setText("Download")
        self.download_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
        self.download_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.download_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.download_button.setMenu(self.download_menu)
        self.download_button.setToolTip(DOWNLOAD_TIP)
        self.rename_button = QPushButton("Rename…", parent)
        self.rename_button.setToolTip("Give the training file a new name")
        self.rename_button.clicked.connect(self._rename)
        self.settings_button = QPushButton("Settings…", parent)
        self.settings_button.setToolTip(
            "What the file does with cut-off replies, and the longest line the trainer takes "
            "(changing them rebuilds the file)")
        self.settings_button.clicked.connect(self._change_settings)
        self.delete_button = QPushButton("Delete…", parent)
        self.delete_button.setToolTip("Remove the training file from the library (asks first)")
        self.delete_button.clicked.connect(self._delete)
        self.manage_menu = QMenu(parent)  # the list's right-click menu: the same three
        self.manage_menu.addMenu(self.download_menu)
        self.manage_menu.addSeparator()
        self.manage_menu.addAction(self._action(
            "show", "Show saved copies", "Open the folder of the last copy you saved (the "
            "library keeps its builds in its database; Download makes the files)",
            self._show_in_folder))
        self.manage_menu.addAction(self._action(
            "rename", "Rename…", "Give the training file a new name", self._rename))
        self.manage_menu.addAction(self._action(
            "settings", "Settings…", "Cut-off replies and length limit (changing "
            "them rebuilds the file)", self._change_settings))
        self.manage_menu.addSeparator()
        self.manage_menu.addAction(self._action(
            "delete", "Delete…", "Remove the training file from the library", self._delete))

    def _build_list(self, parent: QWidget) -> QWidget:
        box = QWidget(parent)
        self.count_label = QLabel(box)
        table = QTableView(box)
        table.setAccessibleName("Training files")  # what a screen reader calls the list
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setTabKeyNavigation(False)  # rows are chosen, not cells: Tab leaves the list
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        table.verticalHeader().setVisible(False)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        heading = table.horizontalHeader()
        for column in range(self.model.columnCount()):
            table.setColumnHidden(column, column not in LIST_COLUMNS)
        heading.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for column in LIST_COLUMNS - {NAME}:
            heading.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._table_menu)
        table.selectionModel().selectionChanged.connect(self._selection_changed)
        table.setMinimumWidth(LIST_MIN)
        self.table = table
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.count_label)
        layout.addWidget(table, 1)
        return box

    def list_wants(self) -> int:
        """How wide the file list would be to show each name (up to ``NAME_CHARS_SHOWN``
        characters; a longer one is elided in its middle) and its count whole."""
        table, heading = self.table, self.table.horizontalHeader()
        names = [info.name for info in self.model.files()]
        longest = math.ceil(QFontMetricsF(table.font()).averageCharWidth() * NAME_CHARS_SHOWN)
        name = max(min(widest_cell(table, names), longest + cell_margin(table)),
                   heading.sectionSizeHint(NAME))
        count = max(heading.sectionSizeHint(CONVERSATIONS),
                    table.sizeHintForColumn(CONVERSATIONS))
        rows = table.verticalHeader().length()
        scroll_bar = (table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
                      if rows > table.viewport().height() else 0)
        return name + count + 2 * table.frameWidth() + scroll_bar

    def _build_details(self, parent: QWidget) -> QWidget:
        details = QWidget(parent)
        self.name_label = QLabel(details)
        font = QFont(self.name_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.name_label.setFont(font)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals_label = QLabel(details)
        self.dates_label = QLabel(details)
        self.quality_label = QLabel(details)
        for label in (self.totals_label, self.dates_label, self.quality_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner = SavedBanner(details)
        self._banner_of: TrainingFileInfo | None = None  # the file as it was saved
        self.saved_copies = SavedCopiesLine(details)  # whether earlier copies still match
        actions = QHBoxLayout()
        actions.addWidget(self.download_button)
        actions.addWidget(self.rename_button)
        actions.addWidget(self.settings_button)
        actions.addStretch(1)
        actions.addWidget(self.delete_button)  # apart from the others, at the far end

        self.tabs = QTabWidget(details)
        self.tabs.addTab(self._build_members(details), "Conversations")
        self.coverage = CoverageGrid(details)
        self.coverage.columns_chooser.currentIndexChanged.connect(self._show_coverage)
        self.tabs.addTab(self.coverage, "Coverage")
        self.tabs.addTab(self._build_charts(details), "Distribution")
        self.openings_view = ReplyOpeningsView(details)
        self.openings_view.select_conversations.connect(self._select_opening)
        self.tabs.addTab(self.openings_view, OPENINGS_TAB)
        self.tabs.setTabToolTip(self.tabs.indexOf(self.openings_view), OPENINGS_WHY)
        self.tabs.currentChanged.connect(lambda _index: self._want_openings())

        layout = QVBoxLayout(details)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.name_label)
        layout.addLayout(actions)
        layout.addWidget(self.saved_copies)
        layout.addWidget(self.banner)
        layout.addWidget(self.totals_label)
        layout.addWidget(self.dates_label)
        layout.addWidget(self.quality_label)
        layout.addWidget(self.tabs, 1)
        return details

    def _build_members(self, parent: QWidget) -> QWidget:
        box = QWidget(parent)
        self.members_label = QLabel("Double-click a conversation, or press Enter, to read it",
                                    box)
        self.remove_button = QPushButton("Remove from file", box)
        self.remove_button.setToolTip(
            "Rebuild the file without the selected conversations (they stay in the library); "
            "Delete in the list does the same, after the same question")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_selected_members)
        self.near_button = QPushButton("Select near-duplicates", box)
        self.near_button.setToolTip(
            f"Select the conversations marked {NEAR_MARK}: each nearly repeats one earlier in "
            "this file. They are sorted to the top by Warnings; Remove from file then keeps "
            "the first of each")
        self.near_button.clicked.connect(self.select_near_duplicates)
        self.near_button.hide()
        # The way to the members whose line is over the file's budget, shown only when
        # there are some (the details' tooltip tells of them and of this button).
        self.select_over_budget_button = QPushButton(box)
        self.select_over_budget_button.setToolTip(
            "Select the conversations whose line in this file is longer than its length "
            "limit (⚠ in Tokens); Remove from file then leaves them out")
        self.select_over_budget_button.hide()
        self.select_over_budget_button.clicked.connect(self._select_over_budget)
        self.members_model = MembersModel(self)
        self.members = QTableView(box)
        self.members.setAccessibleName("Conversations in the chosen training file")
        self.members.setModel(self.members_model)
        self.members.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.members.setTabKeyNavigation(False)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.members.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.members.setAlternatingRowColors(True)
        self.members.setWordWrap(False)
        self.members.verticalHeader().setDefaultSectionSize(
            self.members.fontMetrics().height() + 8)
        heading = self.members.horizontalHeader()
        # Names, batches and counts keep their width; warnings take what they need, up to
        # a third of the rest (``_share_member_width``); arc and topic share what is left,
        # so the list never needs a horizontal scroll bar. The fitted widths are measured
        # once per file (``_fit_member_columns``), not by Qt's ResizeToContents: that asks
        # data() in Python for every sampled row at every resize of the page, several
        # times in the layout that follows a build (0.05-0.1 s of frozen window each in a
        # large library).
        for column in range(self.members_model.columnCount()):
            mode = (QHeaderView.ResizeMode.Fixed
                    if column in FIT_MEMBER_COLUMNS or column == MEMBER_WARNINGS
                    else QHeaderView.ResizeMode.Stretch)
            heading.setSectionResizeMode(column, mode)
        self._warnings_wants = 0  # px: the Warnings column's widest text, measured per file
        self.members.viewport().installEventFilter(self)  # its width shares out the columns
        self._fit_member_columns([])
        self.members.setTextElideMode(Qt.TextElideMode.ElideRight)
        # File order until a heading is clicked; a third click returns to it.
        heading.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        heading.setSortIndicatorClearable(True)
        self.members.setSortingEnabled(True)
        self.members.selectionModel().selectionChanged.connect(
            self._members_selection_changed)
        self._heading_selection = HeadingSelection(self.members)
        # Enter opens the current one as a double click does, and Delete asks to remove the
        # selected ones. (Not ``activated``: where the desktop opens items with one click,
        # it is a plain click, which then left the page; and on macOS Enter is not it.)
        self.members.doubleClicked.connect(self._open_member)
        open_key = QAction("Read", self.members)
        open_key.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        open_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        open_key.triggered.connect(lambda: self._open_member(self.members.currentIndex()))
        self.members.addAction(open_key)
        remove_key = QAction("Remove from file", self.members)
        remove_key.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        remove_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove_key.triggered.connect(self._remove_selected_members)
        self.members.addAction(remove_key)
        header_row = QHBoxLayout()
        header_row.addWidget(self.members_label)
        header_row.addStretch(1)
        header_row.addWidget(self.near_button)
        header_row.addWidget(self.select_over_budget_button)
        header_row.addWidget(self.remove_button)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(header_row)
        layout.addWidget(self.members, 1)
        return box

    def _build_charts(self, parent: QWidget) -> QWidget:
        summary = QWidget()
        self.charts: dict[str, DistributionChart] = {}
        grid = QGridLayout(summary)
        grid.setHorizontalSpacing(16)
        self._names = OwnNames()  # the members' files' own names of arc and topic codes
        namers: dict[str, Callable[[str], str]] = {
            "batch": str, "emotional_arc": lambda code: self._names.arc(code),
            "training_topic": lambda code: self._names.topic(code)}
        for position, (key, title) in enumerate(CHART_KEYS):
            chart = DistributionChart(title, summary, name=namers.get(key, display_name))
            self.charts[key] = chart
            grid.addWidget(chart, position // 2, position % 2, Qt.AlignmentFlag.AlignTop)
        grid.setRowStretch(2, 1)
        scroll = QScrollArea(parent)
        scroll.setAccessibleName("Distribution charts of the chosen training file")
        scroll.setWidget(summary)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    # --- showing -------------------------------------------------------------------

    def refresh(self, select_name: str | None = None) -> None:
        """Reload the list; keep the selected file (or select ``select_name``)."""
        current = self.selected_file()
        wanted = select_name or self._select_next or (current.name if current else None)
        self._select_next = None
        files = list_training_files(self.library)
        self.model.set_files(files)
        self.stack.setCurrentWidget(self.content if files else self.empty_state)
        self.count_label.setText(plural(len(files), "training file"))
        self._refreshing = True  # one _show_selected below, not one per selection signal
        try:
            self._select(wanted)
        finally:
            self._refreshing = False
        self._show_selected()

    def select_file(self, name: str) -> bool:
        """Select and show the file called ``name``; False when there is none."""
        if self.model.row_of(name) is None:
            return False
        current = self.selected_file()
        if current is None or current.name != name:
            self._select(name)
        return True

    def _select(self, name: str | None) -> None:
        row = self.model.row_of(name) if name else None
        if row is not None:
            target = self.proxy.mapFromSource(self.model.index(row, 0))
        else:
            target = self.proxy.index(0, 0)
        if target.isValid():
            self.table.selectRow(target.row())
            self.table.scrollTo(target)

    def selected_file(self) -> TrainingFileInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(ROW_ROLE) if rows else None

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._refreshing:
            self._show_selected()

    def _show_selected(self) -> None:
        info = self.selected_file()
        for widget in (self.download_button, self.rename_button, self.settings_button,
                       self.delete_button):
            widget.setEnabled(info is not None)
        for action in self.file_actions.values():
            action.setEnabled(info is not None)
        self._grey_out_what_needs_lines(info)
        self.selection_changed.emit()  # (after the actions: the window's follow them)
        self._reading += 1  # an older read still running is no longer wanted
        if info is None:
            self._show_nothing()
            return
        if self.isHidden() and self.parentWidget() is not None:
            # Behind the other tab, the details wait until the page shows: after a rename or
            # a move on the Conversations page, reading a rebuilt 10,000-member file here
            # took the GIL from the window's own update for nothing anyone could see.
            self._details_owed = True
            return
        self._details_owed = False
        if info.conversations < DETAILS_IN_WORKER_FROM and not self._large_library():
            self._show_details(info, read_details(self.library, info.name,
                                                  self.coverage.column_axis()),
                               count_here=info.conversations < NEAR_AT_ONCE_BELOW)
            if self._shown is not None and self._shown[:2] not in self._near:
                self._count_near(info.name, self._reading)
            return
        # A large file's members, header and coverage are read on a worker thread: reading
        # 10,000 member rows on the GUI thread froze the window after every build, and the
        # coverage reads every conversation's persona and arc (0.1-0.9 s at 100,000).
        if self.name_label.text() != info.name:  # another file: do not show the last one's
            self._clear_details()
            self.details.setEnabled(True)  # its actions work while its details are read
            self.name_label.setText(info.name)
            self.totals_label.setText(f"Reading {plural(info.conversations, 'conversation')}…")
        ticket, library, axis = self._reading, self.library, self.coverage.column_axis()
        task = Task(lambda _progress, _cancelled: read_details(library, info.name, axis))
        task.signals.succeeded.connect(
            lambda details: self._show_details(info, details) if ticket == self._reading
            else None)
        task.signals.failed.connect(
            lambda message: self.status.emit(f"Could not read '{info.name}': {message}"))
        task.signals.done.connect(lambda: self._readers.discard(task))
        self._readers.add(task)  # kept until it is done
        start(task)
        self._count_near(info.name, ticket)

    def _count_near(self, name: str, ticket: int) -> None:
        """Count the near-duplicates within ``name`` on a worker (a 10,000-member file of
        re-generations takes about 0.3 s); they are shown with the details they belong to,
        whichever comes first. A count still running for the file shown before is stopped:
        nobody waits for it any more."""
        if self._near_task is not None:
            self._near_task.cancel()
        library = self.library
        task = stoppable_count(
            lambda cancelled: near_members(library, name, cancelled=cancelled),
            NearCheckCancelled)
        self._near_task = task
        task.signals.succeeded.connect(
            lambda found: self._near_counted(name, found) if found is not None else None)
        task.signals.failed.connect(
            lambda message: self._near_failed(name, ticket, message))
        task.signals.done.connect(lambda: self._readers.discard(task))
        self._readers.add(task)
        start(task)

    def _remember_near(self, name: str, found: NearInFile) -> None:
        if len(self._near) >= NEAR_KEPT:
            self._near.pop(next(iter(self._near)))
        self._near[(name, found.members)] = found.repeats

    def _near_counted(self, name: str, found: NearInFile) -> None:
        self._remember_near(name, found)
        if self._shown is not None and self._shown[:2] == (name, found.members):
            self.members_model.set_near(found.repeats)
            self._fit_member_columns(self.members_model.file_rows())  # (their marks)
            self._show_near(found.repeats)

    def _near_failed(self, name: str, ticket: int, message: str) -> None:
        if ticket != self._reading or self._shown is None or self._shown[0] != name:
            return  # another file is shown by now
        self.quality_label.setText(quality_text(self._shown[2], NOT_COUNTED))
        self.status.emit(f"Could not count the near-duplicates in '{name}': {message}")

    def _show_near(self, repeats: Mapping[str, str] | None) -> None:
        """The shown file's near-duplicates (None: being counted) in its warnings, and the
        button that selects them (the list marks them: ``MembersModel``)."""
        assert self._shown is not None
        self.quality_label.setText(quality_text(
            self._shown[2], COUNTING_NEAR if repeats is None else len(repeats)))
        self.quality_label.setToolTip(NEAR_TIP if repeats else "")
        self.near_button.setText(f"Select {plural(len(repeats or ()), 'near-duplicate')}")
        self.near_button.setVisible(bool(repeats))

    def select_near_duplicates(self) -> None:
        """Select the members that nearly repeat an earlier one, sorted together at the
        top of the list (by Warnings), ready to read or to remove."""
        model = self.members_model
        near = set(model.near_ids())
        if not near:
            return
        self.tabs.setCurrentIndex(0)
        self.members.sortByColumn(MEMBER_WARNINGS, Qt.SortOrder.DescendingOrder)
        if count := self._select_members(near):
            self.status.emit(f"Selected {plural(count, 'near-duplicate')}: Remove from "
                             "file keeps the first of each")

    def _select_members(self, ids: Collection[str]) -> int:
        """Select the members whose ids are in ``ids`` in the Conversations tab, shown
        and focused; how many were selected."""
        model = self.members_model
        rows = [row for row in range(model.rowCount())
                if model.row_at(row).conversation_id in ids]
        if not rows:
            return 0
        self.tabs.setCurrentIndex(0)
        selection = QItemSelection()
        last_column = model.columnCount() - 1
        start_row = previous = rows[0]
        for row in [*rows[1:], None]:
            if row is not None and row == previous + 1:
                previous = row
                continue
            selection.select(model.index(start_row, 0), model.index(previous, last_column))
            if row is not None:
                start_row = previous = row
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self.members.selectionModel().select(selection, flags)
        self.members.scrollTo(model.index(rows[0], 0))
        self.members.setFocus()
        return len(rows)

    def _select_opening(self, opening: str, ids: Sequence[str]) -> None:
        """An opening chosen in the Reply openings tab: its conversations brought to the
        top of the Conversations tab and selected (one range: scattered rows took Qt
        seconds to select at 20,000); the header shows no column's order then."""
        chosen = set(ids)
        header = self.members.horizontalHeader()
        blocked = header.blockSignals(True)  # the indicator alone: no sort by it
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.blockSignals(blocked)
        self.members_model.bring_first(chosen)
        count = self._select_members(chosen)
        if count:
            self.status.emit(
                f"Selected {plural(count, 'conversation')} with a trained reply opening "
                f"\u201c{opening}\u201d: read them, or Remove from file before training")

    # --- reply openings --------------------------------------------------------------

    def _openings_key(self) -> tuple[TrainingFileInfo, tuple[str, ...]] | None:
        if self._shown is None or self._shown_info is None:
            return None
        return self._shown_info, self._shown[1]

    def _want_openings(self) -> None:
        """Show the shown file's reply openings when their tab is shown: known already,
        or counted now on a worker (it reads every line of the file)."""
        key = self._openings_key()
        if key is None or self.tabs.currentWidget() is not self.openings_view:
            return
        known = self._openings.get(key)
        if known is not None:
            if self.openings_view.found is not known:
                self.openings_view.show_openings(known)
            return
        if self._openings_task is not None:
            if self._openings_counting == key:
                return  # already being counted
            self._openings_task.cancel()
        self.openings_view.show_counting()
        library, name = self.library, key[0].name
        task = stoppable_count(
            lambda cancelled: file_openings(library, name, cancelled=cancelled),
            OpeningsCancelled)
        self._openings_task, self._openings_counting = task, key
        task.signals.succeeded.connect(
            lambda found: self._openings_counted(key, found) if found is not None else None)
        task.signals.failed.connect(lambda message: self._openings_failed(key, message))
        task.signals.done.connect(lambda: self._openings_done(task))
        self._readers.add(task)
        start(task)

    def _openings_done(self, task: Task) -> None:
        self._readers.discard(task)
        if self._openings_task is task:
            self._openings_task = None

    def _openings_counted(self, key: tuple[TrainingFileInfo, tuple[str, ...]],
                          found: FileOpenings) -> None:
        if len(self._openings) >= NEAR_KEPT:
            self._openings.pop(next(iter(self._openings)))
        self._openings[key] = found
        if self._openings_key() == key:
            self.openings_view.show_openings(found)

    def _openings_failed(self, key: tuple[TrainingFileInfo, tuple[str, ...]],
                         message: str) -> None:
        if self._openings_key() == key:
            self.openings_view.show_failed(
                f"Could not count the reply openings of '{key[0].name}': {message}")

    def event(self, event: QEvent) -> bool:
        # ShowToParent, not showEvent: it comes when the tab is chosen even in a window not
        # (yet) on screen, so the owed details never wait for a show that does not come.
        if event.type() == QEvent.Type.ShowToParent and self._details_owed:
            self._show_selected()
        return super().event(event)

    def why_no_lines(self) -> str | None:
        """Why the selected file's JSONL cannot be saved (it has no line to train on), or
        None when it can (or no file is selected)."""
        info = self.selected_file()
        if info is None or info.trainable_replies:
            return None
        return as_sentence(nothing_to_train(info.name, info.conversations, info.cut_off_policy))

    def _grey_out_what_needs_lines(self, info: TrainingFileInfo | None) -> None:
        """A file with no line to train on has an empty JSONL, which an export refuses:
        its JSONL downloads are greyed out, saying why, rather than refused after the
        save dialog."""
        why = self.why_no_lines()
        for key in NEEDS_LINES:
            action = self.file_actions[key]
            action.setEnabled(info is not None and why is None)
            action.setToolTip(why or self._tips[key])
            action.setStatusTip(why or self._tips[key])
        self.download_button.setToolTip(f"{DOWNLOAD_TIP}.\n{why}" if why else DOWNLOAD_TIP)

    def _large_library(self) -> bool:
        """Holds enough conversations that the coverage's scan of them all is slow."""
        if self._library_size is None:
            try:
                self._library_size = self.library.count()
            except Exception:  # the read of the details says what is wrong
                return False
        return self._library_size >= LIBRARY_READ_IN_WORKER_FROM

    def _forget_library_size(self) -> None:
        self._library_size = None

    def _show_details(self, info: TrainingFileInfo, details: FileDetails | None,
                      count_here: bool = False) -> None:
        """Show what was read of ``info``; its near-duplicates too when they were counted
        (``count_here``: counted now, on this thread, for a small file)."""
        if details is None:  # deleted elsewhere since the list was read
            self._show_nothing()
            return
        head = details.head
        members = tuple(member.conversation_id for member in details.members)
        repeats = self._near.get((info.name, members))
        if repeats is not None and self._near_task is not None:
            # Known already (the members are as when last counted: after an Undo, say):
            # the count started beside the read would only hold the interpreter lock the
            # window needs to show them.
            self._near_task.cancel()
        if repeats is None and count_here:
            found = near_members(self.library, info.name)
            self._remember_near(info.name, found)
            repeats = found.repeats
        self._shown = (info.name, members, head)
        self._shown_info = info
        if info != self._banner_of:  # (its settings, size, name and date all compared)
            self.banner.hide()
        self.details.setEnabled(True)
        self.name_label.setText(info.name)
        for download in (*MAIN, *VARIANTS):
            self.file_actions[download.key].setText(menu_text(download, info))
        self.totals_label.setText(totals_text(info, head))
        # lines over the budget: what the trainer does with them and what to do
        self.totals_label.setToolTip(over_budget_text(info.name, head) or "")
        self.dates_label.setText(
            f"Created {local_time_text(info.created_at)} · "
            f"last updated {local_time_text(info.updated_at)} · {settings_line(info)}")
        self._show_near(repeats)
        self.saved_copies.show_for(self.library, info.name)
        self._names = OwnNames.gather(
            (m.emotional_arc_key, m.emotional_arc, m.training_topic_key, m.training_topic)
            for m in details.members)
        distributions = head.get("scaffolding_distribution") or {}
        for key, chart in self.charts.items():
            chart.set_counts(distributions.get(key) or {})
        self._show_members(details.members, repeats, info)
        self.coverage.show_coverage(details.grid)
        self._want_openings()

    def _show_coverage(self) -> None:
        info = self.selected_file()
        try:
            grid = (coverage(self.library, info.name, Axis.PERSONA, self.coverage.column_axis())
                    if info is not None else None)
        except LibraryError:
            grid = None
        self.coverage.show_coverage(grid)

    def _show_nothing(self) -> None:
        self._clear_details()
        self.name_label.setText("Select a training file to see what is in it")
        self.details.setEnabled(False)

    def _clear_details(self) -> None:
        self._shown = None
        self._shown_info = None
        if self._openings_task is not None:
            self._openings_task.cancel()
            self._openings_task = None
        self.openings_view.clear()
        for label in (self.totals_label, self.dates_label, self.quality_label):
            label.clear()
            label.setToolTip("")
        self.near_button.hide()
        self.saved_copies.show_for(self.library, None)
        for chart in self.charts.values():
            chart.set_counts({})
        self._show_members([])
        self.coverage.show_coverage(None)

    def _show_members(self, members: list[MemberRow],
                      near: Mapping[str, str] | None = None,
                      info: TrainingFileInfo | None = None) -> None:
        """``near``: the members that nearly repeat an earlier one (None: not counted yet);
        ``info``: the file they are of, whose budget marks the lines over it."""
        self.members_model.set_rows(members, near, max_seq_len=info.max_seq_len if info else 0,
                                    fits=info is not None and info.over_budget == OverBudget.FIT)
        over = len(self.members_model.over_budget_rows())
        self.select_over_budget_button.setText(f"Select the {over:,} over the limit")
        self.select_over_budget_button.setVisible(over > 0)
        self._fit_member_columns(members)
        self.tabs.setTabText(0, f"Conversations ({len(members):,})" if members
                             else "Conversations")
        self._members_selection_changed()

    def _fit_member_columns(self, members: list[MemberRow]) -> None:
        """Each fitted column as wide as its heading or its widest text in the first
        ``MEMBER_ROWS_SAMPLED`` rows (what ResizeToContents with that precision gives a view
        scrolled to the top), measured from the texts without asking the view."""
        heading = self.members.horizontalHeader()
        sample = members[:MEMBER_ROWS_SAMPLED]
        for column in sorted(FIT_MEMBER_COLUMNS):
            texts = [MembersModel.text(row, column) for row in sample]
            heading.resizeSection(column, max(widest_cell(self.members, texts) if sample
                                              else 0, heading.sectionSizeHint(column)))
        warnings = [self.members_model.shown_text(row, MEMBER_WARNINGS) for row in sample]
        self._warnings_wants = max(widest_cell(self.members, warnings) if sample else 0,
                                   heading.sectionSizeHint(MEMBER_WARNINGS))
        self._share_member_width()

    def _share_member_width(self) -> None:
        """Warnings as wide as its texts want, up to a third of what the fitted columns
        leave; arc and topic share the rest. (Three equal stretched columns cut arcs and
        topics at 1093 px while a Warnings column, empty in most rows, had room to spare.)"""
        heading = self.members.horizontalHeader()
        room = self.members.viewport().width() - sum(
            heading.sectionSize(column) for column in FIT_MEMBER_COLUMNS)
        width = max(heading.sectionSizeHint(MEMBER_WARNINGS),
                    min(self._warnings_wants, room // 3))
        if heading.sectionSize(MEMBER_WARNINGS) != width:
            heading.resizeSection(MEMBER_WARNINGS, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.members.viewport():
            self._share_member_width()
        return super().eventFilter(watched, event)

    def _open_member(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_conversation.emit(self.members_model.row_at(index.row()).conversation_id)

    def _select_over_budget(self) -> None:
        """Select the members whose line is over the file's budget, for Remove from file."""
        selection = QItemSelection()
        model = self.members_model
        for row in model.over_budget_rows():
            selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
        self.members.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.members.setFocus()

    def _members_selection_changed(self, *_changes: object) -> None:
        self.remove_button.setEnabled(bool(selected_rows(self.members)))

    def selected_member_ids(self) -> list[str]:
        """Selected members in file order."""
        model = self.members_model
        rows = sorted(selected_rows(self.members), key=model.file_position)
        return [model.row_at(row).conversation_id for row in rows]

    def _table_menu(self, position: QPoint) -> None:
        if self.selected_file() is not None:
            self.manage_menu.popup(self.table.viewport().mapToGlobal(position))

    # --- background work -----------------------------------------------------------

    def _run(self, title: str, work: Work, on_success: Callable[[Any], None],
             failure_title: str, told: Sequence[str] = (),
             failed_first: Callable[[], None] | None = None,
             cancelled_said: str | None = None) -> None:
        """Run ``work`` behind a progress dialog. ``told``: sentences the work adds to as it
        goes (an export's tidy), said after any failure's own (a cancel too);
        ``failed_first``: called on a failure (a cancel too) before it is said;
        ``cancelled_said``: the status line when the person's own Cancel stopped it with
        nothing changed (no warning box: nothing went wrong); without it (an export, whose
        tidy may have more to say) a Cancel is said in the box as a failure is."""
        def failed(message: str) -> None:
            if failed_first is not None:
                failed_first()
            if cancelled_said is not None and stopped_unchanged(task, message):
                self.status.emit(cancelled_said)
                return
            self._failed(failure_title, " ".join([message, *told]))

        task = run_with_progress(self, title, work, on_success, failed)

    def _failed(self, title: str, message: str) -> None:
        self.dialogs.warn(self, title, message)
        self.status.emit(f"{title}: {message}")

    # --- copies --------------------------------------------------------------------

    def _default_folder(self) -> Path:
        return self.export_folder or Path.home()

    def _save_copy(self, download: Download, default: Path | None = None) -> None:
        """Ask where (``default``: the place offered, a refused one when asked again),
        then save a copy of the selected file."""
        info = self.selected_file()
        if info is None:
            return
        filters = JSON_FILTER if download.fmt is ExportFormat.JSON else JSONL_FILTER
        target = self.dialogs.save_path(
            self, download.dialog_title,
            default or self._default_folder() / f"{info.name}{download.suffix}", filters)
        if target is None:
            return
        if not self._may_replace(download.fmt, target, asked=target):
            return
        # an out-of-date copy of the other kind beside it: save that again too, if asked
        ticked = self.recipes_action.isChecked()  # both copies go with what was ticked now
        also = other_kind_to_save(self.library, self.dialogs, self, info.name, download.fmt,
                                  target, recipes=ticked)
        name, fmt, recipes = info.name, download.fmt, self._recipes_with(download.fmt)
        self._export(f"Saving {target.name}…", name, fmt,
                     lambda progress, cancelled, tell: export(
                         self.library, name, fmt, target, overwrite=True,  # the dialog asked
                         progress=progress, cancelled=cancelled, tell=tell, recipes=recipes),
                     "Could not save the copy",
                     then=None if also is None else functools.partial(
                         self._save_other_kind, name, fmt, target, also, ticked),
                     refused=("Could not save the copy", target.name,
                              functools.partial(self._save_copy, download, target), ""))

    def _recipes_with(self, fmt: ExportFormat) -> bool:
        """Whether trainer recipes go with a copy in ``fmt``: when the person asked for them,
        and never with the full JSON (it is for people; ``app.export`` writes none)."""
        return self.recipes_action.isChecked() and fmt is not ExportFormat.JSON

    def _export(self, title: str, name: str, fmt: ExportFormat, work: ExportWork,
                failure_title: str, then: Callable[[], None] | None = None,
                refused: Refused | None = None) -> None:
        """Run an export; when the stored build of ``name`` turns out to be damaged
        (``app.stored_builds``), nothing is saved and the person may rebuild it and go on.
        What the export tidied first (``app.earlier_files``: what an export stopped without
        finishing left there) is said with its outcome, whatever it is: saved, failed,
        cancelled, or stopped on a damaged build. ``refused``: when the place chosen
        refuses the bytes (a full disk, no permission: ``CannotWriteThere``), the title of
        the warning, what was to be saved there, how to ask again, at the same place, and
        what else to say (the first of "Save both" was saved)."""

        owed: list[bool] = []  # whether the export rebuilt the file first (app.export)
        told: list[str] = []

        def telling(progress: Callable[[int, int, str], None],
                    cancelled: Callable[[], bool]) -> object:
            return work(progress, cancelled, told.append)

        def checked(progress: Callable[[int, int, str], None],
                    cancelled: Callable[[], bool]) -> object:
            owed.append(owes_rebuild(self.library, name))
            try:
                return telling(progress, cancelled)
            except DamagedBuild as exc:
                return exc
            except CannotWriteThere as exc:
                if refused is None:
                    raise
                return exc
            except RebuildFirst as exc:
                raise LibraryError(f"{exc.reason}. {REBUILD_FIRST_ADVICE}") from None

        def done(result: object) -> None:
            if isinstance(result, DamagedBuild):
                self._offer_rebuild(result, title, name, fmt, telling, failure_title, told)
                return
            if isinstance(result, CannotWriteThere) and refused is not None:
                self._ask_again(name, result, *refused, told)
                return
            if owed and owed[0]:  # its header and dates changed: every view shows them
                self._announce(name)
            self._saved(fmt, cast(list[Path], result), told)
            if then is not None:
                then()

        self._run(title, checked, done, failure_title, told)

    def _ask_again(self, name: str, refusal: CannotWriteThere, failure_title: str,
                   saved: str, choose_again: Callable[[], None], also_said: str,
                   told: Sequence[str]) -> None:
        """Say why the place refused the copy of ``name``, in the words a refusal at the
        choice uses (``ui.writable_saves``), and open the chooser again there (unless
        another file was selected meanwhile: the chooser would save that one)."""
        why = refusal.why[:1].upper() + refusal.why[1:]
        self._failed(failure_title, " ".join(
            [f"{saved} cannot be saved there. {why}", *told, *([also_said] if also_said else [])]))
        info = self.selected_file()
        if info is not None and info.name == name:
            choose_again()

    def _offer_rebuild(self, damaged: DamagedBuild, title: str, name: str, fmt: ExportFormat,
                       work: Work, failure_title: str, told: Sequence[str]) -> None:
        question = (f"The stored build of '{name}' is damaged ({damaged.why}), so nothing "
                    f"was saved.\n\nRebuild '{name}' from the library now and then save the "
                    "copy? The damaged build is replaced; the conversations in the library "
                    "are not touched.")
        if not self.dialogs.confirm_destructive(self, "Stored build damaged", question,
                                                "Rebuild and save"):
            self.status.emit(" ".join([f"Nothing was saved: the stored build of '{name}' is "
                                       "damaged", *told]))
            return

        def rebuilt(_names: object) -> None:
            self._announce(name)
            self._run(title, work, functools.partial(self._saved, fmt, told=told),
                      failure_title, told)

        self._run(f"Rebuilding {name}…",
                  changing(self.library, lambda progress, cancelled: rebuild_training_files(
                      self.library, [name], progress, cancelled, from_scratch=True)),
                  rebuilt, "Could not rebuild", told)

    def download(self, fmt: ExportFormat) -> None:
        """Ask where, then save a copy of the selected file in ``fmt`` (the menu's entries
        and the window's shortcuts end here)."""
        self._save_copy(next(d for d in (*MAIN, *VARIANTS) if d.fmt is fmt))

    def _may_replace(self, fmt: ExportFormat, destination: Path,
                     asked: Path | None = None) -> bool:
        """Whether the files an export to ``destination`` writes (``export_targets``: its
        manifest too, which may be someone's own) may replace those already there: the
        person is asked, naming each; True at once when none is there. ``asked``: the file
        the save dialog already asked about."""
        *files, manifest = export_targets(fmt, destination)
        if self._recipes_with(fmt):
            files += recipe_paths(destination, FORMATS[fmt].writes_folder)
        existing = [t for t in (*files, manifest) if t != asked and os.path.lexists(t)]
        folder = manifest.parent
        if not existing:
            return True
        names = [t.name for t in existing]
        why = (f" {manifest.name} is the manifest saved beside every copy (what was "
               "exported, with checksums)." if manifest in existing else "")
        if self.dialogs.confirm_destructive(
            self, "Replace files",
            f"{and_list(names)} already {agreeing(len(names), 'exists', 'exist')} in "
            f"{folder}. Replace {agreeing(len(names), 'it', 'them')}?{why} Nothing else in "
            "the folder is touched.", "Replace",
        ):
            return True
        self.status.emit(f"Nothing was saved to {folder}: its files were kept")
        return False

    def _save_other_kind(self, name: str, saved: ExportFormat, first: Path, target: Path,
                         ticked: bool) -> None:
        """Save the other of the JSON and the JSONL to ``target`` too (the person agreed to
        replace its out-of-date copy: ``ui.saved_copies.other_kind_to_save``), with the
        trainer recipes when they were ticked for the first (``ticked``), as that one was.
        Refused there (the first copy filled the disk), the chooser opens again at the same
        place, as for a single copy, and the warning says the first one was saved."""
        fmt = ExportFormat.JSON if saved is ExportFormat.JSONL else ExportFormat.JSONL
        recipes = ticked and fmt is not ExportFormat.JSON  # the full JSON never has any
        download = next(d for d in MAIN if d.fmt is fmt)
        kept = (f"{first.name} was saved there; the {target.name} there is still the one "
                f"from an earlier version of '{name}'.")
        self._export(f"Saving {target.name}…", name, fmt,
                     lambda progress, cancelled, tell: export(
                         self.library, name, fmt, target, overwrite=True,  # asked: its data,
                         progress=progress, cancelled=cancelled, tell=tell,  # manifest and
                         recipes=recipes),  # recipes
                     "Could not save the copy",
                     refused=("Could not save the copy", target.name,
                              functools.partial(self._save_copy, download, target), kept))

    def _save_split(self, fmt: ExportFormat = SPLIT, start: Path | None = None,
                    share: float | None = None) -> None:
        """Ask for a folder (``start``: the one offered, a refused one when asked again)
        and the validation share (unless it was given), then save the split there."""
        info = self.selected_file()
        if info is None:
            return
        chooser = "Choose a folder for train.jsonl and valid.jsonl"
        folder = choose_save_folder(self.dialogs, self, chooser,
                                    start or self._default_folder(),
                                    "train.jsonl and valid.jsonl")
        if folder is None:
            return
        if share is None:
            share = ask_name(self.dialogs, self, "Validation share",
                             "Share of the conversations to hold out for validation (a "
                             "fraction such as 0.1, or a percentage such as 10%):",
                             str(DEFAULT_VALID_FRACTION), parse_valid_share)
        if share is None:
            return
        if not self._may_replace(fmt, folder):
            return
        name, recipes = info.name, self._recipes_with(fmt)
        self._export(f"Splitting {name}…", name, fmt,
                     lambda progress, cancelled, tell: export(
                         self.library, name, fmt, folder, valid_fraction=share,
                         overwrite=True,  # asked above
                         progress=progress, cancelled=cancelled, tell=tell, recipes=recipes),
                     "Could not save the split",
                     refused=("Could not save the split", "train.jsonl and valid.jsonl",
                              functools.partial(self._save_split, fmt, folder, share), ""))

    def _saved(self, fmt: ExportFormat, paths: list[Path],
               told: Sequence[str] = ()) -> None:
        """Say what was saved, and what else a person must know (``app.export.export_notes``:
        a split that held nothing out wrote no valid.jsonl; ``told``: what the export
        tidied first), as the command line does."""
        if not paths:
            return
        notes = [*export_notes(fmt, paths), *told]
        self.export_folder = paths[0].parent
        self.banner.show_saved(paths, notes)
        self.status.emit(saved_text(paths, notes))
        info = self.selected_file()
        # The message is of this file as it is now: it goes once another file is shown, or
        # this one is rebuilt or renamed (it said "Saved …" beside the line saying that
        # copy is out of date).
        self._banner_of = info
        self.saved_copies.show_for(self.library, info.name if info is not None else None)

    def _show_in_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._default_folder())))

    # --- managing ------------------------------------------------------------------

    def _rename(self) -> None:
        info = self.selected_file()
        if info is None:
            return
        old_name = info.name
        # bad or taken names are refused here, before any rebuild starts
        new_name = ask_name(self.dialogs, self, "Rename training file", "New name:", old_name,
                            functools.partial(check_rename, self.library, old_name))
        if new_name is None or new_name == old_name:
            return
        def refused(why: str) -> None:  # or cancelled: the filter stops following it
            self.renaming.emit(None)
            self.rename_not_made.emit()
            self._failed("Cannot rename", why)

        self.rename_starts.emit()
        self.renaming.emit((old_name, new_name))
        run_with_progress(self, f"Renaming {old_name}…",
                          changing(self.library, lambda progress, cancelled:
                                   rename_training_file(self.library, old_name, new_name,
                                                        progress, cancelled)),
                          functools.partial(self._renamed, old_name), refused)

    def _renamed(self, old_name: str, info: TrainingFileInfo) -> None:
        self.file_renamed.emit(FileRenameUndo(info.file_id, old_name, info.name))
        self.changes.training_file_renamed.emit(old_name, info.name)
        self._announce(info.name)
        # Every JSONL line names its file: the copies saved before are now out of date.
        self.status.emit(with_out_of_date(f"Renamed training file '{old_name}' to "
                                          f"'{info.name}': Edit ▸ Undo (Ctrl+Z) names it as "
                                          "before", self.library, [info.name]))

    def _change_settings(self) -> None:
        info = self.selected_file()
        if info is None:
            return
        name = info.name
        wanted = self.dialogs.training_settings(
            self, info, functools.partial(forecast_settings, self.library, name))
        if wanted is None or wanted == settings_of(info):
            return
        policy = (wanted.cut_off_policy if wanted.cut_off_policy != info.cut_off_policy
                  else None)
        budget = wanted.max_seq_len if wanted.max_seq_len != info.max_seq_len else None
        fit = wanted.over_budget if wanted.over_budget != info.over_budget else None

        def work(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]) -> tuple[
                TrainingFileInfo, dict[str, Any], int]:
            before = header(self.library, name)  # what the change leaves out is said
            changed = change_settings(self.library, name, cut_off_policy=policy,
                                      max_seq_len=budget, over_budget=fit,
                                      progress=progress, cancelled=cancelled)
            fitted = fitted_replies(info.over_budget, before)
            return changed, header(self.library, name), fitted

        self.settings_starts.emit()
        self._run(f"Rebuilding {name} with its new settings…", changing(self.library, work),
                  functools.partial(self._settings_changed, info),
                  "Cannot change the settings",
                  failed_first=functools.partial(self.settings_not_changed.emit, info),
                  cancelled_said=f"Cancelled: '{name}' keeps its settings (cut-off replies: "
                                 f"{policy_label(info.cut_off_policy)}; {LENGTH_LIMIT} "
                                 f"{info.max_seq_len:,} tokens)")

    def _settings_changed(self, before: TrainingFileInfo,
                          outcome: tuple[TrainingFileInfo, dict[str, Any], int]) -> None:
        info, head, fitted_before = outcome
        self._announce(info.name)
        self.settings_changed.emit(settings_undo(before, info))
        self.status.emit(with_out_of_date(settings_text(info, head, fitted_before), self.library,
                                          [info.name]))

    def _delete(self) -> None:
        info = self.selected_file()
        if info is None:
            return
        if not self.dialogs.confirm_destructive(self, "Delete training file",
                                                deletion_question(info), "Delete"):
            return
        name, kept = info.name, undo_kept(info)

        def work(_progress: object, _cancelled: object) -> FileDeletionUndo | None:
            # Kept for Undo, the file's renderings are read and packed first: seconds for
            # thousands of conversations, so off the window's thread.
            if kept:
                return delete_recorded(self.library, name)
            delete_training_file(self.library, name)
            return None

        # Undo is taken once it is done: a delete that fails keeps what Undo offered.
        self._run(f"Deleting {name}…", changing(self.library, work),
                  functools.partial(self._deleted, name), "Cannot delete",
                  cancelled_said=f"Cancelled: training file '{name}' was not deleted")

    def _deleted(self, name: str, undo: FileDeletionUndo | None) -> None:
        self._announce(None)
        if undo is not None:
            self.file_deleted.emit(undo)
        self.status.emit(f"Deleted training file '{name}'"
                         + (": Edit ▸ Undo (Ctrl+Z) brings it back" if undo else ""))

    def _remove_selected_members(self) -> None:
        info = self.selected_file()
        ids = self.selected_member_ids()
        if info is None or not ids:
            return
        question = (f"Remove {plural(len(ids), 'conversation')} from '{info.name}'? "
                    "Its JSON and JSONL are rebuilt without them; the conversations stay "
                    "in the library.")
        if len(ids) >= info.conversations:
            question += (f"\n\nThis leaves '{info.name}' with no conversations: its JSONL "
                         "will have no line to train on, and cannot be downloaded until you "
                         "add conversations to it again.")
        if not self.dialogs.confirm_destructive(self, "Remove from training file", question,
                                                f"Remove {len(ids):,}"):
            return
        name = info.name
        self.removal_starts.emit()
        self._run(f"Rebuilding {name}…",
                  changing(self.library, lambda progress, cancelled: remove_recorded(
                      self.library, name, ids, progress=progress, cancelled=cancelled)),
                  functools.partial(self._removed, len(ids)), "Cannot remove",
                  failed_first=self.removal_not_made.emit,
                  cancelled_said=f"Cancelled: nothing was removed from '{name}'")

    def _removed(self, count: int, outcome: tuple[TrainingFileInfo, RemovalUndo]) -> None:
        info, undo = outcome
        self._announce(info.name)
        self.members_removed.emit(undo)
        self.status.emit(with_out_of_date(
            f"Removed {plural(count, 'conversation')} from '{info.name}'", self.library,
            [info.name]))

    def _show_next(self, name: str) -> None:
        """The next refresh selects ``name`` (a file just built, announced next)."""
        self._select_next = name

    def _announce(self, select_name: str | None) -> None:
        """Tell every view a training file changed; this page then shows ``select_name``."""
        self._select_next = select_name
        self.changes.training_files_changed.emit()
