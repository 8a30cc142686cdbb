"""The Conversations page's filter bar: its choosers and search field, what they say as a
``Filter``, and the counts each choice shows given the other filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.labels import OwnNames, display_name
from ui.choice_counts import ChoiceCounts
from ui.conversations_model import HEADERS, Column, ConversationsModel
from ui.filter_chooser import ANY, FilterChooser
from ui.flow_layout import FlowLayout
from ui.row_index import (
    AND_FILE_FACET,
    FILE_FACET,
    FILE_FACETS,
    FacetCounts,
    FileFilter,
    FileRule,
    Filter,
    RowIndex,
)
from ui.wording import plural

NO_FILE = "__in_no_file__"


def file_data(rule: FileFilter) -> str:
    """A training-file filter as the chooser's item data."""
    return NO_FILE if rule.rule is FileRule.IN_NONE else f"{rule.rule.value}\x1f{rule.name}"


def file_filter_of(data: str | None) -> FileFilter | None:
    """The chooser's item data back as a filter (None: any training file)."""
    if data is None or data == ANY:
        return None
    if data == NO_FILE:
        return FileFilter(FileRule.IN_NONE)
    rule, _, name = data.partition("\x1f")
    return FileFilter(FileRule(rule), name)


def file_choices(names: Iterable[str], counts: FacetCounts,
                 in_none: bool = True) -> list[tuple[str, str, int]]:
    """"In no training file" (unless ``in_none`` is False: the second chooser, where it
    would only repeat the first), then "In X" and "Not in X" for each file."""
    choices = [(NO_FILE, "In no training file", counts.in_none)] if in_none else []
    for name in sorted(names, key=str.casefold):
        inside = counts.values.get(name, 0)
        choices.append((file_data(FileFilter(FileRule.IN, name)), f"In {name}", inside))
        choices.append((file_data(FileFilter(FileRule.NOT_IN, name)), f"Not in {name}",
                        counts.total - inside))
    return choices


def gone_file_text(rule: FileFilter, shown: int) -> str:
    """What the status bar says when the training file a filter named was deleted."""
    label = f"{'In' if rule.rule is FileRule.IN else 'Not in'} {rule.name}"
    return (f"Filter '{label}' cleared: training file '{rule.name}' was deleted. "
            f"{plural(shown, 'conversation')} shown.")


def gone_batch_text(batch: str, shown: int) -> str:
    """What the status bar says when the batch a filter named has no conversations left
    (its conversations were removed or moved away)."""
    return (f"Filter on batch '{batch}' cleared: the batch has no conversations any more. "
            f"{plural(shown, 'conversation')} shown.")


# Each chooser's name beside it: the heading of the column it filters on, so the two are
# found together (Review has no column: the reader says it).
FILTER_NAMES = {
    "batch_id": HEADERS[Column.BATCH], "arc": HEADERS[Column.ARC],
    "topic": HEADERS[Column.TOPIC], "archetype": HEADERS[Column.ARCHETYPE],
    "warnings": HEADERS[Column.WARNINGS], "reviewed": "Review",
    "training_file": HEADERS[Column.FILES], AND_FILE_FACET: "and",
}
AND_FILE_TIP = ("A second training-file rule, both holding: with \"In A\" before it, "
                "\"Not in B\" here shows what A has and B has not yet")
ANY_WARNINGS = "With or without"  # the Warnings chooser's "no filter" (not "Any warnings")

NEAR = "near"  # the Warnings chooser's data for the near-duplicates
NEAR_TIP = ("Conversations the library flagged (≈ in the Warnings column): very similar to "
            "another conversation imported earlier. Not a warning of the conversation's file")


CLEAN = "clean"  # the Warnings chooser's data for what trains well
CLEAN_TIP = ("What to add next: conversations the add review would not flag. No warning that "
             "harms training (Text Repaired and Unanswered Last Turn are allowed: the JSONL "
             "handles them; a cut-off reply is harmful, so each of these has a reply to train) "
             "and not a near-duplicate (≈). With \"In no training file\", what no file has yet")


def warning_choices(counts: FacetCounts, near: FacetCounts,
                    clean: FacetCounts) -> list[tuple[str, str, int]]:
    """The Warnings chooser: what trains well (nothing the add review flags), the records'
    own warnings, then the library's near-duplicate flag (a row can be in several, so the
    counts may add up to more than the total)."""
    return [(CLEAN, "Ready to add: no harmful warning, not a near-duplicate",
             clean.values.get(True, 0)),
            ("without", "Without warnings", counts.values.get(False, 0)),
            ("with", "With warnings", counts.values.get(True, 0)),
            (NEAR, "Near-duplicates", near.values.get(True, 0))]


# The Warnings chooser's data as the Filter fields it sets (warnings, near_duplicate, clean).
QUALITY_VALUES: Mapping[str | None, dict[str, bool | None]] = {
    None: {"warnings": None, "near_duplicate": None, "clean": None},
    CLEAN: {"warnings": None, "near_duplicate": None, "clean": True},
    "without": {"warnings": False, "near_duplicate": None, "clean": None},
    "with": {"warnings": True, "near_duplicate": None, "clean": None},
    NEAR: {"warnings": None, "near_duplicate": True, "clean": None},
}


def review_choices(counts: FacetCounts) -> list[tuple[str, str, int]]:
    return [("not", "Not reviewed", counts.values.get(False, 0)),
            ("reviewed", "Reviewed", counts.values.get(True, 0))]


REVIEW_VALUES: Mapping[str | None, bool | None] = {None: None, "not": False, "reviewed": True}

SEARCH_TIP = ("Shows the conversations whose client, arc, topic, batch, file name, id, "
              "training files or warnings hold every word you type (\"Jennifer shame\"); "
              "put words in quotes to find them together (\"student loan\")")


@dataclass(frozen=True)
class EarlierFilters:
    """What the choosers and the search said before a set of conversations was shown
    alone (``FilterBar.show_only``): its way back puts them back."""

    values: dict[str, str | None]
    search: str

    @property
    def any(self) -> bool:
        return bool(self.search) or any(v is not None for v in self.values.values())


class FilterBar(QWidget):
    """The choosers and the search field above the table. A choice filters the model at
    once; the search waits for a pause in typing, so 100,000 rows are not searched at
    every key."""

    def __init__(self, model: ConversationsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._all_values: dict[str, list[str]] = {}
        self._file_names: list[str] = []
        self.batch_filter = FilterChooser("All batches")
        self._names = OwnNames()  # the files' own names of arc and topic codes
        self.arc_filter = FilterChooser("All arcs", lambda code: self._names.arc(code))
        self.topic_filter = FilterChooser("All topics", lambda code: self._names.topic(code))
        self.persona_filter = FilterChooser("All personas", display_name)
        # (named as the column it filters on: "Quality" is the column of the score)
        self.warnings_filter = FilterChooser(ANY_WARNINGS)
        self.warnings_filter.setMinimumContentsLength(12)
        self.review_filter = FilterChooser("Any review")
        self.review_filter.setMinimumContentsLength(10)
        self.review_filter.setToolTip("Conversations marked reviewed in LoRA Studio (Edit ▸ "
                                      "Mark checked reviewed, or Mark reviewed in the reader)")
        self.files_filter = FilterChooser("Any training file")
        self.and_file_filter = FilterChooser("Any training file")
        self.and_file_filter.setToolTip(AND_FILE_TIP)
        self.choosers: dict[str, FilterChooser] = {
            "batch_id": self.batch_filter, "arc": self.arc_filter, "topic": self.topic_filter,
            "archetype": self.persona_filter, "warnings": self.warnings_filter,
            "reviewed": self.review_filter,
            "training_file": self.files_filter, AND_FILE_FACET: self.and_file_filter,
        }
        self.search = QLineEdit(placeholderText="Search (Ctrl+F)…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search conversations")  # a placeholder is not a name
        self.search.setToolTip(SEARCH_TIP)
        self.search.setMinimumWidth(200)
        self.search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(self._apply_search)
        self.choice_counts = ChoiceCounts(model, self._show_counts, self)
        self._only: frozenset[str] | None = None  # ``show_only``'s set, while it filters
        self._earlier = EarlierFilters({}, "")
        self.only_box, self.only_label, self.only_back = self._build_only_box()

        bar = FlowLayout(self)
        boxes = {facet: _labelled(FILTER_NAMES[facet], chooser)
                 for facet, chooser in self.choosers.items()}
        for box in boxes.values():
            bar.addWidget(box)
        self.and_file_box = boxes[AND_FILE_FACET]  # shown once there are two files
        self.and_file_box.hide()
        bar.addWidget(self.search)
        bar.addWidget(self.only_box)
        for facet, chooser in self.choosers.items():
            chooser.currentIndexChanged.connect(
                lambda _i, f=facet, c=chooser: self._chooser_changed(f, c))
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        # Esc in the search field empties it, as in a browser's find bar.
        clear_search = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.search,
                                 context=Qt.ShortcutContext.WidgetShortcut)
        clear_search.activated.connect(self.clear_search)

    def _build_only_box(self) -> tuple[QWidget, QLabel, QPushButton]:
        """Says which set ``show_only`` shows, with the way back; hidden otherwise."""
        box = QWidget()
        box.setObjectName("onlyBox")
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        label = QLabel()
        label.setTextFormat(Qt.TextFormat.PlainText)
        back = QPushButton()
        back.clicked.connect(self.back_from_only)
        layout.addWidget(label)
        layout.addWidget(back)
        box.hide()
        return box, label, back

    def show_only(self, ids: Iterable[str], what: str) -> None:
        """Only these conversations, every other filter cleared (they would hide some of
        them): the add review's "Show in the table". ``what`` says which they are ("the
        3 already in 'seed'"); the bar says it beside a button back to the filters that
        were on before."""
        if self._only is None:  # a second set replaces the first, back goes further
            self._earlier = EarlierFilters(
                {facet: chooser.value() for facet, chooser in self.choosers.items()},
                self.search.text())
        self._set_widgets({}, "")
        self._only = frozenset(ids)
        self.only_label.setText(f"Only {what}")
        self.only_label.setToolTip(f"The table shows only {what}; other filters are off")
        earlier = self._earlier.any
        self.only_back.setText("Back to the earlier filters" if earlier else "Show all")
        self.only_back.setToolTip(
            "Show the conversations the filters before showed" if earlier
            else "Show every conversation again")
        self.only_box.show()
        self.model.set_filter(self.wanted())

    @property
    def only(self) -> frozenset[str] | None:
        """The set ``show_only`` shows (None: no such set)."""
        return self._only

    def back_from_only(self) -> None:
        """The filters from before ``show_only``, the set no longer filtering."""
        earlier = self._earlier
        self._drop_only()
        self._set_widgets(earlier.values, earlier.search)
        self.model.set_filter(self.wanted())

    def _drop_only(self) -> None:
        self._only = None
        self._earlier = EarlierFilters({}, "")
        self.only_box.hide()

    def _set_widgets(self, values: Mapping[str, str | None], search: str) -> None:
        """Choosers and search as given (absent: "All"), without filtering at each."""
        for facet, chooser in self.choosers.items():
            chooser.blockSignals(True)
            value = values.get(facet)
            if not chooser.select_value(value):
                chooser.setCurrentIndex(0)  # a value the library no longer has
            chooser.setToolTip(chooser.currentText())
            chooser.blockSignals(False)
        self.search.blockSignals(True)
        self.search.setText(search)
        self.search.blockSignals(False)
        self._search_timer.stop()
        self._show_and_file()

    def _chooser_changed(self, facet: str, chooser: FilterChooser) -> None:
        data = chooser.value()
        chooser.setToolTip(chooser.currentText())
        if facet == "warnings":
            self.model.update_filter(**QUALITY_VALUES[data])
            return
        value: Any
        if facet == "reviewed":
            value = REVIEW_VALUES[data]
        elif facet in FILE_FACETS:
            value = file_filter_of(data)
        else:
            value = data
        chooser.setToolTip(chooser.currentText())
        self.model.update_filter(**{facet: value})

    def clear_search(self) -> None:
        """The search emptied and applied at once (the other filters stay)."""
        if self.search.text():
            self.search.clear()
            self._search_timer.stop()
            self._apply_search()

    def apply_search_now(self) -> None:
        """The text typed so far applied without waiting for the pause (Enter)."""
        if self._search_timer.isActive():
            self._search_timer.stop()
            self._apply_search()

    def _apply_search(self) -> None:
        self.model.update_filter(text=self.search.text().strip())

    def wanted(self) -> Filter:
        """The filter the widgets describe."""
        return Filter(
            batch_id=self.batch_filter.value(), arc=self.arc_filter.value(),
            topic=self.topic_filter.value(), archetype=self.persona_filter.value(),
            **QUALITY_VALUES[self.warnings_filter.value()],
            reviewed=REVIEW_VALUES[self.review_filter.value()],
            training_file=file_filter_of(self.files_filter.value()),
            and_file=file_filter_of(self.and_file_filter.value()),
            text=self.search.text().strip(), only=self._only)

    def clear(self) -> None:
        """Every chooser back to "All", the search emptied, a set shown alone dropped:
        every conversation shows."""
        self._drop_only()
        self._set_widgets({}, "")
        self.model.set_filter(Filter())

    def refresh_choices(self) -> None:
        """Each chooser's counts, given the other filters: at once in a small library, a
        part at a time between events in a large one (``ui.choice_counts``)."""
        self.choice_counts.refresh()

    def _show_counts(self, counts: Mapping[str, FacetCounts]) -> None:
        for facet in ("batch_id", "arc", "topic", "archetype"):
            self.choosers[facet].set_counts(self._all_values.get(facet, []), counts[facet])
        self.warnings_filter.set_choices(
            warning_choices(counts["warnings"], counts["near_duplicate"], counts["clean"]),
            counts["warnings"].total, tips={NEAR: NEAR_TIP, CLEAN: CLEAN_TIP})
        self.review_filter.set_choices(review_choices(counts["reviewed"]),
                                       counts["reviewed"].total)
        self.files_filter.set_choices(file_choices(self._file_names, counts["training_file"]),
                                      counts["training_file"].total)
        self.and_file_filter.set_choices(
            file_choices(self._file_names, counts[AND_FILE_FACET], in_none=False),
            counts[AND_FILE_FACET].total)
        self._show_and_file()

    def _show_and_file(self) -> None:
        """The second training-file chooser while the library has two files to combine (or
        while it filters)."""
        self.and_file_box.setVisible(len(self._file_names) >= 2
                                     or self.and_file_filter.value() is not None)

    def learn_values(self, index: RowIndex) -> None:
        """Every value each chooser can offer (whatever the other filters say)."""
        values = dict(index.choosable())
        self._names = index.own_names()
        self._file_names = values.pop(FILE_FACET)
        self._all_values = values

    def knows_batch(self, batch_id: str) -> bool:
        """The rows last learnt hold conversations in this batch."""
        return batch_id in self._all_values.get("batch_id", [])

    def knows_file(self, name: str) -> bool:
        """The rows last learnt hold a training file of this name."""
        return name in self._file_names

    def still_known(self, wanted: Filter) -> Filter:
        """``wanted`` without the chosen values the library no longer has (a deleted file):
        they stop filtering."""
        for facet, known in self._all_values.items():
            if getattr(wanted, facet) not in (None, *known):
                cleared: dict[str, Any] = {facet: None}
                wanted = replace(wanted, **cleared)
        for facet in FILE_FACETS:
            rule = getattr(wanted, facet)
            if rule is not None and rule.rule is not FileRule.IN_NONE \
                    and rule.name not in self._file_names:
                gone: dict[str, Any] = {facet: None}
                wanted = replace(wanted, **gone)
        return wanted

    def show_filter(self, wanted: Filter) -> None:
        """Make the choosers show ``wanted`` before their counts are refreshed."""
        values = {"batch_id": wanted.batch_id,
                  **{facet: None if (rule := getattr(wanted, facet)) is None
                     else file_data(rule) for facet in FILE_FACETS}}
        for facet, value in values.items():
            chooser = self.choosers[facet]
            if chooser.value() != value:
                chooser.blockSignals(True)
                if value is not None and chooser.findData(value) < 0:
                    chooser.addItem(value, value)
                chooser.select_value(value)
                chooser.blockSignals(False)

    def set_batch(self, batch_id: str | None, reading: bool) -> bool:
        """Show one batch (None: all). While the first read runs (``reading``) the chooser
        knows no batch yet: the choice is kept for the read (dropped there if no such
        batch)."""
        if reading and batch_id is not None and self.batch_filter.findData(batch_id) < 0:
            self.batch_filter.blockSignals(True)
            self.batch_filter.addItem(batch_id, batch_id)
            self.batch_filter.blockSignals(False)
        return self.batch_filter.select_value(batch_id)

    def set_file(self, rule: FileFilter | None) -> bool:
        return self.files_filter.select_value(None if rule is None else file_data(rule))

    def set_and_file(self, rule: FileFilter | None) -> bool:
        """The second training-file rule (None: any training file)."""
        return self.and_file_filter.select_value(None if rule is None else file_data(rule))

    def state(self) -> dict[str, str]:
        """What the choosers and the search say (each only when it filters), to be
        remembered for the next run."""
        saved = {facet: value for facet, chooser in self.choosers.items()
                 if (value := chooser.value()) is not None}
        if self.search.text().strip():
            saved[SEARCH_KEY] = self.search.text().strip()
        return saved

    def restore(self, saved: Mapping[str, object], reading: bool) -> None:
        """The choosers and the search as ``state`` gave them. While the first read of
        the library runs (``reading``) the choosers know none of its values: each
        remembered one is kept for the read, which drops those the library no longer has
        (as ``set_batch``); after it, a value no chooser offers is dropped here."""
        for facet, chooser in self.choosers.items():
            value = saved.get(facet)
            if not isinstance(value, str) or not _choosable(facet, value):
                continue
            chooser.blockSignals(True)
            if reading and chooser.findData(value) < 0:
                chooser.addItem(value, value)
            chooser.select_value(value)
            chooser.setToolTip(chooser.currentText())
            chooser.blockSignals(False)
        search = saved.get(SEARCH_KEY)
        if isinstance(search, str) and search.strip():
            self.search.blockSignals(True)
            self.search.setText(search.strip())
            self.search.blockSignals(False)
        if not reading:
            self.model.set_filter(self.wanted())


SEARCH_KEY = "search"  # the search field's text among ``FilterBar.state``'s choosers


def _choosable(facet: str, value: str) -> bool:
    """A remembered value this chooser could hold (a warnings or review choice of another
    version of the app, or a damaged setting, is not)."""
    if facet == "warnings":
        return value in QUALITY_VALUES
    if facet == "reviewed":
        return value in REVIEW_VALUES
    if facet in FILE_FACETS:
        if facet == AND_FILE_FACET and value == NO_FILE:
            return False  # the second chooser does not offer it
        try:
            return file_filter_of(value) is not None
        except ValueError:  # not a rule this chooser writes
            return False
    return True


# Each chooser's Alt key (its label's underlined letter), clear of the menus' F, E, T, V,
# S and H: from the table, the Batch ID chooser was three Tabs away, the others more.
ALT_KEYS = {"Batch ID": "B", "Arc": "A", "Topic": "o", "Persona": "P", "Warnings": "W",
            "Review": "R", "In files": "I", "and": "n"}


def with_alt_key(text: str) -> str:
    """``text`` with "&" before its Alt key's letter (a literal "&" doubled)."""
    text = text.replace("&", "&&")
    letter = ALT_KEYS.get(text)
    if letter is None:
        return text
    at = text.index(letter)
    return text[:at] + "&" + text[at:]


def _labelled(text: str, widget: QWidget) -> QWidget:
    """A label and its chooser, kept together when the filter bar wraps; Alt and the
    label's underlined letter puts the keyboard on the chooser."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    label = QLabel(with_alt_key(text))
    label.setBuddy(widget)
    layout.addWidget(label)
    layout.addWidget(widget)
    return box
