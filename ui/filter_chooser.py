"""The filter bar's choosers: "All …" and each value with how many rows it would show."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QWidget

from ui.row_index import FacetCounts
from ui.wording import MISSING, natural_key

ANY = "__any__"  # the data of the "All …" entry
MAX_SHOWN_CHARS = 48  # a chooser grows to show its whole text up to about this many
NOT_GIVEN_TIP = f"{MISSING}: not given in the conversation's file"
# The entry for conversations whose files give no value: the table's mark, said in words
# (a bare "— (3)" read as a value named "—").
NOT_GIVEN = f"{MISSING} not given"


class FilterChooser(QComboBox):
    """A combo box of "All …" plus each value with how many rows it would show, given
    the other filters; values that would show nothing stay listed but greyed out."""

    def __init__(self, all_label: str, name: Callable[[str], str] = str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.all_label = all_label
        self.name = name
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        self.currentIndexChanged.connect(self._text_changed)

    def set_choices(self, choices: Iterable[tuple[str, str, int]], total: int,
                    tips: Mapping[str, str] | None = None) -> None:
        """``choices``: (data, label, count) in the order to list them; ``tips``: what a
        choice means, by its data, where its label alone does not say."""
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        self.addItem(f"{self.all_label} ({total:,})", ANY)
        model = self.model()
        for data, label, count in choices:
            self.addItem(f"{label} ({count:,})", data)
            if label == NOT_GIVEN:  # what it means when pointed at, as in the table
                self.setItemData(self.count() - 1, NOT_GIVEN_TIP, Qt.ItemDataRole.ToolTipRole)
            if tips and data in tips:
                self.setItemData(self.count() - 1, tips[data], Qt.ItemDataRole.ToolTipRole)
            if not count and data != current:
                model.item(self.count() - 1).setEnabled(False)  # type: ignore[attr-defined]
        index = self.findData(current) if current is not None else 0
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)
        self._text_changed()  # (the counts are in the text)

    def set_counts(self, values: Iterable[str], counts: FacetCounts) -> None:
        """One entry per value (sorted by its display name, the missing value last as in
        the table), counted under the others. The missing value is offered only while
        the other filters leave it some rows (or it is the choice): "— (0)" named no value
        and could show nothing."""
        current = self.currentData()
        named = sorted(((self.name(v) or NOT_GIVEN, v) for v in values),
                       key=lambda item: (item[0] == NOT_GIVEN,
                                         natural_key(item[0])))  # batch-2 before batch-10
        self.set_choices(((v, label, counts.values.get(v, 0)) for label, v in named
                          if label != NOT_GIVEN or counts.values.get(v, 0) or v == current),
                         counts.total)

    def value(self) -> str | None:
        data = self.currentData()
        return None if data in (ANY, None) else str(data)

    def select_value(self, value: str | None) -> bool:
        index = self.findData(ANY if value is None else value)
        if index < 0:
            return False
        self.setCurrentIndex(index)
        return True

    def _text_changed(self) -> None:
        """The tooltip holds what the chooser does not show: the whole text of a name cut
        short, and what the choice means; nothing when the chooser says it all (a tooltip
        repeating "All batches (9)" over "All batches (9)" told nothing)."""
        text = self.currentText()
        cut = self.fontMetrics().horizontalAdvance(text) > self._shown_width()
        meaning = self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole)
        self.setToolTip("\n".join(part for part in (text if cut else "", meaning or "")
                                   if part))
        self.updateGeometry()  # a new text may want a new width

    def _shown_width(self) -> int:
        """The widest text the chooser shows whole (about MAX_SHOWN_CHARS characters)."""
        return self.fontMetrics().averageCharWidth() * MAX_SHOWN_CHARS

    def sizeHint(self) -> QSize:
        """Wide enough for the whole current text, counts included ("Any training file
        (15)"), not only for the minimum contents length; a very long name stops at
        about MAX_SHOWN_CHARS characters (the tooltip holds all of it)."""
        return super().sizeHint().expandedTo(self._fitting(self.currentText()))

    def _fitting(self, text: str) -> QSize:
        """The size the style needs around ``text`` (frame, margins, the arrow)."""
        metrics = self.fontMetrics()
        width = min(metrics.horizontalAdvance(text), self._shown_width())
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        return self.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, option,
                                             QSize(width, metrics.height()), self)
