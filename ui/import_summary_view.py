"""The import summary's list: each outcome a section headed by its count in words, each
file (or group of files) a row of its own whose text wraps inside it.

It was one plain-text box, and an entry that wrapped ran into the next. An import can
give 100,000 entries, so the rows are a list Qt keeps (Python is asked nothing a row) and
a view that lays out only the rows it shows: it scrolls by row, and a row's height is
worked out when it is first shown, at the width it is shown at.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QSize,
    QStringListModel,
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
LINE_INDENT = 20  # pixels a section's lines are set in under its heading
PAD = 4  # pixels around a row's text
HANGING_INDENT = 16  # pixels a wrapped row's lines after the first are indented
SECTION_GAP = 6  # more above a heading than above a line, so sections stand apart


@dataclass(frozen=True)
class Section:
    """One outcome of an import: its heading ("6 files could not be imported") and its
    lines, one for each file or group of files."""

    heading: str
    lines: list[str]


# A file name may hold a line break or a tab (made by a script): shown as a mark, an entry
# stays one row ("line\nbreak.json" read as two entries, "hostile/line" and "break.json").
VISIBLE_CONTROLS = str.maketrans({"\r": "␍", "\n": "⏎", "\t": "⇥"})


def one_line(text: str) -> str:
    """``text`` with its line breaks and tabs as visible marks (as it is when it has none:
    most have none, and 100,000 entries are checked at C speed)."""
    return text if text.isprintable() else text.translate(VISIBLE_CONTROLS)


class SectionsModel(QStringListModel):
    """Every heading and line, one row each, in a list Qt keeps (not a row at a time in
    Python: a tree model in Python answered the view's layout for each of 100,000 rows,
    two calls a row, some 2 s before the dialog showed); headings are known by row."""

    def __init__(self, sections: list[Section], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sections: list[Section] = []
        self.headings: set[int] = set()
        self.set_sections(sections)

    def set_sections(self, sections: list[Section]) -> None:
        """Show ``sections``, their text as it is (a name's bytes that are not UTF-8 made
        U+FFFD by whoever made them: Qt would drop them)."""
        rows: list[str] = []
        headings: set[int] = set()
        for section in sections:
            headings.add(len(rows))
            rows.append(section.heading)
            rows.extend(map(one_line, section.lines))
        self.sections, self.headings = sections, headings
        self.setStringList(rows)

    def is_heading(self, row: int) -> bool:
        return row in self.headings

    def text(self, row: int) -> str:
        return str(super().data(self.index(row, 0), Qt.ItemDataRole.DisplayRole))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.text(index.row()) if index.isValid() else None
        if role == Qt.ItemDataRole.FontRole and index.row() in self.headings:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.EditRole:
            return None
        return super().data(index, role)


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
        heading = self.view.sections_model().is_heading(index.row())
        return PAD + (SECTION_GAP if heading and index.row() else 0)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        styled = QStyleOptionViewItem(option)
        self.initStyleOption(styled, index)
        _layout, height = wrapped(styled.text, styled.font, self.view.text_width(index))
        return QSize(self.view.text_width(index) + self.view.indent(index) + 2 * PAD,
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
        layout.draw(painter, QPointF(styled.rect.left() + self.view.indent(index) + PAD,
                                     styled.rect.top() + self._top(index)))
        painter.restore()


class SummaryView(QTreeView):
    """The sections, a row a line, each section's lines set in under its heading; Ctrl+C
    copies the selected rows as text."""

    def __init__(self, model: SectionsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setItemsExpandable(False)
        self.setUniformRowHeights(False)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setAlternatingRowColors(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # By row, not by pixel: by pixel the view would work out every row's height
        # for its scroll bar, all 100,000 of them, before it showed the first.
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setItemDelegate(WrappingDelegate(self))
        self._laid_out_width = -1

    def sections_model(self) -> SectionsModel:
        model = self.model()
        assert isinstance(model, SectionsModel)
        return model

    def indent(self, index: Index) -> int:
        """How far a row's text is set in: a section's lines, under its heading."""
        return 0 if self.sections_model().is_heading(index.row()) else LINE_INDENT

    def text_width(self, index: Index) -> int:
        """The width a row's text wraps in: the view's, less its indent and margins."""
        return max(self.viewport().width() - self.indent(index) - 2 * PAD, 40)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.viewport().width() != self._laid_out_width:
            # every row wraps anew: heights are worked out again as rows are shown
            self._laid_out_width = self.viewport().width()
            self.scheduleDelayedItemsLayout()

    def selected_text(self) -> str:
        """The selected rows' text, in the order they are listed, lines indented."""
        model = self.sections_model()
        rows = sorted(index.row() for index in self.selectionModel().selectedRows())
        return readable_name("\n".join(("" if model.is_heading(row) else "  ")
                                       + model.text(row) for row in rows))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            QGuiApplication.clipboard().setText(self.selected_text())
            return
        super().keyPressEvent(event)
