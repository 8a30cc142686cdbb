"""Sketch again the stored dialogues whose sketch holds the empty piece.

Versions before this one hashed the empty piece after a dialogue's final full stop (and
inside an ellipsis) as if it were a sentence (``app.similar.fingerprint``). Its hash is 0,
the smallest there is, so it led almost every stored sketch: it took one of the
conversation's indexed hashes (``dialogue_keys``), its index row led to whichever
conversation was stored first with it, and it counted as a sentence shared with any other
dialogue ending on a full stop. This pass, run once (``app.upkeep``, from
``app.recovery``), makes the sketch of every stored conversation whose sketch starts with 0
again from its stored record, indexes its smallest hashes as an import does today, and
drops the index row of the empty piece. The dialogue hash, the record and every training
file stay as they are (no JSONL line carries the sketch), so nothing is rebuilt; the
near-duplicate flags are looked for again by the shorter-copies pass, which runs after it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select, update

from app.fingerprints import index_keys
from app.library import Library, unpack
from app.models import Conversation, ConversationDocument, DialogueKey
from app.similar import fingerprint
from app.upkeep import in_chunks

EMPTY_PIECE = bytes(4)  # the hash of the empty piece (0) as the first value of a sketch


def holds_empty_piece(sketch: bytes | None) -> bool:
    """Whether a stored sketch may hold the empty piece: its hashes are ascending, so 0
    comes first (a real sentence hashing to 0 does too, and is sketched to the same)."""
    return sketch is not None and sketch[:4] == EMPTY_PIECE


def sketch_again(library: Library, progress: Callable[[int, int, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> int:
    """Sketch again every stored conversation whose sketch starts with the empty piece's
    hash, index it anew, and return how many sketches changed. Each chunk is one
    transaction, asked ``cancelled`` before it (``BuildCancelled``); a chunk done stays
    done, and a second run finds nothing to change."""
    with library.session() as session:
        pks = list(session.scalars(
            select(Conversation.pk).where(Conversation.dialogue_sketch.is_not(None))
            .order_by(Conversation.pk)))
    changed = 0
    for part in in_chunks(pks, progress, cancelled):
        with library.session() as session, session.begin():
            old = [pk for pk, sketch in session.execute(
                select(Conversation.pk, Conversation.dialogue_sketch)
                .where(Conversation.pk.in_(part))) if holds_empty_piece(sketch)]
            if not old:
                continue
            sketches = {pk: fingerprint(unpack(blob)).sketch for pk, blob in session.execute(
                select(ConversationDocument.pk, ConversationDocument.document)
                .where(ConversationDocument.pk.in_(old)))}
            fresh = sorted(pk for pk, sketch in sketches.items()
                           if not holds_empty_piece(sketch))
            if not fresh:
                continue
            session.execute(update(Conversation), [
                {"pk": pk, "dialogue_sketch": sketches[pk]} for pk in fresh])
            index_keys(session, [(pk, sketches[pk]) for pk in fresh])
            changed += len(fresh)
    _drop_empty_piece_key(library)
    return changed


def _drop_empty_piece_key(library: Library) -> None:
    """Drop the index row of 0 (one at most: a hash leads to one conversation) unless its
    conversation's sketch still starts with it. Its conversation may also have been
    sketched again by a repair (``app.stored_repair``), which adds index rows only."""
    with library.session() as session, session.begin():
        owner = session.execute(
            select(Conversation.dialogue_sketch)
            .join(DialogueKey, DialogueKey.conversation_pk == Conversation.pk)
            .where(DialogueKey.key == 0)).one_or_none()
        if owner is not None and not holds_empty_piece(owner[0]):
            session.execute(delete(DialogueKey).where(DialogueKey.key == 0))
