"""The Conversations page's re-reads: it listens to the library's changes and reads what
changed in the background (a patch, a worker thread, or a child for a large library), so
only the swap of the new rows into the model happens on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal

from app.library import Library
from ui import row_reader
from ui.changes import LibraryChanges
from ui.conversations_model import Column, ConversationsModel, sort_key
from ui.row_index import Filter, RowIndex
from ui.row_patch import BatchPatch, BatchRenamed, ConversationsMoved, IndexPatch
from ui.row_reader import ChildRowRead
from ui.search_text import SearchTextAhead
from ui.tasks import Task, start

ROWS, BATCHES, FILES, TOKENS = "rows", "batches", "files", "tokens"  # what a reload re-reads
PATCH = "patch"  # renames and moves that said what they changed (``RowLoading._patches``)
# Changes a read that just ended leaves to a patch of its rows, not to a read of every row.
PATCHED_AFTER = frozenset({FILES, TOKENS})
STORED_PATCH_UPTO = 5_000  # stored rows read on a worker thread; more are read in a child


def followed(wanted: Filter, batch: tuple[str, str] | None,
             file: tuple[str, str] | None) -> Filter:
    """``wanted`` on the new names of a renamed batch and a renamed training file (old,
    new): dropped as unknown, the filter would silently show, and Check all shown check,
    every conversation."""
    if batch is not None and wanted.batch_id == batch[0]:
        wanted = replace(wanted, batch_id=batch[1])
    if file is not None and wanted.training_file is not None:
        wanted = replace(wanted, training_file=wanted.training_file.renamed(*file))
    if file is not None and wanted.and_file is not None:
        wanted = replace(wanted, and_file=wanted.and_file.renamed(*file))
    return wanted


Rename = tuple[str, str]  # (old, new)


class FollowedRename:
    """The latest rename of a batch, or of a training file, that a filter on the old name
    follows: announced, or still being written. Rows read after the write reach the page
    before its announcement can, and already lack the old name; rows read before it may
    be handed over after the announcement, and know only the old name."""

    def __init__(self) -> None:
        self.announced: Rename | None = None
        self.writing: Rename | None = None

    def expect(self, rename: Rename | None) -> None:
        """A rename is being written (None: it was refused, nothing to follow)."""
        self.writing = rename

    def announce(self, old: str, new: str) -> None:
        self.announced, self.writing = (old, new), None

    @property
    def current(self) -> Rename | None:
        return self.announced or self.writing

    def for_rows(self, read_after: Callable[[Rename], bool]) -> Rename | None:
        """The rename the rows just read follow: None when ``read_after`` says they were
        read before it (the announced rename waits for the read after them); otherwise an
        announced rename is done with."""
        rename = self.current
        if rename is not None and not read_after(rename):
            return None
        self.announced = None
        return rename


class RowLoading(QObject):
    """Reads what changed into a new RowIndex for ``loaded``; requests that come while a
    read runs make one read after it."""

    loaded = Signal(object)  # RowIndex: the rows to swap in
    failed = Signal(str)  # why a read failed
    indexed = Signal(int)  # rows a child's read has indexed so far

    def __init__(self, library: Library, model: ConversationsModel, changes: LibraryChanges,
                 wanted: Callable[[], Filter], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.model = model
        self._wanted = wanted
        self._loader: Task | ChildRowRead | IndexPatch | None = None
        # Renames and moves said exactly what they changed: the next batches_changed is
        # applied as a patch instead of a read (``ui.row_patch``).
        self._told: list[BatchPatch] = []
        self._patches: list[BatchPatch] = []
        # An import said which conversations it stored: the next conversations_changed and
        # batches_changed read just those rows (``ui.row_patch.read_stored``).
        self._told_stored: list[str] | None = None
        self._stored: list[str] = []
        self._told_marked: list[str] | None = None  # a review's rows, said before it
        self._loading_stored: list[str] = []
        self._reload_wanted = False
        self._stopped = False  # the window moved to another library: read this one no more
        self._pending: set[str] = set()  # what changed since the last read: rows, batches, files
        self._loading_what: set[str] = set()
        self._loading_patches: list[BatchPatch] = []
        # A batch or a training file renamed, or its rename being written: the filter on
        # its old name follows it to the new one (``followed``).
        self.batch_rename = FollowedRename()
        self.file_rename = FollowedRename()
        # (busy while a read takes the GUI thread's turns; not while a read only waits)
        self.search_text = SearchTextAhead(lambda: self.model.index_,
                                           lambda: self._loader is not None, self)
        self._counts_complete = False  # the background count ended since the last read
        self._reload_timer = QTimer(self, singleShot=True, interval=0)
        self._reload_timer.timeout.connect(self._start_reload)
        # Every kind of change shows in the table; each reads only what it changed.
        changes.conversations_stored.connect(self._conversations_stored)
        changes.conversations_marked.connect(self._conversations_marked)
        changes.conversations_changed.connect(self._conversations_changed)
        changes.batches_changed.connect(self._batches_changed)
        changes.training_files_changed.connect(lambda: self.request_reload(FILES))
        changes.batch_renamed.connect(self._batch_renamed)
        changes.training_file_renamed.connect(self.file_rename.announce)
        changes.conversations_moved.connect(self._conversations_moved)
        changes.tokens_changed.connect(lambda: self.request_reload(TOKENS))

    def request_reload(self, what: str = ROWS) -> None:
        """Re-read in the background what changed (ROWS: every summary row; BATCHES: each
        row's batch; FILES: each row's training files and token budget; TOKENS: each row's
        token count and budget); requests in a row make one read."""
        if self._stopped:
            return
        self._pending.add(what)
        if self._loader is not None:
            self._reload_wanted = True  # read again when the running read ends
            return
        self._start_reload_timer()

    def tokens_complete(self) -> None:
        """The background count has finished: its last counts are read now, not after the
        pause that gathers a running count's counts (the table showed them up to 10 s after
        the count had ended)."""
        # (only for a read owed or under way: else the next count's first counts would
        # be read at once too)
        self._counts_complete = self._loader is not None or self._reload_timer.isActive()
        if self._reload_timer.isActive() and self._pending == {TOKENS}:
            self._reload_timer.start(0)

    def _start_reload_timer(self) -> None:
        """Read at once, but in a large library let token counts gather for a while: a
        background count announces new counts every few seconds, and each patch of a large
        library compares every row's count on a worker thread."""
        if (self._pending == {TOKENS} and not self._counts_complete
                and self.model.index_.count >= row_reader.READ_IN_CHILD_FROM):
            if not self._reload_timer.isActive():
                self._reload_timer.start(row_reader.TOKENS_PAUSE_MS)
            return
        self._reload_timer.start(0)

    def stop(self, timeout: float = 30.0) -> None:
        """Read the library no more (it is about to close): no new read starts, and a
        running one is cancelled and waited for, so the library never closes under it (a
        read on a closed library would open a new connection and leave it open). What such
        a read hands over after this is dropped: swapped in, it would set off reads of the
        closed library (the samples banner's count on the page's ``reloaded``)."""
        self._stopped = True
        self.search_text.stop()
        self._reload_timer.stop()
        self._reload_wanted = False
        self._pending = set()
        loader = self._loader
        if loader is not None:
            loader.cancel()
            task = loader if isinstance(loader, Task) else loader.task
            if task is not None:
                task.ended.wait(timeout)

    @property
    def loading(self) -> bool:
        return self._loader is not None or self._reload_timer.isActive()

    def _read_in_child(self) -> bool:
        """A library of ``THREAD_READS_BELOW`` rows or more is read in a child process
        (``ui.row_reader``), a large one always."""
        least = min(row_reader.READ_IN_CHILD_FROM, row_reader.THREAD_READS_BELOW)
        if self.model.index_.count >= least:
            return True
        try:
            return self.library.count() >= least
        except Exception:  # the read itself reports what is wrong
            return False

    def _start_reload(self) -> None:
        self._counts_complete = False  # (this read has the last counts)
        library = self.library
        wanted = followed(self._wanted(), self.batch_rename.current,
                          self.file_rename.current)  # as the swap
        sort_column = self.model.sort_column
        what, self._pending = self._pending, set()
        patches, self._patches = self._patches, []
        stored, self._stored = self._stored, []
        base = self.model.index_
        large = self._read_in_child()
        if large and what <= {PATCH, FILES, TOKENS} and len(stored) <= STORED_PATCH_UPTO:
            patch = IndexPatch(  # no full read: patch what changed
                library, base, patches, FILES in what, wanted, sort_column,
                sort_key(Column(sort_column)) if sort_column > Column.CHECK else None, self,
                descending=self.model.sort_descending, tokens=TOKENS in what, stored=stored)
            self._loading_patches = patches  # put back if a newer read overtakes it
            self._loading_stored = stored
            self._run(patch, what)
            return
        self._loading_patches = []
        self._loading_stored = []
        if stored:  # a read of every row takes in the stored ones
            what = (what - {PATCH}) | {ROWS}
        if PATCH in what:  # a read takes in whatever the patches would have changed
            what = (what - {PATCH}) | {BATCHES}
        if large:
            reader = row_reader.ChildRowRead(
                library, wanted, sort_column,
                sort_key(Column(sort_column)) if sort_column > Column.CHECK else None, self,
                descending=self.model.sort_descending)
            reader.indexed.connect(self.indexed)  # the page's reading bar
            self._run(reader, what)
            return

        def read(library: Library) -> RowIndex:
            if ROWS in what or not what:
                return RowIndex(library.summaries())
            return base.with_changes(
                batches=library.batch_assignments() if BATCHES in what else None,
                files=library.membership() if FILES in what else None,
                tokens=library.token_facts() if what & {FILES, TOKENS} else None)

        def work(_progress: object, _cancelled: object) -> RowIndex:
            """Read and index what changed, and do now what the swap would otherwise do on
            the GUI thread: the masks of the current filter, its counts, the sort keys."""
            index = read(library)
            shown, _mask = index.select(wanted)
            index.counts(wanted, shown)
            index.choosable()
            if sort_column > Column.CHECK:  # the check column's order is never cached
                index.sort_keys(sort_column, sort_key(Column(sort_column)))
            return index

        task = Task(work)
        task.signals.succeeded.connect(self._loaded)
        task.signals.failed.connect(self._load_failed)
        task.signals.done.connect(self._load_done)
        self._loader = task
        self._loading_what = what
        self._reload_wanted = False
        start(task)

    def _run(self, loader: IndexPatch | ChildRowRead, what: set[str]) -> None:
        """Start a patch or a child's read of ``what``: its rows go to ``_loaded``, and it
        deletes itself once done."""
        loader.finished.connect(self._loaded)
        loader.failed.connect(self._load_failed)
        loader.done.connect(self._load_done)
        loader.done.connect(loader.deleteLater)
        self._loader = loader
        self._loading_what = what
        self._reload_wanted = False
        loader.start()

    def _loaded(self, index: RowIndex) -> None:
        if self._stopped:  # read before the stop, handed over after: the library is closing
            return
        if self._reload_wanted and not self._pending <= PATCHED_AFTER:
            # a newer read of every row is coming: it reads this one's changes too
            self._pending |= self._loading_what
            self._patches[:0] = self._loading_patches
            self._stored[:0] = self._loading_stored
        else:
            # What changed meanwhile (new token counts, training files) is patched onto
            # this read next. Dropped and merged into the next read instead, a read of
            # every row was overtaken by the background count's every batch of counts, and
            # read again and again, for as long as the count ran (100,000 rows: ~50 s of
            # stutters on an idle machine, the table not updated meanwhile).
            self.loaded.emit(index)

    def _load_failed(self, message: str) -> None:
        if not self._stopped:
            self.failed.emit(message)

    def _load_done(self) -> None:
        self._loader = None
        if self._reload_wanted:
            self._start_reload_timer()
        if not self._stopped:  # (between reads too: token patches wait seconds apart)
            self.search_text.follow()

    def _conversations_stored(self, conversation_ids: list[str]) -> None:
        self._told_stored = list(conversation_ids)

    def _conversations_marked(self, conversation_ids: list[str]) -> None:
        self._told_marked = list(conversation_ids)

    def _conversations_changed(self) -> None:
        """An import said just before which rows it stored, a review which rows it marked:
        read those rows. Anything else that changed conversations (a removal) is read in
        full."""
        marked, self._told_marked = self._told_marked, None
        if marked is not None:
            self._stored += marked  # (read as an import's stored rows are: in their place)
            self.request_reload(PATCH)
            return
        if self._told_stored is None:
            self.request_reload(ROWS)
            return
        self._stored += self._told_stored
        self.request_reload(PATCH)

    def expect_batch_rename(self, rename: Rename | None) -> None:
        """A batch rename (old, new) is being written, or None: it was refused. A read
        that ends between the write and its announcement already has the new name."""
        self.batch_rename.expect(rename)

    def expect_file_rename(self, rename: Rename | None) -> None:
        """A training-file rename (old, new) is being written, or None: it was refused
        (or cancelled). A read that ends between the write and its announcement already
        has the new name."""
        self.file_rename.expect(rename)

    def _batch_renamed(self, old: str, new: str) -> None:
        self.batch_rename.announce(old, new)
        self._told.append(BatchRenamed(old, new))

    def _conversations_moved(self, conversation_ids: list[str], batch: str) -> None:
        self._told.append(ConversationsMoved(tuple(conversation_ids), batch))

    def _batches_changed(self) -> None:
        """A rename or a move announced itself just before: patch the rows it names.
        Anything else that changed batches is read."""
        told, self._told = self._told, []
        if self._told_stored is not None:  # the import's batches: its rows carry them
            self._told_stored = None
            self._patches += told
            self.request_reload(PATCH)
            return
        if told:
            self._patches += told
            self.request_reload(PATCH)
        else:
            self.request_reload(BATCHES)
