"""Bring a large table up to date after an import, a batch rename, a move, a training-file
change or new token counts by patching the rows that changed, instead of re-reading every row.

In a 100,000-conversation library a re-read costs the GUI thread about a second of work in
slices (unpacking and indexing every row) and then the old rows' release; a rename touches
the rows of one batch, a move the rows moved, and a rebuilt training file the rows of its
members. Whoever imports, renames or moves says exactly what it did (``LibraryChanges``):
an import's rows alone are read on a worker thread and appended (or put in place of the
rows they replaced); what a
training-file change did is read on a worker thread from the membership alone (the rows in
any file, not the library); which rows a background token count changed is found on a
worker thread from each row's count and budget (two numbers a row, not its summary). The
patch is applied and the swap prepared on the GUI thread a few milliseconds at a time
(``ui.row_reader.prepare_steps``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import eq
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.library import ConversationRow, Library
from app.token_lines import DEFAULT_MAX_SEQ_LEN
from ui.row_index import Filter, RowIndex
from ui.row_reader import prepare_steps, run_a_slice
from ui.tasks import Task, start

Changed = dict[int, ConversationRow]  # row position → the row as it is now
PART = 2_000  # rows compared (and changed rows made) in one step on the GUI thread


@dataclass(frozen=True)
class BatchRenamed:
    old: str
    new: str


@dataclass(frozen=True)
class ConversationsMoved:
    conversation_ids: tuple[str, ...]
    batch: str


BatchPatch = BatchRenamed | ConversationsMoved


def batch_changes(index: RowIndex, patch: BatchPatch) -> Changed:
    """The rows a rename or a move gave a new batch."""
    changed: Changed = {}
    for _ in batch_change_steps(index, patch, changed):
        pass
    return changed


def batch_change_steps(index: RowIndex, patch: BatchPatch, changed: Changed) -> Iterator[None]:
    """``batch_changes`` a part at a time, into ``changed`` (a renamed batch may hold
    thousands of rows: 0.03-0.05 s in one go on a loaded GUI thread)."""
    rows = index.rows
    if isinstance(patch, BatchRenamed):  # the batch's rows found at C speed (100,000 keys)
        found = list(compress(range(index.count),
                              map(eq, index.keys["batch_id"], repeat(patch.old))))
        batch = patch.new
    else:
        by_id = index.by_id
        found = [by_id[c] for c in patch.conversation_ids if c in by_id]
        batch = patch.batch
    yield
    for first in range(0, len(found), PART):
        for n in found[first:first + PART]:
            if rows[n].batch_id != batch:
                changed[n] = rows[n]._replace(batch_id=batch)
        yield


def membership_changes(index: RowIndex, files: Mapping[int, tuple[str, ...]],
                       budgets: Mapping[int, int]) -> Changed:
    """The rows whose training files or token budget differ from the library's membership
    (``Library.membership`` and ``token_budgets``, as ``Library.summary_parts`` reads
    them). Only rows in a file, before or now, can differ: a row in no file has no files
    and the default budget."""
    changed: Changed = {}
    for _ in membership_change_steps(index, files, budgets, changed):
        pass
    return changed




def membership_change_steps(index: RowIndex, files: Mapping[int, tuple[str, ...]],
                            budgets: Mapping[int, int], changed: Changed) -> Iterator[None]:
    """``membership_changes`` a part at a time, into ``changed``: the rows of a
    10,000-member file and its neighbours compared in one go took 0.05-0.15 s of the GUI
    thread after every build in a large library."""
    position = index.position
    candidates = set(compress(range(index.count), index.files))
    candidates.update(position[pk] for pk in files if pk in position)
    candidates.update(position[pk] for pk in budgets if pk in position)
    yield
    rows = index.rows
    no_files: tuple[str, ...] = ()
    ordered = sorted(candidates)
    for first in range(0, len(ordered), PART):
        for n in ordered[first:first + PART]:
            row = rows[n]
            held = files.get(row.pk, no_files)
            budget = budgets.get(row.pk, DEFAULT_MAX_SEQ_LEN)
            if held != row.training_files or budget != row.token_budget:
                changed[n] = row._replace(training_files=held, token_budget=budget)
        yield


Membership = tuple[dict[int, tuple[str, ...]], dict[int, int]]
TokenFacts = dict[int, tuple[int, int]]  # row position → (token count, token budget)


def read_membership(library: Library) -> Membership:
    """On a worker thread: which files each member is in, and its token budget."""
    return library.membership(), library.token_budgets()


Stored = tuple[Changed, list[ConversationRow]] | RowIndex


def read_stored(library: Library, base: RowIndex, conversation_ids: Sequence[str]) -> Stored:
    """On a worker thread: the rows an import stored, as changes to the rows ``base`` has
    (a replaced conversation keeps its pk and place) and rows to append (new pks come
    after every stored one, as a full read orders them). Should the library say otherwise
    (a conversation removed and stored again meanwhile), the answer is a full read."""
    rows = library.summaries_of(conversation_ids)
    by_id, held = base.by_id, base.rows
    replaced = {by_id[row.conversation_id]: row for row in rows if row.conversation_id in by_id}
    new = [row for row in rows if row.conversation_id not in by_id]
    last = held[-1].pk if held else -1
    if any(held[n].pk != row.pk for n, row in replaced.items()) or any(
            row.pk <= last for row in new):
        return RowIndex(library.summaries())
    return replaced, new


Found = tuple[Membership | None, TokenFacts | None, Stored | None]


def read_token_changes(library: Library, base: RowIndex) -> TokenFacts:
    """On a worker thread: the rows of ``base`` whose token count or budget differ from the
    library's now (``base`` never changes, so reading it here is safe)."""
    rows, position = base.rows, base.position
    changed: TokenFacts = {}
    for pk, facts in library.token_facts().items():
        n = position.get(pk)
        if n is not None and (rows[n].token_count, rows[n].token_budget) != facts:
            changed[n] = facts
    return changed


def token_change_steps(index: RowIndex, facts: TokenFacts, changed: Changed) -> Iterator[None]:
    """The rows with their new token count and budget, into ``changed``, a part at a time:
    a background count's batch may change 50,000 rows, which took 0.2 s of the GUI thread in
    one go on an idle machine."""
    rows = index.rows
    counts = list(facts.items())
    for first in range(0, len(counts), PART):
        for n, (count, budget) in counts[first:first + PART]:
            changed[n] = rows[n]._replace(token_count=count, token_budget=budget)
        yield


class IndexPatch(QObject):
    """One patch of the table's index; ``finished`` carries the new RowIndex, prepared as
    the swap wants it (as ``ui.row_reader.ChildRowRead`` prepares a read)."""

    finished = Signal(object)  # RowIndex
    failed = Signal(str)
    done = Signal()  # after finished or failed

    def __init__(self, library: Library, base: RowIndex, batches: Sequence[BatchPatch],
                 files: bool, wanted: Filter, sort_column: int,
                 sort_key: Callable[[ConversationRow], Any] | None,
                 parent: QObject | None = None, descending: bool = False,
                 tokens: bool = False, stored: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self._library = library
        self._base = base
        self._stored_ids = tuple(stored)
        self._stored: Stored | None = None
        self._batches = list(batches)
        self._files = files
        self._tokens = tokens
        self._wanted = wanted
        self._sort = (sort_column, sort_key, descending)
        self._membership: Membership | None = None
        self._token_facts: TokenFacts | None = None
        self._steps: Iterator[None] | None = None
        self._result: RowIndex | None = None
        self._task: Task | None = None
        self._cancelled = False
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._work)

    def start(self) -> None:
        if not (self._files or self._tokens or self._stored_ids):
            self._timer.start()
            return
        library, base, files, tokens = self._library, self._base, self._files, self._tokens
        stored = self._stored_ids

        def read(_progress: object, _cancelled: object) -> Found:
            return (read_membership(library) if files else None,
                    read_token_changes(library, base) if tokens else None,
                    read_stored(library, base, stored) if stored else None)

        self._task = Task(read)
        self._task.signals.succeeded.connect(self._read)
        self._task.signals.failed.connect(self._failed)
        start(self._task)

    @property
    def task(self) -> Task | None:
        """Its read of the library on a worker thread (None: it needs none, or not yet):
        whoever closes the library waits for it to end."""
        return self._task

    def cancel(self) -> None:
        """Stop (the window moves to another library): ``done`` follows, ``finished``
        never does."""
        if self._cancelled:
            return
        self._cancelled = True
        self._timer.stop()
        self._steps = None
        if self._task is None:
            QTimer.singleShot(0, self.done.emit)
        else:
            self._task.cancel()  # its answer, when it comes, ends this patch

    def _read(self, found: Found) -> None:
        if self._cancelled:
            self.done.emit()
            return
        self._membership, self._token_facts, self._stored = found
        self._timer.start()

    def _failed(self, message: str) -> None:
        self._timer.stop()
        if not self._cancelled:
            self.failed.emit(message)
        self.done.emit()

    def _work(self) -> None:
        if self._steps is None:
            self._steps = self._patch()
        if run_a_slice(self._steps):
            self._timer.stop()
            index, self._result = self._result, None
            self._steps = None
            self.finished.emit(index)
            self.done.emit()

    @staticmethod
    def _patched(index: RowIndex, changed: Changed) -> Generator[None, None, RowIndex]:
        """``index.patched(changed)`` a list at a time (``RowIndex.patch_steps``)."""
        made: list[RowIndex] = []
        for _ in index.patch_steps(changed, made):
            # Each step made a list of 100,000 entries that a young collection would walk
            # entry by entry while it waits for the next step: out of its way at once (see
            # ``spare_the_collector``).
            gc.freeze()
            yield
        return made[0]

    def _patch(self) -> Iterator[None]:
        index = self._base
        if isinstance(self._stored, RowIndex):  # read in full (see read_stored)
            index = self._stored
        elif self._stored is not None:
            replaced, new = self._stored
            index = yield from self._patched(index, replaced)
            index = index.appended(new)
            gc.freeze()
            yield
        self._stored = None
        for patch in self._batches:
            changed: Changed = {}
            yield from batch_change_steps(index, patch, changed)
            index = yield from self._patched(index, changed)
            gc.freeze()  # its new lists, 100,000 entries each: see spare_the_collector
            yield
        if self._membership is not None:
            files, budgets = self._membership
            in_files: Changed = {}
            yield from membership_change_steps(index, files, budgets, in_files)
            index = yield from self._patched(index, in_files)
            gc.freeze()
            yield
        if self._token_facts:
            counted: Changed = {}
            yield from token_change_steps(index, self._token_facts, counted)
            index = yield from self._patched(index, counted)
            gc.freeze()
            yield
        column, key, descending = self._sort
        yield from prepare_steps(index, self._wanted, column, key, descending)
        self._result = index
