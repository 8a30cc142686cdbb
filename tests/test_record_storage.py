"""Stored conversations are Zstandard frames now and zlib streams in libraries written
before: both read back the same, row by row, with no migration (app/library.py)."""

from __future__ import annotations

import zlib
from pathlib import Path

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from sqlalchemy import select, update
from stored import stored_bytes

from app import trainingfiles
from app.idtext import clean_batch_id
from app.library import ZSTD_MAGIC, Library, pack, unpack
from app.loader import batch_id_in, load_file, record_from_bytes
from app.models import Conversation, ConversationDocument
from app.prepare import prepare
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


@pytest.mark.parametrize("batch", ["fixtures", "  two   spaces ", None])
def test_the_stored_record_is_the_checked_record_with_its_settled_batch(
    batch: str | None,
) -> None:
    """The loader's JSON of a record is reused for storing it only while the record is
    unchanged: a batch id that the library cleans (spaces), or one a file names itself,
    gives the record with the batch it ends up in, whatever path the row took."""
    for path in ENRICHED + LEGACY:
        named = batch_id_in_file(path)
        default = batch if batch is not None else "loose"
        [(_where, row, reason)] = prepare(str(path), default)
        assert row is not None, reason
        record = record_from_bytes(path.read_bytes(), path.name, default)
        record["batch_id"] = clean_batch_id(named or default)
        assert unpack(row["document"]) == orjson.loads(orjson.dumps(record))
        assert row["batch_id"] == record["batch_id"]
        [(_part, loaded, _error, dumped)] = load_file(path, default)
        assert dumped == orjson.dumps(loaded)  # what the loader checked is the record


def batch_id_in_file(path: Path) -> str | None:
    return batch_id_in(orjson.loads(path.read_bytes()))
