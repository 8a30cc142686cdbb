"""The Conversations table's rows, indexed for filtering, counting and sorting in bulk.

No Qt here: a ``RowIndex`` is built on a worker thread when the library changes, then
handed to the table model on the GUI thread. It keeps one list of keys per filter facet,
so a filter is a few list comprehensions and ``itertools.compress`` calls (C speed at
100,000 rows) rather than a Python call per row, and the counts shown in each filter
chooser respect every *other* filter ("faceted" counts).
"""

from __future__ import annotations

import heapq
import pickle
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import partial
from itertools import chain, compress, islice, pairwise
from operator import attrgetter, eq, is_not, itemgetter, ne
from typing import Any

from app.labels import OwnNames, display_name
from app.library import ConversationRow, Library
from app.quality import harmful_warnings
from app.similar import NEAR_DUPLICATE, own_warnings
from ui.sort_rule import blanks_last

Mask = list[bool]
_NAMES_OF = attrgetter("emotional_arc_key", "emotional_arc", "training_topic_key",
                       "training_topic")
_CLIENT_OF = attrgetter("persona_name")
COUNT_PART = 20_000  # rows counted between two yields of the step-wise counts
PATCH_PART = 10_000  # changed rows redone in a list between two yields of ``patch_steps``
# Rows whose search text is made between two yields: ~8 ms here at load 2 (2,000 took
# 30-56 ms, and a step is never cut short: each timer turn of ``SearchTextAhead`` held the
# window that long after every re-read of 10,000 rows).
HAYSTACK_PART = 500
ORDER_PART = 20_000  # rows sorted or merged between two yields of ``order_steps``


class FileRule(Enum):
    """How the training-file filter reads: in no file, in file X, or not in file X."""

    IN_NONE = "in none"
    IN = "in"
    NOT_IN = "not in"


@dataclass(frozen=True)
class FileFilter:
    rule: FileRule
    name: str = ""

    def accepts(self, files: tuple[str, ...]) -> bool:
        if self.rule is FileRule.IN_NONE:
            return not files
        return (self.name in files) == (self.rule is FileRule.IN)

    def renamed(self, old: str, new: str) -> FileFilter:
        """This rule on file ``new`` if it was on ``old`` (the file was renamed): a rename
        must not widen what the filter shows."""
        return replace(self, name=new) if self.rule is not FileRule.IN_NONE \
            and self.name == old else self


@dataclass(frozen=True)
class Filter:
    """What the table shows; None means "any"."""

    batch_id: str | None = None
    arc: str | None = None
    topic: str | None = None
    archetype: str | None = None
    warnings: bool | None = None  # True: only with warnings; False: only without
    training_file: FileFilter | None = None
    # A second training-file rule, both must hold: "in A and not in B" (a second file made
    # from a first).
    and_file: FileFilter | None = None
    text: str = ""
    reviewed: bool | None = None  # True: only marked reviewed; False: only not marked
    near_duplicate: bool | None = None  # True: only those the library flagged as near
    # True: only those that train well: no warning that harms training (informational ones
    # allowed, as the add review's "flagged" line counts) and not a near-duplicate.
    clean: bool | None = None
    # Only these conversations (by id): a set another window named, such as the add
    # review's "Show in the table" (``ui.add_review``); the filter bar says so.
    only: frozenset[str] | None = None

    @property
    def is_empty(self) -> bool:
        return self == Filter()


# The facets a chooser offers, with the Filter field and the row key each one reads.
VALUE_FACETS: dict[str, Callable[[ConversationRow], Any]] = {
    "batch_id": attrgetter("batch_id"),
    "arc": lambda r: r.emotional_arc_key or "",
    "topic": lambda r: r.training_topic_key or "",
    "archetype": lambda r: r.persona_archetype or "",
    "warnings": lambda r: bool(own_warnings(r.warning_codes)),  # the record's own
    "reviewed": lambda r: r.reviewed_by is not None,
    "near_duplicate": lambda r: NEAR_DUPLICATE in r.warning_codes,  # the library's flag
    # Nothing the add review would flag: the near-duplicate flag is not informational, so
    # harmful_warnings keeps it.
    "clean": lambda r: not harmful_warnings(r.warning_codes),
}
# Facets one chooser offers together (the Quality chooser: warnings, near-duplicates): each
# is counted without the other's filter too, as a chooser's counts leave out its own choice.
SAME_CHOOSER: dict[str, str] = {"near_duplicate": "warnings", "clean": "warnings"}


def chooser_of(facet: str) -> str:
    return SAME_CHOOSER.get(facet, facet)
FILE_FACET = "training_file"
AND_FILE_FACET = "and_file"  # the second training-file chooser (masks cached as FILE_FACET's)
FILE_FACETS = (FILE_FACET, AND_FILE_FACET)
TEXT_FACET = "text"
ONLY_FACET = "only"


@dataclass(frozen=True)
class FacetCounts:
    """For one chooser: how many rows pass every other filter, and how they split."""

    total: int
    values: dict[Any, int]  # value → rows; for training files: name → rows in it
    in_none: int = 0  # training files only: rows in no file


@dataclass(frozen=True)
class ShownSets:
    """Values the table's columns show that no chooser offers, each once (the table fits
    its columns to them): made a part at a time with the choosers' values, since a set of
    100,000 client names took 15 ms, too long for one step of the window's thread."""

    clients: frozenset[str | None]
    file_combinations: frozenset[tuple[str, ...]]


def haystack(row: ConversationRow) -> str:
    """What the text search looks in: the visible columns' text and the codes behind them."""
    codes = (row.persona_archetype, row.emotional_arc_key, row.training_topic_key)
    return " ".join((
        row.batch_id, row.persona_name or "", row.emotional_arc or "",
        row.training_topic or "", *(c or "" for c in codes),
        *(display_name(c) for c in codes), row.quality_tier or "", row.created or "",
        row.imported_at, row.source_file, row.conversation_id, *row.training_files,
        *row.warning_codes)).casefold()


# A row's token facts (its count and budget) are its last fields: a row whose fields before
# them are unchanged changed in its counts alone.
TOKEN_FACTS_FROM = ConversationRow._fields.index("token_count")
assert ConversationRow._fields[TOKEN_FACTS_FROM:] == ("token_count", "token_budget")
_BEFORE_COUNTS = itemgetter(slice(TOKEN_FACTS_FROM))
_COUNTS = itemgetter(slice(TOKEN_FACTS_FROM, None))
# Rows a patch replaced that are compared at most (20 ms): a swap with a model reset and
# its repaint took 40 ms at load 3.
COMPARED_UPTO = 20_000


def counts_alone_changed(old: RowIndex, new: RowIndex) -> list[int] | None:
    """The positions whose token counts or budgets differ between two indexes, when
    nothing else does (same conversations in the same order); None when anything else
    changed. A patch of an index (``with_changes``, ``patched``) keeps its rows' positions
    (the same dict) and the rows it did not touch (the same objects), so only the rows it
    replaced are compared (about 1 µs a row), up to ``COMPARED_UPTO`` of them; a read of
    every row is a new set of rows. An empty index (the window's first) counts as changed:
    its first rows are new rows."""
    if not old.count or new.position is not old.position:
        return None  # new rows, or a full read (comparing 100,000 rows took 0.1 s)
    if new is old:
        return []
    old_rows, new_rows = old.rows, new.rows
    replaced = list(islice(compress(range(new.count), map(is_not, old_rows, new_rows)),
                           COMPARED_UPTO + 1))
    if len(replaced) > COMPARED_UPTO:
        return None  # a model reset costs less than comparing them
    before = [old_rows[n] for n in replaced]
    after = [new_rows[n] for n in replaced]
    if not all(map(eq, map(_BEFORE_COUNTS, before), map(_BEFORE_COUNTS, after))):
        return None
    return list(compress(replaced, map(ne, map(_COUNTS, before), map(_COUNTS, after))))


ValueOf = Callable[[int, ConversationRow], Any]  # a row's value, from its place and itself


def _of_row(key: Callable[[ConversationRow], Any]) -> ValueOf:
    return lambda _n, row: key(row)


def _listed_equal(values: list[Any], wanted: Any) -> ValueOf:
    return lambda n, _row: values[n] == wanted


# A search's terms: each word on its own, or a "quoted phrase" as one.
SEARCH_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def search_terms(text: str) -> tuple[str, ...]:
    """The terms a row's search text must all hold: "Jennifer shame" finds Jennifer's
    conversations whose arc is Shame → Acceptance (as one piece of text it found none);
    "\"student loan\"" keeps its words together."""
    return tuple(term for quoted, word in SEARCH_TERM.findall(text.casefold())
                 if (term := (quoted or word).strip()))


def holds_all(terms: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a search text holds every term (one term: a plain ``in``, the common case)."""
    if len(terms) == 1:
        term = terms[0]
        return lambda text: term in text
    return lambda text: all(term in text for term in terms)


def _text_in(haystacks: list[str], text: str) -> ValueOf:
    holds = holds_all(search_terms(text))
    return lambda n, _row: holds(haystacks[n])


def _files_accepted(files: list[tuple[str, ...]], rule: Any) -> ValueOf:
    return lambda n, _row: rule.accepts(files[n])


def _id_in(ids: frozenset[str]) -> ValueOf:
    return lambda _n, row: row.conversation_id in ids


def _patched_steps(values: list[Any], changed: Sequence[tuple[int, ConversationRow]],
                   value_of: ValueOf) -> Generator[None, None, list[Any]]:
    """``values`` (one per row) with the changed rows' values redone by ``value_of``, a part
    of the changed rows at a time (the same list when none of them differs): 50,000 rows
    changed by a background count took 30-40 ms a list in one go on an idle machine."""
    copy: list[Any] | None = None
    for first in range(0, len(changed), PATCH_PART):
        for n, row in changed[first:first + PATCH_PART]:
            value = value_of(n, row)
            if copy is None:
                if values[n] == value:
                    continue
                copy = list(values)
            copy[n] = value
        yield
    return values if copy is None else copy


def _equal_to(keys: list[Any], value: Any) -> Mask:
    return [key == value for key in keys]


class RowIndex:
    """Immutable rows plus per-facet keys; masks and sort keys are cached as they are asked
    for. Safe to build on one thread and read on another (nothing changes after that)."""

    MASK_CACHE = 24  # each mask is one list of n booleans

    def __init__(self, rows: list[ConversationRow]) -> None:
        self.rows: list[ConversationRow] = []
        self.count = 0
        self.keys: dict[str, list[Any]] = {facet: [] for facet in VALUE_FACETS}
        self.files: list[tuple[str, ...]] = []
        self.position: dict[int, int] = {}
        self.by_id: dict[str, int] = {}
        self.extend(rows)
        self._masks: dict[tuple[str, Any], Mask] = {}
        self._counts: tuple[Filter, dict[str, FacetCounts]] | None = None
        self._choosable: dict[str, list[str]] | None = None
        self._own_names: OwnNames | None = None  # read with ``_choosable``
        self._shown_sets: ShownSets | None = None  # read with ``_choosable``
        self._haystacks: list[str] | None = None
        self._sort_keys: dict[Any, list[Any]] = {}
        self._sort_key_fns: dict[Any, Callable[[ConversationRow], Any]] = {}
        self._order: tuple[Filter, Any, bool, list[int]] | None = None

    def extend(self, rows: list[ConversationRow]) -> None:
        """Add rows at the end: only while the index is being built, before anyone reads
        it (the window builds a large index a part at a time: see ``row_parts``)."""
        start = self.count
        self.rows.extend(rows)
        self.count += len(rows)
        for facet, key in VALUE_FACETS.items():
            self.keys[facet].extend(map(key, rows))
        self.files.extend(map(attrgetter("training_files"), rows))
        self.position.update((row.pk, n) for n, row in enumerate(rows, start))
        self.by_id.update((row.conversation_id, n) for n, row in enumerate(rows, start))

    def extend_sort_keys(self, column: Any, key: Callable[[ConversationRow], Any],
                         stop: int) -> bool:
        """Make ``column``'s sort keys up to row ``stop`` (a part at a time, so the GUI
        thread never spends long on them); True once every row has its key."""
        keys = self._sort_keys.setdefault(column, [])
        self._sort_key_fns[column] = key
        keys.extend(map(key, self.rows[len(keys) : stop]))
        return len(keys) >= self.count

    def with_changes(self, batches: dict[int, str] | None = None,
                     files: dict[int, tuple[str, ...]] | None = None,
                    tokens: dict[int, tuple[int, int]] | None = None) -> RowIndex:
        """A new index for the same conversations with new batches and/or training files
        (by pk); only changed rows are rebuilt and the other facets' keys are shared."""
        rows = self.rows
        changed: dict[int, ConversationRow] = {}
        if batches is not None:
            for n, row in enumerate(rows):
                batch = batches.get(row.pk, row.batch_id)
                if batch != row.batch_id:
                    changed[n] = row._replace(batch_id=batch)
        if files is not None:
            no_files: tuple[str, ...] = ()
            for n, row in enumerate(rows):
                held = files.get(row.pk, no_files)
                if held != row.training_files:
                    changed[n] = changed.get(n, row)._replace(training_files=held)
        if tokens is not None:
            for n, row in enumerate(rows):
                facts = tokens.get(row.pk, (row.token_count, row.token_budget))
                if facts != (row.token_count, row.token_budget):
                    changed[n] = changed.get(n, row)._replace(token_count=facts[0],
                                                              token_budget=facts[1])
        if not changed:
            return self
        new_rows = list(rows)
        for n, row in changed.items():
            new_rows[n] = row
        index = RowIndex.__new__(RowIndex)
        index.rows = new_rows
        index.count = self.count
        index.keys = dict(self.keys)
        if batches is not None:
            index.keys["batch_id"] = list(map(VALUE_FACETS["batch_id"], new_rows))
        index.files = (list(map(attrgetter("training_files"), new_rows)) if files is not None
                       else self.files)
        index.position, index.by_id = self.position, self.by_id  # same rows, same order
        index._masks = {key: mask for key, mask in self._masks.items()
                        if key[0] in ("arc", "topic", "archetype", "warnings",
                                      "near_duplicate", "clean")}
        index._haystacks = None
        index._sort_keys = {}
        index._sort_key_fns = {}
        index._order = None
        index._counts = None
        index._choosable = None
        index._own_names = None
        index._shown_sets = None
        return index

    def patched(self, changed: Mapping[int, ConversationRow]) -> RowIndex:
        """A new index in which the rows at these positions are replaced (same pk and id:
        a batch or training files changed). Lists nothing changed in are shared; masks and
        sort keys are kept, redone only at the changed positions, so no filter or sort needs
        a pass over every row afterwards. Counts and choosable values are made anew."""
        made: list[RowIndex] = []
        for _ in self.patch_steps(changed, made):
            pass
        return made[0]

    def patch_steps(self, changed: Mapping[int, ConversationRow],
                    made: list[RowIndex]) -> Iterator[None]:
        """``patched`` one list at a time (each is a copy of 100,000 entries in a large
        library: 20-40 ms in one go on a loaded GUI thread); the new index is appended to
        ``made`` at the end, and nobody else sees it before."""
        if not changed:
            made.append(self)
            return
        rows = list(self.rows)
        items = list(changed.items())
        for first in range(0, len(items), PATCH_PART):
            for n, row in items[first:first + PATCH_PART]:
                old = rows[n]
                if row.pk != old.pk or row.conversation_id != old.conversation_id:
                    raise ValueError(f"a patch replaces row {n} by another conversation")
                rows[n] = row
            yield
        index = RowIndex.__new__(RowIndex)
        index.rows, index.count = rows, self.count
        index.position, index.by_id = self.position, self.by_id
        yield
        index.keys = {}
        for facet, key in VALUE_FACETS.items():
            index.keys[facet] = yield from _patched_steps(self.keys[facet], items, _of_row(key))
        index.files = yield from _patched_steps(self.files, items,
                                                _of_row(attrgetter("training_files")))
        index._haystacks = (None if self._haystacks is None else (
            yield from _patched_steps(self._haystacks, items, _of_row(haystack))))
        index._masks = {}
        # Snapshots: between steps the window may still fill this index's caches (a filter
        # typed meanwhile), which must not change what is being walked here.
        for (facet, value), mask in list(self._masks.items()):
            if facet == TEXT_FACET:
                value_of = _text_in(index.haystacks(), value)
            elif facet == FILE_FACET:
                value_of = _files_accepted(index.files, value)
            elif facet == ONLY_FACET:
                value_of = _id_in(value)
            else:
                value_of = _listed_equal(index.keys[facet], value)
            index._masks[(facet, value)] = yield from _patched_steps(mask, items, value_of)
        index._sort_key_fns = dict(self._sort_key_fns)
        index._sort_keys = {}
        for column, keys in list(self._sort_keys.items()):
            fn = index._sort_key_fns.get(column)
            if fn is not None and len(keys) == self.count:
                index._sort_keys[column] = yield from _patched_steps(keys, items, _of_row(fn))
        index._counts = None
        index._choosable = None
        index._own_names = None
        index._shown_sets = None
        index._order = None
        made.append(index)

    def appended(self, new: list[ConversationRow]) -> RowIndex:
        """A new index with these rows added at the end (an import's, in pk order, each pk
        above every pk here, as a full read would place them). Every list is copied and
        extended, never rebuilt: masks, search text and sort keys already made get only the
        new rows' values, so no filter or sort needs a pass over every row afterwards.
        Counts and choosable values are made anew (in steps: ``ui.row_reader``)."""
        if not new:
            return self
        last = self.rows[-1].pk if self.rows else None
        if (last is not None and new[0].pk <= last) or any(
                a.pk >= b.pk for a, b in pairwise(new)):
            raise ValueError("appended rows must come after every row, in pk order")
        index = RowIndex.__new__(RowIndex)
        index.rows = self.rows + new
        index.count = self.count + len(new)
        index.keys = {facet: self.keys[facet] + list(map(key, new))
                      for facet, key in VALUE_FACETS.items()}
        index.files = self.files + list(map(attrgetter("training_files"), new))
        index.position = dict(self.position)
        index.position.update((row.pk, n) for n, row in enumerate(new, self.count))
        index.by_id = dict(self.by_id)
        index.by_id.update((row.conversation_id, n) for n, row in enumerate(new, self.count))
        index._haystacks = (None if self._haystacks is None
                            else self._haystacks + list(map(haystack, new)))
        index._masks = {}
        for (facet, value), mask in self._masks.items():
            if facet == TEXT_FACET:
                fresh = [value in h for h in map(haystack, new)]
            elif facet == FILE_FACET:
                fresh = [value.accepts(row.training_files) for row in new]
            elif facet == ONLY_FACET:
                fresh = [row.conversation_id in value for row in new]
            else:
                fresh = [key == value for key in map(VALUE_FACETS[facet], new)]
            index._masks[(facet, value)] = mask + fresh
        index._sort_key_fns = dict(self._sort_key_fns)
        index._sort_keys = {column: keys + list(map(self._sort_key_fns[column], new))
                            for column, keys in self._sort_keys.items()
                            if column in self._sort_key_fns and len(keys) == self.count}
        index._counts = None
        index._choosable = None
        index._own_names = None
        index._shown_sets = None
        index._order = None
        return index

    def contents(self) -> Iterator[list[Any] | dict[Any, Any]]:
        """Every container this index holds many objects in (``ui.slow_release`` frees
        them a part at a time instead of all at once when the index is let go). An index
        made by ``patched`` or ``with_changes`` shares some of them with its source."""
        yield self.rows
        yield from self.keys.values()
        yield self.files
        yield self.position
        yield self.by_id
        yield from self._sort_keys.values()
        if self._haystacks is not None:
            yield self._haystacks

    # --- masks -------------------------------------------------------------------------

    def haystacks(self) -> list[str]:
        """Each row's search text (``haystack``), made now if no step made it yet."""
        if self._haystacks is None:
            for _ in self.haystack_steps():
                pass
        assert self._haystacks is not None
        return self._haystacks

    def haystack_steps(self) -> Iterator[None]:
        """``haystacks`` a part at a time, before anyone searches: made at the first key
        typed in the search, they held the window 0.5-1.8 s at 100,000 rows."""
        if self._haystacks is not None:
            return
        made: list[str] = []
        for start in range(0, self.count, HAYSTACK_PART):
            made.extend(map(haystack, self.rows[start : start + HAYSTACK_PART]))
            yield
        if self._haystacks is None:  # (a search between two steps made them already)
            self._haystacks = made

    def _cached(self, key: tuple[str, Any], make: Callable[[], Mask]) -> Mask:
        mask = self._masks.get(key)
        if mask is None:
            if len(self._masks) >= self.MASK_CACHE:
                self._masks.pop(next(iter(self._masks)))
            mask = self._masks[key] = make()
        return mask

    def masks(self, wanted: Filter) -> dict[str, Mask]:
        """One mask per active facet of ``wanted`` (row n passes when mask[n])."""
        active: dict[str, Mask] = {}
        for facet in VALUE_FACETS:
            value = getattr(wanted, facet)
            if value is not None:
                active[facet] = self._cached((facet, value),
                                             partial(_equal_to, self.keys[facet], value))
        for facet in FILE_FACETS:
            rule = getattr(wanted, facet)
            if rule is not None:
                active[facet] = self._cached(
                    (FILE_FACET, rule), partial(self._mask_of_file_rule, rule))
        only = wanted.only
        if only is not None:
            active[ONLY_FACET] = self._cached((ONLY_FACET, only),
                                              partial(self._mask_of_ids, only))
        text = wanted.text.casefold()
        if search_terms(text):
            holds = holds_all(search_terms(text))
            active[TEXT_FACET] = self._cached(
                (TEXT_FACET, text), lambda: list(map(holds, self.haystacks())))
        return active

    def _mask_of_file_rule(self, rule: FileFilter) -> Mask:
        return list(map(rule.accepts, self.files))

    def _mask_of_ids(self, ids: frozenset[str]) -> Mask:
        """Rows whose conversation is one of ``ids`` (looked up, not a pass of every row
        against the set)."""
        mask = [False] * self.count
        for cid in ids:
            n = self.by_id.get(cid)
            if n is not None:
                mask[n] = True
        return mask

    @staticmethod
    def _combine(masks: Iterable[Mask]) -> Mask | None:
        chosen = list(masks)
        if not chosen:
            return None
        if len(chosen) == 1:
            return chosen[0]
        return list(map(all, zip(*chosen, strict=True)))

    def _indices(self, mask: Mask | None) -> list[int]:
        return list(range(self.count)) if mask is None else list(compress(range(self.count),
                                                                           mask))

    # --- what the model asks -------------------------------------------------------------

    def select(self, wanted: Filter) -> tuple[list[int], Mask | None]:
        """Indices of the rows ``wanted`` shows (in row order) and the mask behind them
        (None: every row)."""
        mask = self._combine(self.masks(wanted).values())
        return self._indices(mask), mask

    def counts(self, wanted: Filter, shown: list[int] | None = None) -> dict[str, FacetCounts]:
        """Per chooser facet, the split of the rows that pass every *other* filter (the last
        answer is kept: a worker works it out before the index reaches the GUI thread)."""
        if self._counts is None or self._counts[0] != wanted:
            for _facet in self.count_steps(wanted, shown):
                pass
        assert self._counts is not None
        return self._counts[1]

    def counts_known(self, wanted: Filter) -> bool:
        """Whether ``counts`` of ``wanted`` are kept already (nothing to count)."""
        return self._counts is not None and self._counts[0] == wanted

    def count_steps(self, wanted: Filter, shown: list[int] | None = None) -> Iterator[str]:
        """``counts`` a part at a time (yields the facet being counted after each part of
        ``COUNT_PART`` rows), so the GUI thread can count a large index between its own
        events."""
        active = self.masks(wanted)
        if shown is None:
            shown = self._indices(self._combine(active.values()))
            yield ""
        result: dict[str, FacetCounts] = {}
        for facet in (*VALUE_FACETS, *FILE_FACETS):
            if facet == AND_FILE_FACET and not any(f in active for f in FILE_FACETS):
                result[facet] = result[FILE_FACET]  # both count the rows shown
                continue
            chooser = chooser_of(facet)
            if any(chooser_of(f) == chooser for f in active):
                others = self._combine(m for f, m in active.items()
                                       if chooser_of(f) != chooser)
                rows = self._indices(others)
                yield facet
            else:
                rows = shown
            if facet in FILE_FACETS:
                files = self.files
                in_files: Counter[str] = Counter()
                in_none = 0
                for start in range(0, len(rows), COUNT_PART):
                    picked = list(map(files.__getitem__, rows[start : start + COUNT_PART]))
                    in_files.update(chain.from_iterable(picked))
                    in_none += picked.count(())
                    yield facet
                result[facet] = FacetCounts(len(rows), dict(in_files), in_none=in_none)
            else:
                keys = self.keys[facet]
                counted: Counter[Any] = Counter()
                for start in range(0, len(rows), COUNT_PART):
                    counted.update(map(keys.__getitem__, rows[start : start + COUNT_PART]))
                    yield facet
                result[facet] = FacetCounts(len(rows), dict(counted))
        self._counts = (wanted, result)

    def choosable(self) -> dict[str, list[str]]:
        """Every value each chooser can offer, whatever the filters say; training files
        under ``FILE_FACET``."""
        if self._choosable is None:
            for _facet in self.choosable_steps():
                pass
        assert self._choosable is not None
        return self._choosable

    def choosable_steps(self) -> Iterator[str]:
        """``choosable`` a part at a time (see ``count_steps``)."""
        values: dict[str, list[str]] = {}
        for facet in ("batch_id", "arc", "topic", "archetype"):
            keys = self.keys[facet]
            found: set[str] = set()
            for start in range(0, self.count, COUNT_PART):
                found.update(keys[start : start + COUNT_PART])
                yield facet
            values[facet] = sorted(found)
        names: set[str] = set()
        combinations: set[tuple[str, ...]] = set()
        for start in range(0, self.count, COUNT_PART):
            part = set(self.files[start : start + COUNT_PART])
            combinations.update(part)
            names.update(chain.from_iterable(part))
            yield FILE_FACET
        values[FILE_FACET] = sorted(names)
        clients: set[str | None] = set()
        for start in range(0, self.count, COUNT_PART):
            clients.update(map(_CLIENT_OF, self.rows[start : start + COUNT_PART]))
            yield FILE_FACET
        self._shown_sets = ShownSets(frozenset(clients), frozenset(combinations))
        # One of each (arc, topic) naming, in order, a part at a time: gathered from every
        # row in one go it took 20-40 ms of the GUI thread at 100,000 rows.
        own_names: dict[tuple[str | None, str | None, str | None, str | None], None] = {}
        for start in range(0, self.count, COUNT_PART):
            own_names.update(dict.fromkeys(map(_NAMES_OF, self.rows[start : start + COUNT_PART])))
            yield FILE_FACET
        self._own_names = OwnNames.gather(own_names)
        self._choosable = values
        yield FILE_FACET

    def shown_sets(self) -> ShownSets:
        """The different client names and training-file combinations the rows hold."""
        self.choosable()
        assert self._shown_sets is not None
        return self._shown_sets

    def own_names(self) -> OwnNames:
        """The names the conversations' files give their arc and topic codes."""
        self.choosable()
        assert self._own_names is not None
        return self._own_names

    def hidden(self, positions: Iterable[int], mask: Mask | None) -> int:
        """How many of these row positions the mask leaves out."""
        if mask is None:
            return 0
        return sum(1 for n in positions if not mask[n])

    def order_steps(self, wanted: Filter, shown: list[int], column: Any,
                    descending: bool) -> Iterator[None]:
        """Sort ``shown`` (the rows ``wanted`` shows, in row order) by ``column``'s sort
        keys (made before) a part at a time: parts sorted one per step, then merged a part
        per step. ``list.sort`` of the whole would hold the GUI thread 0.1-0.2 s at
        100,000 rows. The order equals that sort's (both are stable: ties stay in row
        order); ``take_order`` hands it over."""
        get = self._sort_keys[column].__getitem__
        runs = []
        for start in range(0, len(shown), ORDER_PART):
            run = shown[start : start + ORDER_PART]
            run.sort(key=get, reverse=descending)
            runs.append(run)
            yield
        if len(runs) == 1:
            ordered = runs[0]
        else:
            merged = heapq.merge(*runs, key=get, reverse=descending)
            ordered = []
            while True:
                part = list(islice(merged, ORDER_PART))
                ordered += part
                if len(part) < ORDER_PART:
                    break
                yield
        ordered = blanks_last(ordered, self._sort_keys[column], descending)
        self._order = (wanted, column, descending, ordered)

    def take_order(self, wanted: Filter, column: Any, descending: bool) -> list[int] | None:
        """The order ``order_steps`` made for this filter and sort, once (the caller owns
        the list from then on); None when it made none for them."""
        made, self._order = self._order, None
        if made is None or made[:3] != (wanted, column, descending):
            return None
        return made[3]

    def sort_keys(self, column: Any, key: Callable[[ConversationRow], Any]) -> list[Any]:
        """One sort key per row for ``column``, made on first use."""
        keys = self._sort_keys.get(column)
        if keys is None:
            keys = self._sort_keys[column] = list(map(key, self.rows))
            self._sort_key_fns[column] = key
        return keys


PART_ROWS = 1000  # rows per part a child sends: unpacking one takes a few milliseconds


def row_parts(library: Library) -> Iterator[bytes]:
    """A child process's job (``app.job_process``): every summary row, ``PART_ROWS`` at a
    time, as pickled plain tuples (cheaper to unpickle than named tuples)."""
    for part in library.summary_parts(size=PART_ROWS):
        yield pickle.dumps([tuple(row) for row in part], pickle.HIGHEST_PROTOCOL)


def rows_of_part(part: bytes) -> list[ConversationRow]:
    """The rows of one part ``row_parts`` made."""
    return list(map(ConversationRow._make, pickle.loads(part)))
