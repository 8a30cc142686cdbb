"""Restoring from a full training file of ours: the batches its records name come back, and
the training file is made again with its settings and order (audit57 W2, W8)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from conftest import corrected
from restore_source import BATCHES, NAME, Source, fingerprints_as_in, make_source
from sqlalchemy import select
from stored import stored_bytes

from app import trainingfiles
from app.cli import main
from app.full_found import read_facts
from app.full_restore import import_and_restore, restore_file
from app.importer import import_paths
from app.library import Library
from app.models import TrainingFile
from app.trainingfiles import get_training_file, list_training_files


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Source:
    monkeypatch.setattr(trainingfiles, "now_iso", lambda: "2026-01-01T00:00:00Z")
    return make_source(tmp_path / "made")


def batches(library: Library) -> dict[str, str]:
    return {row.conversation_id: row.batch_id for row in library.summaries()}


def test_a_fresh_library_gets_back_the_batches_the_records_name(
    source: Source, tmp_path: Path
) -> None:
    with Library.open(tmp_path / "fresh") as fresh:
        report = import_paths(fresh, [source.full])
        assert batches(fresh) == source.batch_of
        assert sorted(report.batches_created) == sorted(BATCHES)


def test_one_batch_named_after_the_file_is_still_the_other_choice(
    source: Source, tmp_path: Path
) -> None:
    with Library.open(tmp_path / "fresh") as fresh:
        report = import_paths(fresh, [source.full], own_batches=False)
        assert set(batches(fresh).values()) == {NAME}
        assert report.batches_created == [NAME]
        import_paths(fresh, [source.full], batch="typed")  # a duplicate: stays where it is
        assert set(batches(fresh).values()) == {NAME}


def test_batches_already_in_the_library_are_joined(source: Source, tmp_path: Path) -> None:
    """A batch of the same id in the library is the same batch: the file's members join
    it, and the report says how many it held before and after."""
    other = corrected(next(iter(source.batch_of)), tmp_path)  # another text, another id
    document = orjson.loads(other.read_bytes())
    document["dataset_metadata"]["dataset_name"] = "outsider"
    other.write_bytes(orjson.dumps(document))
    with Library.open(tmp_path / "fresh") as fresh:
        assert import_paths(fresh, [other], batch="alpha").imported == 1
        report = import_paths(fresh, [source.full])
        in_alpha = list(source.batch_of.values()).count("alpha")
        assert report.batches_joined == [("alpha", 1, 1 + in_alpha)]
        assert "Added to batches already in the library: 'alpha' (1 → " in report.summary()
        assert {cid: b for cid, b in batches(fresh).items() if cid in source.batch_of} == (
            source.batch_of)


def test_the_header_gives_the_name_the_settings_and_the_batches(source: Source) -> None:
    facts = read_facts(source.full)
    assert facts is not None
    assert (facts.name, facts.cut_off_policy, facts.max_seq_len, facts.over_budget) == (
        NAME, "weight0", 2048, "fit")
    assert facts.conversations == len(source.batch_of)
    assert facts.batches == {b: list(source.batch_of.values()).count(b) for b in BATCHES}
    assert read_facts(Path(__file__).parent / "fixtures" / "full"
                      / "user-full-file-3-conversations.json") is None  # no settings


def test_a_file_from_before_the_settings_is_made_again_as_it_trained(
    source: Source, tmp_path: Path
) -> None:
    """A header without the settings (written before they existed) trained every reply,
    whole lines, 4,096 tokens: the file made again does the same, not today's defaults."""
    document = orjson.loads(source.json)
    header = document["training_file_metadata"]
    for key in ("cut_off_policy", "over_budget", "tokens"):
        del header[key]
    older = tmp_path / "older" / "Older.json"
    older.parent.mkdir()
    older.write_bytes(orjson.dumps(document))
    facts = read_facts(older)
    assert facts is not None
    assert (facts.cut_off_policy, facts.max_seq_len, facts.over_budget) == (
        "keep", 4096, "keep")


def test_the_recreated_file_is_the_original_again(source: Source, tmp_path: Path) -> None:
    """Same name, settings, members in the same order: the JSONL byte for byte, the full
    JSON too but for the fingerprints an import records of where each record came from."""
    with Library.open(tmp_path / "fresh") as fresh:
        report = import_and_restore(fresh, [source.full], recreate=True)
        info = get_training_file(fresh, NAME)
        assert (info.cut_off_policy, info.max_seq_len, info.over_budget) == (
            "weight0", 2048, "fit")
        json_bytes, jsonl_bytes = stored_bytes(fresh, NAME)
        assert jsonl_bytes == source.jsonl
        assert fingerprints_as_in(source.json, json_bytes) == source.json
        assert report.restored == [
            f"Training file '{NAME}' recreated from {NAME}.json with its settings (cut-off "
            "policy Keep as context, weight 0, length limit 2,048 tokens, longer lines end "
            f"at their last whole reply that fits): {len(source.batch_of)} conversations in "
            "the file's order."]
        assert report.restored[0] in report.summary()


def test_the_recreated_file_is_made_with_its_settings_in_one_build(
    source: Source, tmp_path: Path
) -> None:
    """It was created with 4,096 tokens and then set to the file's limit: two builds, and a
    kill between them left a complete file that trained otherwise. Its first build is its
    only one now (a build is a revision), and the plan counted lines over the file's own
    limit."""
    facts = read_facts(source.full)
    assert facts is not None and facts.max_seq_len != 4096
    with Library.open(tmp_path / "fresh") as fresh:
        import_paths(fresh, [source.full])
        restored = restore_file(fresh, facts)
        assert restored.info is not None and restored.info.max_seq_len == 2048
        with fresh.session() as session:
            row = session.scalars(select(TrainingFile)).one()
            assert (row.revision, row.max_seq_len) == (1, 2048)
        ids = trainingfiles.member_ids(fresh, NAME)
        plan = trainingfiles.plan_addition(fresh, "Another", ids, create=True,
                                           cut_off_policy="weight0", max_seq_len=64)
        assert plan.max_seq_len == 64 and plan.over_budget  # 64 tokens: every line is over


def test_a_taken_name_gets_a_free_one_and_a_bad_conversation_is_left_out(
    source: Source, tmp_path: Path
) -> None:
    document = orjson.loads(source.json)
    dropped = document["conversations"][1]["conversation_id"]
    document["conversations"][1]["messages"] = []  # refused by the import
    broken = tmp_path / "broken" / f"{NAME}.json"
    broken.parent.mkdir()
    broken.write_bytes(orjson.dumps(document))
    with Library.open(tmp_path / "fresh") as fresh:
        trainingfiles.create_training_file(fresh, NAME)
        report = import_and_restore(fresh, [broken], recreate=True)
        assert report.rejected == 1
        made = get_training_file(fresh, f"{NAME} (2)")
        assert made.conversations == len(source.batch_of) - 1
        assert dropped not in trainingfiles.member_ids(fresh, made.name)
        assert (f"Training file '{NAME} (2)' (the name '{NAME}' is taken) recreated"
                in report.restored[0])
        assert report.restored[0].endswith(
            "; 1 conversation of the file is not in the library (not imported) and left "
            "out.")


def test_a_cancel_while_it_is_made_leaves_no_half_made_file(
    source: Source, tmp_path: Path
) -> None:
    facts = read_facts(source.full)
    assert facts is not None
    with Library.open(tmp_path / "fresh") as fresh:
        import_paths(fresh, [source.full])
        restored = restore_file(fresh, facts, cancelled=lambda: True)
        assert restored.info is None and list_training_files(fresh) == []
        assert restored.sentence() == (
            f"The training file '{NAME}' of {NAME}.json was not recreated: the import was "
            "cancelled while it was being made (the conversations imported stay). Import "
            "the file again to make it (its conversations are then skipped as already in "
            "the library).")
        assert restore_file(fresh, facts).info is not None  # as it says: again, it is made


def test_a_changed_conversation_kept_as_stored_is_said(source: Source, tmp_path: Path) -> None:
    """The library holds another version of a member (same id): the import keeps it (no
    replace was asked), so the file made again holds it, and says so."""
    member = next(cid for cid in source.batch_of if "fp_conversation" in cid)
    with Library.open(tmp_path / "fresh") as fresh:
        assert import_paths(fresh, [corrected(member, tmp_path)]).imported == 1
        report = import_and_restore(fresh, [source.full], recreate=True)
        assert [v.conversation_id for v in report.changed] == [member]
        assert report.restored[0].endswith(
            "; 1 conversation of the file differs from the library's stored version, which "
            "it holds until it is replaced by the file's (Replace, or import --replace), which "
            "rebuilds it.")
        assert get_training_file(fresh, NAME).conversations == len(source.batch_of)


def test_without_recreate_no_training_file_is_made(source: Source, tmp_path: Path) -> None:
    with Library.open(tmp_path / "fresh") as fresh:
        report = import_and_restore(fresh, [source.full])
        assert report.restored == [] and list_training_files(fresh) == []


def run(library: Path, capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--library", str(library), *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_command_line_keeps_batches_and_recreates_on_request(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(tmp_path / "cli", capsys, "import", "--recreate", source.full)
    assert code == 0, out
    assert f"Training file '{NAME}' recreated from {NAME}.json with its settings" in out
    with Library.open(tmp_path / "cli") as library:
        assert batches(library) == source.batch_of
        json_bytes, jsonl_bytes = stored_bytes(library, NAME)
    assert jsonl_bytes == source.jsonl
    assert fingerprints_as_in(source.json, json_bytes) == source.json

    code, out = run(tmp_path / "cli-old", capsys, "import", "--batch-per-file", source.full)
    assert code == 0 and "recreated" not in out
    with Library.open(tmp_path / "cli-old") as library:
        assert set(batches(library).values()) == {NAME}
        assert list_training_files(library) == []


def test_a_name_as_long_as_names_may_be_gets_a_free_one_too(
    source: Source, tmp_path: Path
) -> None:
    """Taken, an 80-character name leaves no room for " (2)": the name is shortened for
    it. It went on to "(1001)" and the error escaped, losing the import's report."""
    long_name = ("Production training file for the emotionally intelligent planner "
                 "weight0 v2.1.34")
    assert len(long_name) == trainingfiles.MAX_NAME
    document = orjson.loads(source.json)
    document["training_file_metadata"]["name"] = long_name
    saved = tmp_path / "long" / "long.json"
    saved.parent.mkdir()
    saved.write_bytes(orjson.dumps(document))
    with Library.open(tmp_path / "fresh") as fresh:
        trainingfiles.create_training_file(fresh, long_name)
        report = import_and_restore(fresh, [saved], recreate=True)
        assert report.imported == len(source.batch_of)
        # cut to leave room for " (2)", and not ending on the dot a name may not end on
        shortened = "Production training file for the emotionally intelligent planner weight0 v2"
        made = get_training_file(fresh, f"{shortened} (2)")
        assert made.conversations == len(source.batch_of)
        assert f"Training file '{made.name}' (the name '{long_name}' is taken) recreated" \
            in report.restored[0]


def test_a_json_array_is_not_read_whole_to_ask_about_it() -> None:
    """The question before an import reads a file's header on the window's thread: a
    .json holding a top-level array (or a scalar) is told apart at its first byte, not
    read to its end (a 500 MB array would have frozen the window for seconds)."""
    import io

    from app.full_found import HEADER_CHUNK, _header

    array = io.BytesIO(b"[" + b"1," * 2_000_000 + b"1]")
    assert _header(array) is None
    assert array.tell() <= HEADER_CHUNK + 3
    scalar = io.BytesIO(b'"' + b"x" * 4_000_000 + b'"')
    assert _header(scalar) is None
    assert scalar.tell() < 4_000_000


def test_a_cancelled_import_says_the_file_was_not_made(source: Source, tmp_path: Path) -> None:
    with Library.open(tmp_path / "fresh") as fresh:
        report = import_and_restore(fresh, [source.full], cancelled=lambda: True,
                                    recreate=True)
        assert report.cancelled and list_training_files(fresh) == []
        assert report.restored == [
            f"The training file '{NAME}' of {NAME}.json was not recreated: the import was "
            "cancelled before it was made. Import the file again to make it (the "
            "conversations imported are then skipped as already in the library)."]
        assert report.restored[0] in report.summary()


def test_the_changed_member_is_said_as_it_goes_once_replace_is_answered(
    source: Source, tmp_path: Path
) -> None:
    """The summary stays open while Replace runs and after: the file's sentence follows
    ("being replaced", then replaced) instead of saying it holds the stored version."""
    from dataclasses import replace

    from app.importer import Verdict

    member = next(cid for cid in source.batch_of if "fp_conversation" in cid)
    with Library.open(tmp_path / "fresh") as fresh:
        assert import_paths(fresh, [corrected(member, tmp_path)]).imported == 1
        report = import_and_restore(fresh, [source.full], recreate=True)
        assert report.summary(changed="being replaced").endswith(
            "; 1 conversation of the file differs from the library's stored version: being "
            "replaced by the file's, and the training file rebuilt.")
        done = replace(report, verdicts=[replace(v, verdict=Verdict.REPLACED)
                                         if v.verdict is Verdict.CHANGED else v
                                         for v in report.verdicts])
        assert done.summary().endswith(
            "; 1 conversation of the file differed from the library's stored version: "
            "replaced by the file's, and the training file rebuilt with it.")
        assert report.summary().endswith("which rebuilds it.")  # kept: as it was
