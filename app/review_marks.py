"""Setting and clearing review marks in the library (the rule they follow is ``app.review``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from app.errors import LibraryError
from app.key_parts import in_parts
from app.library import Library, now_iso
from app.models import Conversation
from app.review import clean_reviewer, default_reviewer
from app.stored_builds import forget_totals
from app.trainingfiles import files_holding
from app.wording import first_few

# A conversation's review mark before a change: (row key, id, reviewed_by, reviewed_at).
MarkBefore = tuple[int, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class ReviewChange:
    """What a mark (or its undo) touched: how many conversations, and which training files
    hold them and so must be rebuilt for their headers and JSONL to say so; ``before``:
    each one's mark as it was, read in the transaction that changed it (for its undo,
    ``app.review_undo``)."""

    conversations: int
    reviewed_by: str | None
    reviewed_at: str | None
    stale_files: list[str]
    before: tuple[MarkBefore, ...] = ()


def mark_reviewed(
    library: Library, conversation_ids: Sequence[str], reviewed_by: str | None = None,
    *, undo: bool = False,
) -> ReviewChange:
    """Mark conversations reviewed (or take the mark away); nothing else changes.

    Unknown ids refuse the whole request. The caller rebuilds ``stale_files`` (see
    ``app.trainingfiles.rebuild_training_files``).
    """
    wanted = list(dict.fromkeys(conversation_ids))
    if not wanted:
        raise LibraryError("no conversations given: choose the ones to mark first")
    found = library.resolve_ids(wanted)
    missing = [cid for cid in wanted if cid not in found]
    if missing:
        raise LibraryError("nothing was marked; not in the library: "
                           + first_few(missing, 20))
    by = None if undo else clean_reviewer(reviewed_by or default_reviewer())
    at = None if undo else now_iso()
    pks = list(found.values())
    before: list[MarkBefore] = []
    with library.session() as session, session.begin():
        forget_totals(session, pks)  # a header counts reviewed conversations
        for part in in_parts(pks):
            before.extend((int(pk), str(cid), reviewer, when) for pk, cid, reviewer, when in
                          session.execute(select(Conversation.pk, Conversation.conversation_id,
                                                 Conversation.reviewed_by,
                                                 Conversation.reviewed_at)
                                          .where(Conversation.pk.in_(part))))
            session.execute(
                update(Conversation).where(Conversation.pk.in_(part))
                .values(reviewed_by=by, reviewed_at=at))
    return ReviewChange(len(pks), by, at, files_holding(library, conversation_ids=wanted),
                        tuple(before))
