"""Undo of the last batch rename or move of conversations, exactly or not at all.

A rename or a move records, in its own transaction, what it changed (``Library.
rename_batch``, ``Library.move_recorded``). Its undo is a job like the change itself: it
checks, in one transaction, that the library still holds exactly what the change left
(the same conversations in the renamed batch and the old name free; every moved one still
in the batch it was moved to), then puts everything back; otherwise it changes nothing
and says why. Cancel, seen before the commit, changes nothing too. A rename that merged
into an existing batch is undone too: it recorded which conversations came from the old
batch and when that batch was made, so the undo makes the old batch again, as it was,
and takes them out of the other one into it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import LibraryError
from app.key_parts import in_parts
from app.library import Library
from app.models import Batch, Conversation
from app.stored_builds import forget_totals
from app.trainingfiles import files_holding
from app.undo_rows import stop_if_cancelled
from app.wording import plural

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RenameUndo:
    """Batch ``old`` (made at ``created_at``) was renamed ``new``, or merged into an
    existing ``new`` when ``merged``; ``renamed``: its conversations as (row key, id)."""

    old: str
    new: str
    renamed: tuple[tuple[int, str], ...]
    merged: bool
    created_at: str

    @property
    def pks(self) -> frozenset[int]:
        return frozenset(pk for pk, _cid in self.renamed)

    @property
    def ids(self) -> list[str]:
        return [cid for _pk, cid in self.renamed]

    @property
    def label(self) -> str:
        if self.merged:
            return f"Undo merge of batch '{self.old}' into '{self.new}'"
        return f"Undo rename of batch '{self.old}' to '{self.new}'"


@dataclass(frozen=True)
class MoveUndo:
    """Conversations were moved to ``target`` (created for them when ``created``);
    ``before``: each one as (row key, id, its batch before)."""

    target: str
    created: bool
    before: tuple[tuple[int, str, str], ...]

    @property
    def label(self) -> str:
        return (f"Undo move of {plural(len(self.before), 'conversation')} to batch "
                f"'{self.target}'")

    def back_to(self) -> dict[str, list[str]]:
        """Each batch they came from, with the ids going back to it."""
        groups: dict[str, list[str]] = defaultdict(list)
        for _pk, cid, batch in self.before:
            groups[batch].append(cid)
        return dict(groups)


Undo = RenameUndo | MoveUndo


BY_HAND = ("to put them back anyway, filter on the batch and use Edit ▸ Rename batch… "
           "or Move checked to batch… yourself.")


def changed_since(what: str) -> LibraryError:
    return LibraryError(f"{what} cannot be undone exactly: the library changed since "
                        "(another rename, move, import or removal, here or by a team "
                        "member). Nothing was changed: " + BY_HAND)


def undo_rename(library: Library, undo: RenameUndo, progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Name batch ``undo.new`` ``undo.old`` again, if it still holds exactly the
    conversations the rename renamed and ``old`` is free (a merge: make ``old`` again as
    it was and take its conversations back into it, if ``new`` still holds every one of
    them); the training files holding them (they record each conversation's batch:
    rebuilt next)."""
    what = (f"Merging batch '{undo.old}' into '{undo.new}'" if undo.merged
            else f"Renaming batch '{undo.old}' to '{undo.new}'")
    stale = (files_holding(library, conversation_ids=undo.ids) if undo.merged
             else files_holding(library, batch_id=undo.new))
    with library.session() as session, session.begin():
        # Locked first on a team library: a member's write into the batch, committed or
        # not, is waited for and then seen; none can start until the undo commits (its
        # conversations would otherwise go along under the old name).
        session.execute(select(Batch.batch_id).where(Batch.batch_id == undo.new)
                        .with_for_update())
        held = set(session.scalars(select(Conversation.pk)
                                   .where(Conversation.batch_id == undo.new)))
        exact = held >= undo.pks if undo.merged else held == undo.pks
        if (session.get(Batch, undo.new) is None or session.get(Batch, undo.old) is not None
                or not exact):
            raise changed_since(what)
        pks = sorted(undo.pks)
        forget_totals(session, pks)
        try:
            if undo.merged:
                session.add(Batch(batch_id=undo.old, created_at=undo.created_at))
                session.flush()
                for part in in_parts(pks):
                    session.execute(update(Conversation).where(Conversation.pk.in_(part))
                                    .values(batch_id=undo.old))
            else:
                session.execute(update(Batch).where(Batch.batch_id == undo.new)
                                .values(batch_id=undo.old))
        except IntegrityError:  # a team member made a batch of the old name meanwhile
            raise changed_since(what) from None
        stop_if_cancelled(cancelled)
    return stale


def undo_move(library: Library, undo: MoveUndo, progress: Progress | None = None,
              cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Put every moved conversation back in the batch it came from, if each is still in
    the batch it was moved to and every batch they came from is still there; the batch
    the move created goes again once empty. The training files holding them (rebuilt
    next)."""
    what = f"Moving {plural(len(undo.before), 'conversation')} to batch '{undo.target}'"
    ids = [cid for _pk, cid, _batch in undo.before]
    stale = files_holding(library, conversation_ids=ids)
    pks = [pk for pk, _cid, _batch in undo.before]
    with library.session() as session, session.begin():
        # Locked on a team library: a member's move of one of them, committed or not, is
        # waited for and then seen (it is no longer in the target), and the batches they
        # go back to cannot be renamed or removed until the undo commits.
        still = 0
        for part in in_parts(pks):
            still += len(session.scalars(
                select(Conversation.pk)
                .where(Conversation.pk.in_(part),
                       Conversation.batch_id == undo.target).with_for_update()).all())
        back = {batch for _pk, _cid, batch in undo.before}
        kept = set(session.scalars(select(Batch.batch_id)
                                   .where(Batch.batch_id.in_(sorted(back)))
                                   .with_for_update(read=True)))
        # The move keeps the batches it empties: one gone was renamed or removed since,
        # and making it again under its old name would not be the library before the move.
        if still != len(pks) or kept != back:
            raise changed_since(what)
        forget_totals(session, pks)
        by_batch: dict[str, list[int]] = defaultdict(list)
        for pk, _cid, batch in undo.before:
            by_batch[batch].append(pk)
        for batch, group in by_batch.items():
            for part in in_parts(group):
                session.execute(update(Conversation)
                                .where(Conversation.pk.in_(part))
                                .values(batch_id=batch))
        if undo.created and not session.scalar(
                select(func.count()).select_from(Conversation)
                .where(Conversation.batch_id == undo.target)):
            session.execute(delete(Batch).where(Batch.batch_id == undo.target))
        stop_if_cancelled(cancelled)
    return stale
