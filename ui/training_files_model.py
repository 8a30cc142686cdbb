"""The training-files table: one row per ``TrainingFileInfo``, nothing more.

Display text is for people (``1.4 MB``, local dates); ``SORT_ROLE`` gives the native
values so that sorting by size compares bytes and sorting by date compares times.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.trainingfiles import TrainingFileInfo

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

NAME, CONVERSATIONS, REPLIES, TOKENS, JSON_SIZE, JSONL_SIZE, CREATED, UPDATED = range(8)
HEADERS = (
    "Name", "Conversations", "Trainable replies", "Tokens",
    "JSON size", "JSONL size", "Created", "Last updated",
)
HEADER_TIPS = {
    TOKENS: ("Tokens of the JSONL lines as the trainer reads them (the library's tokenizer "
             "and chat template), as the file's details say; ~ marks a file built before "
             "exact counts: characters of the trained messages divided by four"),
    JSON_SIZE: "Size of the full JSON (header, consultant profile and every conversation)",
    JSONL_SIZE: "Size of the JSONL that trainers read (one line per conversation)",
}
NUMERIC = {CONVERSATIONS, REPLIES, TOKENS, JSON_SIZE, JSONL_SIZE}

Index = QModelIndex | QPersistentModelIndex


def human_size(size: int) -> str:
    """Bytes as a person reads them: ``957 B``, ``17.3 KB``, ``1.4 MB``."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def tokens_text(info: TrainingFileInfo) -> str:
    """The exact count when the file has one, else the old estimate marked with ~."""
    return f"{info.tokens:,}" if info.tokens is not None else f"~{info.estimated_tokens:,}"


def parse_stamp(stamp: str) -> datetime | None:
    """The stored UTC stamp (``2025-12-01T09:30:00Z``) as an aware datetime."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def local_time_text(stamp: str) -> str:
    """A stored UTC stamp in the user's local time, to the minute."""
    moment = parse_stamp(stamp)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else stamp


class TrainingFilesModel(QAbstractTableModel):
    """A read-only table over a list of training files."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._files: list[TrainingFileInfo] = []

    def set_files(self, files: Sequence[TrainingFileInfo]) -> None:
        self.beginResetModel()
        self._files = list(files)
        self.endResetModel()

    def files(self) -> list[TrainingFileInfo]:
        return list(self._files)

    def row_of(self, name: str) -> int | None:
        """The row of the file with this name (names are unique regardless of case)."""
        wanted = name.casefold()
        return next(
            (row for row, info in enumerate(self._files) if info.name.casefold() == wanted), None
        )

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._files)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._files):
            return None
        info = self._files[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(info, column)
        if role == SORT_ROLE:
            return self._sort_value(info, column)
        if role == ROW_ROLE:
            return info
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole and column in (JSON_SIZE, JSONL_SIZE):
            size = info.json_bytes if column == JSON_SIZE else info.jsonl_bytes
            return f"{size:,} bytes"
        return None

    @staticmethod
    def _text(info: TrainingFileInfo, column: int) -> str:
        values = {
            NAME: info.name,
            CONVERSATIONS: f"{info.conversations:,}",
            REPLIES: f"{info.trainable_replies:,}",
            TOKENS: tokens_text(info),
            JSON_SIZE: human_size(info.json_bytes),
            JSONL_SIZE: human_size(info.jsonl_bytes),
            CREATED: local_time_text(info.created_at),
            UPDATED: local_time_text(info.updated_at),
        }
        return values.get(column, "")

    @staticmethod
    def _sort_value(info: TrainingFileInfo, column: int) -> Any:
        values: dict[int, Any] = {
            NAME: info.name.casefold(),
            CONVERSATIONS: info.conversations,
            REPLIES: info.trainable_replies,
            TOKENS: info.tokens if info.tokens is not None else info.estimated_tokens,
            JSON_SIZE: info.json_bytes,
            JSONL_SIZE: info.jsonl_bytes,
            CREATED: info.created_at,  # ISO UTC stamps order as the times do
            UPDATED: info.updated_at,
        }
        return values.get(column)
