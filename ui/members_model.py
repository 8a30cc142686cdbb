"""The conversations of one training file, as a table model.

A model rather than a QTableWidget: a file of 10,000 conversations would otherwise make
tens of thousands of item objects each time it is shown. Rows are in file order until a
heading is clicked (``ui.member_sort``); the model sorts itself, so a row number is the row
the person sees and selections follow their rows through a sort.

A member that nearly repeats an earlier one of the file (``app.near_in_file.near_members``,
counted when the file is shown) is marked ≈ in the Warnings column, its tooltip naming the
one it repeats: the mark the Conversations table gives the library's own flag.

Tokens is the length of each member's line in this file (``ui.member_sort.file_tokens``),
as the file's cut-off policy, length limit and fit wrote it, and sorts by it: what decides
which members a trainer cuts or leaves out. The library's count, of the whole line under
the default cut-off policy, is in the tooltip where it differs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from app.labels import display_name as display
from app.labels import topic_display
from app.similar import own_warnings
from app.token_counts import NO_LINE
from app.trainingfiles import MemberRow
from app.wording import LENGTH_LIMIT
from ui.conversations_model import HEADER_TIPS as CONVERSATION_TIPS
from ui.conversations_model import HEADERS as CONVERSATION_HEADERS
from ui.conversations_model import MISSING, Column, token_count_text
from ui.member_sort import (
    FILE_ORDER,
    MEMBER_ARC,
    MEMBER_BATCH,
    MEMBER_CLIENT,
    MEMBER_TOKENS,
    MEMBER_TOPIC,
    MEMBER_WARNINGS,
    file_tokens,
    sorted_positions,
)

Index = QModelIndex | QPersistentModelIndex
__all__ = ["MEMBER_ARC", "MEMBER_BATCH", "MEMBER_CLIENT", "MEMBER_TOKENS", "MEMBER_TOPIC",
           "MEMBER_WARNINGS", "MembersModel"]
# The Conversations page's headings and their tooltips: one name for one thing on both
# pages ("Arc" there and "Emotional arc" here read as two things, and the long names were
# cut at 150 %).
COLUMNS = (Column.CLIENT, Column.ARC, Column.TOPIC, Column.BATCH, Column.TOKENS,
           Column.WARNINGS)
HEADERS = tuple(CONVERSATION_HEADERS[column] for column in COLUMNS)
NO_LINE_HERE = ("No training line in this file: it has no consultant reply that the file's "
                "cut-off policy trains")
LIBRARY_COUNT = "its whole line under the default cut-off policy"
FILE_TOKENS_TIP = (
    "Tokens in its line in this file, as the trainer reads it: the file's cut-off policy, "
    f"and a line ended to fit its {LENGTH_LIMIT}, make it differ from the library's count "
    f"(hover a cell for that); ⚠ longer than the file's {LENGTH_LIMIT}")
# Tokens here are of the member's line in this file, not the library's count the
# Conversations page shows: the heading says so.
HEADER_TIPS = tuple(FILE_TOKENS_TIP if column is Column.TOKENS else CONVERSATION_TIPS.get(column)
                    for column in COLUMNS)
ID_ROLE = Qt.ItemDataRole.UserRole
# The roles as plain ints: the view asks data() thousands of times when a file shows, and
# each ``Qt.ItemDataRole.X`` is a Python enum lookup.
DISPLAY = int(Qt.ItemDataRole.DisplayRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
ID = int(ID_ROLE)
HORIZONTAL = Qt.Orientation.Horizontal
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
DECORATION = int(Qt.ItemDataRole.DecorationRole)
ANSWERED = frozenset({DISPLAY, TOOLTIP, ALIGNMENT, ID, DECORATION})  # every other: None
NEAR_MARK = "≈"  # a member nearly repeating an earlier one of the file


def tokens_lines(row: MemberRow) -> list[str]:
    """What a member's tooltip adds to its Tokens cell (``file_tokens``): why it has no
    line; the library's count where it differs, and why."""
    if row.line_tokens == NO_LINE:
        return [NO_LINE_HERE]
    if row.line_tokens == 0:  # a build that records no counts: the column has the library's
        if row.tokens == NO_LINE:
            return [NO_LINE_HERE]
        if not row.tokens:
            return []
        return [f"Tokens is the library's count ({LIBRARY_COUNT}): this file's build does "
                "not record the length of its line" if row.tokens_counted else
                "Tokens is an estimate (characters ÷ 4): neither this file's build nor the "
                "library has counted its line yet"]
    if not row.tokens_counted or row.tokens == row.line_tokens:
        return []  # (an estimate is no count to set beside the line's)
    if row.tokens == NO_LINE:
        return ["The library counts no line for it: the default cut-off policy trains none "
                "of its replies; Tokens is its line in this file"]
    return [f"The library counts {row.tokens:,} tokens ({LIBRARY_COUNT}); Tokens is its line "
            "in this file"]


def over_budget_words(row: MemberRow, max_seq_len: int, fits: bool) -> str:
    """Why a member's line in this file is over its budget, what a trainer makes of it,
    and the way to leave it out."""
    what = (f"Its line in this file has {row.line_tokens:,} tokens, longer than the file's "
            f"length limit of {max_seq_len:,}: ")
    if fits:  # a file that fits its lines writes this one whole
        what += ("its first reply alone is longer, so the line is written whole and every "
                 "reply in it counts as trained (a trainer cuts that first reply).")
    else:
        what += "written whole, TRL would cut it there and Axolotl would leave it out."
    return f"{what} Remove from file leaves it out."


class MembersModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._file_rows: list[MemberRow] = []  # file order
        self._order: list[int] = []  # the file position shown in each row
        self._rows: list[MemberRow] = []  # as shown
        self._sorted_by = (FILE_ORDER, False)  # column, descending
        self._near: Mapping[str, str] = {}  # member -> the earlier one it nearly repeats
        self._by_id: dict[str, MemberRow] | None = None  # made for the first tooltip
        self._budget = 0  # the file's max_seq_len (0: none known, nothing is marked)
        self._fits = False  # the file ends longer lines at their last whole reply that fits
        style = QApplication.style()
        self._warning_icon: QIcon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)

    def set_rows(self, rows: list[MemberRow], near: Mapping[str, str] | None = None, *,
                 max_seq_len: int = 0, fits: bool = False) -> None:
        """A file's members, in the order the person chose last; ``near``: those that
        nearly repeat an earlier member, each with that member (None: not counted yet);
        ``max_seq_len`` and ``fits``: the file's budget and over-budget setting, to mark
        the lines over it."""
        self.beginResetModel()
        self._file_rows = rows
        self._near = near or {}
        self._by_id = None
        self._budget, self._fits = max_seq_len, fits
        self._arrange(*self._sorted_by)
        self.endResetModel()
    def set_near(self, near: Mapping[str, str]) -> None:
        """The members that nearly repeat an earlier one, counted after the rows were
        shown: their marks appear, and a sort by Warnings takes them in."""
        self._near = near
        column, descending = self._sorted_by
        if column == MEMBER_WARNINGS:
            self.sort(column, Qt.SortOrder.DescendingOrder if descending
                      else Qt.SortOrder.AscendingOrder)
        if self._rows:
            self.dataChanged.emit(self.index(0, MEMBER_WARNINGS),
                                  self.index(len(self._rows) - 1, MEMBER_WARNINGS))

    def near_ids(self) -> list[str]:
        """The members that nearly repeat an earlier one, in file order."""
        return [row.conversation_id for row in self._file_rows
                if row.conversation_id in self._near]
    def over_budget(self, row: MemberRow) -> bool:
        """Its line as the file wrote it is longer than the file's budget."""
        return 0 < self._budget < row.line_tokens

    def over_budget_rows(self) -> list[int]:
        """The shown rows whose line is over the file's budget."""
        return [n for n, row in enumerate(self._rows) if self.over_budget(row)]

    def _arrange(self, column: int, descending: bool) -> None:
        self._sorted_by = (column, descending)
        self._order = sorted_positions(self._file_rows, column, descending, self.text,
                                       self._near)
        self._rows = [self._file_rows[n] for n in self._order]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Rows in the order of ``column`` (-1: file order); selections and other held
        indexes move with their rows."""
        self._relaid(lambda: self._arrange(column if 0 <= column < len(HEADERS)
                                           else FILE_ORDER,
                                           order == Qt.SortOrder.DescendingOrder))

    def _relaid(self, rearrange: Callable[[], None]) -> None:
        """``rearrange`` the shown order, selections and other held indexes moving with
        their rows."""
        self.layoutAboutToBeChanged.emit()
        held = self.persistentIndexList()
        positions = [self._order[index.row()] for index in held]
        rearrange()
        row_of = {position: row for row, position in enumerate(self._order)}
        self.changePersistentIndexList(
            held, [self.index(row_of[position], index.column())
                   for index, position in zip(held, positions, strict=True)])
        self.layoutChanged.emit()

    def bring_first(self, ids: Collection[str]) -> int:
        """The members in ``ids`` moved to the top, each part in the order it was shown,
        so that selecting them is one range: Qt merges a selection of scattered rows in
        time quadratic in their number (5,000 rows froze the window a third of a
        second). Held indexes move with their rows; how many were moved."""
        chosen = [position for position in self._order
                  if self._file_rows[position].conversation_id in ids]
        if not chosen:
            return 0

        def chosen_first() -> None:
            taken = set(chosen)
            self._sorted_by = (FILE_ORDER, False)  # no column's order: a refresh shows the file's
            self._order = chosen + [n for n in self._order if n not in taken]
            self._rows = [self._file_rows[n] for n in self._order]

        self._relaid(chosen_first)
        return len(chosen)

    def row_at(self, row: int) -> MemberRow:
        return self._rows[row]

    def file_position(self, row: int) -> int:
        """Where the shown ``row`` stands in the file (0: first)."""
        return self._order[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == HORIZONTAL and role == TOOLTIP:
            return HEADER_TIPS[section]
        if role != DISPLAY:
            return None
        return HEADERS[section] if orientation == HORIZONTAL else section + 1

    @staticmethod
    def text(row: MemberRow, column: int) -> str:
        """What a cell shows (the page measures its fitted columns with it)."""
        if column == MEMBER_CLIENT:
            return row.persona_name or display(row.persona_archetype) or MISSING
        if column == MEMBER_ARC:
            return row.emotional_arc or display(row.emotional_arc_key) or MISSING
        if column == MEMBER_TOPIC:
            return row.training_topic or topic_display(row.training_topic_key) or MISSING
        if column == MEMBER_BATCH:
            return row.batch_id
        if column == MEMBER_TOKENS:
            return token_count_text(file_tokens(row))
        return ", ".join(display(code) for code in own_warnings(row.warning_codes))

    def shown_text(self, row: MemberRow, column: int) -> str:
        """What a cell shows: its ``text``, and in Warnings the near-duplicate mark."""
        if column == MEMBER_WARNINGS and row.conversation_id in self._near:
            return " ".join(filter(None, (self.text(row, column), NEAR_MARK)))
        return self.text(row, column)

    def file_rows(self) -> list[MemberRow]:
        """The members in file order."""
        return self._file_rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in ANSWERED or not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == DISPLAY:
            return self.shown_text(row, column)
        if role == TOOLTIP:
            lines = [row.conversation_id, f"from {row.source_file}", f"batch {row.batch_id}"]
            if row.persona_archetype:
                lines.insert(1, display(row.persona_archetype))
            if row.reviewed_by:
                lines.append(f"reviewed by {row.reviewed_by}")
            lines.extend(tokens_lines(row))
            if row.conversation_id in self._near:
                lines.append(self._near_line(self._near[row.conversation_id]))
            if self.over_budget(row):
                lines.append(over_budget_words(row, self._budget, self._fits))
            lines.append("Double-click to read it")
            return "\n".join(lines)
        if role == DECORATION:
            return (self._warning_icon if column == MEMBER_TOKENS and self.over_budget(row)
                    else None)
        if role == ALIGNMENT and column == MEMBER_TOKENS:
            return RIGHT
        if role == ID:
            return row.conversation_id
        return None

    def _near_line(self, twin: str) -> str:
        if self._by_id is None:
            self._by_id = {row.conversation_id: row for row in self._file_rows}
        earlier = self._by_id.get(twin)
        name = self.text(earlier, MEMBER_CLIENT) if earlier is not None else None
        named = f"{twin} ({name})" if name and name != MISSING else twin
        return (f"{NEAR_MARK} Near-duplicate in this file: nearly repeats {named}, earlier "
                "in the file, so that dialogue is trained twice")
