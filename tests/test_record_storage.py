"""Stored conversations are Zstandard frames now and zlib streams in libraries written
before: both read back the same, row by row, with no migration (app/library.py)."""

from __future__ import annotations

import zlib

import orjson
import pytest
from sqlalchemy import select, update
from stored import stored_bytes

from app import trainingfiles
from app.library import ZSTD_MAGIC, Library, pack, unpack
from app.models import Conversation, ConversationDocument
from app.trainingfiles import add_conversations, rebuild_training_files


def _blobs(library: Library) -> dict[str, bytes]:
    with library.session() as session:
        return dict(session.execute(
            select(Conversation.conversation_id, ConversationDocument.document)
            .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)).all())


def test_new_records_are_zstandard_frames(filled_library: Library) -> None:
    blobs = _blobs(filled_library)
    assert blobs and all(blob[:4] == ZSTD_MAGIC for blob in blobs.values())
    record = filled_library.record(next(iter(blobs)))
    assert unpack(pack(record)) == record
    assert len(pack(record)) < len(orjson.dumps(record)) / 2


def test_records_stored_with_zlib_before_still_read_and_build(
        filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainingfiles, "now_iso", lambda: "2026-01-01T00:00:00Z")
    ids = [row.conversation_id for row in filled_library.summaries() if row.trainable_replies]
    add_conversations(filled_library, "with zstd", ids, create=True)
    expected = stored_bytes(filled_library, "with zstd")
    records = {cid: filled_library.record(cid) for cid in ids}
    # Half the library as an older LoRA Studio wrote it: zlib at level 1, same JSON.
    older = ids[::2]
    with filled_library.session() as session, session.begin():
        for cid, blob in _blobs(filled_library).items():
            if cid in older:
                pk = session.scalar(select(Conversation.pk)
                                    .where(Conversation.conversation_id == cid))
                session.execute(update(ConversationDocument)
                                .where(ConversationDocument.pk == pk)
                                .values(document=zlib.compress(
                                    orjson.dumps(unpack(blob)), 1)))
    mixed = _blobs(filled_library)
    assert {cid for cid, blob in mixed.items() if blob[:4] != ZSTD_MAGIC} == set(older)
    assert {cid: filled_library.record(cid) for cid in ids} == records
    rebuild_training_files(filled_library, ["with zstd"], from_scratch=True)
    assert stored_bytes(filled_library, "with zstd") == expected
