"""One signal per kind of change to the library, shared by every page and controller.

Whoever changes the library (an import, a build, a batch rename, a file deleted) says what
changed here, once; every view that shows that kind of data listens and reloads itself.
No action refreshes a hand-picked list of widgets, and a new view only has to connect.
The object is handed to pages and controllers; it is not hung on the application.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class LibraryChanges(QObject):
    """What changed in the library; emitted on the GUI thread after the change is stored."""

    conversations_changed = Signal()  # added, removed or replaced conversations
    training_files_changed = Signal()  # a training file was built, renamed, deleted
    # the name of a training file just built or added to, said just before
    # training_files_changed: the files page shows that file when it re-reads its list
    # (instead of re-reading the details of the file it showed, then this one's)
    training_file_built = Signal(str)
    # old, new: a training file renamed, said just before training_files_changed, so a
    # filter on the old name follows the file instead of being dropped as unknown
    training_file_renamed = Signal(str, str)
    batches_changed = Signal()  # batches created, renamed, merged or re-assigned
    batch_renamed = Signal(str, str)  # old, new: views showing the old batch follow it
    # (conversation ids, new batch), said before batches_changed: views may patch just them
    conversations_moved = Signal(object, str)
    # conversation ids an import stored (new or replaced), said just before
    # conversations_changed and batches_changed: views may read just these rows
    conversations_stored = Signal(object)
    # conversation ids whose review mark changed, said just before conversations_changed:
    # views may read just these rows (a read of every row took 14 s at 100,000)
    conversations_marked = Signal(object)
    tokens_changed = Signal()  # token counts filled in (a background count, a new tokenizer)
    tokenizer_changed = Signal()  # another member changed the library's tokenizer or template

    def everything(self) -> None:
        """Announce that anything may have changed (a library opened, a script ran)."""
        self.conversations_changed.emit()
        self.batches_changed.emit()
        self.training_files_changed.emit()
