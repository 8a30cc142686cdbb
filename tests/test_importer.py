"""Importing files and folders into a real library (SQLite file in tmp_path, real fixtures)."""

from __future__ import annotations

import concurrent.futures
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import BAD, ENRICHED, LEGACY
from hostile_corpus import with_own_dialogue

from app.importer import PARALLEL_FROM, Verdict, import_paths
from app.library import Library
from app.removal import apply_removal, plan_removal

TRUNCATED = next(p for p in BAD if "truncated" in p.name)
RAW = next(p for p in BAD if "raw" in p.name)
pytestmark = pytest.mark.usefixtures("backend")  # a library folder and a team library


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def dataset_name(path: Path) -> str:
    return load(path)["dataset_metadata"]["dataset_name"]


def by_name(report: Any) -> dict[str, Any]:
    return {Path(v.path).name: v for v in report.verdicts}


# --- every fixture -----------------------------------------------------------------


@pytest.mark.parametrize("path", ENRICHED + LEGACY, ids=lambda p: p.name)
def test_every_good_fixture_imports(library: Library, path: Path) -> None:
    report = import_paths(library, [path])
    assert [v.verdict for v in report.verdicts] == [Verdict.IMPORTED], report.verdicts
    (verdict,) = report.verdicts
    assert verdict.conversation_id == dataset_name(path)
    assert library.count() == 1
    record = library.record(verdict.conversation_id)
    assert record["conversation_id"] == verdict.conversation_id
    assert record["source"]["file_name"] == path.name


def test_bad_files_are_rejected_with_reasons_while_good_neighbours_import(
    library: Library, tmp_path: Path
) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in [*BAD, ENRICHED[0], LEGACY[0]]:
        shutil.copy(path, mixed / path.name)
    report = import_paths(library, [mixed])
    verdicts = by_name(report)
    assert len(verdicts) == 4

    truncated = verdicts[TRUNCATED.name]
    assert truncated.verdict is Verdict.REJECTED
    assert re.search(r"line \d+, column \d+", truncated.reason), truncated.reason

    raw = verdicts[RAW.name]
    assert raw.verdict is Verdict.REJECTED
    assert "raw" in raw.reason and "training_pairs" in raw.reason, raw.reason

    for good in (ENRICHED[0], LEGACY[0]):
        assert verdicts[good.name].verdict is Verdict.IMPORTED
    assert (report.imported, report.duplicates, report.rejected) == (2, 0, 2)
    assert library.count() == 2


# --- duplicates --------------------------------------------------------------------


def test_importing_the_same_folder_twice_imports_nothing_new(
    library: Library, fixture_folder: Path
) -> None:
    first = import_paths(library, [fixture_folder])
    total = len(ENRICHED) + len(LEGACY)
    assert first.imported == total
    second = import_paths(library, [fixture_folder])
    assert (second.imported, second.duplicates, second.rejected) == (0, total, 0)
    for verdict in second.verdicts:
        assert verdict.conversation_id
        assert verdict.reason, "a duplicate must say why"
        assert verdict.conversation_id in verdict.reason or "same content" in verdict.reason
    assert library.count() == total


def test_same_content_under_another_name_is_a_duplicate_by_content(
    library: Library, tmp_path: Path
) -> None:
    source = ENRICHED[0]
    copy = tmp_path / "elsewhere" / "renamed-copy.json"
    copy.parent.mkdir()
    shutil.copy(source, copy)
    assert import_paths(library, [source]).imported == 1
    report = import_paths(library, [copy])
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.DUPLICATE
    assert "same content" in verdict.reason, verdict.reason
    assert library.count() == 1


def test_same_conversation_id_with_other_content_is_a_duplicate_by_id(
    library: Library, tmp_path: Path
) -> None:
    source = ENRICHED[0]
    document = load(source)
    document["dataset_metadata"]["notes"] = "edited by hand afterwards"
    edited = write(tmp_path / "edited" / source.name, document)
    assert import_paths(library, [source]).imported == 1
    (verdict,) = import_paths(library, [edited]).verdicts
    assert verdict.verdict is Verdict.DUPLICATE
    cid = document["dataset_metadata"]["dataset_name"]
    assert verdict.conversation_id == cid
    assert cid in verdict.reason and "same content" not in verdict.reason, verdict.reason
    assert library.count() == 1


@pytest.mark.parametrize("again", ["the same file", "the same conversation, edited"])
def test_a_duplicate_whose_stored_copy_is_removed_meanwhile_is_stored(
    library: Library, tmp_path: Path, again: str
) -> None:
    """The file's conversation is stored when the import looks, then removed from the
    library (another window, a member of the team) before the import stores its chunk: the
    import stores it, rather than skip it as a duplicate of what is no longer there."""
    source = ENRICHED[0]
    document = load(source)
    cid = document["dataset_metadata"]["dataset_name"]
    if again == "the same file":  # a duplicate by content
        copy = tmp_path / "again" / source.name
        copy.parent.mkdir()
        shutil.copy(source, copy)
    else:  # by id: other bytes, the same conversation
        document["dataset_metadata"]["notes"] = "edited by hand afterwards"
        copy = write(tmp_path / "again" / source.name, document)
    assert import_paths(library, [source], batch="first").imported == 1

    def removed_meanwhile(done: int, total: int, name: str) -> None:
        apply_removal(library, plan_removal(library, [cid]))

    report = import_paths(library, [copy], batch="second", progress=removed_meanwhile,
                          workers=1)
    (verdict,) = report.verdicts
    assert (verdict.verdict, verdict.reason, verdict.batch_id) == (
        Verdict.IMPORTED, "", "second"), verdict.reason
    assert report.summary() == "1 conversation imported."
    assert report.batches_created == ["second"]
    assert [(row.conversation_id, row.batch_id) for row in library.summaries()] == [
        (cid, "second")]
    assert library.record(cid)["source"]["file_name"] == source.name


def test_duplicates_inside_one_import_are_caught(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "twice"
    folder.mkdir()
    shutil.copy(ENRICHED[0], folder / "a.json")
    shutil.copy(ENRICHED[0], folder / "b.json")
    report = import_paths(library, [folder])
    assert [v.verdict for v in report.verdicts] == [Verdict.IMPORTED, Verdict.DUPLICATE]
    assert library.count() == 1


# --- batches -----------------------------------------------------------------------


def test_folder_name_is_the_default_batch(library: Library, fixture_folder: Path) -> None:
    report = import_paths(library, [fixture_folder])
    assert {v.batch_id for v in report.verdicts} == {fixture_folder.name}
    assert [(b.batch_id, b.conversations) for b in library.batches()] == [
        (fixture_folder.name, len(ENRICHED) + len(LEGACY))
    ]


def test_batch_option_overrides_the_folder_name(library: Library, fixture_folder: Path) -> None:
    report = import_paths(library, [fixture_folder], batch="  my   batch ")
    assert {v.batch_id for v in report.verdicts} == {"my batch"}
    assert {row.batch_id for row in library.summaries()} == {"my batch"}


def test_files_chosen_on_their_own_go_into_their_folders_batches(library: Library) -> None:
    """As the import question promises: each folder a batch named after it, whether the
    folder was dropped or its files were chosen (Import files…)."""
    report = import_paths(library, [ENRICHED[0], ENRICHED[1], LEGACY[0]])
    assert {Path(v.file).name: v.batch_id for v in report.verdicts} == {
        ENRICHED[0].name: "enriched", ENRICHED[1].name: "enriched",
        LEGACY[0].name: "legacy"}
    assert sorted(report.batches_created) == ["enriched", "legacy"]


def test_a_chosen_file_and_a_dropped_folder_of_the_same_name_stay_two_batches(
        library: Library, tmp_path: Path) -> None:
    chosen = tmp_path / "delivery-A" / "batch-000"
    chosen.mkdir(parents=True)
    file = Path(shutil.copy(ENRICHED[0], chosen / ENRICHED[0].name))
    dropped = tmp_path / "delivery-B"
    (dropped / "batch-000").mkdir(parents=True)
    shutil.copy(LEGACY[0], dropped / "batch-000" / LEGACY[0].name)
    report = import_paths(library, [file, dropped])
    assert sorted(report.batches_created) == ["delivery-A/batch-000", "delivery-B/batch-000"]


def test_loose_files_take_the_batch_option(library: Library) -> None:
    report = import_paths(library, [ENRICHED[0]], batch="chosen")
    assert report.verdicts[0].batch_id == "chosen"


@pytest.mark.parametrize(
    ("section", "key"),
    [("dataset_metadata", "batch_id"), ("input_parameters", "batch_job_id")],
)
def test_a_batch_named_in_the_file_wins_over_everything(
    library: Library, tmp_path: Path, section: str, key: str
) -> None:
    document = load(ENRICHED[0])
    document.setdefault(section, {})[key] = "generator-batch-7"
    folder = tmp_path / "folder-batch"
    in_folder = write(folder / "with-batch.json", document)
    plain = shutil.copy(ENRICHED[1], folder / ENRICHED[1].name)

    report = import_paths(library, [folder], batch="user-choice")
    verdicts = by_name(report)
    assert verdicts[in_folder.name].batch_id == "generator-batch-7"
    assert verdicts[Path(plain).name].batch_id == "user-choice"
    assert library.record(dataset_name(in_folder))["batch_id"] == "generator-batch-7"


def test_a_batch_named_in_a_loose_file_wins_over_its_folder(
    library: Library, tmp_path: Path
) -> None:
    document = load(LEGACY[0])
    document["dataset_metadata"]["batch_id"] = "legacy-run"
    loose = write(tmp_path / "loose.json", document)
    (verdict,) = import_paths(library, [loose]).verdicts
    assert verdict.batch_id == "legacy-run"


# --- progress and cancel -----------------------------------------------------------


def test_progress_reports_every_file_and_ends_at_total(
    library: Library, fixture_folder: Path
) -> None:
    seen: list[tuple[int, int, str]] = []
    import_paths(library, [fixture_folder], progress=lambda d, t, c: seen.append((d, t, c)))
    total = len(ENRICHED) + len(LEGACY)
    assert [d for d, _, _ in seen] == list(range(1, total + 1))
    assert {t for _, t, _ in seen} == {total}
    assert seen[-1][0] == total
    names = {p.name for p in ENRICHED + LEGACY}
    assert {c for _, _, c in seen} == names


def test_the_summary_is_a_sentence_whose_nouns_agree_with_one_and_with_two(
        library: Library, tmp_path: Path) -> None:
    import_paths(library, [ENRICHED[0]])
    folder = tmp_path / "again"
    folder.mkdir()
    for path in (ENRICHED[0], ENRICHED[1], BAD[0]):
        shutil.copy(path, folder / path.name)
    assert import_paths(library, [folder]).summary() == (
        "1 conversation imported, 1 conversation already in the library (skipped), 1 file "
        "could not be imported.")
    assert import_paths(library, [folder]).summary() == (
        "0 conversations imported, 2 conversations already in the library (skipped), 1 file "
        "could not be imported.")


def test_cancel_keeps_a_consistent_library_and_a_rerun_completes(
    library: Library, fixture_folder: Path
) -> None:
    seen: list[str] = []
    report = import_paths(
        library,
        [fixture_folder],
        progress=lambda d, t, c: seen.append(c),
        cancelled=lambda: len(seen) >= 3,
    )
    total = len(ENRICHED) + len(LEGACY)
    assert report.cancelled
    assert len(report.verdicts) == 3
    assert report.summary().startswith(
        f"3 conversations imported before the import was cancelled: {total - 3} of the "
        f"{total} files it found were not reached; import the same files or folders again "
        "to finish (those already in are skipped as duplicates).")
    assert library.count() == report.imported == 3
    first_ids = [v.conversation_id for v in report.verdicts]
    # The library is usable: listing and reading work.
    assert [r.conversation_id for r in library.summaries()] == first_ids
    for cid in first_ids:
        assert library.record(cid)["conversation_id"] == cid

    again = import_paths(library, [fixture_folder])
    assert not again.cancelled
    assert again.imported == total - 3
    assert again.duplicates == 3
    duplicates = [v.conversation_id for v in again.verdicts if v.verdict is Verdict.DUPLICATE]
    assert duplicates == first_ids
    assert library.count() == total


# --- what is not a file to import --------------------------------------------------


def test_empty_folder_and_missing_path_are_rejected_with_reasons(
    library: Library, tmp_path: Path
) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "readme.txt").write_text("not json", encoding="utf-8")
    missing = tmp_path / "does-not-exist.json"
    report = import_paths(library, [empty, missing])
    verdicts = {v.path: v for v in report.verdicts}
    assert verdicts[str(empty)].verdict is Verdict.REJECTED
    assert "no .json files" in verdicts[str(empty)].reason
    assert verdicts[str(missing)].verdict is Verdict.REJECTED
    assert "no such file or folder" in verdicts[str(missing)].reason
    assert library.count() == 0


def test_files_in_hidden_subfolders_are_skipped(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "visible"
    (folder / ".hidden").mkdir(parents=True)
    (folder / "nested").mkdir()
    shutil.copy(ENRICHED[0], folder / ".hidden" / ENRICHED[0].name)
    shutil.copy(ENRICHED[1], folder / "nested" / ENRICHED[1].name)
    report = import_paths(library, [folder])
    assert [Path(v.path).name for v in report.verdicts] == [ENRICHED[1].name]
    assert report.imported == 1


# --- the process pool --------------------------------------------------------------


def test_process_pool_imports_hundreds_of_files(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools: list[int] = []

    class CountingPool(concurrent.futures.ProcessPoolExecutor):
        """The standard pool, noting that it was used (proves the parallel path ran)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountingPool)
    count = 450
    assert count >= PARALLEL_FROM  # otherwise the pool would not be used
    template = load(min(ENRICHED, key=lambda p: p.stat().st_size))
    folder = tmp_path / "synthetic"
    folder.mkdir()
    for i in range(count):
        document = with_own_dialogue(template, f"{i:04d}")
        document["dataset_metadata"]["dataset_name"] = f"synthetic_conversation_{i:04d}"
        document["dataset_metadata"]["notes"] = f"synthetic copy number {i}"
        (folder / f"conv-{i:04d}.json").write_bytes(json.dumps(document).encode())
    done: list[int] = []
    report = import_paths(library, [folder], workers=2, progress=lambda d, t, c: done.append(d))
    assert pools == [1], "the process pool was not used"
    assert report.rejected == 0, report.verdicts[:3]
    assert report.imported == count
    assert done[-1] == count
    assert library.count() == count
    assert {v.batch_id for v in report.verdicts} == {"synthetic"}


def test_the_workers_list_of_stored_summary_fields_matches_the_table() -> None:
    """``app.prepare`` names the conversations table's columns without importing the
    models (workers start without SQLAlchemy); this holds the list to the table."""
    from app.models import Conversation
    from app.prepare import STORED_SUMMARY

    assert {column.key for column in Conversation.__table__.columns} == STORED_SUMMARY


def test_a_file_reached_through_a_linked_folder_is_imported_once(
    library: Library, tmp_path: Path
) -> None:
    """Files are told apart by their real path: the folder, and one of its files named
    through a link to that folder (and through ``..``), are one file, not three."""
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(ENRICHED[0], folder / "a.json")
    shutil.copy(ENRICHED[1], folder / "b.json")
    alias = tmp_path / "alias"
    alias.symlink_to(folder, target_is_directory=True)
    report = import_paths(library, [folder, alias / "a.json",
                                    folder / ".." / "alias" / "b.json"])
    assert sorted(Path(v.path).name for v in report.verdicts) == ["a.json", "b.json"]
    assert report.imported == 2


def test_a_nul_character_in_a_summary_value_is_stored_on_every_back_end(
    library: Library, tmp_path: Path
) -> None:
    """PostgreSQL's text cannot hold NUL: the table shows U+FFFD in its place (on both back
    ends alike), the record keeps the character, and the file's neighbours import too."""
    document = load(ENRICHED[0])
    name = json.dumps(document).split('"persona_name": "', 1)[1].split('"', 1)[0]
    odd = write(tmp_path / "odd" / "nul.json",
                json.loads(json.dumps(document).replace(f'"{name}"', f'"{name}\\u0000x"')))
    write(tmp_path / "odd" / "fine.json", load(ENRICHED[1]))
    report = import_paths(library, [odd.parent])
    assert report.imported == 2
    by_file = {row.source_file: row for row in library.summaries()}
    assert by_file["nul.json"].persona_name == f"{name}\ufffdx"
    record = library.record(by_file["nul.json"].conversation_id)
    assert f"{name}\\u0000x" in json.dumps(record)


# --- what is stored ------------------------------------------------------------------


def test_the_stored_rows_are_exactly_the_prepared_rows(library: Library, tmp_path: Path) -> None:
    """The parent stores what the per-file work (``prepare``) made, column for column and
    byte for byte: summary row, record blob, profile and dialogue keys, each conversation
    under its own row key, the keys given in import order, the defaults of the columns an
    import leaves out as the model declares them. Includes a full training file (several
    conversations from one file) and near-duplicates (whose warnings the parent adds)."""
    from sqlalchemy import select

    from app.fullsplit import PART_MARK
    from app.models import Conversation, ConversationDocument, DialogueKey, Profile
    from app.prepare import NOT_COLUMNS, prepare
    from app.similar import INDEXED, NEAR_DUPLICATE, unpack

    folder = tmp_path / "all"
    (folder / "a-full").mkdir(parents=True)  # first: its conversations are fixtures too
    for path in sorted((ENRICHED[0].parents[1] / "full").glob("*.json")):
        shutil.copy(path, folder / "a-full" / path.name)
    for path in [*ENRICHED, *LEGACY]:
        shutil.copy(path, folder / path.name)
    twin = load(ENRICHED[0])  # the same dialogue nearly: a near-duplicate under another id
    twin["dataset_metadata"]["dataset_name"] += "_twin"
    reply = next(p for p in reversed(twin["training_pairs"]) if p.get("target_response"))
    reply["target_response"] += " One more sentence."
    write(folder / "twin.json", twin)
    report = import_paths(library, [folder], batch="fixed")
    assert report.rejected == 0, [v for v in report.verdicts if v.reason]
    expected: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*.json")):  # in the importer's order
        for _where, row, reason in prepare(str(path), "fixed", True):
            assert row is not None, reason
            expected.setdefault(row["conversation_id"], row)
    imported = [v.conversation_id for v in report.verdicts if v.verdict is Verdict.IMPORTED]
    assert len(imported) > len(ENRICHED)

    with library.session() as session:
        rows = session.execute(select(Conversation).order_by(Conversation.pk)).scalars().all()
        documents = dict(session.execute(select(ConversationDocument.pk,
                                                ConversationDocument.document)).all())
        profiles = dict(session.execute(select(Profile.profile_hash, Profile.document)).all())
        keys = dict(session.execute(select(DialogueKey.key, DialogueKey.conversation_pk)).all())
    assert [row.conversation_id for row in rows] == imported  # row keys in import order
    near = 0
    first_with_key: dict[int, int] = {}
    for row in rows:
        want = expected[row.conversation_id]
        stored = {column.key: getattr(row, column.key) for column in Conversation.__table__.columns}
        codes = set(filter(None, want["warning_codes"].split(",")))
        if NEAR_DUPLICATE in stored["warning_codes"].split(","):
            near += 1
            codes.add(NEAR_DUPLICATE)
            assert stored["warnings_text"].startswith(want["warnings_text"])
            want = {**want, "warnings_text": stored["warnings_text"]}
        assert stored["warning_codes"] == ",".join(sorted(codes))
        for key, value in want.items():
            if key not in (*NOT_COLUMNS, "warning_codes"):
                assert stored[key] == value, (row.conversation_id, key)
        assert (stored["token_count"], stored["reviewed_by"], stored["reviewed_at"]) == (
            0, None, None)
        assert stored["imported_at"] == rows[0].imported_at
        assert documents[row.pk] == want["document"]
        assert profiles[row.profile_hash] == want["profile_document"]
        for key in unpack(row.dialogue_sketch)[:INDEXED]:
            first_with_key.setdefault(key, row.pk)
    assert near >= 1  # the twin
    assert any(PART_MARK in row.source_file for row in rows)  # the full file's
    assert keys == first_with_key
