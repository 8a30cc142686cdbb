"""The typed records (app/records.py) say what the schemas say, and every consumer of a
conversation's summary (library table, stored digest, JSONL metadata) reads the one
``summarise`` gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_type_hints

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from sqlalchemy import select
from stored import stored_files

from app import records
from app.jsonl import MISSING_NUMBER, MISSING_TEXT
from app.library import Library
from app.loader import load_conversation_file
from app.models import Conversation
from app.schemas import FULL_SCHEMA, JSONL_SCHEMA, load_schema
from app.trainingfiles import add_conversations, get_training_file


def _keys(typed: type) -> set[str]:
    return set(get_type_hints(typed))


def _properties(schema: dict[str, Any], definition: str) -> set[str]:
    return set(schema["$defs"][definition]["properties"])


@pytest.mark.parametrize(("typed", "schema_file", "definition"), [
    (records.TrainingFileHeader, FULL_SCHEMA, "training_file_metadata"),
    (records.Totals, FULL_SCHEMA, "totals"),
    (records.QualitySummary, FULL_SCHEMA, "quality_summary"),
    (records.ScaffoldingDistribution, FULL_SCHEMA, "scaffolding_distribution"),
    (records.ConversationRecord, FULL_SCHEMA, "conversation"),
    (records.Source, FULL_SCHEMA, "source"),
    (records.Client, FULL_SCHEMA, "client"),
    (records.Scaffolding, FULL_SCHEMA, "scaffolding"),
    (records.Stats, FULL_SCHEMA, "stats"),
    (records.Quality, FULL_SCHEMA, "quality"),
    (records.QualityWarning, FULL_SCHEMA, "warning"),
    (records.Message, FULL_SCHEMA, "dialogue_message"),
    (records.LineMetadata, JSONL_SCHEMA, "metadata"),
    (records.ReplyContext, JSONL_SCHEMA, "reply"),
], ids=lambda value: getattr(value, "__name__", None))
def test_typed_records_name_the_schema_fields(
    typed: type, schema_file: str, definition: str
) -> None:
    assert _keys(typed) == _properties(load_schema(schema_file), definition)


def test_the_digest_is_part_of_the_summary() -> None:
    assert _keys(records.Digest) < _keys(records.ConversationSummary)


@pytest.mark.parametrize("path", ENRICHED + LEGACY, ids=lambda p: p.name)
def test_summary_of_each_fixture(path: Path) -> None:
    record = load_conversation_file(path, "batch")
    summary = records.summarise(record)
    assert set(summary) == _keys(records.ConversationSummary)
    assert summary["conversation_id"] == record["conversation_id"]
    assert summary["turns"] == len(record["messages"]) - 1
    assert summary["trainable_replies"] == record["stats"]["trainable_replies"]
    assert summary["warning_codes"] == sorted({w["code"] for w in record["quality"]["warnings"]})
    assert summary["source_file"] == path.name
    digest = records.digest_of(summary)
    assert set(digest) == _keys(records.Digest)
    assert all(digest[key] == summary[key] for key in digest)  # type: ignore[literal-required]


def test_library_digest_and_jsonl_all_carry_the_summary(
    filled_library: Library, tmp_path: Path
) -> None:
    paths = {path.name: path for path in ENRICHED + LEGACY}
    rows = filled_library.summaries()
    expected = {}
    for row in rows:
        record = load_conversation_file(paths[row.source_file], row.batch_id)
        record["batch_id"] = row.batch_id
        expected[row.conversation_id] = records.summarise(record)
    # The table's rows: every field they share with the summary is the summary's.
    shared = set(rows[0]._fields) & _keys(records.ConversationSummary)
    assert {"conversation_id", "persona_name", "turns", "quality_score", "warning_codes",
            "warnings_text", "created", "source_file"} <= shared
    for row in rows:
        summary = expected[row.conversation_id]
        for field in shared:
            want = summary[field]  # type: ignore[literal-required]
            got = getattr(row, field)
            assert (list(got) if field == "warning_codes" else got) == want, field
    # The stored digest is the summary's header part.
    with filled_library.session() as session:
        for cid, blob in session.execute(select(Conversation.conversation_id,
                                                Conversation.digest)):
            assert orjson.loads(blob) == records.digest_of(expected[cid])
    # Each JSONL line's metadata is the summary with the JSONL's fixed types.
    ids = [row.conversation_id for row in rows if row.trainable_replies]
    add_conversations(filled_library, "Everything", ids, create=True)
    info = get_training_file(filled_library, "Everything")
    for line in stored_files(filled_library, info.name).jsonl_path.read_bytes().splitlines():
        meta = orjson.loads(line)["metadata"]
        summary = expected[meta["conversation_id"]]
        assert meta["persona_archetype"] == (summary["persona_archetype"] or MISSING_TEXT)
        assert meta["client_persona"] == (summary["client_persona"] or MISSING_TEXT)
        assert meta["quality_score"] == (summary["quality_score"] if summary["quality_score"]
                                         is not None else MISSING_NUMBER)
        assert meta["warnings"] == ",".join(summary["warning_codes"])
        assert meta["source_file"] == summary["source_file"]
        assert meta["human_reviewed"] is summary["human_reviewed"]
