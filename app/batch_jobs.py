"""Batch renames and moves as jobs for a child process (``app.job_process``).

The write itself is quick on a small library, but in a 100,000-conversation library a
rename re-assigns thousands of rows and its commit may checkpoint the write-ahead log: on
the window's thread that froze it for 0.2-0.6 s (docs/PERFORMANCE.md). Each job also says
which training files hold the conversations it changed (they record each conversation's
batch, so they are rebuilt next).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.library import Library
from app.trainingfiles import files_holding


def rename_batch(library: Library, old: str, new: str,
                 progress: Callable[[int, int, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Rename ``old`` to ``new`` (an existing ``new`` merges the two); the names of the
    training files holding its conversations."""
    stale = files_holding(library, batch_id=old)
    library.rename_batch(old, new)
    return stale


def move_conversations(library: Library, conversation_ids: Sequence[str], batch: str,
                       progress: Callable[[int, int, str], None] | None = None,
                       cancelled: Callable[[], bool] | None = None) -> tuple[int, list[str]]:
    """Give these conversations ``batch``; how many moved, and the names of the training
    files holding them."""
    stale = files_holding(library, conversation_ids=conversation_ids)
    return library.move_conversations(conversation_ids, batch), stale
