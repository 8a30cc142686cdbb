"""A dialogue's sentence sketch holds the hashes of its sentences, and nothing else.

Splitting a dialogue at its full stops leaves an empty piece after the last one (almost
every dialogue ends on one) and between the stops of an ellipsis. Hashed like a sentence it
gave 0, the smallest hash there is, so it led almost every sketch: one of the eight indexed
hashes of each conversation was spent on it, and any two dialogues ending on a full stop
shared a "sentence" for free (up to 8 % of the shorter one's share between unrelated real
conversations)."""

from __future__ import annotations

import itertools
import shutil
import unicodedata
import zlib
from array import array
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY
from shorter_copy import SHORT_ID, shorter_copy
from sqlalchemy import select, update
from stored import stored_bytes

from app import key_parts, upkeep
from app.build import BuildCancelled
from app.export import owes_rebuild
from app.importer import import_paths
from app.library import Library
from app.library import unpack as unpack_record
from app.loader import record_from_bytes
from app.models import Conversation, ConversationDocument, DialogueKey
from app.recovery import finish_interrupted_work, needs_recovery
from app.similar import (
    INDEXED,
    NEAR_DUPLICATE,
    SKETCH_SIZE,
    containment,
    fingerprint,
    similarity,
    unpack,
)
from app.stored_sketches import holds_empty_piece, sketch_again


def _kept(char: str) -> bool:
    """What this test keeps of a character in a sentence: all but whitespace, invisible
    format characters and punctuation other than the full stop (the backtick a quote)."""
    category = unicodedata.category(char)
    return char == "." or not (category[0] in "PZ" or category == "Cf" or char.isspace()
                               or char == "`")


def _sentences(record: dict) -> set[bytes]:  # type: ignore[type-arg]
    """The dialogue's sentences as this test reads them, character by character: the
    non-empty pieces between full stops of its messages in NFKC, casefolded, without what
    ``_kept`` leaves out."""
    text = "".join(f"\0{m['role']}\0{m['content']}" for m in record["messages"]
                   if m["role"] != "system")
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u3002", ".")
    return {piece for piece in "".join(filter(_kept, text)).encode("utf-8").split(b".")
            if piece}


def _records(tmp_path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    paths = [*ENRICHED, *LEGACY, *(shorter_copy(tmp_path, pairs, f"copy_{pairs}")
                                   for pairs in range(2, 8))]
    records = {}
    for path in paths:
        record = record_from_bytes(path.read_bytes(), path.name)
        records[record["conversation_id"]] = record
    return records


@pytest.fixture
def records(tmp_path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return _records(tmp_path)


def test_the_sketch_holds_the_smallest_hashes_of_the_sentences_only(
        records: dict[str, dict]) -> None:  # type: ignore[type-arg]
    ending = [cid for cid, record in records.items()
              if record["messages"][-1]["content"].rstrip().endswith(".")]
    assert len(ending) > len(records) // 2  # the empty piece was in most of them
    for cid, record in records.items():
        expected = sorted({zlib.crc32(piece) for piece in _sentences(record)})[:SKETCH_SIZE]
        assert unpack(fingerprint(record).sketch) == expected, cid
        assert 0 not in expected, cid  # (no real sentence of the fixtures hashes to 0)


def test_unrelated_real_conversations_share_nothing(
        records: dict[str, dict]) -> None:  # type: ignore[type-arg]
    """Two real conversations without a sentence in common score 0 on both shares."""
    unrelated = 0
    for (first, a), (second, b) in itertools.combinations(records.items(), 2):
        if _sentences(a) & _sentences(b):
            continue
        unrelated += 1
        sketch_a, sketch_b = fingerprint(a).sketch, fingerprint(b).sketch
        assert similarity(sketch_a, sketch_b) == 0.0, (first, second)
        assert containment(sketch_a, sketch_b) == 0.0, (first, second)
    assert unrelated > 100


# ``tests/data/library-before-sentence-sketches`` was written by LoRA Studio at commit
# 099f5a8 (the last one that sketched the empty piece): ``lora-studio import conversations``
# (a folder of enriched-1.json, enriched-2.json and the legacy convo-01 and convo-02), then
# ``import later`` (a folder of ``shorter_copy.shorter_copy(..., 3)``, which ends on a full
# stop where its original does not), then ``add copies --new --all``. Four of its five
# stored sketches start with the empty piece's 0, and 0 is indexed.
OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-sentence-sketches"
SOURCES = [ENRICHED[1], ENRICHED[2], LEGACY[0], LEGACY[1]]


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


Stored = dict[str, tuple[str | None, bytes | None, str, str]]


def _stored(library: Library) -> Stored:
    """Conversation id -> its dialogue hash, sketch, warning codes and text."""
    with library.session() as session:
        return {cid: (sha, sketch, codes, text) for cid, sha, sketch, codes, text in
                session.execute(select(Conversation.conversation_id,
                                       Conversation.dialogue_sha256,
                                       Conversation.dialogue_sketch,
                                       Conversation.warning_codes,
                                       Conversation.warnings_text))}


def _index(library: Library) -> dict[int, str]:
    """Indexed hash -> the id of the conversation it leads to."""
    with library.session() as session:
        return dict(session.execute(
            select(DialogueKey.key, Conversation.conversation_id)
            .join(Conversation, Conversation.pk == DialogueKey.conversation_pk)).all())


def _records_of(library: Library) -> dict[str, dict]:  # type: ignore[type-arg]
    return {cid: library.record(cid) for cid in _stored(library)}


def _sketches_today(library: Library) -> dict[str, bytes]:
    return {cid: fingerprint(record).sketch for cid, record in _records_of(library).items()}


def test_a_library_stored_before_is_sketched_again_once(old_library: Path,
                                                        tmp_path: Path) -> None:
    with Library(old_library) as library:
        before = _stored(library)
        assert sum(holds_empty_piece(sketch) for _sha, sketch, _c, _t in before.values()) == 4
        assert 0 in _index(library)
        built = stored_bytes(library, "copies")
        assert upkeep.due(library.root) == [upkeep.TEXT_REPAIR, upkeep.SENTENCE_SKETCHES,
                                            upkeep.SHORTER_COPIES, upkeep.LINE_WHITESPACE]
        assert needs_recovery(library)
        assert finish_interrupted_work(library) == []  # nothing a person sees changed
        assert upkeep.due(library.root) == []
        after = _stored(library)
        index = _index(library)
        # sketched as today's import sketches the stored records, and indexed so
        assert {cid: sketch for cid, (_sha, sketch, _c, _t) in after.items()} == \
            _sketches_today(library)
        assert 0 not in index
        assert all(set(unpack(sketch)[:INDEXED]) <= set(index)
                   for _sha, sketch, _c, _t in after.values() if sketch)
        # the dialogue hash, the flags and the training file stay as they were
        assert {cid: (sha, codes, text) for cid, (sha, _s, codes, text) in after.items()} == \
            {cid: (sha, codes, text) for cid, (sha, _s, codes, text) in before.items()}
        assert NEAR_DUPLICATE in after[SHORT_ID][2]
        assert stored_bytes(library, "copies") == built
        assert not owes_rebuild(library, "copies")
        # once: a second run changes nothing
        assert sketch_again(library) == 0
        assert _stored(library) == after and _index(library) == index
    with Library(tmp_path / "fresh") as fresh:  # what today's imports store for the files
        import_paths(fresh, SOURCES)
        import_paths(fresh, [shorter_copy(tmp_path / "later", 3)])
        assert {cid: sketch for cid, (_sha, sketch, _c, _t) in _stored(fresh).items()} == \
            {cid: sketch for cid, (_sha, sketch, _c, _t) in after.items()}
        assert _index(fresh) == index


def test_a_cancelled_pass_keeps_its_chunks_and_finishes_at_the_next_start(
        old_library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_parts, "CHUNK", 2)
    asked: list[bool] = []

    def after_one_chunk() -> bool:
        asked.append(True)
        return len(asked) > 1

    with Library(old_library) as library:
        with pytest.raises(BuildCancelled):
            sketch_again(library, cancelled=after_one_chunk)
        half = _stored(library)
        assert sum(holds_empty_piece(sketch) for _sha, sketch, _c, _t in half.values()) in (2, 3)
        with pytest.raises(BuildCancelled):
            finish_interrupted_work(library, cancelled=lambda: True)
        assert upkeep.due(library.root) == [upkeep.TEXT_REPAIR, upkeep.SENTENCE_SKETCHES,
                                            upkeep.SHORTER_COPIES, upkeep.LINE_WHITESPACE]
        assert finish_interrupted_work(library) == []
        assert upkeep.due(library.root) == []
        assert {cid: sketch for cid, (_sha, sketch, _c, _t) in _stored(library).items()} == \
            _sketches_today(library)
        assert 0 not in _index(library)


def _sketch_before(record: dict) -> bytes:  # type: ignore[type-arg]
    """The sketch versions before this one stored: the empty piece hashed as well."""
    text = "".join(f"\0{m['role']}\0{m['content']}" for m in record["messages"]
                   if m["role"] != "system")
    pieces = "".join(text.split()).encode("utf-8").split(b".")
    return array("I", sorted({zlib.crc32(piece) for piece in pieces})[:SKETCH_SIZE]).tobytes()


@pytest.mark.usefixtures("backend")
def test_the_pass_on_either_back_end(library: Library, tmp_path: Path) -> None:
    """Today's imports, their sketches then stored as versions before did and 0 indexed
    (the library of a team is PostgreSQL's): the pass makes them today's again."""
    import_paths(library, SOURCES)
    import_paths(library, [shorter_copy(tmp_path / "later", 3)])
    today, index = _stored(library), _index(library)
    with library.session() as session, session.begin():
        rows = session.execute(select(ConversationDocument.pk, ConversationDocument.document)
                               .order_by(ConversationDocument.pk)).all()
        before = {pk: _sketch_before(unpack_record(blob)) for pk, blob in rows}
        for pk, sketch in before.items():
            session.execute(update(Conversation).where(Conversation.pk == pk)
                            .values(dialogue_sketch=sketch))
        # 0 leads to a conversation sketched already (as a text repair would have): the
        # row goes too
        session.add(DialogueKey(key=0, conversation_pk=min(
            pk for pk, sketch in before.items() if not holds_empty_piece(sketch))))
    assert 0 in _index(library)
    assert sketch_again(library) == 5  # each: none was sketched in the sketch form
    assert _stored(library) == today and _index(library) == index
    assert sketch_again(library) == 0
