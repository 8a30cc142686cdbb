"""Sketch the stored dialogues again as this version sketches them.

A stored sketch is made at import (``app.similar.fingerprint``) and kept; when a version
sketches differently, the stored ones no longer match what a new import makes, and a
near-duplicate of a stored conversation goes unnoticed. Two such changes so far:

- versions before this pass's version 1 hashed the empty piece after a dialogue's final
  full stop (and inside an ellipsis) as a sentence: its hash, 0, led almost every sketch,
  took one of the indexed hashes (``dialogue_keys``) and counted as a sentence shared by
  any two dialogues ending on a full stop;
- versions before its version 2 hashed each sentence as written (whitespace aside), so a
  copy with other quotes, dashes or capitals shared almost no sentence with its original;
  today's sketch hashes each sentence's sketch form (``app.similar.sketch_text``).

This pass, run once (``app.upkeep``, from ``app.recovery``), makes the sketch of every stored
conversation again from its stored record and stores it where it differs, drops every index
row that no longer leads to one of its conversation's indexed hashes, and indexes the
conversations again in the order they were stored (the first stored with a hash keeps it,
as at import). The dialogue hash, the record and every training file stay as they are (no
JSONL line or header carries the sketch), so nothing is rebuilt; the near-duplicate flags
are looked for again by the shorter-copies pass, which runs after it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.fingerprints import index_keys
from app.key_parts import in_parts
from app.library import Library, unpack
from app.models import Conversation, ConversationDocument, DialogueKey
from app.similar import INDEXED, fingerprint
from app.similar import unpack as unpack_sketch
from app.upkeep import in_chunks

EMPTY_PIECE = bytes(4)  # the hash of the empty piece (0) as the first value of a sketch
WALKS = 2  # sketching again and dropping stale index rows, then indexing


def holds_empty_piece(sketch: bytes | None) -> bool:
    """Whether a stored sketch may hold the empty piece: its hashes are ascending, so 0
    comes first (a real sentence hashing to 0 does too, and is sketched to the same)."""
    return sketch is not None and sketch[:4] == EMPTY_PIECE


def sketch_again(library: Library, progress: Callable[[int, int, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> int:
    """Sketch every stored conversation again from its record, store the sketches that
    changed, index all of them anew, and return how many changed. Each chunk is one
    transaction, asked ``cancelled`` before it (``BuildCancelled``); a chunk done stays
    done, and a second run changes nothing."""
    with library.session() as session:
        pks = list(session.scalars(
            select(Conversation.pk).where(Conversation.dialogue_sketch.is_not(None))
            .order_by(Conversation.pk)))
    changed = 0
    for part in in_chunks(pks, progress, cancelled, 0, WALKS):
        with library.session() as session, session.begin():
            stored: dict[int, bytes | None] = {pk: sketch for pk, sketch in session.execute(
                select(Conversation.pk, Conversation.dialogue_sketch)
                .where(Conversation.pk.in_(part)))}
            today = {pk: fingerprint(unpack(blob)).sketch for pk, blob in session.execute(
                select(ConversationDocument.pk, ConversationDocument.document)
                .where(ConversationDocument.pk.in_(part)))}
            fresh = sorted(pk for pk, sketch in today.items() if stored.get(pk) != sketch)
            if fresh:
                session.execute(update(Conversation), [
                    {"pk": pk, "dialogue_sketch": today[pk]} for pk in fresh])
                changed += len(fresh)
            _drop_stale_keys(session, {pk: today.get(pk, stored[pk]) for pk in part})
    for part in in_chunks(pks, progress, cancelled, 1, WALKS):
        with library.session() as session, session.begin():
            index_keys(session, [(pk, sketch) for pk, sketch in session.execute(
                select(Conversation.pk, Conversation.dialogue_sketch)
                .where(Conversation.pk.in_(part)).order_by(Conversation.pk))])
    return changed


def _drop_stale_keys(session: Session, sketches: dict[int, bytes | None]) -> None:
    """Drop the index rows of these conversations that are not among their sketch's
    ``INDEXED`` smallest hashes (left by an older sketch, or by a repair, which adds index
    rows only: ``app.stored_repair``)."""
    keys = {pk: set(unpack_sketch(sketch or b"")[:INDEXED]) for pk, sketch in sketches.items()}
    stale = sorted(key for key, pk in session.execute(
        select(DialogueKey.key, DialogueKey.conversation_pk)
        .where(DialogueKey.conversation_pk.in_(list(sketches))))
        if key not in keys[pk])
    for part in in_parts(stale):
        session.execute(delete(DialogueKey).where(DialogueKey.key.in_(part)))
