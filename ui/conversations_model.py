"""Table model of the library's conversations: check boxes, filtering and sorting.

Filtering and sorting happen in bulk over plain Python lists (``ui.row_index``) instead of
in a ``QSortFilterProxyModel``: with a Python model the proxy calls back into Python once
per comparison, which measured 50 s to sort 100,000 rows; a list sort takes milliseconds.
Checks are kept by conversation key, so they survive sorting, filtering and reloads.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import replace
from enum import IntEnum
from itertools import islice
from operator import attrgetter
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from app.cutoff import DEFAULT_POLICY, policy_label
from app.labels import display_name, topic_display
from app.library import SHORTENED_TO_FIT, ConversationRow
from app.similar import NEAR_DUPLICATE, NEAR_TEXT, own_warnings
from app.token_counts import DEFAULT_MAX_SEQ_LEN, NO_LINE
from app.wording import LENGTH_LIMIT, plural
from ui.row_index import (
    FacetCounts,
    FileFilter,
    FileRule,
    Filter,
    Mask,
    RowIndex,
    counts_alone_changed,
)
from ui.slow_release import SlowRelease
from ui.sort_rule import blanks_last
from ui.wording import MISSING as MISSING
from ui.wording import natural_key

__all__ = ["Column", "ConversationsModel", "FileFilter", "FileRule", "Filter"]

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
RELEASE_SLOWLY_FROM = 20_000  # rows; a smaller index is freed at once
# Roles as plain ints (each ``Qt.ItemDataRole.X`` is a Python enum lookup, and the view asks
# data() for every visible cell and role at each paint).
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_CHECK_STATE = int(Qt.ItemDataRole.CheckStateRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_ANSWERED = frozenset({_DISPLAY, _CHECK_STATE, _DECORATION, _TOOLTIP, _ALIGNMENT,
                       int(SORT_ROLE), int(ROW_ROLE)})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class Column(IntEnum):
    CHECK = 0
    BATCH = 1
    CLIENT = 2
    ARCHETYPE = 3
    ARC = 4
    TOPIC = 5
    TURNS = 6
    REPLIES = 7
    QUALITY = 8
    TIER = 9
    CREATED = 10
    IMPORTED = 11
    SOURCE = 12
    FILES = 13
    WARNINGS = 14
    TOKENS = 15  # shown after Replies (the page moves the section)


HEADERS = {
    Column.CHECK: "",
    Column.BATCH: "Batch ID",  # the user's own name for it
    Column.CLIENT: "Client",
    Column.ARCHETYPE: "Persona",
    Column.ARC: "Arc",
    Column.TOPIC: "Topic",
    Column.TURNS: "Turns",
    Column.REPLIES: "Replies",
    Column.QUALITY: "Quality",
    Column.TIER: "Tier",
    Column.CREATED: "Created",
    Column.IMPORTED: "Imported",
    Column.SOURCE: "Source file",
    Column.FILES: "In files",
    Column.WARNINGS: "Warnings",
    Column.TOKENS: "Tokens",
}
DEFAULT_POLICY_NAME = policy_label(DEFAULT_POLICY)  # "Trim", as Settings… shows it
# What each short heading stands for (its name in the column chooser).
HEADER_NAMES = {
    **HEADERS,
    Column.ARCHETYPE: "Persona archetype",
    Column.ARC: "Emotional arc",
    Column.TOPIC: "Training topic",
    Column.REPLIES: "Trained replies",
    Column.QUALITY: "Quality score",
    Column.TIER: "Quality tier",
    Column.FILES: "In training files",
    Column.TOKENS: "Tokens (of the training line under the default cut-off policy, "
                   f"{DEFAULT_POLICY.value}; the warning: longer than the smallest max_seq_len "
                   f"of the training files holding it, or than {DEFAULT_MAX_SEQ_LEN:,}, the "
                   "default of a new file)",
}
# A heading's tooltip: what the column holds, where the heading alone does not say it (a
# tooltip that only repeats its heading, "Client" over "Client", tells nothing).
HEADER_TIPS = {
    Column.CHECK: "Checked conversations go into training files (Space checks the selected "
                  "rows)",
    Column.BATCH: "The batch it was imported into: the folder it came from, or the name "
                  "typed when importing",
    Column.ARCHETYPE: "Persona archetype: the kind of client the conversation plays",
    Column.ARC: "Emotional arc: how the client's feelings change over the conversation",
    Column.TOPIC: "Training topic: what the conversation is about",
    Column.TURNS: "Messages in the conversation, the client's and the consultant's",
    Column.REPLIES: "Consultant replies a new training file trains: a reply cut off "
                    "mid-sentence, and any after it, are left out (hover a cell for why)",
    Column.QUALITY: "Mean quality score of the consultant replies",
    Column.TIER: "Quality tier, as the conversation's file gives it",
    Column.CREATED: "When the conversation was made, as its file says",
    Column.IMPORTED: "When it was imported into this library",
    Column.SOURCE: "The file it was imported from",
    Column.FILES: "The training files that hold it",
    Column.WARNINGS: "Quality warnings, and repairs made when it was imported (hover a cell "
                     "to read them)",
    Column.TOKENS: "Tokens in its training line, as the trainer reads it, against the "
                   f"{LENGTH_LIMIT} (hover a cell for the limit)",
}
# Batch ids number their batches (batch-2, batch-10): they sort as people count. Only
# batch ids: a library has few, so their keys come from a cache; every source file name
# is different, and counting keys for 100,000 of them (0.2 s) would freeze the window at
# the first click on that column.
NAMED_IN_SEQUENCE = {Column.BATCH}
NUMERIC = {Column.TURNS, Column.REPLIES, Column.QUALITY, Column.WARNINGS, Column.TOKENS}
COLUMNS = tuple(Column)  # by number, without the enum's own lookup


def _imported(row: ConversationRow) -> str:
    return row.imported_at.replace("T", " ").removesuffix("Z")


# A cell shows MISSING for a value its file does not give (as the LoRA Training JSON Files
# page does); sorting and filtering read the value itself, never this.

# Each cell's own text, "" where the file gives no value: what sorting reads.
TEXT: dict[Column, Callable[[ConversationRow], Any]] = {
    Column.CHECK: lambda r: None,
    Column.BATCH: lambda r: r.batch_id,
    Column.CLIENT: lambda r: r.persona_name or "",
    Column.ARCHETYPE: lambda r: display_name(r.persona_archetype),
    # The file's own name first: a name made up from the code only where it gives none.
    Column.ARC: lambda r: r.emotional_arc or display_name(r.emotional_arc_key),
    Column.TOPIC: lambda r: r.training_topic or topic_display(r.training_topic_key),
    Column.TURNS: lambda r: r.turns,
    Column.REPLIES: lambda r: r.replies_trained,
    Column.QUALITY: lambda r: "" if r.quality_score is None else f"{r.quality_score:.1f}",
    Column.TIER: lambda r: display_name(r.quality_tier),
    Column.CREATED: lambda r: r.created or "",
    Column.IMPORTED: _imported,
    Column.SOURCE: lambda r: r.source_file,
    Column.FILES: lambda r: ", ".join(r.training_files),
    Column.WARNINGS: lambda r: warnings_cell(r),
    Column.TOKENS: lambda r: token_count_text(r.token_count),
}
# Columns whose blank means "the file does not say" (older exports have no arc, topic,
# persona...). Not Warnings or In files (blank there means none), nor Tokens (its blank
# means not counted yet, its dash no training line).
MAY_BE_MISSING = frozenset({Column.CLIENT, Column.ARCHETYPE, Column.ARC, Column.TOPIC,
                            Column.QUALITY, Column.TIER, Column.CREATED})


def _or_missing(text: Callable[[ConversationRow], Any]) -> Callable[[ConversationRow], Any]:
    return lambda r: text(r) or MISSING


# What each cell shows.
DISPLAY: dict[Column, Callable[[ConversationRow], Any]] = {
    column: _or_missing(text) if column in MAY_BE_MISSING else text
    for column, text in TEXT.items()
}


def token_count_text(count: int) -> str:
    """A stored count as shown: a dash for no training line, nothing when not counted yet."""
    if count == NO_LINE:
        return "—"
    return f"{count:,}" if count else ""


def over_budget(row: ConversationRow) -> bool:
    """The library's count (the default cut-off policy's line) is longer than the smallest
    budget of the training files holding the conversation, or a new file's default: what a
    library-wide table can say (each file's own line and setting are its review's). Not
    over when every file holding it ends its line early to fit (``SHORTENED_TO_FIT``): the
    files page shows those lines within their limits."""
    return row.token_budget != SHORTENED_TO_FIT and row.token_count > row.token_budget


def budget_text(row: ConversationRow) -> str:
    """Which budget ``over_budget`` compares with, in words."""
    budget = f"{row.token_budget:,} tokens"
    files = row.training_files
    if not files:
        return f"{budget}, the default {LENGTH_LIMIT} of a new training file"
    if len(files) == 1:
        return f"{budget}, the {LENGTH_LIMIT} of '{files[0]}', the training file holding it"
    return (f"{budget}, the smallest {LENGTH_LIMIT} of the training files holding it that "
            "write its line whole")


def shortened_text(row: ConversationRow) -> str:
    """Where every file holding it ends its line early to fit (``SHORTENED_TO_FIT``)."""
    files = row.training_files
    where = (f"'{files[0]}'" if len(files) == 1
             else f"each of the {len(files)} training files holding it")
    return (f"shortened to fit in {where}: its line there ends at its last whole reply "
            f"within the {LENGTH_LIMIT} (the full JSON keeps the whole conversation)")


def tokens_tooltip(row: ConversationRow) -> str:
    if row.token_count == NO_LINE:
        if row.trainable_replies:
            return (f"No training line under the default cut-off policy "
                    f"({DEFAULT_POLICY_NAME}): a cut-off turn comes before its first clean "
                    "reply")
        return "No training line: this conversation has no consultant reply to train on"
    if not row.token_count:
        return "Not counted yet: tokens are counted in the background"
    text = (f"{row.token_count:,} tokens in its training line under the default cut-off "
            f"policy ({DEFAULT_POLICY.value}), chat template included")
    if row.token_budget == SHORTENED_TO_FIT:
        return f"{text};\n{shortened_text(row)}."
    if over_budget(row):
        return (f"{text}.\nLonger than {budget_text(row)}. A file set to end longer lines at "
                "their last whole reply that fits leaves out the replies after it; one set "
                "to write lines whole has the trainer cut it.")
    return f"{text}; within {budget_text(row)}."


def replies_tooltip(row: ConversationRow) -> str:
    """How many replies are trained, and why the others are not."""
    every, trained = row.trainable_replies, row.replies_trained
    replies = plural(every, "consultant reply", "consultant replies")
    if trained >= every:
        return f"{replies}, all trained"
    return (f"{trained:,} of {replies} trained under the default cut-off policy "
            f"({DEFAULT_POLICY_NAME}): the others are cut off or come after a cut-off "
            "turn. A training file set to train every reply (Settings… on the LoRA Training "
            f"JSON Files page) trains all {every:,}.")


# Columns whose text is made from a code (``display_name``: a regular expression and some
# string work, about 10 µs a row) and whose codes are few: their sort keys are made once per
# code, not once per row. Per row, the first sort by Persona or Tier of 10,000 rows held the
# GUI thread 150-360 ms; the other columns' keys took 1-65 ms.
CODED: dict[Column, Callable[[ConversationRow], Any]] = {
    Column.ARCHETYPE: attrgetter("persona_archetype"),
    Column.TIER: attrgetter("quality_tier"),
    Column.ARC: attrgetter("emotional_arc", "emotional_arc_key"),
    Column.TOPIC: attrgetter("training_topic", "training_topic_key"),
}


def _text_key(text: Any) -> tuple[bool, str]:
    return text == "", str(text).casefold()


def _once_per_code(column: Column) -> Callable[[ConversationRow], Any]:
    """``column``'s key, made from a row the first time its code is seen."""
    code_of, text = CODED[column], TEXT[column]
    made: dict[Any, tuple[bool, str]] = {}

    def key(row: ConversationRow) -> tuple[bool, str]:
        code = code_of(row)
        known = made.get(code)
        if known is None:
            known = made[code] = _text_key(text(row))
        return known

    return key


def warnings_cell(row: ConversationRow) -> str:
    """The count of the record's own quality warnings (what a training file's header
    counts), then "≈" for a near-duplicate: the library's flag, shown apart."""
    count = len(own_warnings(row.warning_codes))
    near = NEAR_DUPLICATE in row.warning_codes
    return " ".join(filter(None, (str(count) if count else "", "≈" if near else "")))


def warnings_tooltip(row: ConversationRow) -> str | None:
    """The warnings by name with their lines, and a near-duplicate in a paragraph of its
    own (it is no warning of the conversation's file, and no training file counts it)."""
    own = own_warnings(row.warning_codes)
    lines = row.warnings_text.split("\n") if row.warnings_text else []
    near = [line for line in lines if line.startswith(NEAR_TEXT)]
    parts = []
    if own:
        parts.append("\n".join([", ".join(display_name(code) for code in own),
                                *(line for line in lines if line not in near)]))
    if NEAR_DUPLICATE in row.warning_codes:
        parts.append("\n".join(["≈ Near-duplicate: the library's flag, not a warning of the "
                                "conversation's file", *near]))
    return "\n\n".join(parts) or None


def sort_key(column: Column) -> Callable[[ConversationRow], Any]:
    """Native values (numbers as numbers); a value that may be missing as ``(missing,
    value)``, so missing ones come last in either direction (``ui.sort_rule``)."""
    if column in CODED:
        return _once_per_code(column)
    if column is Column.QUALITY:
        return lambda r: (r.quality_score is None, r.quality_score or 0.0)
    if column is Column.WARNINGS:
        return lambda r: (len(own_warnings(r.warning_codes)), NEAR_DUPLICATE in r.warning_codes)
    if column is Column.TOKENS:
        # Missing: not counted yet (0) or no training line (the dash), as on the files page.
        return lambda r: (r.token_count <= 0, r.token_count)
    if column in NUMERIC:
        return TEXT[column]
    display = TEXT[column]
    if column in NAMED_IN_SEQUENCE:  # batch-2 before batch-10
        return lambda r: (display(r) == "", natural_key(str(display(r))))
    return lambda r: _text_key(display(r))


def tooltip(row: ConversationRow, column: Column) -> str | None:
    """The full text of a cell (cells elide at the end), with the codes behind names."""
    if column is Column.CHECK:
        return None
    if column is Column.TOKENS:
        return tokens_tooltip(row)
    if column is Column.REPLIES:
        return replies_tooltip(row)
    if column is Column.WARNINGS:
        return warnings_tooltip(row)
    if column is Column.CLIENT:
        return f"{row.persona_name or '(no name)'}\n{row.conversation_id}"
    text = str(TEXT[column](row))
    if not text and column in MAY_BE_MISSING:
        return f"{MISSING}: not given in this conversation's file"
    code, own_name = {
        Column.ARC: (row.emotional_arc_key, row.emotional_arc),
        Column.TOPIC: (row.training_topic_key, row.training_topic),
        Column.ARCHETYPE: (row.persona_archetype, None),
    }.get(column, (None, None))
    extra = [f"code: {code}"] if code else []
    if own_name and own_name != text:
        extra.insert(0, f"in the file: {own_name}")
    return "\n".join([text, *extra]) if text else None


class ConversationsModel(QAbstractTableModel):
    """All summary rows, the ones the filter shows (in sort order), and the checks."""

    checks_changed = Signal()
    shown_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._index = RowIndex([])
        self._rows: list[ConversationRow] = []
        self._shown: list[int] = []
        self._shown_mask: Mask | None = None
        self._checked: set[int] = set()
        self._checks_revision = 0  # one more at each change of the checks (``kept_checks``)
        self._filter = Filter()
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._release = SlowRelease(self)
        style = QApplication.style()
        self._warning_icon: QIcon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)

    # --- Qt model interface --------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(Column(section))
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == Column.CHECK:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ANSWERED or not index.isValid():
            return None
        row = self._rows[self._shown[index.row()]]
        column = COLUMNS[index.column()]
        if role == _DISPLAY:
            return DISPLAY[column](row)
        if role == _CHECK_STATE:
            if column is not Column.CHECK:
                return None
            checked = row.pk in self._checked
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == _DECORATION:
            if column is Column.WARNINGS:
                return self._warning_icon if own_warnings(row.warning_codes) else None
            if column is Column.TOKENS:
                return self._warning_icon if over_budget(row) else None
            return None
        if role == _TOOLTIP:
            return tooltip(row, column)
        if role == _ALIGNMENT:
            return _RIGHT if column in NUMERIC else None
        if role == SORT_ROLE:
            return sort_key(column)(row)
        return row  # ROW_ROLE

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != Column.CHECK:
            return False
        if role != Qt.ItemDataRole.CheckStateRole:
            return False
        pk = self._rows[self._shown[index.row()]].pk
        state = Qt.CheckState(value) if not isinstance(value, Qt.CheckState) else value
        if state == Qt.CheckState.Checked:
            self._checked.add(pk)
        else:
            self._checked.discard(pk)
        self._checks_revision += 1
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        self.checks_changed.emit()
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        kept = [self._shown[i.row()] for i in before]  # the rows they point to
        self._order_shown()
        position = _positions_of(set(kept), self._shown)
        after = [self.index(position[row], i.column()) for row, i in zip(kept, before, strict=True)]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    # --- our interface -------------------------------------------------------------

    def set_rows(self, rows: list[ConversationRow]) -> None:
        """Replace the rows; checks on rows that remain stay."""
        self.set_index(RowIndex(rows))

    def set_index(self, index: RowIndex, new_filter: Filter | None = None) -> bool:
        """Swap in rows indexed elsewhere (a worker thread), optionally with a new filter.
        A large old index is freed a part at a time afterwards (``ui.slow_release``).

        When only token counts (and budgets) changed and the table shows the same rows in
        the same order, the rows are swapped in place and only the Tokens column is said to
        change: a model reset made the view repaint every visible cell and forget its
        selection, every two seconds while a background count ran. Returns whether the
        model was reset (False: in place, selection and scroll untouched)."""
        wanted = self._filter if new_filter is None else new_filter
        counted = counts_alone_changed(self._index, index) if wanted == self._filter else None
        chosen = None
        if counted is not None:
            chosen = self._shown_of(index, wanted, self._checked, index_is_new=True)
            if chosen[0] == self._shown:
                self._swap_counts(index, counted, chosen)
                return False
        self.beginResetModel()
        self._let_go(index)
        self._filter = wanted
        position = index.position  # checks are few; rows may be 100,000
        kept = {pk for pk in self._checked if pk in position}
        if len(kept) != len(self._checked):
            self._checks_revision += 1
        self._checked = kept
        if chosen is None:
            chosen = self._shown_of(index, wanted, self._checked, index_is_new=True)
        self._shown, self._shown_mask = chosen
        self.endResetModel()
        self.checks_changed.emit()
        self.shown_changed.emit()
        return True

    def _swap_counts(self, index: RowIndex, counted: list[int],
                     chosen: tuple[list[int], Mask | None]) -> None:
        """``index`` in place of one that differs from it in token counts alone, showing
        the same rows in the same order: the Tokens column (text, warning icon, tooltip)
        is all that changes on screen."""
        self._let_go(index)
        self._shown, self._shown_mask = chosen
        if counted and self._shown:
            self.dataChanged.emit(self.index(0, Column.TOKENS),
                                  self.index(len(self._shown) - 1, Column.TOKENS))
        self.checks_changed.emit()
        self.shown_changed.emit()

    def _let_go(self, index: RowIndex) -> None:
        """Make ``index`` the model's, and free the old one (a large one a part at a time)."""
        old, self._index = self._index, index
        self._rows = index.rows
        if old is index:
            return
        if old.count >= RELEASE_SLOWLY_FROM:
            # The old index's own containers are emptied as they are, without a copy: only
            # the model reads its index on this thread, and readers elsewhere (a patch's)
            # have finished before their index is swapped in. What the new index shares
            # with it (a patch keeps the lists no row change touched) stays.
            kept = {id(container) for container in index.contents()}
            self._release.take([container for container in old.contents()
                                if id(container) not in kept] + [self._shown])
        del old

    @property
    def index_(self) -> RowIndex:
        """The rows and their keys (read-only; a worker may prepare the next one)."""
        return self._index

    @property
    def sort_column(self) -> int:
        return self._sort[0]

    @property
    def sort_descending(self) -> bool:
        return self._sort[1] == Qt.SortOrder.DescendingOrder

    def set_filter(self, new_filter: Filter) -> None:
        if new_filter == self._filter:
            return
        self.beginResetModel()
        self._filter = new_filter
        self._select_shown()
        self.endResetModel()
        self.shown_changed.emit()

    def update_filter(self, **changes: Any) -> None:
        self.set_filter(replace(self._filter, **changes))

    @property
    def current_filter(self) -> Filter:
        return self._filter

    def facet_count_steps(self) -> Iterator[str]:
        """``facet_counts`` a part at a time (``RowIndex.count_steps``); ``facet_counts``
        then hands over what they counted, as long as neither filter nor index changed."""
        return self._index.count_steps(self._filter, self._shown)

    def facet_counts(self) -> dict[str, FacetCounts]:
        """Per filter chooser, the counts of the rows every other filter lets through."""
        return self._index.counts(self._filter, self._shown)  # order does not matter

    def _select_shown(self) -> None:
        self._shown, self._shown_mask = self._shown_of(self._index, self._filter,
                                                       self._checked)

    def _shown_of(self, index: RowIndex, wanted: Filter, checked: set[int],
                  index_is_new: bool = False) -> tuple[list[int], Mask | None]:
        """The positions of the rows ``wanted`` shows in ``index``, in the table's order,
        and the mask behind them. A new index may bring that order, made before the swap
        (``ui.row_reader``)."""
        shown, mask = index.select(wanted)
        column, order = self._sort
        if index_is_new and column > Column.CHECK:
            prepared = index.take_order(wanted, column, order == Qt.SortOrder.DescendingOrder)
            if prepared is not None:
                return prepared, mask
        return self._ordered(index, shown, checked), mask

    def _order_shown(self) -> None:
        self._shown = self._ordered(self._index, self._shown, self._checked)

    def _ordered(self, index: RowIndex, shown: list[int], checked: set[int]) -> list[int]:
        """``shown`` (positions in ``index``) sorted as the table is."""
        column, order = self._sort
        if column < 0:
            shown.sort()
            return shown
        descending = order == Qt.SortOrder.DescendingOrder
        if column == Column.CHECK:  # checks change all the time: never cached
            rows = index.rows
            shown.sort(key=lambda i: rows[i].pk in checked, reverse=descending)
            return shown
        keys = index.sort_keys(column, sort_key(Column(column)))
        shown.sort(key=keys.__getitem__, reverse=descending)
        return blanks_last(shown, keys, descending)

    def row_at(self, row: int) -> ConversationRow:
        return self._rows[self._shown[row]]

    def ids_after(self, row: int) -> Iterator[str]:
        """The conversation ids of the rows after ``row``, in table order, as the rows are
        now, even after new rows are swapped in: read them in the same turn of the GUI
        thread (a large old index is freed from its next turn, ``_let_go``)."""
        rows, shown = self._rows, self._shown
        return (rows[position].conversation_id for position in islice(shown, row + 1, None))

    def row_of(self, pk: int) -> int | None:
        position = self._index.position.get(pk)
        if position is None or (self._shown_mask is not None and not self._shown_mask[position]):
            return None
        return self._shown.index(position)

    def row_of_id(self, conversation_id: str) -> int | None:
        """The table row showing this conversation, None when the filter hides it."""
        position = self._index.by_id.get(conversation_id)
        return None if position is None else self.row_of(self._rows[position].pk)

    @property
    def total(self) -> int:
        return len(self._rows)

    @property
    def shown_count(self) -> int:
        return len(self._shown)

    @property
    def checked_count(self) -> int:
        return len(self._checked)

    @property
    def hidden_checked_count(self) -> int:
        """Checked conversations the current filter hides: an add would include them
        though the user cannot see them."""
        position = self._index.position
        return self._index.hidden((position[pk] for pk in self._checked), self._shown_mask)

    def checked_ids(self) -> list[str]:
        """Checked conversation ids in the table's sort order, those the filter hides among
        the shown ones where the sort puts them: the order a training file gets them in.
        (Shown ones first, then hidden ones, made a file's order depend on the filter at
        the moment of Add: batch 003 checked, then 004 shown, gave 004 before 003.) Sorted
        by the check column, or not at all, they come in library order."""
        position = self._index.position
        positions = sorted(position[pk] for pk in self._checked)
        column, order = self._sort
        if column >= 0 and column != Column.CHECK:
            keys = self._index.sort_keys(column, sort_key(Column(column)))
            descending = order == Qt.SortOrder.DescendingOrder
            positions.sort(key=keys.__getitem__, reverse=descending)
            positions = blanks_last(positions, keys, descending)
        rows = self._rows
        return [rows[n].conversation_id for n in positions]

    def hidden_checked_ids(self) -> list[str]:
        """Checked conversation ids the filter hides, in library order."""
        mask = self._shown_mask
        if mask is None:
            return []
        position, rows = self._index.position, self._rows
        return [rows[n].conversation_id
                for n in sorted(position[pk] for pk in self._checked) if not mask[n]]

    @property
    def checks_revision(self) -> int:
        """Changes with every change of the checks, and only then (a reload that keeps
        them all, every two seconds while token counts fill in, leaves it)."""
        return self._checks_revision

    def every_checked_id(self) -> list[str]:
        """The checked conversation ids in library order: what is kept for the next run,
        without ``checked_ids``' walk in table order. (In library order, putting them back
        reads the rows in order: 100,000 in a random order took 5 times as long.)"""
        position, rows = self._index.position, self._rows
        return [rows[n].conversation_id for n in sorted(position[pk] for pk in self._checked)]

    def _set_checks(self, pks: Iterable[int]) -> None:
        self._checked = pks if isinstance(pks, set) else set(pks)
        self._checks_revision += 1
        if self._shown:
            self.dataChanged.emit(self.index(0, Column.CHECK),
                                  self.index(len(self._shown) - 1, Column.CHECK),
                                  [Qt.ItemDataRole.CheckStateRole])
        self.checks_changed.emit()

    def check_all_shown(self) -> None:
        """Check every row the current filter shows; checks it hides stay (filter on one
        batch, check all, then on another, check all: both are checked, as the person
        combining batches wants; it unchecked the first batch's before)."""
        self._set_checks(self._checked | {self._rows[i].pk for i in self._shown})

    def check_none(self) -> None:
        self._set_checks(())

    def toggle_rows(self, rows: Collection[int]) -> None:
        """Space on selected rows: all checked if the first is not, else all unchecked, in
        one change (a check each, 10,000 selected rows froze the window for 11 s)."""
        if not rows:
            return
        shown, records = self._shown, self._rows
        pks = {records[shown[row]].pk for row in rows}
        first = records[shown[min(rows)]].pk
        self._set_checks(self._checked - pks if first in self._checked else self._checked | pks)

    def invert_shown(self) -> None:
        """Flip the checks of the shown rows; hidden rows keep theirs."""
        shown = {self._rows[i].pk for i in self._shown}
        self._set_checks((self._checked - shown) | (shown - self._checked))

    def add_checks(self, index: RowIndex, pks: frozenset[int]) -> bool:
        """Check these rows too, found in ``index`` (``rows_checked``, on a worker): one
        change, one repaint, whatever their number. False, and nothing checked, when
        ``index`` is no longer the model's (new rows came in meanwhile: find them again)."""
        if index is not self._index:
            return False
        self._set_checks(self._checked | pks)
        return True

    def set_checked_ids(self, conversation_ids: Iterable[str]) -> None:
        """Check these conversations alone (ids the library does not hold are passed
        over); the rows are read in library order (see ``every_checked_id``)."""
        rows, by_id = self._rows, self._index.by_id
        found = (by_id.get(c) for c in conversation_ids)
        self._set_checks(rows[n].pk for n in sorted(n for n in found if n is not None))


def rows_checked(index: RowIndex, conversation_ids: Iterable[str]) -> frozenset[int]:
    """The keys of the rows of these conversations in ``index`` (ids it does not hold are
    passed over), to be checked with ``ConversationsModel.add_checks``. Made on a worker
    thread: finding 100,000 ids held the GUI thread 16-50 ms. The rows are read in library
    order (see ``every_checked_id``). An index swapped out meanwhile may be emptied under
    it (``ui.slow_release``): ``add_checks`` then refuses the result."""
    rows, by_id = index.rows, index.by_id
    found = (by_id.get(c) for c in conversation_ids)
    try:
        return frozenset(rows[n].pk for n in sorted(n for n in found if n is not None))
    except IndexError:  # (the rows were being freed: the index is no longer the model's)
        return frozenset()


FEW_REMEMBERED = 8  # rows; up to this many, each is looked up in C (list.index)


def _positions_of(rows: set[int], shown: list[int]) -> dict[int, int]:
    """Where each of ``rows`` stands in ``shown`` after a sort. The view remembers few
    rows (its current row, its selection's corners): a map of every shown row, as this
    once built, cost up to 0.7 s per header click at 100,000 rows (notes: audit52a)."""
    if len(rows) <= FEW_REMEMBERED:
        return {row: shown.index(row) for row in rows}
    return {row: n for n, row in enumerate(shown) if row in rows}
