"""The full training files of ours an import reads, wherever they are, and what the library
has of them: its own saved file imported back is not made a second time, one in a folder is
made again as one chosen by name is, and another tokenizer is said (restore58 follow-ups)."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from conftest import ENRICHED
from restore_source import NAME, Source, make_source

from app import trainingfiles
from app.cli import main
from app.full_found import full_files_in, known_to, read_facts
from app.full_restore import import_and_restore
from app.library import Library
from app.trainingfiles import get_training_file, list_training_files

SAID = (f"'{NAME}' is already in this library with the same conversations and settings "
        f"(from {NAME}.json): not made again.")


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Source:
    monkeypatch.setattr(trainingfiles, "now_iso", lambda: "2026-01-01T00:00:00Z")
    return make_source(tmp_path / "made")


def names(library: Library) -> list[str]:
    return sorted(info.name for info in list_training_files(library))


def test_its_own_file_imported_back_is_said_and_not_made_twice(
    source: Source, tmp_path: Path
) -> None:
    with Library.open(tmp_path / "fresh") as fresh:
        import_and_restore(fresh, [source.full], recreate=True)
        again = import_and_restore(fresh, [source.full], recreate=True)
        assert names(fresh) == [NAME]  # no "Production 2026 (2)"
        assert again.restored == [SAID]
        assert SAID in again.summary()


def test_the_same_conversations_in_another_order_are_another_file(
    source: Source, tmp_path: Path
) -> None:
    """Same name, members and settings, another order: it trains otherwise, so it is made
    as "Name (2)", as a file of that name with other content always was."""
    with Library.open(tmp_path / "fresh") as fresh:
        import_and_restore(fresh, [source.full], recreate=True)
        ids = trainingfiles.member_ids(fresh, NAME)
        trainingfiles.delete_training_file(fresh, NAME)
        plan = trainingfiles.plan_addition(fresh, NAME, ids[::-1], create=True,
                                           cut_off_policy="weight0", over_budget="fit",
                                           max_seq_len=2048)
        trainingfiles.apply_addition(fresh, plan)
        facts = read_facts(source.full)
        assert facts is not None and known_to(fresh, facts).same_as == ""
        import_and_restore(fresh, [source.full], recreate=True)
        assert names(fresh) == [NAME, f"{NAME} (2)"]
        assert trainingfiles.member_ids(fresh, f"{NAME} (2)") == ids


def test_it_is_known_under_another_name_too(source: Source, tmp_path: Path) -> None:
    with Library.open(tmp_path / "fresh") as fresh:
        import_and_restore(fresh, [source.full], recreate=True)
        trainingfiles.rename_training_file(fresh, NAME, "Renamed")
        facts = read_facts(source.full)
        assert facts is not None
        known = known_to(fresh, facts)
        assert known.same_as == "Renamed"
        assert known.already_words() == (f"'{NAME}' is already in this library as 'Renamed', "
                                         "with the same conversations and settings")


def in_a_folder(source: Source, tmp_path: Path) -> Path:
    """A delivery folder holding the saved file among conversation files of its own."""
    folder = tmp_path / "delivery" / "week-12"
    folder.mkdir(parents=True)
    shutil.copy(source.full, folder / source.full.name)
    outsider = next(p for p in ENRICHED if "single-convo-file-1" in p.name)
    shutil.copy(outsider, folder / outsider.name)
    return folder.parent


def test_a_file_of_ours_in_a_folder_is_found_and_made_again(
    source: Source, tmp_path: Path
) -> None:
    delivery = in_a_folder(source, tmp_path)
    with Library.open(tmp_path / "fresh") as fresh:
        found = full_files_in(fresh, [delivery])
        assert [f.name for f in found.full_files] == [NAME] and found.files == 2
        report = import_and_restore(fresh, [delivery], recreate=True)
        assert names(fresh) == [NAME]
        assert report.restored[0].startswith(f"Training file '{NAME}' recreated from "
                                             f"{NAME}.json with its settings")
        made = get_training_file(fresh, NAME)
        assert (made.conversations, made.max_seq_len) == (len(source.batch_of), 2048)


def run(library: Path, capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--library", str(library), *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_command_line_recreates_from_folders_and_skips_what_it_has(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    delivery = in_a_folder(source, tmp_path)
    code, out = run(tmp_path / "cli", capsys, "import", "--recreate", delivery)
    assert code == 0, out
    assert f"Training file '{NAME}' recreated from {NAME}.json" in out
    code, out = run(tmp_path / "cli", capsys, "import", "--recreate", source.full)
    assert code == 0, out
    assert SAID in " ".join(out.split())
    with Library.open(tmp_path / "cli") as library:
        assert names(library) == [NAME]


def test_another_tokenizer_in_the_header_is_said(source: Source, tmp_path: Path) -> None:
    document = orjson.loads(source.json)
    tokens = document["training_file_metadata"]["tokens"]
    tokens["tokenizer"], tokens["tokenizer_sha256"] = "Llama 3 8B (custom)", "0" * 64
    elsewhere = tmp_path / "elsewhere" / f"{NAME}.json"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(orjson.dumps(document))
    counted = ("its tokens are counted with Mistral 7B v0.3 (bundled) with the Mistral "
               "[INST] chat template here; the original was counted with Llama 3 8B (custom) "
               "with the Mistral [INST] chat template, so token totals may differ")
    with Library.open(tmp_path / "fresh") as fresh:
        facts = read_facts(elsewhere)
        assert facts is not None and known_to(fresh, facts).tokens_words() == counted
        same = read_facts(source.full)
        assert same is not None and known_to(fresh, same).tokens_words() == ""
        report = import_and_restore(fresh, [elsewhere], recreate=True)
        assert report.restored[0].endswith(f"; {counted}.")
