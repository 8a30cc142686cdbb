"""A re-generation that changes only punctuation style is a near-duplicate.

Generators re-generate conversations with typographic apostrophes for straight ones, long
dashes for hyphens between spaces, other capitals or spacing. Such an edit touches most
sentences, so when each sentence was hashed as written the copy shared almost none with its
original: it imported unflagged (similarity 0.30 for ``enriched-1.json`` with ``'`` made
``’``) and a split could put it in validation beside its original in training. Each sentence
is now hashed in its sketch form (``app.similar.sketch_text``); the dialogue hash still
tells the copy apart (it is imported, not skipped as the same conversation).
"""

from __future__ import annotations

import json
import zlib
from array import array
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from sqlalchemy import delete, select, update
from stored import stored_bytes

from app import similar, upkeep
from app.export import ExportFormat, export, owes_rebuild
from app.importer import import_paths
from app.library import Library
from app.models import Conversation, DialogueKey
from app.recovery import finish_interrupted_work, needs_recovery
from app.similar import NEAR_DUPLICATE, SKETCH_SIZE, fingerprint, is_near, similarity
from app.stored_sketches import sketch_again
from app.trainingfiles import add_conversations

ORIGINAL_1 = ENRICHED[1]  # enriched-1.json
ORIGINAL_2 = ENRICHED[2]  # enriched-2.json
# What the user-side audit changed: every straight apostrophe made typographic, and in
# enriched-2 every hyphen between spaces made a long dash as well.
EDITS = {ORIGINAL_1: [("'", "\u2019")],
         ORIGINAL_2: [("'", "\u2019"), (" - ", " \u2014 ")]}
COPY_IDS = {ORIGINAL_1: "fp_conversation_typographic_copy_1",
            ORIGINAL_2: "fp_conversation_typographic_copy_2"}


def _id(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["dataset_metadata"]
               ["dataset_name"])


def _edited(value: Any, edits: list[tuple[str, str]]) -> Any:
    """Every string of a JSON document with ``edits`` made in it."""
    if isinstance(value, str):
        for old, new in edits:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_edited(item, edits) for item in value]
    if isinstance(value, dict):
        return {key: _edited(item, edits) for key, item in value.items()}
    return value


def punctuation_copy(original: Path, folder: Path) -> Path:
    """The real fixture ``original`` with only its punctuation style changed (``EDITS``),
    as a file in ``folder`` under another conversation id."""
    document = _edited(json.loads(original.read_text(encoding="utf-8")), EDITS[original])
    document["dataset_metadata"]["dataset_name"] = COPY_IDS[original]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{COPY_IDS[original]}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def copies(tmp_path: Path) -> list[Path]:
    return [punctuation_copy(original, tmp_path / "copies") for original in EDITS]


def _rows(library: Library) -> dict[str, tuple[str, str]]:
    """Conversation id -> its warning codes and warnings text."""
    with library.session() as session:
        return {cid: (codes, text) for cid, codes, text in session.execute(
            select(Conversation.conversation_id, Conversation.warning_codes,
                   Conversation.warnings_text))}


def _flagged_naming(library: Library) -> dict[str, str]:
    return {cid: text for cid, (codes, text) in _rows(library).items()
            if NEAR_DUPLICATE in codes.split(",")}


def test_the_copies_change_most_sentences_and_only_punctuation(copies: list[Path]) -> None:
    """The copies are what the audit made: most of the original's sentences changed."""
    for original, copy in zip(EDITS, copies, strict=True):
        before, after = original.read_text(encoding="utf-8"), copy.read_text(encoding="utf-8")
        assert "\u2019" in after and "\u2019" not in before
        assert sum(after.count(new) for _old, new in EDITS[original]) > 20


def test_a_punctuation_only_copy_is_flagged_near_at_import(library: Library,
                                                           copies: list[Path]) -> None:
    assert import_paths(library, [ORIGINAL_1, ORIGINAL_2]).imported == 2
    report = import_paths(library, copies)
    assert report.imported == 2, report.verdicts  # not the same dialogue: imported
    flagged = _flagged_naming(library)
    assert set(flagged) == set(COPY_IDS.values())
    for original, cid in COPY_IDS.items():
        assert f"{similar.NEAR_TEXT} {_id(original)} (about 100 % of their sentences" \
            in flagged[cid]


def test_the_dialogue_hash_still_tells_the_copy_apart(copies: list[Path]) -> None:
    from app.loader import record_from_bytes

    for original, copy in zip(EDITS, copies, strict=True):
        first = fingerprint(record_from_bytes(original.read_bytes(), original.name))
        second = fingerprint(record_from_bytes(copy.read_bytes(), copy.name))
        assert first.dialogue_sha256 != second.dialogue_sha256
        assert similarity(first.sketch, second.sketch) == 1.0
        assert is_near(first.sketch, second.sketch)


def test_quotes_dashes_capitals_and_spacing_make_the_same_sketch_form() -> None:
    plain = "Don't worry - it's fine. Really... \"Yes\", she said."
    for variant in ["Don\u2019t worry \u2014 it\u2019s fine. Really\u2026 \u201cYes\u201d, she "
                    "said.",
                    "DON'T WORRY-IT'S FINE.REALLY ... \u00abYes\u00bb , she said .",
                    "Don\u02bct  worry \u2013 it\u2019s\u00a0fine. Really...\u201eYes\u201c, she "
                    "said."]:
        assert similar.sketch_text(variant) == similar.sketch_text(plain), variant
    assert similar.sketch_text(plain) == b"dontworryitsfine.really...yesshesaid."
    # a symbol says something: it stays
    assert similar.sketch_text("It costs $2,000 \u2192 more.") == \
        "itcosts$2000\u2192more.".encode()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


@pytest.mark.parametrize("seed", range(1, 9))
def test_a_split_keeps_a_punctuation_copy_with_its_original(
        filled_library: Library, copies: list[Path], tmp_path: Path, seed: int) -> None:
    assert import_paths(filled_library, copies).imported == 2
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Copies", ids, create=True)
    _train, valid_path, manifest_path = export(
        filled_library, "Copies", ExportFormat.SPLIT, tmp_path / f"split-{seed}", 0.3, seed)
    valid = {line["metadata"]["conversation_id"] for line in _lines(valid_path)}
    for original, cid in COPY_IDS.items():
        assert (cid in valid) == (_id(original) in valid), "a copy and its original split up"
    assert orjson.loads(manifest_path.read_bytes())["split"]["near_duplicate_groups"] >= 2


def _sketch_before(record: dict[str, Any]) -> bytes:
    """The sketch main's code made before the sketch form: each non-empty piece between
    full stops hashed as written, whitespace taken out."""
    text = "".join(f"\0{m['role']}\0{m['content']}" for m in record["messages"]
                   if m["role"] != "system")
    pieces = filter(None, "".join(text.split()).encode("utf-8").split(b"."))
    return array("I", sorted(set(map(zlib.crc32, pieces)))[:SKETCH_SIZE]).tobytes()


def _as_written(text: str) -> bytes:
    """The sketch form of main's code: the text as written, whitespace taken out."""
    return text.encode("utf-8").translate(None, similar.WHITESPACE)


def _sketches(library: Library) -> dict[str, bytes | None]:
    with library.session() as session:
        return dict(session.execute(select(Conversation.conversation_id,
                                           Conversation.dialogue_sketch)).all())


def _index(library: Library) -> dict[int, str]:
    with library.session() as session:
        return dict(session.execute(
            select(DialogueKey.key, Conversation.conversation_id)
            .join(Conversation, Conversation.pk == DialogueKey.conversation_pk)).all())


@pytest.mark.usefixtures("backend")
def test_a_library_sketched_before_is_sketched_again_once_and_its_copies_flagged(
        library: Library, copies: list[Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A library whose imports sketched each sentence as written (main's code: the sketch
    form stood in for), with its upkeep record as main left it: the first start sketches
    every conversation again, indexes it as today's import would, and flags the copies."""
    sources = [*ENRICHED, *LEGACY[:3]]
    with monkeypatch.context() as old_code:
        old_code.setattr(similar, "sketch_text", _as_written)
        # (in this process: a worker process would not see the stand-in)
        import_paths(library, sources, workers=1)
        import_paths(library, copies, workers=1)
        add_conversations(library, "All", [row.conversation_id for row in library.summaries()],
                          create=True)
    stored = _sketches(library)
    records = {cid: library.record(cid) for cid in stored}
    assert stored == {cid: _sketch_before(record) for cid, record in records.items()}
    assert _flagged_naming(library) == {}  # what main's import missed
    flags_before = _rows(library)
    built = stored_bytes(library, "All")
    upkeep.record(library.root)
    (library.root / upkeep.FILE_NAME).write_bytes(orjson.dumps(
        {**upkeep.PASSES, upkeep.SENTENCE_SKETCHES: 1, upkeep.SHORTER_COPIES: 2}))
    assert upkeep.due(library.root) == [upkeep.SENTENCE_SKETCHES, upkeep.SHORTER_COPIES]
    assert needs_recovery(library)

    heard: list[tuple[int, int, str]] = []
    said = finish_interrupted_work(library, lambda *step: heard.append(step))
    assert said == [
        "flagged 2 conversations near_duplicate: each nearly repeats one stored before it, "
        "or is a shorter copy of it or holds one (their replies would be trained twice); an "
        "add can leave them out"]
    assert any("Indexing the stored conversations' sentences again" in text
               for _done, _total, text in heard)
    assert upkeep.due(library.root) == []
    after = _sketches(library)
    assert after == {cid: fingerprint(record).sketch for cid, record in records.items()}
    assert set(_flagged_naming(library)) == set(COPY_IDS.values())
    others = {cid: row for cid, row in _rows(library).items() if cid not in COPY_IDS.values()}
    assert others == {cid: row for cid, row in flags_before.items() if cid in others}
    # the index is what today's import makes: no row of the old sketches is left
    index = _index(library)
    with Library(tmp_path / "fresh") as fresh:
        import_paths(fresh, sources)
        import_paths(fresh, copies)
        assert _index(fresh) == index
        assert _sketches(fresh) == after
    # no byte of the training file depends on the sketch: nothing rebuilt or owed
    assert stored_bytes(library, "All") == built
    assert not owes_rebuild(library, "All")
    # once: the next start finds nothing due, and the pass itself changes nothing again
    assert not upkeep.due(library.root)
    assert sketch_again(library) == 0
    assert _sketches(library) == after and _index(library) == index


def test_index_rows_of_an_old_sketch_are_dropped(library: Library,
                                                 copies: list[Path]) -> None:
    """A conversation whose index rows lead to hashes of its old sketch only: they go, and
    its own hashes lead to it (the first stored keeps a hash, as at import)."""
    import_paths(library, [ORIGINAL_1, *copies])
    index = _index(library)
    with library.session() as session, session.begin():
        session.execute(delete(DialogueKey))
        pk, = session.execute(select(Conversation.pk).where(
            Conversation.conversation_id == _id(ORIGINAL_1))).one()
        session.add_all(DialogueKey(key=key, conversation_pk=pk) for key in (1, 2, 3))
        session.execute(update(Conversation).where(Conversation.pk == pk)
                        .values(dialogue_sketch=array("I", [1, 2, 3]).tobytes()))
    assert sketch_again(library) == 1
    assert _index(library) == index
