"""A conversation is a duplicate by its dialogue, whatever its id; near-duplicates are flagged."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import ENRICHED, LEGACY
from sqlalchemy import update

from app import importer
from app.importer import Verdict, import_paths
from app.library import Library
from app.models import Conversation
from app.paths import DATABASE_NAME
from app.removal import apply_removal, plan_removal
from app.similar import NEAR, best_match, containment, fingerprint, similarity
from ui.import_report_lines import duplicate_line

SOURCE = ENRICHED[1]  # enriched-1.json


def _variant(folder: Path, name: str, change: Any) -> Path:
    """A copy of a real fixture under a new conversation id, changed by ``change``."""
    document = json.loads(SOURCE.read_text(encoding="utf-8"))
    document["dataset_metadata"]["dataset_name"] = f"fp_conversation_{name}"
    for pair in document["training_pairs"]:
        pair["conversation_id"] = f"copy_{name}"
    change(document["training_pairs"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    return path


def _respace(pairs: list[dict[str, Any]]) -> None:
    """Only whitespace changes: a trailing space and a doubled space."""
    for pair in pairs:
        pair["current_user_input"] = pair["current_user_input"].replace(" ", "  ", 1) + " "


def _one_sentence_changed(pairs: list[dict[str, Any]]) -> None:
    reply = next(p for p in pairs if p["target_response"])
    reply["target_response"] = "That is a fair question to ask. " + reply["target_response"]


def test_same_dialogue_under_a_new_id_is_a_duplicate(library: Library, tmp_path: Path) -> None:
    assert import_paths(library, [SOURCE]).imported == 1
    original = library.summaries()[0].conversation_id
    copy = _variant(tmp_path / "in", "respaced", _respace)
    report = import_paths(library, [copy])
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.DUPLICATE
    batch = library.summaries()[0].batch_id
    assert (f"the same dialogue as conversation {original} (already in the library: batch "
            f"'{batch}', from {SOURCE.name})") in (
        verdict.reason)
    assert "fp_conversation_respaced" in verdict.reason
    assert library.count() == 1


def test_same_dialogue_twice_in_one_import(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _variant(folder, "a", lambda pairs: None)
    _variant(folder, "b", _respace)
    report = import_paths(library, [folder])
    assert [v.verdict for v in report.verdicts] == [Verdict.IMPORTED, Verdict.DUPLICATE]
    assert "conversation fp_conversation_a (earlier in this import)" in report.verdicts[1].reason


def test_near_duplicate_is_imported_with_a_warning(library: Library, tmp_path: Path) -> None:
    assert import_paths(library, [SOURCE]).imported == 1
    original = library.summaries()[0].conversation_id
    report = import_paths(library, [_variant(tmp_path / "in", "near", _one_sentence_changed)])
    assert report.imported == 1
    rows = {r.conversation_id: r for r in library.summaries()}
    near = rows["fp_conversation_near"]
    assert "near_duplicate" in near.warning_codes
    assert f"very similar to conversation {original}" in near.warnings_text
    assert "near_duplicate" not in rows[original].warning_codes
    assert library.count_with_warning("near_duplicate") == 1


def test_the_real_fixtures_are_neither_duplicates_nor_near(filled_library: Library) -> None:
    rows = filled_library.summaries()
    assert len(rows) == len(ENRICHED) + len(LEGACY)
    assert filled_library.count_with_warning("near_duplicate") == 0
    sketches = [fingerprint(filled_library.record(r.conversation_id)).sketch for r in rows]
    for i, a in enumerate(sketches):
        for b in sketches[i + 1 :]:
            assert similarity(a, b) < NEAR


def test_a_library_stored_before_fingerprints_gets_them(library: Library,
                                                        tmp_path: Path) -> None:
    assert import_paths(library, [SOURCE]).imported == 1
    original = library.summaries()[0].conversation_id
    library.close()
    conn = sqlite3.connect(tmp_path / "library" / DATABASE_NAME)
    conn.execute("UPDATE conversations SET dialogue_sha256 = NULL, dialogue_sketch = NULL")
    conn.execute("DELETE FROM dialogue_keys")
    conn.commit()
    conn.close()
    with Library(tmp_path / "library") as reopened:
        report = import_paths(reopened, [_variant(tmp_path / "in", "late", _respace),
                                         _variant(tmp_path / "in2", "near", _one_sentence_changed)])
        verdicts = {Path(v.path).stem: v for v in report.verdicts}
        assert verdicts["late"].verdict is Verdict.DUPLICATE
        assert original in verdicts["late"].reason
        assert verdicts["near"].verdict is Verdict.IMPORTED
        assert reopened.count_with_warning("near_duplicate") == 1


def test_best_match_skips_only_what_cannot_be_near() -> None:
    """The quick bound in best_match never drops a candidate at or above NEAR (over both,
    or of the shorter one), and the scores it reports are the estimates themselves."""
    import random
    from array import array

    rng = random.Random(7)

    def sketch(values: list[int]) -> bytes:
        return array("I", sorted(set(values))[:64]).tobytes()

    near = shorter = 0
    for _ in range(2000):
        base = [rng.getrandbits(32) for _ in range(rng.randint(1, 120))]
        other = base[: rng.randint(0, len(base))] + [rng.getrandbits(32)
                                                      for _ in range(rng.randint(0, 60))]
        a, b = sketch(base), sketch(other)
        match = best_match(a, [("other", b)])
        score, contained = similarity(a, b), containment(a, b)
        assert (match is not None) == (max(score, contained) >= NEAR)
        if match is not None:
            near += 1
            shorter += score < NEAR
            assert (match.similarity, match.containment) == (score, contained)
    assert near > 100 and shorter > 100  # both outcomes, and both kinds, were exercised


def test_the_same_conversation_under_its_own_id_names_where_it_is_stored(
        library: Library, tmp_path: Path) -> None:
    """A conversation stored from its own file, then met again inside a full training file
    (other bytes, the same id and substance): its duplicate names the stored one's batch
    and file too, as a duplicate by content or by dialogue does."""
    from conftest import FIXTURES

    single = next(path for path in ENRICHED if path.name == "single-convo-file-1.json")
    (stored,) = import_paths(library, [single], batch="first-batch").verdicts
    again = import_paths(library, [FIXTURES / "full" / "user-full-file-3-conversations.json"])
    (twice,) = [v for v in again.verdicts if v.conversation_id == stored.conversation_id]
    assert twice.verdict is Verdict.DUPLICATE
    assert twice.stored_batch == "first-batch"
    assert twice.reason == (f"conversation {stored.conversation_id} is already in the "
                            f"library (batch 'first-batch', from {single.name})")


def test_content_stored_meanwhile_by_another_member_names_where_it_is(
        pg_url: str, tmp_path: Path) -> None:
    """A team library: another member stores the same file while this import reads it (a
    content duplicate found only as the chunk is stored). Its reason names the batch and
    file the other member stored it under, as any duplicate of a stored conversation does."""
    first, second = tmp_path / "mine", tmp_path / "theirs"
    first.mkdir()
    second.mkdir()
    mine = first / SOURCE.name
    mine.write_bytes(SOURCE.read_bytes())
    theirs = second / "theirs.json"
    theirs.write_bytes(SOURCE.read_bytes())

    def another_member_imports(done: int, total: int, name: str) -> None:
        with Library.open(pg_url) as other:
            assert import_paths(other, [theirs], batch="their-batch", workers=1).imported == 1

    with Library.open(pg_url) as library:
        report = import_paths(library, [mine], progress=another_member_imports, workers=1)
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.DUPLICATE
    assert verdict.stored_batch == "their-batch"
    assert "(already in the library: batch 'their-batch', from theirs.json)" in verdict.reason
    assert "stored meanwhile by another member of the team" in verdict.reason


@pytest.mark.parametrize("chunk", [2, importer.TEAM_CHUNK], ids=["next chunk", "same chunk"])
def test_a_dialogue_another_member_stored_meanwhile_is_a_duplicate_of_their_copy(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """A team library: another member stores file a while this import reads it, so this
    import skips its own a. Its later file b, the same dialogue under another id, repeats
    their copy (named with their batch and file), not one "earlier in this import": this
    import stored none. Chunks of 2 put b in the chunk after a's."""
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    first = _variant(mine, "a", lambda pairs: None)
    shutil.copy(ENRICHED[0], mine / "a2.json")  # another conversation, between a and b
    _variant(mine, "b", _respace)
    theirs.mkdir()
    shutil.copy(first, theirs / "a.json")
    monkeypatch.setattr(importer, "TEAM_CHUNK", chunk)

    def another_member_imports(done: int, total: int, name: str) -> None:
        if done == 1:  # this import has read a, and not stored it yet
            with Library.open(pg_url) as other:
                assert import_paths(other, [theirs], batch="their-batch",
                                    workers=1).imported == 1

    with Library.open(pg_url) as library:
        report = import_paths(library, [mine], progress=another_member_imports, workers=1)
        stored = sorted((r.conversation_id, r.batch_id) for r in library.summaries())
    a, a2, b = report.verdicts
    assert (a.verdict, a.stored_batch) == (Verdict.DUPLICATE, "their-batch")
    assert a2.verdict is Verdict.IMPORTED
    assert b.verdict is Verdict.DUPLICATE
    assert "earlier in this import" not in b.reason
    assert b.reason.startswith("the same dialogue as conversation fp_conversation_a (already "
                               "in the library: batch 'their-batch', from a.json)"), b.reason
    assert b.reason.endswith("under the id fp_conversation_b")
    assert b.stored_batch == "their-batch"
    assert stored == sorted([("fp_conversation_a", "their-batch"),
                             (a2.conversation_id, "mine")])


@pytest.mark.parametrize("replace", [False, True], ids=["keep", "replace"])
def test_a_dialogue_duplicate_is_judged_before_a_later_file_under_its_id(
        library: Library, tmp_path: Path, replace: bool) -> None:
    """File a repeats a stored dialogue under the id fp_conversation_x; file b, later in
    the same import (the same chunk), is another conversation under that id. a is a
    duplicate of the stored one and b is imported, as the files come: a is not judged
    against b as if b had been stored first (a 'changed' a, or with replace b's content
    quietly replaced by a's while b's verdict says imported)."""
    assert import_paths(library, [SOURCE]).imported == 1
    original = library.summaries()[0].conversation_id
    a = _variant(tmp_path / "first", "x", _respace)
    b = _variant(tmp_path / "second", "x", _one_sentence_changed)

    report = import_paths(library, [a, b], replace=replace, workers=1)

    first, second = report.verdicts
    assert first.verdict is Verdict.DUPLICATE, first.reason
    assert first.reason.startswith(f"the same dialogue as conversation {original} (already "
                                   "in the library"), first.reason
    assert second.verdict is Verdict.IMPORTED, second.reason
    replies = [m["content"] for m in library.record("fp_conversation_x")["messages"]]
    assert any(r.startswith("That is a fair question to ask. ") for r in replies)  # b's
    assert library.count() == 2


def test_a_duplicate_of_what_this_import_replaced_is_not_said_to_be_anothers(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A team library: this import replaces a stored conversation (a corrected reply), and
    a later file repeats the corrected dialogue under another id. It is a duplicate of the
    replaced one, which this import put there: no other member of the team stored it."""
    corrected = json.loads(SOURCE.read_text(encoding="utf-8"))
    _one_sentence_changed(corrected["training_pairs"])
    first = tmp_path / "first" / SOURCE.name
    first.parent.mkdir()
    first.write_text(json.dumps(corrected), encoding="utf-8")
    again = _variant(tmp_path / "second", "again", _one_sentence_changed)
    monkeypatch.setattr(importer, "TEAM_CHUNK", 1)  # the later file in a chunk of its own

    with Library.open(pg_url) as library:
        assert import_paths(library, [SOURCE], batch="stored", workers=1).imported == 1
        original = library.summaries()[0].conversation_id
        report = import_paths(library, [first, again], replace=True, workers=1)
    replaced, repeated = report.verdicts
    assert replaced.verdict is Verdict.REPLACED, replaced.reason
    assert repeated.verdict is Verdict.DUPLICATE, repeated.reason
    assert repeated.reason.startswith(f"the same dialogue as conversation {original} "
                                      "(already in the library: batch 'stored'"), repeated.reason
    assert "another member" not in repeated.reason, repeated.reason


def _corrected(folder: Path) -> Path:
    """The stored SOURCE under its own id, one reply corrected: another dialogue."""
    document = json.loads(SOURCE.read_text(encoding="utf-8"))
    _one_sentence_changed(document["training_pairs"])
    folder.mkdir(parents=True)
    path = folder / SOURCE.name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _corrected_and_respaced(pairs: list[dict[str, Any]]) -> None:
    _one_sentence_changed(pairs)
    _respace(pairs)


def test_a_file_stored_after_all_is_judged_before_a_later_file_of_its_dialogue(
        library: Library, tmp_path: Path) -> None:
    """File a corrects a reply of a stored conversation, under its id; that conversation
    is removed meanwhile (another window), so a is stored after all. File b, later in the
    same chunk, repeats a's corrected dialogue under a new id: b is the duplicate, of a,
    earlier in this import. b was stored first (nothing held its dialogue when the import
    began) and a was said to repeat "conversation fp_conversation_b (earlier in this
    import)", a file after it."""
    assert import_paths(library, [SOURCE]).imported == 1
    original = library.summaries()[0].conversation_id
    a = _corrected(tmp_path / "first")
    b = _variant(tmp_path / "second", "b", _corrected_and_respaced)

    def removed_meanwhile(done: int, total: int, name: str) -> None:
        if done == 1:  # a is read, the chunk not stored yet
            apply_removal(library, plan_removal(library, [original]))

    report = import_paths(library, [a, b], progress=removed_meanwhile, workers=1)

    first, second = report.verdicts
    assert (first.verdict, first.reason) == (Verdict.IMPORTED, ""), first.reason
    assert second.verdict is Verdict.DUPLICATE, second.reason
    assert second.reason == (f"the same dialogue as conversation {original} (earlier in this "
                             "import), under the id fp_conversation_b"), second.reason
    assert [row.conversation_id for row in library.summaries()] == [original]


def test_a_later_file_repeating_what_this_import_replaced_in_its_chunk_is_a_duplicate(
        library: Library, tmp_path: Path) -> None:
    """File a replaces a stored conversation (a corrected reply); file b, later in the same
    chunk, repeats the corrected dialogue under a new id. b is a duplicate of the replaced
    one, as it is when b comes in a later chunk: it was stored first, as new, leaving two
    conversations with one dialogue."""
    assert import_paths(library, [SOURCE], batch="stored").imported == 1
    original = library.summaries()[0].conversation_id
    a = _corrected(tmp_path / "first")
    b = _variant(tmp_path / "second", "b", _corrected_and_respaced)

    report = import_paths(library, [a, b], replace=True, workers=1)

    replaced, repeated = report.verdicts
    assert replaced.verdict is Verdict.REPLACED, replaced.reason
    assert repeated.verdict is Verdict.DUPLICATE, repeated.reason
    assert repeated.reason.startswith(f"the same dialogue as conversation {original} "
                                      "(already in the library: batch 'stored'"), repeated.reason
    assert library.count() == 1


def _two_with_one_dialogue(library: Library, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> str:
    """SOURCE, and a copy of its dialogue under the id fp_conversation_z, both stored as
    before the dialogue check existed (the copy without its fingerprint when SOURCE came,
    as such libraries were); the next import gives the copy its fingerprint. SOURCE's id."""
    twin = _variant(tmp_path / "twin", "z", _respace)
    assert import_paths(library, [twin], batch="twin").imported == 1
    with library.session() as session, session.begin():
        session.execute(update(Conversation).values(dialogue_sha256=None,
                                                    dialogue_sketch=None))
    monkeypatch.setattr(importer, "fill_missing", lambda _library: 0)
    assert import_paths(library, [SOURCE], batch="stored").imported == 1
    monkeypatch.undo()
    return next(row.conversation_id for row in library.summaries()
                if row.batch_id == "stored")


def test_a_dialogue_two_stored_conversations_carry_stays_known_when_one_is_replaced(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library holds two conversations with one dialogue. This import replaces one
    (a corrected reply), and a later file of the same chunk repeats that dialogue under a
    new id: the other stored conversation still carries it, so the file is its duplicate
    (it was stored, the replaced one having taken the dialogue out of the look-up)."""
    original = _two_with_one_dialogue(library, tmp_path, monkeypatch)
    a = _corrected(tmp_path / "first")
    b = _variant(tmp_path / "second", "again", _respace)

    report = import_paths(library, [a, b], replace=True, workers=1)

    replaced, repeated = report.verdicts
    assert (replaced.verdict, replaced.conversation_id) == (Verdict.REPLACED, original)
    assert repeated.verdict is Verdict.DUPLICATE, repeated.reason
    assert repeated.reason.startswith("the same dialogue as conversation fp_conversation_z "
                                      "(already in the library: batch 'twin'"), repeated.reason
    assert sorted(row.conversation_id for row in library.summaries()) == sorted(
        [original, "fp_conversation_z"])


@pytest.mark.parametrize("replace", [False, True])
def test_two_files_of_one_import_with_one_id_and_other_content_keep_the_first(
        library: Library, tmp_path: Path, replace: bool) -> None:
    """The audit's drop: a file and a damaged copy of it (one reply changed) under the same
    id. The first read is stored; the second is no "changed" conversation of the library
    (nothing was stored before this import, so no Replace is asked) but a repeat of the
    first with other content, named by its file, whether or not replacing was asked."""
    first = tmp_path / "in" / "a.json"
    first.parent.mkdir()
    shutil.copy(SOURCE, first)
    damaged = json.loads(SOURCE.read_text(encoding="utf-8"))
    _one_sentence_changed(damaged["training_pairs"])
    second = tmp_path / "in" / "b.json"
    second.write_text(json.dumps(damaged), encoding="utf-8")

    report = import_paths(library, [first.parent], replace=replace, workers=1)

    stored, conflict = report.verdicts
    assert (stored.verdict, stored.path) == (Verdict.IMPORTED, str(first))
    assert conflict.verdict is Verdict.DUPLICATE and conflict.path == str(second)
    assert (conflict.repeats, conflict.earlier) == (importer.OTHER_CONTENT, str(first))
    assert "with different content" in conflict.reason and not report.changed
    assert report.repeats == [conflict]
    (row,) = library.summaries()
    replies = [m["content"] for m in library.record(row.conversation_id)["messages"]
               if m["role"] == "assistant"]
    assert not any(reply.startswith("That is a fair question to ask.") for reply in replies)
    line = duplicate_line(conflict, lambda path: Path(path).name)
    assert line.startswith(f"b.json: {conflict.client}'s conversation has the conversation id "
                           "of a.json, imported earlier in this import, with different content")



def test_a_replace_asked_for_some_ids_replaces_only_those(
        library: Library, tmp_path: Path) -> None:
    """The window's and the command line's Replace import the changed files again, asking
    for the ids the question named: a file replaced for one of its conversations may hold
    another, stored from another file, that nobody asked to replace; it stays changed."""
    assert import_paths(library, [SOURCE], batch="stored").imported == 1
    cid = library.summaries()[0].conversation_id
    changed = _corrected(tmp_path / "again")

    report = import_paths(library, [changed], replace={"some-other-id"}, workers=1)
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.CHANGED, verdict.reason
    assert not [r for r in _replies(library, cid) if r.startswith("That is a fair question")]

    report = import_paths(library, [changed], replace={cid}, workers=1)
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.REPLACED, verdict.reason
    assert [r for r in _replies(library, cid) if r.startswith("That is a fair question")]


def _replies(library: Library, cid: str) -> list[str]:
    return [m["content"] for m in library.record(cid)["messages"] if m["role"] == "assistant"]
