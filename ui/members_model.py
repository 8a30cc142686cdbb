"""The conversations of one training file, as a table model.

A model rather than a QTableWidget: a file of 10,000 conversations would otherwise make
30,000 item objects each time it is shown.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.trainingfiles import MemberRow

Index = QModelIndex | QPersistentModelIndex
MEMBER_ID, MEMBER_PERSONA, MEMBER_BATCH = range(3)
HEADERS = ("Conversation", "Client persona", "Batch")
ID_ROLE = Qt.ItemDataRole.UserRole


class MembersModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[MemberRow] = []

    def set_rows(self, rows: list[MemberRow]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row_at(self, row: int) -> MemberRow:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.conversation_id, row.persona_name or "—", row.batch_id)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == MEMBER_ID:
                return f"{row.conversation_id}\nfrom {row.source_file}"
            if column == MEMBER_PERSONA and row.persona_archetype:
                return f"{row.persona_name or '—'} ({row.persona_archetype})"
            return row.batch_id
        if role == ID_ROLE:
            return row.conversation_id
        return None
