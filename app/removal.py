"""Remove conversations from the library, with the training files that hold them rebuilt.

A removal is planned first (``plan_removal``: which conversations, which training files hold
them, which batches it empties), so the window can name what it will touch before asking,
and then applied (``apply_removal``): every training file holding any of them is rebuilt
without them, and only then are the conversations deleted, in one transaction. A cancel or
a failure part-way therefore never leaves a training file naming a conversation the
library no longer has.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.build import BuildCancelled, Progress
from app.errors import LibraryError
from app.key_parts import in_parts
from app.library import Library
from app.models import Batch, Conversation, Member, Profile, TrainingFile
from app.team_locks import REMOVING, lock_in_transaction, training_file_lock
from app.trainingfiles import files_holding, remove_member_pks
from app.wording import agreeing, and_list, plural


@dataclass(frozen=True, slots=True)
class RemovalPlan:
    """What a removal touches; nothing is written while planning."""

    conversation_ids: tuple[str, ...]
    pks: tuple[int, ...]
    missing: tuple[str, ...]  # asked for but not in the library
    training_files: tuple[str, ...]  # names of the files holding any of them
    batch_id: str | None = None  # a whole batch was asked for

    @property
    def count(self) -> int:
        return len(self.pks)


@dataclass(frozen=True, slots=True)
class RemovalResult:
    removed: int
    rebuilt: tuple[str, ...]
    batches_removed: tuple[str, ...]


def plan_removal(
    library: Library, conversation_ids: Sequence[str] = (), batch_id: str | None = None
) -> RemovalPlan:
    """Plan removing the given conversations, or every conversation of ``batch_id``."""
    if batch_id is not None:
        with library.session() as session:
            if session.get(Batch, batch_id) is None:
                raise LibraryError(f"there is no batch '{batch_id}'")
            rows = session.execute(
                select(Conversation.conversation_id, Conversation.pk)
                .where(Conversation.batch_id == batch_id).order_by(Conversation.pk)).all()
        files = files_holding(library, batch_id=batch_id)
        return RemovalPlan(tuple(r[0] for r in rows), tuple(r[1] for r in rows), (),
                           tuple(files), batch_id)
    wanted = list(dict.fromkeys(conversation_ids))
    if not wanted:
        raise LibraryError("no conversations are checked: check the ones to remove first")
    found = library.resolve_ids(wanted)
    present = [cid for cid in wanted if cid in found]
    files = files_holding(library, conversation_ids=present) if present else []
    return RemovalPlan(tuple(present), tuple(found[cid] for cid in present),
                       tuple(cid for cid in wanted if cid not in found), tuple(files))


class RemovalWatcher(Protocol):
    """Told what a removal is about to change, as it goes (``app.library_undo`` keeps
    what its undo puts back): each training file just before and after its rebuild, under
    the file's lock; each part of the conversations in the deleting transaction, just
    before it is deleted."""

    def file_before(self, name: str) -> None: ...

    def file_after(self, name: str) -> None: ...

    def deleting(self, session: Session, pks: Sequence[int]) -> None: ...


def apply_removal(
    library: Library, plan: RemovalPlan, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None, watcher: RemovalWatcher | None = None,
) -> RemovalResult:
    """Rebuild the training files without the conversations, then delete them."""
    pks = list(plan.pks)
    rebuilt: list[str] = []
    for name in plan.training_files:
        try:
            with (training_file_lock(library, name) if watcher is not None
                  else contextlib.nullcontext()):
                if watcher is not None:
                    watcher.file_before(name)
                remove_member_pks(library, name, pks, progress=progress, cancelled=cancelled)
                if watcher is not None:
                    watcher.file_after(name)
        except BuildCancelled:
            if rebuilt:
                raise LibraryError(cancelled_part_way(rebuilt, plan)) from None
            raise
        rebuilt.append(name)
    if cancelled and cancelled():
        if rebuilt:  # every file was rebuilt: "nothing was changed" would be wrong
            raise LibraryError(cancelled_part_way(rebuilt, plan))
        raise BuildCancelled()
    batches = _delete(library, pks, progress, watcher)
    return RemovalResult(len(pks), tuple(rebuilt), tuple(batches))


NAMED_AT_MOST = 5  # files a refusal names; the rest are counted


def _named(files: Sequence[str]) -> str:
    """The first files by name, the rest counted: "'a', 'b' and 3 other files"."""
    named = [f"'{name}'" for name in files[:NAMED_AT_MOST]]
    if len(files) > NAMED_AT_MOST:
        named.append(f"{plural(len(files) - NAMED_AT_MOST, 'other file')}")
    return and_list(named)


def cancelled_part_way(rebuilt: Sequence[str], plan: RemovalPlan) -> str:
    """Why a cancelled removal changed something after all: the training files rebuilt
    without the conversations before the cancel, named (past five, counted); the files it
    did not reach, counted; and how to finish or undo it."""
    them = agreeing(plan.count, "it", "them")
    left = len(plan.training_files) - len(rebuilt)
    text = (f"Cancelled: no conversation was removed from the library, but "
            f"{_named(rebuilt)} {agreeing(len(rebuilt), 'was', 'were')} already rebuilt "
            f"without {them}")
    if left:
        others = "other training file" if left == 1 else f"other {left:,} training files"
        text += f"; the {others} still {agreeing(left, 'holds', 'hold')} {them}"
    return (f"{text}. Remove {them} again to finish, or add {them} back to "
            f"{agreeing(len(rebuilt), 'that file', 'those files')}.")


def stopped_by_force(plan: RemovalPlan) -> str:
    """What a removal killed after Cancel (``app.build.StoppedByForce``) did: it deleted
    nothing (the deletion is one transaction, its last step), but it may have rebuilt
    training files holding the conversations, named (past five, counted)."""
    them = agreeing(plan.count, "it", "them")
    still = agreeing(plan.count, "The conversation is", f"All {plan.count:,} conversations are")
    text = (f"Stopped: the removal did not stop in time after Cancel, so it was ended. "
            f"{still} still in the library.")
    if not plan.training_files:
        return text
    files = agreeing(len(plan.training_files), "training file", "training files")
    return (f"{text} The {files} {_named(plan.training_files)}, which held {them}, may "
            f"already have been rebuilt without {them}. That is harmless: remove {them} "
            f"again to finish, or add {them} back to "
            f"{agreeing(len(plan.training_files), 'that file', 'those files')}.")


def taken_meanwhile(files: list[str], removing: int) -> str:
    """Why nothing was removed: ``files`` took some of the ``removing`` conversations
    after the removal was planned. Every "them" and "those" agrees with its number; past
    the first files, the rest are counted ("and 3 other files")."""
    them = agreeing(removing, "it", "them")
    return ("nothing was removed from the library: the "
            f"{agreeing(len(files), 'training file', 'training files')} {_named(files)} "
            f"took {agreeing(removing, 'this conversation', 'some of these conversations')} "
            f"meanwhile (another window or team member added {them}). Remove {them} again "
            f"to take {them} out of {agreeing(len(files), 'that file', 'those files')} too")


def _holding(session: Session, pks: Sequence[int]) -> list[str]:
    """The training files holding any of ``pks``, by name, read a part at a time."""
    names: set[str] = set()
    for part in in_parts(pks):
        names.update(session.scalars(
            select(TrainingFile.name).distinct()
            .join(Member, Member.file_id == TrainingFile.file_id)
            .where(Member.conversation_pk.in_(part))))
    return sorted(names)


def _delete(library: Library, pks: list[int], progress: Progress | None,
            watcher: RemovalWatcher | None = None) -> list[str]:
    """Delete the rows (documents go with them) in one transaction; drop emptied batches
    and profiles no conversation uses any more. Returns the batches removed."""
    with library.session() as session, session.begin():
        # A team library: no other member's build writes these into a file meanwhile (a
        # build switching now is waited for, and then seen holding them).
        lock_in_transaction(session, REMOVING)
        touched: set[str] = set()
        start = 0
        for part in in_parts(pks):
            touched.update(session.scalars(
                select(Conversation.batch_id).distinct().where(Conversation.pk.in_(part))))
            if _holding(session, part):  # every file is named, those of later parts too
                raise LibraryError(taken_meanwhile(_holding(session, pks[start:]), len(pks)))
            if watcher is not None:
                watcher.deleting(session, part)
            session.execute(delete(Conversation).where(Conversation.pk.in_(part)))
            start += len(part)
            if progress:
                progress(start, len(pks), "removing from the library")
        emptied = [batch for batch in sorted(touched) if not session.scalar(
            select(func.count()).select_from(Conversation)
            .where(Conversation.batch_id == batch))]
        if emptied:
            session.execute(delete(Batch).where(Batch.batch_id.in_(emptied)))
        session.execute(delete(Profile).where(
            Profile.profile_hash.not_in(select(Conversation.profile_hash).distinct())))
    return emptied
