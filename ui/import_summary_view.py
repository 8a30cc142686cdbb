"""The import summary's list: each outcome a section headed by its count in words, each
file (or group of files) a row of its own whose text wraps inside it.

It was one plain-text box, and an entry that wrapped ran into the next. An import can
give 100,000 entries, so the list is a model over the lines already made (nothing is built
a row) and a view that lays out only the rows it shows: it scrolls by row, and a row's
height is worked out when it is first shown, at the width it is shown at.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QResizeEvent,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from app.idtext import readable_name

Index = QModelIndex | QPersistentModelIndex
HEADING = 0  # a heading's internal id; a line's is its section's number plus one
PAD = 4  # pixels around a row's text
HANGING_INDENT = 16  # pixels a wrapped row's lines after the first are indented
SECTION_GAP = 6  # more above a heading than above a line, so sections stand apart


@dataclass(frozen=True)
class Section:
    """One outcome of an import: its heading ("6 files could not be imported") and its
    lines, one for each file or group of files."""

    heading: str
    lines: list[str]


class SectionsModel(QAbstractItemModel):
    """Sections as top-level rows, their lines as the rows below them."""

    def __init__(self, sections: list[Section], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sections = sections

    def set_sections(self, sections: list[Section]) -> None:
        self.beginResetModel()
        self.sections = sections
        self.endResetModel()

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return (self.createIndex(row, 0, HEADING) if row < len(self.sections)
                    else QModelIndex())
        if parent.internalId() != HEADING or row >= len(self.sections[parent.row()].lines):
            return QModelIndex()
        return self.createIndex(row, 0, parent.row() + 1)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == HEADING:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, HEADING)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self.sections)
        if parent.internalId() == HEADING:
            return len(self.sections[parent.row()].lines)
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 1

    def text(self, index: Index) -> str:
        if index.internalId() == HEADING:
            return self.sections[index.row()].heading
        return self.sections[index.internalId() - 1].lines[index.row()]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            # Qt drops the bytes of a file name that are not UTF-8: shown as U+FFFD.
            return readable_name(self.text(index))
        if role == Qt.ItemDataRole.FontRole and index.internalId() == HEADING:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def wrapped(text: str, font: QFont, width: int) -> tuple[QTextLayout, float]:
    """``text`` laid out in ``width`` pixels, broken between words where it can and
    anywhere else where it must (a long path has no spaces), its lines after the first
    indented (where an entry begins shows at a glance); and its height."""
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    height = 0.0
    layout.beginLayout()
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        hang = HANGING_INDENT if height else 0
        line.setLineWidth(max(width - hang, 1))
        line.setPosition(QPointF(hang, height))
        height += line.height()
    layout.endLayout()
    return layout, height


class WrappingDelegate(QStyledItemDelegate):
    """Draws a row's whole text, wrapped to the width the view gives its level; its
    height is the wrapped text's (the same layout draws it, so nothing is cut off)."""

    def __init__(self, view: SummaryView) -> None:
        super().__init__(view)
        self.view = view

    def _top(self, index: Index) -> int:
        return PAD + (SECTION_GAP if index.internalId() == HEADING and index.row() else 0)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        styled = QStyleOptionViewItem(option)
        self.initStyleOption(styled, index)
        _layout, height = wrapped(styled.text, styled.font, self.view.text_width(index))
        return QSize(self.view.text_width(index) + 2 * PAD,
                     int(height + 0.999) + self._top(index) + PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        styled = QStyleOptionViewItem(option)
        self.initStyleOption(styled, index)
        text, font = styled.text, styled.font
        styled.text = ""  # the style draws the row's background, selection and focus only
        style = styled.widget.style() if styled.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, styled, painter,
                              styled.widget)
        layout, _height = wrapped(text, font, self.view.text_width(index))
        selected = bool(styled.state & QStyle.StateFlag.State_Selected)
        group = (QPalette.ColorGroup.Active if styled.state & QStyle.StateFlag.State_Active
                 else QPalette.ColorGroup.Inactive)
        role = (QPalette.ColorRole.HighlightedText if selected
                else QPalette.ColorRole.Text)
        painter.save()
        painter.setPen(styled.palette.color(group, role))
        layout.draw(painter, QPointF(styled.rect.left() + PAD,
                                     styled.rect.top() + self._top(index)))
        painter.restore()


class SummaryView(QTreeView):
    """The sections, open, one row a line; Ctrl+C copies the selected rows as text."""

    def __init__(self, model: SectionsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setHeaderHidden(True)
        self.setUniformRowHeights(False)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setAlternatingRowColors(True)
        self.setRootIsDecorated(True)
        # By row, not by pixel: by pixel the view would work out every row's height
        # for its scroll bar, all 100,000 of them, before it showed the first.
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setItemDelegate(WrappingDelegate(self))
        self._laid_out_width = -1
        self.expandAll()

    def sections_model(self) -> SectionsModel:
        model = self.model()
        assert isinstance(model, SectionsModel)
        return model

    def text_width(self, index: Index) -> int:
        """The width a row's text wraps in: the view's, less the indent of its level."""
        level = 1 if index.internalId() != HEADING else 0
        indent = self.indentation() * (level + (1 if self.rootIsDecorated() else 0))
        return max(self.viewport().width() - indent - 2 * PAD, 40)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.viewport().width() != self._laid_out_width:
            # every row wraps anew: heights are worked out again as rows are shown
            self._laid_out_width = self.viewport().width()
            self.scheduleDelayedItemsLayout()

    def selected_text(self) -> str:
        """The selected rows' text, in the order they are listed."""
        model = self.sections_model()
        rows = sorted(self.selectionModel().selectedRows(),
                      key=lambda index: (index.internalId() - 1 if index.internalId()
                                         else index.row(), index.internalId() != HEADING,
                                         index.row()))
        return readable_name("\n".join(("" if index.internalId() == HEADING else "  ")
                                       + model.text(index) for index in rows))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            QGuiApplication.clipboard().setText(self.selected_text())
            return
        super().keyPressEvent(event)
