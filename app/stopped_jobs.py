"""What a job killed after Cancel may have done, in the person's words.

A cancelled job's child process that does not stop within its grace time is killed
(``app.job_process``, ``app.build.StoppedByForce``). Every write is a transaction, so a
killed job leaves each step either done or not done; but "Cancelled: nothing was changed"
is no longer certain. Each sentence here says what may have happened to the file or the
batch it names, and how to see which and finish. (A removal says its own:
``app.removal.stopped_by_force``.)
"""

from __future__ import annotations

from collections.abc import Sequence

from app.wording import agreeing, and_list, plural

ENDED = "did not stop in time after Cancel, so it was ended."
FILES_PAGE = "the LoRA Training JSON Files page"
OWED = ("the training files holding {them} show the old batch until they are "
        "rebuilt, at the latest the next time LoRA Studio opens this library.")


def check_stopped(name: str, *, create: bool) -> str:
    """The check before adding to ``name`` (``plan_addition``) writes no conversation
    and no training file (only token counts, which are kept)."""
    outcome = f"'{name}' was not created." if create else f"Nothing was added to '{name}'."
    return f"Stopped: checking the conversations for '{name}' {ENDED} {outcome}"


def build_stopped(name: str, count: int, *, create: bool) -> str:
    """A build (``apply_addition``) switches the file to its new content in one
    transaction: it was either done in full before the kill or not at all."""
    them = plural(count, "conversation")
    if create:
        return (f"Stopped: creating the training file '{name}' {ENDED} A new training file "
                f"is kept only once it is complete, so '{name}' either holds the {them} or "
                f"does not exist: look for it on {FILES_PAGE}, and create it again if it is "
                "not there.")
    return (f"Stopped: adding {them} to '{name}' {ENDED} A training file changes all at "
            f"once, so '{name}' either holds {agreeing(count, 'it', 'all of them')} now or "
            f"is as it was: check it on {FILES_PAGE}, and add "
            f"{agreeing(count, 'it', 'them')} again if {agreeing(count, 'it is', 'they are')} "
            "not in it.")


AGAIN = ("Import the same files again to add the rest: conversations already in the "
         "library are not added twice.")


def import_stopped(batch: str | None, stored: Sequence[tuple[str, int]] | None = None) -> str:
    """An import stores what it has read chunk by chunk, each chunk one transaction.

    ``stored``: each batch with how many conversations it received since the import
    started (``app.importer.batches_stored_after``, read after the kill), so the
    sentence names the batches even when the import chose them itself (after the folders
    and full training files). None: they could not be read; the
    batch typed, or how the import names batches, is said instead."""
    head = f"Stopped: the import {ENDED}"
    if stored is not None and not stored:
        return (f"{head} No conversation of it was stored before it ended: import the "
                "files again.")
    if stored:
        total = sum(count for _batch, count in stored)
        places = and_list([f"'{name}' ({count:,})" for name, count in stored])
        what = agreeing(len(stored), "batch", "batches")
        check = (f"filter on batch '{stored[0][0]}'" if len(stored) == 1
                 else "choose each in the Batch ID filter")
        return (f"{head} It had stored {plural(total, 'conversation')} from the files it "
                f"had read, in {what} {places}: {check} to see which. {AGAIN}")
    where = (f" (in batch '{batch}')" if batch else
             " (in batches named after the folders it read and the full training files: "
             "look in the Batch ID filter)")
    return (f"{head} Conversations from the files it had read may already be in the "
            f"library{where}. {AGAIN}")


def move_stopped(count: int, batch: str) -> str:
    """A move to a batch is one transaction: all of them moved, or none did."""
    all_of = agreeing(count, "it is", f"all {count:,} are")
    return (f"Stopped: moving {plural(count, 'conversation')} to batch '{batch}' {ENDED} "
            f"A move is saved all at once, so either {all_of} in batch '{batch}' now or "
            f"{agreeing(count, 'it is not', 'none are')}: filter on batch '{batch}' to see. "
            f"If {agreeing(count, 'it', 'they')} moved, "
            + OWED.format(them=agreeing(count, "it", "them")))


def move_back_stopped(count: int, batch: str) -> str:
    """The undo of a move is one transaction: all of them went back, or none did."""
    all_of = agreeing(count, "it is", f"all {count:,} are")
    return (f"Stopped: moving {plural(count, 'conversation')} back from batch '{batch}' "
            f"{ENDED} An undo is saved all at once, so either {all_of} back in the "
            f"batches {agreeing(count, 'it', 'they')} came from or "
            f"{agreeing(count, 'it is', 'all are')} still in batch '{batch}': filter on "
            f"batch '{batch}' to see. If {agreeing(count, 'it', 'they')} went back, "
            + OWED.format(them=agreeing(count, "it", "them")))


def rename_stopped(old: str, new: str) -> str:
    """A batch rename is one transaction: done in full, or not at all."""
    return (f"Stopped: renaming batch '{old}' to '{new}' {ENDED} A rename is saved all at "
            f"once, so the conversations of batch '{old}' are either all in '{new}' now "
            f"or all still in '{old}': look in the Batch ID filter. If it was renamed, "
            + OWED.format(them="its conversations"))
