"""Rebuild the training files whose lines lose the whitespace around a message.

A JSONL line holds each client message and reply without the whitespace around it
(``app.cutoff.line_text``), and the token estimates count the text so trimmed; lines and
estimates made by older versions kept it. The stored records are unchanged (they keep the
file's text), and a new build renders every conversation again anyway (the rendering code
changed), but a training file built before keeps its old bytes until something rebuilds
it. This pass, run once (``app.upkeep``, from ``app.recovery``), finds the stored
conversations with whitespace around a client message or reply, forgets their token
counts (those may be of the untrimmed lines), makes their estimates again, and leaves
owing a rebuild the files whose stored lines of them still hold that whitespace or whose
header adds up an estimate that changed; the same start-up work pays it. A file whose
lines are trimmed and whose estimates stand keeps its bytes: none of its conversations had
such whitespace, or it was rebuilt since (the pass ran on another member's computer of a
team library, or ran before and was cancelled after that rebuild).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.library import Library, unpack
from app.models import BuildFragment, Conversation, ConversationDocument, Member, TrainingFile
from app.records import digest_of, summarise
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


def _files_holding(session: Session, pks: list[int]) -> dict[int, str]:
    """The training files holding any of ``pks`` (file id -> name)."""
    return {file_id: name for file_id, name in session.execute(
        select(Member.file_id, TrainingFile.name)
        .join(TrainingFile, TrainingFile.file_id == Member.file_id)
        .where(Member.conversation_pk.in_(pks)))}


def _estimate_again(session: Session, pk: int, record: Mapping[str, Any],
                    stored_digest: bytes) -> bool:
    """Store the conversation's token estimates made from the trimmed text (only those:
    the rest of the stored digest stays as it is, its batch as recorded included); whether
    they changed (a team library's other member may have made them already)."""
    fresh = digest_of(summarise(record))
    digest = orjson.loads(stored_digest)
    estimates = {"estimated_tokens": fresh["estimated_tokens"],
                 "policies": {name: {**numbers, "estimated_tokens":
                                     fresh["policies"][name]["estimated_tokens"]}
                              for name, numbers in digest["policies"].items()}}
    if all(digest[key] == value for key, value in estimates.items()):
        return False
    session.execute(update(Conversation).where(Conversation.pk == pk).values(
        digest=orjson.dumps({**digest, **estimates}),
        estimated_tokens=fresh["estimated_tokens"]))
    return True


def forget_padded(library: Library, progress: Callable[[int, int, str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Mark every stored conversation with a padded message for a fresh token count, make
    its estimates again, and mark the training files whose lines of them are still padded,
    or whose estimates changed, as owing a rebuild; return those files' names. Each chunk
    is one transaction, asked ``cancelled`` before it (``BuildCancelled``); what a
    cancelled pass marked stays owed (paid at the next start, before the pass runs again
    and finds those lines trimmed and those estimates made)."""
    with library.session() as session:
        pks = list(session.scalars(select(Conversation.pk).order_by(Conversation.pk)))
    found: dict[int, str] = {}
    for part in in_chunks(pks, progress, cancelled):
        with library.session() as session, session.begin():
            padded: list[int] = []
            estimated: list[int] = []
            for pk, digest, blob in session.execute(
                    select(Conversation.pk, Conversation.digest, ConversationDocument.document)
                    .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)
                    .where(Conversation.pk.in_(part))):
                record = unpack(blob)
                if has_padded_message(record):
                    padded.append(pk)
                    if _estimate_again(session, pk, record, digest):
                        estimated.append(pk)
            if not padded:
                continue
            session.execute(update(Conversation).where(Conversation.pk.in_(padded))
                            .values(token_count=0))
            owing = {file_id: name for file_id, name in
                     {**_files_with_padded_lines(session, padded),
                      **(_files_holding(session, estimated) if estimated else {})}.items()
                     if file_id not in found}
            if owing:  # counted in the database, as ``stored_builds.forget_totals`` does
                session.execute(update(TrainingFile)
                                .where(TrainingFile.file_id.in_(sorted(owing)))
                                .values(totals=None, changes=TrainingFile.changes + 1)
                                .execution_options(synchronize_session=False))
                found.update(owing)
    return sorted(found.values())
