"""Batch renames and moves as jobs for a child process (``app.job_process``).

The write itself is quick on a small library, but in a 100,000-conversation library a
rename re-assigns thousands of rows and its commit may checkpoint the write-ahead log: on
the window's thread that froze it for 0.2-0.6 s (docs/PERFORMANCE.md). Each job also says
which training files hold the conversations it changed (they record each conversation's
batch, so they are rebuilt next), and how to undo it (``app.batch_undo``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.batch_undo import MoveUndo, RenameUndo
from app.library import Library, clean_batch_id
from app.trainingfiles import files_holding


def rename_batch(library: Library, old: str, new: str,
                 progress: Callable[[int, int, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> tuple[list[str], RenameUndo]:
    """Rename ``old`` to ``new`` (an existing ``new`` merges the two); the names of the
    training files holding its conversations, and its undo."""
    stale = files_holding(library, batch_id=old)
    merged, renamed, created_at = library.rename_batch(old, new)
    return stale, RenameUndo(old, clean_batch_id(new), tuple(renamed), merged, created_at)


def move_conversations(library: Library, conversation_ids: Sequence[str], batch: str,
                       progress: Callable[[int, int, str], None] | None = None,
                       cancelled: Callable[[], bool] | None = None
                       ) -> tuple[int, list[str], MoveUndo]:
    """Give these conversations ``batch``; how many moved, the names of the training
    files holding them, and its undo."""
    stale = files_holding(library, conversation_ids=conversation_ids)
    created, before = library.move_recorded(conversation_ids, batch)
    return len(before), stale, MoveUndo(clean_batch_id(batch), created, tuple(before))
