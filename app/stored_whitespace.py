"""Rebuild the training files whose lines lose the whitespace around a message.

A JSONL line holds each client message and reply without the whitespace around it
(``app.jsonl.line_text``); lines built by older versions kept it. The stored records are
unchanged (they keep the file's text), and a new build renders every conversation again
anyway (the rendering code changed), but a training file built before keeps its old bytes
until something rebuilds it. This pass, run once (``app.upkeep``, from ``app.recovery``),
finds the stored conversations with whitespace around a client message or reply, forgets
their token counts (those may be of the untrimmed lines) and leaves the files whose stored
lines of them still hold that whitespace owing a rebuild, which the same start-up work
pays. A file whose lines are trimmed already keeps its bytes: none of its conversations
had such whitespace, or it was rebuilt since (the pass ran on another member's computer of
a team library, or ran before and was cancelled after that rebuild).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.library import Library, unpack
from app.models import BuildFragment, Conversation, ConversationDocument, Member, TrainingFile
from app.upkeep import in_chunks


def has_padded_message(record: Mapping[str, Any]) -> bool:
    """Whether a client message or reply has whitespace before or after its text."""
    return any(message["role"] != "system" and message["content"] != message["content"].strip()
               for message in record["messages"])


def _lines_padded(jsonl: bytes) -> bool:
    """Whether a stored rendering's JSONL line(s) keep whitespace around a message."""
    return any(has_padded_message(orjson.loads(line)) for line in jsonl.splitlines())


def _files_with_padded_lines(session: Session, pks: list[int]) -> dict[int, str]:
    """Of the training files holding ``pks``, those whose stored lines of them keep the
    whitespace (file id -> name)."""
    return {file_id: name for file_id, name, jsonl in session.execute(
        select(Member.file_id, TrainingFile.name, BuildFragment.jsonl)
        .join(TrainingFile, TrainingFile.file_id == Member.file_id)
        .join(BuildFragment, BuildFragment.key == Member.fragment_key)
        .where(Member.conversation_pk.in_(pks))) if _lines_padded(jsonl)}


def forget_padded(library: Library, progress: Callable[[int, int, str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Mark every stored conversation with a padded message for a fresh token count, and
    the training files whose lines of them are still padded as owing a rebuild; return
    those files' names. Each chunk is one transaction, asked ``cancelled`` before it
    (``BuildCancelled``); what a cancelled pass marked stays owed (paid at the next start,
    before the pass runs again and finds those lines trimmed)."""
    with library.session() as session:
        pks = list(session.scalars(select(Conversation.pk).order_by(Conversation.pk)))
    found: dict[int, str] = {}
    for part in in_chunks(pks, progress, cancelled):
        with library.session() as session, session.begin():
            padded = [pk for pk, blob in session.execute(
                select(Conversation.pk, ConversationDocument.document)
                .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)
                .where(Conversation.pk.in_(part))) if has_padded_message(unpack(blob))]
            if not padded:
                continue
            session.execute(update(Conversation).where(Conversation.pk.in_(padded))
                            .values(token_count=0))
            owing = {file_id: name for file_id, name in
                     _files_with_padded_lines(session, padded).items() if file_id not in found}
            if owing:  # counted in the database, as ``stored_builds.forget_totals`` does
                session.execute(update(TrainingFile)
                                .where(TrainingFile.file_id.in_(sorted(owing)))
                                .values(totals=None, changes=TrainingFile.changes + 1)
                                .execution_options(synchronize_session=False))
                found.update(owing)
    return sorted(found.values())
