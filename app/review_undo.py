"""Undo of the last Mark reviewed (or of taking the mark away), exactly or not at all.

A mark records, in the transaction that sets it, each conversation's mark before it
(``ReviewChange.before``). Its undo checks, in one transaction, that every one of them
still carries the mark this change gave it (the same reviewer and time: nobody marked
them again since, here or in a team library, and none left the library), then gives each
its own mark back, so a conversation reviewed by someone else before keeps that review.
Otherwise it changes nothing and says why. The training files holding them are rebuilt
afterwards, as after the mark, for their headers and JSONL to say so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import LibraryError
from app.key_parts import CHUNK, in_parts
from app.library import Library
from app.models import Conversation
from app.review_marks import MarkBefore, ReviewChange
from app.stored_builds import forget_totals
from app.trainingfiles import files_holding
from app.undo_rows import quoted_ids
from app.wording import agreeing, plural, the_count


@dataclass(frozen=True)
class ReviewUndo:
    """One mark (``reviewed_by`` set) or unmark (None) of ``before``'s conversations."""

    reviewed_by: str | None
    reviewed_at: str | None
    before: tuple[MarkBefore, ...]

    @classmethod
    def of(cls, change: ReviewChange) -> ReviewUndo:
        return cls(change.reviewed_by, change.reviewed_at, change.before)

    @property
    def count(self) -> int:
        return len(self.before)

    @property
    def ids(self) -> list[str]:
        return [cid for _pk, cid, _by, _at in self.before]

    @property
    def label(self) -> str:
        what = plural(self.count, "conversation")
        if self.reviewed_by is None:
            return f"Undo taking the review mark from {what}"
        return f"Undo review mark on {what}"

    @property
    def tip(self) -> str:
        them = the_count(self.count)
        return (f"Give {them} the review {agreeing(self.count, 'mark it', 'marks they')} had "
                "before; the training files holding them are rebuilt")


def _cannot(undo: ReviewUndo, why: str) -> str:
    what = ("Taking the review mark from" if undo.reviewed_by is None
            else "Marking reviewed")
    return (f"{what} {plural(undo.count, 'conversation')} cannot be undone exactly: {why}. "
            "Nothing was changed.")


def refused(session: Session, undo: ReviewUndo, whole: bool = True) -> str | None:
    """Why ``undo`` cannot be done exactly now, as a sentence (None: it can).
    ``whole=False``, for the window's greying of Undo on each change, reads the first
    ``CHUNK`` of them only (a mark of 100,000 would be read on every change); the undo
    itself always checks all of them."""
    now: dict[int, tuple[str, str | None, str | None]] = {}
    before = undo.before if whole else undo.before[:CHUNK]
    for part in in_parts([pk for pk, _cid, _by, _at in before]):
        for pk, cid, by, at in session.execute(
                select(Conversation.pk, Conversation.conversation_id, Conversation.reviewed_by,
                       Conversation.reviewed_at).where(Conversation.pk.in_(part))):
            now[pk] = (cid, by, at)
    gone = [cid for pk, cid, _by, _at in before if now.get(pk, ("",))[0] != cid]
    if gone:
        return _cannot(undo, f"{quoted_ids(gone)} {agreeing(len(gone), 'is', 'are')} no "
                             "longer in the library")
    marked = (undo.reviewed_by, undo.reviewed_at)
    changed = [cid for pk, cid, _by, _at in before if now[pk][1:] != marked]
    if changed:
        return _cannot(undo, f"the review mark of {quoted_ids(changed)} changed since")
    return None


def undo_review(library: Library, undo: ReviewUndo) -> list[str]:
    """Give each conversation its mark from before (see the module's docstring); the
    training files holding them, to rebuild. Raises ``LibraryError`` saying why, with
    nothing changed, when that is not exact."""
    with library.session() as session, session.begin():
        why = refused(session, undo)
        if why is not None:
            raise LibraryError(why)
        pks = [pk for pk, _cid, _by, _at in undo.before]
        forget_totals(session, pks)  # a header counts reviewed conversations
        by_mark: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
        for pk, _cid, by, at in undo.before:
            by_mark[(by, at)].append(pk)
        for (by, at), group in by_mark.items():
            for part in in_parts(group):
                session.execute(update(Conversation).where(Conversation.pk.in_(part))
                                .values(reviewed_by=by, reviewed_at=at))
    return files_holding(library, conversation_ids=undo.ids)
