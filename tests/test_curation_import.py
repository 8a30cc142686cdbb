"""Curation at library size, import side: full training files split into conversations,
JSONL files recognised, folders as batches, changed conversations and their replacement."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, FIXTURES, LEGACY, ROOT, addable
from stored import stored_bytes, stored_files

from app.cli import main
from app.importer import Verdict, import_paths
from app.library import Library
from app.trainingfiles import add_conversations

USER_FULL = FIXTURES / "full" / "user-full-file-3-conversations.json"
OUR_FULL = ROOT / "schemas" / "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json"
OUR_JSONL = OUR_FULL.with_suffix(".jsonl")
SINGLE = {p.name: p for p in ENRICHED}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def verdicts(report: Any) -> list[tuple[str, str | None]]:
    return [(v.verdict.value, v.conversation_id) for v in report.verdicts]


# --- 4. full training files ----------------------------------------------------------


def test_the_users_full_file_becomes_three_conversations_in_a_batch_named_after_it(
    library: Library,
) -> None:
    report = import_paths(library, [USER_FULL])
    assert report.imported == 3 and report.rejected == 0, report.verdicts
    assert report.batches_created == ["user-full-file-3-conversations"]
    rows = library.summaries()
    assert {r.batch_id for r in rows} == {"user-full-file-3-conversations"}
    # The id is the one the conversation's own file has, so both forms meet as one.
    expected = {load(p)["dataset_metadata"]["dataset_name"]
                for p in ENRICHED if p.name.startswith("single-convo-file")}
    assert {r.conversation_id for r in rows} == expected
    assert all(r.trainable_replies == 2 for r in rows)
    assert {r.persona_name for r in rows} == {"David Chen", "Jennifer Martinez", "Marcus Chen"}
    assert all(r.emotional_arc_key and r.training_topic_key for r in rows)
    first = rows[0]
    assert first.source_file == "user-full-file-3-conversations.json [conversation 1 of 3]"
    record = library.record(first.conversation_id)
    assert record["consultant_profile"]["name"] == "Elena Morales, CFP"
    assert [m["role"] for m in record["messages"]][:3] == ["system", "user", "assistant"]


def test_a_batch_named_by_the_user_wins_over_the_files_stem(library: Library) -> None:
    """Except over the batch a record of ours names (as a conversation file's own batch
    wins), unless one batch a file is asked for."""
    report = import_paths(library, [OUR_FULL, USER_FULL], batch="earlier files")
    assert report.rejected == 0
    own = {c["conversation_id"]: c["batch_id"] for c in load(OUR_FULL)["conversations"]}
    stored = {r.conversation_id: r.batch_id for r in library.summaries()}
    assert {cid: stored[cid] for cid in own} == own
    assert {stored[cid] for cid in stored.keys() - own.keys()} == {"earlier files"}
    with Library.open(library.root.parent / "one-batch") as other:
        import_paths(other, [USER_FULL, OUR_FULL], batch="earlier files", own_batches=False)
        assert {r.batch_id for r in other.summaries()} == {"earlier files"}


def test_our_own_full_file_is_split_and_its_conversations_build_again(
    library: Library, tmp_path: Path
) -> None:
    report = import_paths(library, [OUR_FULL])
    example = load(OUR_FULL)
    assert report.imported == len(example["conversations"]) == 4, report.verdicts
    stored = library.record(example["conversations"][0]["conversation_id"])
    original = example["conversations"][0]
    assert stored["messages"] == original["messages"]
    assert stored["batch_id"] == original["batch_id"]  # the batch its record names
    assert stored["consultant_profile"] == example["consultant_profile"]  # null → the file's
    # keep: one of them is cut off in its first reply, which an add under trim leaves out
    info = add_conversations(library, "again", [c["conversation_id"] for c in
                                                example["conversations"]], create=True,
                             cut_off_policy="keep")
    assert info.conversations == 4
    rebuilt = orjson.loads(stored_files(library, info.name).json_path.read_bytes())
    assert [c["messages"] for c in rebuilt["conversations"]] == [
        c["messages"] for c in example["conversations"]]


def test_a_review_mark_comes_back_in_as_the_librarys_with_our_full_file(
    library: Library, tmp_path: Path
) -> None:
    """A full JSON of ours carries the library's marks in its records. Imported into a
    fresh library they were the source's word: the files built said reviewed, the window
    and `conversations --reviewed` said not, and no one could take the mark away; a marked
    conversation brought back into its own library was "changed" (audit57 R2)."""
    from sqlalchemy import select

    from app.models import Conversation, ConversationDocument
    from app.packing import unpack
    from app.review_marks import mark_reviewed

    import_paths(library, list(ENRICHED))
    ids = addable([row.conversation_id for row in library.summaries()])
    marked = mark_reviewed(library, ids[:1], "Elena QA")
    add_conversations(library, "Reviewed", ids, create=True)
    full = tmp_path / "Reviewed.json"
    full.write_bytes(stored_bytes(library, "Reviewed")[0])

    with Library.open(tmp_path / "fresh") as fresh:
        assert import_paths(fresh, [full]).imported == len(ids)
        rows = {row.conversation_id: row for row in fresh.summaries()}
        assert (rows[ids[0]].reviewed_by, rows[ids[0]].reviewed_at) == (
            "Elena QA", marked.reviewed_at)
        assert all(rows[cid].reviewed_by is None for cid in ids[1:])
        with fresh.session() as session:  # the stored record says what its source says
            blob = session.scalar(select(ConversationDocument.document)
                                  .join(Conversation, Conversation.pk == ConversationDocument.pk)
                                  .where(Conversation.conversation_id == ids[0]))
        quality = unpack(blob)["quality"]
        assert "reviewed_by" not in quality and quality["human_reviewed"] is False
        add_conversations(fresh, "Again", ids, create=True)
        lines = [orjson.loads(line) for line in stored_bytes(fresh, "Again")[1].splitlines()]
        said = {line["metadata"]["conversation_id"]: line["metadata"]["human_reviewed"]
                for line in lines}
        assert said == {cid: cid == ids[0] for cid in ids}
        mark_reviewed(fresh, ids[:1], undo=True)  # and the mark can be taken away
        assert {row.conversation_id: row.reviewed_by for row in fresh.summaries()}[
            ids[0]] is None

    again = import_paths(library, [full])  # back into its own library: nothing changed
    assert {v.verdict for v in again.verdicts} == {Verdict.DUPLICATE}

    # A version of other text that carries its own mark replaces with that mark: the mark
    # of the library the file was built in, for the text it holds.
    mark_reviewed(library, ids[:1], "Someone who read the old text")
    document = orjson.loads(full.read_bytes())
    [edited] = [c for c in document["conversations"] if c["conversation_id"] == ids[0]]
    reply = next(m for m in edited["messages"] if m["role"] == "assistant")
    reply["content"] += " One more sentence Elena QA read."
    full.write_bytes(orjson.dumps(document))
    replaced = import_paths(library, [full], replace=True)
    [verdict] = [v for v in replaced.verdicts if v.conversation_id == ids[0]]
    assert verdict.verdict is Verdict.REPLACED and verdict.mark_taken is None
    row = {r.conversation_id: r for r in library.summaries()}[ids[0]]
    assert (row.reviewed_by, row.reviewed_at) == ("Elena QA", marked.reviewed_at)


def test_the_same_conversations_across_full_files_and_single_files_are_duplicates(
    library: Library, tmp_path: Path
) -> None:
    assert import_paths(library, [SINGLE["single-convo-file-3.json"]]).imported == 1
    copy_of_full = shutil.copy(USER_FULL, tmp_path / "copy-of-the-full-file.json")
    report = import_paths(library, [USER_FULL, Path(copy_of_full)])
    kinds = [v.verdict for v in report.verdicts]
    # File 1: conversation 1 was imported as a single file; 2 and 3 are new.
    # File 2 (a copy): all three are already there.
    assert kinds == [Verdict.DUPLICATE, Verdict.IMPORTED, Verdict.IMPORTED,
                     Verdict.DUPLICATE, Verdict.DUPLICATE, Verdict.DUPLICATE]
    assert library.count() == 3
    # Our full JSON repeats conversations imported from their own files: duplicates too.
    report = import_paths(library, [SINGLE["enriched-1.json"], OUR_FULL])
    assert report.verdicts[0].verdict is Verdict.IMPORTED
    assert report.verdicts[1].verdict is Verdict.DUPLICATE  # enriched-1 again, in the full
    assert report.verdicts[3].verdict is Verdict.DUPLICATE  # single-convo-file-1, from before


def test_one_bad_conversation_in_a_full_file_does_not_stop_the_others(
    library: Library, tmp_path: Path
) -> None:
    document = load(USER_FULL)
    document["conversations"][1]["training_pairs"][0]["turn_number"] = "one"
    del document["conversations"][2]["conversation_metadata"]
    path = write(tmp_path / "damaged.json", document)
    report = import_paths(library, [path])
    assert [v.verdict for v in report.verdicts] == [Verdict.IMPORTED, Verdict.REJECTED,
                                                    Verdict.REJECTED]
    second, third = report.verdicts[1:]
    assert second.path.endswith("damaged.json [conversation 2 of 3]")
    assert "turn_number" in second.reason and "whole number" in second.reason
    assert "conversation_metadata" in third.reason
    broken_ours = load(OUR_FULL)
    broken_ours["conversations"][0]["messages"][1]["role"] = "assistant"
    broken_ours["conversations"][1]["quality"]["warnings"] = "none"
    report = import_paths(library, [write(tmp_path / "ours-damaged.json", broken_ours)])
    assert [v.verdict for v in report.verdicts][:2] == [Verdict.REJECTED, Verdict.REJECTED]
    assert "roles alternate" in report.verdicts[0].reason
    assert "warnings" in report.verdicts[1].reason


def test_a_full_file_without_conversations_is_rejected_with_the_reason(
    library: Library, tmp_path: Path
) -> None:
    document = load(USER_FULL)
    document["conversations"] = []
    report = import_paths(library, [write(tmp_path / "empty-full.json", document)])
    assert [v.verdict for v in report.verdicts] == [Verdict.REJECTED]
    assert "no conversations" in report.verdicts[0].reason


def test_a_jsonl_training_file_gets_a_clear_verdict(library: Library, tmp_path: Path) -> None:
    renamed = shutil.copy(OUR_JSONL, tmp_path / "trainer-file.json")  # wrong extension too
    report = import_paths(library, [OUR_JSONL, Path(renamed)])
    assert [v.verdict for v in report.verdicts] == [Verdict.REJECTED, Verdict.REJECTED]
    for verdict in report.verdicts:
        assert "this is a JSONL training file" in verdict.reason
        assert "import its full JSON" in verdict.reason
        assert "Extra data" not in verdict.reason


def test_a_jsonl_of_conversation_files_says_to_save_them_one_a_file(
        library: Library, tmp_path: Path) -> None:
    """A generator's batch written one conversation a line was called a training file
    with a .json of the same name to import instead: there is none (audit57 O2)."""
    lines = b"".join(orjson.dumps(json.loads(path.read_bytes())) + b"\n"
                     for path in ENRICHED[:3])
    named = tmp_path / "generated-batch.jsonl"
    named.write_bytes(lines)
    disguised = tmp_path / "generated-batch.json"  # the same lines with the wrong ending
    disguised.write_bytes(lines)
    report = import_paths(library, [named, disguised])
    assert [v.verdict for v in report.verdicts] == [Verdict.REJECTED, Verdict.REJECTED]
    for verdict in report.verdicts:
        assert verdict.reason == (  # ("$": the whole file, which the summaries leave out)
            "$: this file holds conversation files one a line (JSONL), and a conversation is "
            "imported only from a .json file of its own: save each line as a .json file (one "
            "conversation a file), then import those")
    assert library.count() == 0


# --- 5. folders become batches --------------------------------------------------------


def test_every_subfolder_becomes_its_own_batch(library: Library, tmp_path: Path) -> None:
    drop = tmp_path / "all-batches"
    for n, path in enumerate(LEGACY[:6]):
        folder = drop / f"batch-{n % 3:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    shutil.copy(ENRICHED[0], drop / ENRICHED[0].name)  # a loose file at the top
    report = import_paths(library, [drop])
    assert report.rejected == 0
    assert sorted(report.batches_created) == ["all-batches", "batch-00", "batch-01",
                                              "batch-02"]
    counts = {b.batch_id: b.conversations for b in library.batches()}
    assert counts == {"all-batches": 1, "batch-00": 2, "batch-01": 2, "batch-02": 2}


def test_one_batch_named_for_the_whole_drop(library: Library, tmp_path: Path) -> None:
    drop = tmp_path / "all-batches"
    for n, path in enumerate(LEGACY[:4]):
        folder = drop / f"batch-{n % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    report = import_paths(library, [drop], batch="december")
    assert report.batches_created == ["december"]
    assert {b.batch_id for b in library.batches()} == {"december"}


# --- 3. changed conversations and their replacement -------------------------------------


def corrected(path: Path, folder: Path) -> Path:
    """The same conversation (same id) with one reply corrected."""
    document = load(path)
    for pair in document["training_pairs"]:
        if pair.get("target_response"):
            pair["target_response"] += " (Corrected.)"
            break
    return write(folder / f"fixed-{path.name}", document)


def test_a_corrected_file_is_changed_and_replaces_only_when_asked(
    library: Library, tmp_path: Path
) -> None:
    original = SINGLE["enriched-1.json"]
    import_paths(library, [original], batch="first")
    cid = load(original)["dataset_metadata"]["dataset_name"]
    fixed = corrected(original, tmp_path / "fixes")
    report = import_paths(library, [fixed])
    assert verdicts(report) == [("changed", cid)]
    assert "different content" in report.verdicts[0].reason
    assert "(Corrected.)" not in json.dumps(library.record(cid))
    assert report.summary() == ("0 conversations imported, 1 conversation changed (not "
                                "replaced).")

    pk_before = library.resolve_ids([cid])[cid]
    report = import_paths(library, [fixed], replace=True)
    assert verdicts(report) == [("replaced", cid)]
    assert report.replaced_ids == [cid]
    assert "(Corrected.)" in json.dumps(library.record(cid))
    assert library.resolve_ids([cid])[cid] == pk_before  # same row: files keep their place
    assert library.summaries()[0].batch_id == "first"  # the user's batch is kept
    assert library.summaries()[0].source_file == fixed.name
    # The very same file again is now a duplicate, not a change.
    assert verdicts(import_paths(library, [fixed])) == [("duplicate", cid)]


def test_the_same_conversation_from_a_reformatted_file_is_a_duplicate_not_a_change(
    library: Library, tmp_path: Path
) -> None:
    original = SINGLE["enriched-2.json"]
    import_paths(library, [original])
    document = load(original)
    document["dataset_metadata"]["notes"] = "re-exported"  # other bytes, same conversation
    path = tmp_path / "reformatted.json"
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    assert [v.verdict for v in import_paths(library, [path]).verdicts] == [Verdict.DUPLICATE]


# --- the command line ---------------------------------------------------------------------


def run(data_dir: Path, capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(data_dir), *map(str, args)])
    return code, capsys.readouterr().out


def test_cli_import_replace_rebuilds_the_training_files_holding_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "lib"
    original = SINGLE["enriched-1.json"]
    assert run(data, capsys, "import", original, ENRICHED[0])[0] == 0
    cid = load(original)["dataset_metadata"]["dataset_name"]
    assert run(data, capsys, "add", "holder", "--new", cid)[0] == 0
    fixed = corrected(original, tmp_path / "fixes")

    code, out = run(data, capsys, "import", fixed)
    assert code == 0
    assert ("1 changed conversation was kept as stored; run the import again with --replace "
            "to replace it") in out

    code, out = run(data, capsys, "import", "--replace", fixed)
    assert code == 0, out
    assert f"replaced  {fixed}" in out
    assert "rebuilt training file 'holder'" in out
    with Library(data) as library:
        json_bytes, jsonl_bytes = stored_bytes(library, "holder")
        assert "(Corrected.)" in json_bytes.decode("utf-8")
        assert "(Corrected.)" in jsonl_bytes.decode("utf-8")


def test_cli_import_of_folders_lists_the_batches_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop = tmp_path / "drop"
    for name, path in (("alpha", LEGACY[0]), ("beta", LEGACY[1])):
        (drop / name).mkdir(parents=True)
        shutil.copy(path, drop / name / path.name)
    code, out = run(tmp_path / "lib", capsys, "import", drop, USER_FULL, OUR_JSONL)
    assert code == 1  # the JSONL is rejected
    assert "batches created: alpha, beta, user-full-file-3-conversations" in out
    assert "this is a JSONL training file" in out


def test_full_files_go_through_the_worker_pool_when_they_are_big(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.importer as importer

    monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", 1)  # two small files count as big
    second = load(USER_FULL)
    for n, conversation in enumerate(second["conversations"]):
        conversation["conversation_metadata"]["conversation_id"] = f"other-{n}"
        conversation["conversation_metadata"]["source_file"] = f"other-{n}.json"
        conversation["training_pairs"][0]["current_user_input"] += f" (Copy {n}.)"
    paths = [USER_FULL, write(tmp_path / "second.json", second)]
    assert importer._worth_a_pool([importer.Candidate(p, "x") for p in paths])
    report = import_paths(library, paths, workers=2, batch="both")
    assert report.imported == 6 and report.rejected == 0, report.verdicts
    assert {r.batch_id for r in library.summaries()} == {"both"}


def test_validate_checks_a_jsonl_named_json_as_jsonl(tmp_path: Path) -> None:
    from app.validate import validate_path

    renamed = Path(shutil.copy(OUR_JSONL, tmp_path / "trainer-file.json"))
    verdict = validate_path(renamed)
    assert verdict.kind == "jsonl" and verdict.ok, verdict.problems
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1', encoding="utf-8")
    assert validate_path(broken).kind == "broken"
