"""Rebuild the training files whose lines lose the whitespace around a message.

A JSONL line holds each client message and reply without the whitespace around it
(``app.jsonl.line_text``); lines built by older versions kept it. The stored records are
unchanged (they keep the file's text), and a new build renders every conversation again
anyway (the rendering code changed), but a training file built before keeps its old bytes
until something rebuilds it. This pass, run once (``app.upkeep``, from ``app.recovery``),
finds the stored conversations with whitespace around a client message or reply, forgets
their token counts (those were of the untrimmed lines) and leaves the files holding them
owing a rebuild, which the same start-up work pays. A file none of whose conversations had
such whitespace keeps its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select, update

from app.build import BuildCancelled
from app.library import Library, unpack
from app.models import Conversation, ConversationDocument
from app.stored_builds import forget_totals

CHUNK = 500


def has_padded_message(record: Mapping[str, Any]) -> bool:
    """Whether a client message or reply has whitespace before or after its text."""
    return any(message["role"] != "system" and message["content"] != message["content"].strip()
               for message in record["messages"])


def forget_padded(library: Library, progress: Callable[[int, int, str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Mark every stored conversation with a padded message for a fresh token count and
    its training files as owing a rebuild; return those conversations' ids. Each chunk is
    one transaction, asked ``cancelled`` before it (``BuildCancelled``); what a cancelled
    pass marked stays owed, and the next one finds it again."""
    with library.session() as session:
        pks = list(session.scalars(select(Conversation.pk).order_by(Conversation.pk)))
    found: list[str] = []
    for start in range(0, len(pks), CHUNK):
        if cancelled and cancelled():
            raise BuildCancelled()
        if progress:
            progress(start, len(pks), "")
        part = pks[start:start + CHUNK]
        with library.session() as session, session.begin():
            padded = [(pk, cid) for pk, cid, blob in session.execute(
                select(Conversation.pk, Conversation.conversation_id,
                       ConversationDocument.document)
                .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)
                .where(Conversation.pk.in_(part))) if has_padded_message(unpack(blob))]
            if padded:
                chosen = [pk for pk, _cid in padded]
                session.execute(update(Conversation).where(Conversation.pk.in_(chosen))
                                .values(token_count=0))
                forget_totals(session, chosen)
                found += [cid for _pk, cid in padded]
    return found
