"""The train/validation split cannot leak, keeps every arc in training, and every export
writes a manifest that lets a run be traced back and repeated."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED
from hostile_corpus import cut_in_the_middle
from stored import stored_files

from app import __version__
from app.cli import main
from app.errors import LibraryError
from app.export import FORMATS, ExportCancelled, ExportFormat, export, export_targets
from app.importer import import_paths
from app.library import Library
from app.quality import INFORMATIONAL
from app.split import parse_valid_share
from app.trainingfiles import add_conversations

NEAR_SOURCE = ENRICHED[1]  # enriched-1.json


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


def _near_copies(folder: Path, count: int) -> list[Path]:
    """Real conversations re-generated with one sentence added: near-duplicates."""
    paths = []
    for index in range(count):
        document = json.loads(NEAR_SOURCE.read_text(encoding="utf-8"))
        document["dataset_metadata"]["dataset_name"] = f"fp_conversation_near_{index}"
        reply = next(p for p in document["training_pairs"] if p["target_response"])
        reply["target_response"] = f"Thank you for asking, take {index}. " + reply[
            "target_response"]
        path = folder / f"near-{index}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def _flagged(folder: Path) -> Path:
    return cut_in_the_middle(folder, "history_off", "flagged.json")


@pytest.fixture
def mixed(filled_library: Library, tmp_path: Path) -> Library:
    """Every real fixture, three near-duplicates of one of them and a flagged one, in a
    file that keeps cut-off replies (so flagged conversations have lines)."""
    folder = tmp_path / "extra"
    folder.mkdir()
    report = import_paths(filled_library, [*_near_copies(folder, 3), _flagged(folder)])
    assert report.imported == 4, report.verdicts
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Mixed", ids, create=True, cut_off_policy="keep")
    return filled_library


def _flagged_line(line: dict[str, Any]) -> bool:
    codes = set(filter(None, line["metadata"]["warnings"].split(",")))
    return bool(codes - INFORMATIONAL)


@pytest.mark.parametrize("seed", [1, 7, 42])
@pytest.mark.parametrize("share", [0.1, 0.25, 0.5])
def test_split_properties(mixed: Library, tmp_path: Path, seed: int, share: float) -> None:
    folder = tmp_path / f"split-{seed}-{share}"
    train_path, valid_path, manifest_path = export(mixed, "Mixed", ExportFormat.SPLIT, folder,
                                                   share, seed)
    train, valid = _lines(train_path), _lines(valid_path)
    stored = _lines(stored_files(mixed, "Mixed").jsonl_path)
    ids = [line["metadata"]["conversation_id"] for line in stored]
    train_ids = [line["metadata"]["conversation_id"] for line in train]
    valid_ids = [line["metadata"]["conversation_id"] for line in valid]
    assert not set(train_ids) & set(valid_ids), "a conversation is on both sides"
    assert sorted(train_ids + valid_ids) == sorted(ids)
    assert train_ids == [i for i in ids if i in set(train_ids)], "file order is kept"
    assert valid, "validation is never empty"
    assert not [line for line in valid if _flagged_line(line)], "flagged in validation"
    assert any(_flagged_line(line) for line in train)
    arcs = Counter(line["metadata"]["emotional_arc_key"] for line in stored)
    in_train = Counter(line["metadata"]["emotional_arc_key"] for line in train)
    for arc, count in arcs.items():
        if count >= 2:
            assert in_train[arc] >= 1, f"arc {arc!r} vanished from training"
    near = {i for i in ids if i.startswith("fp_conversation_near_")}
    original = json.loads(NEAR_SOURCE.read_text(encoding="utf-8"))["dataset_metadata"][
        "dataset_name"]
    group = near | {original}
    assert group <= set(train_ids) or group <= set(valid_ids), "near-duplicates split up"

    manifest = orjson.loads(manifest_path.read_bytes())
    assert manifest["app_version"] == __version__
    assert manifest["export_format"] == "split"
    assert manifest["training_file"] == "Mixed"
    assert manifest["cut_off_policy"] == "keep"
    assert manifest["split"]["seed"] == seed and manifest["split"]["valid_fraction"] == share
    # the near copies with their original, and the flagged copy with the fixture it came from
    assert manifest["split"]["near_duplicate_groups"] == 2
    files = {f["role"]: f for f in manifest["files"]}
    assert files["train"]["conversation_ids"] == train_ids
    assert files["valid"]["conversation_ids"] == valid_ids
    for role, path in (("train", train_path), ("valid", valid_path)):
        assert files[role]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert files[role]["file"] == path.name
    stored_jsonl = stored_files(mixed, "Mixed").jsonl_path
    assert manifest["source"]["jsonl"]["sha256"] == hashlib.sha256(
        stored_jsonl.read_bytes()).hexdigest()  # type: ignore[union-attr]


def test_split_is_reproducible_and_stratified(mixed: Library, tmp_path: Path) -> None:
    one = export(mixed, "Mixed", ExportFormat.SPLIT, tmp_path / "one", 0.3, 3)
    two = export(mixed, "Mixed", ExportFormat.SPLIT, tmp_path / "two", 0.3, 3)
    assert [p.read_bytes() for p in one[:2]] == [p.read_bytes() for p in two[:2]]
    manifest = orjson.loads(one[2].read_bytes())
    by_arc = manifest["split"]["by_emotional_arc"]
    assert sum(side["valid"] for side in by_arc.values()) == len(_lines(one[1]))
    # the legacy conversations (no arc) are the largest stratum and give validation lines
    assert by_arc[""]["valid"] >= 1 and by_arc[""]["train"] >= 1


@pytest.mark.parametrize("fmt", [f for f in ExportFormat if not FORMATS[f].writes_folder])
def test_every_download_writes_a_manifest(mixed: Library, tmp_path: Path,
                                          fmt: ExportFormat) -> None:
    spec = FORMATS[fmt]
    target = tmp_path / f"Mixed{spec.suffix}"
    written = export(mixed, "Mixed", fmt, target)
    assert written == export_targets(fmt, target)
    manifest = orjson.loads(written[-1].read_bytes())
    (entry,) = manifest["files"]
    assert entry["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert entry["bytes"] == target.stat().st_size
    assert manifest["export_description"] == spec.description
    members = [row.conversation_id for row in mixed.summaries()]
    if fmt is ExportFormat.JSON:
        assert entry["conversation_ids"] == members
    else:
        assert set(entry["conversation_ids"]) <= set(members)
        assert entry["conversation_ids"]


def test_registry_describes_every_format() -> None:
    assert set(FORMATS) == set(ExportFormat)
    for fmt, spec in FORMATS.items():
        assert spec.format is fmt and spec.title and len(spec.description) > 40
        assert spec.writes_folder == (fmt in (ExportFormat.SPLIT, ExportFormat.SPLIT_PER_REPLY))


@pytest.mark.parametrize("fmt", [ExportFormat.PER_REPLY, ExportFormat.SPLIT,
                                 ExportFormat.SPLIT_PER_REPLY])
def test_a_cancelled_export_leaves_nothing(mixed: Library, tmp_path: Path,
                                           fmt: ExportFormat) -> None:
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 5

    # a split writes a folder and refuses a file's name (below)
    target = tmp_path / "out" / ("cancelled" if FORMATS[fmt].writes_folder
                                 else "cancelled.jsonl")
    with pytest.raises(ExportCancelled):
        export(mixed, "Mixed", fmt, target, 0.2, cancelled=cancelled)
    assert not target.parent.exists()  # nor the folders it made on the way


def test_cli_split_writes_the_manifest(mixed: Library, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    mixed.close()
    folder = tmp_path / "cli-split"
    capsys.readouterr()
    code = main(["--data-dir", str(mixed.root), "export", "Mixed", "--format", "split",
                 "-o", str(folder), "--valid-fraction", "0.2", "--seed", "5"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"wrote {folder / 'manifest.json'}" in out
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert manifest["split"]["seed"] == 5
    assert {f["file"] for f in manifest["files"]} == {"train.jsonl", "valid.jsonl"}


@pytest.mark.parametrize(("typed", "share"), [
    ("0.1", 0.1), (" 0,25 ", 0.25), ("10", 0.1), ("10%", 0.1), ("12.5 %", 0.125),
    ("1", 0.01), ("99.5", 0.995), (".5", 0.5)])
def test_a_share_is_a_fraction_or_a_percentage(typed: str, share: float) -> None:
    assert parse_valid_share(typed) == pytest.approx(share)


@pytest.mark.parametrize("typed", ["0", "100", "100%", "1%%", "-0.1", "ten", "", "nan", "inf"])
def test_a_share_the_split_cannot_use_says_what_it_takes(typed: str) -> None:
    with pytest.raises(LibraryError, match="is not a validation share: type a fraction"):
        parse_valid_share(typed)


def test_cli_split_takes_a_percentage(mixed: Library, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    mixed.close()
    folder = tmp_path / "cli-split"
    assert main(["--data-dir", str(mixed.root), "export", "Mixed", "--format", "split",
                 "-o", str(folder), "--valid-fraction", "20%", "--seed", "5"]) == 0
    assert orjson.loads((folder / "manifest.json").read_bytes())["split"]["valid_fraction"] \
        == 0.2
    with pytest.raises(SystemExit):
        main(["--data-dir", str(mixed.root), "export", "Mixed", "--format", "split",
              "-o", str(folder), "--valid-fraction", "half"])
    assert "'half' is not a validation share" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["x.jsonl", "x.JSON"])
def test_cli_split_to_a_file_name_is_refused(mixed: Library, tmp_path: Path, name: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``-o x.jsonl`` means a file: the split writes a folder, so it says so and makes none
    (before, a folder named x.jsonl appeared)."""
    mixed.close()
    target = tmp_path / name
    capsys.readouterr()
    code = main(["--data-dir", str(mixed.root), "export", "Mixed", "--format", "split",
                 "-o", str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot write the split to {target}: the split format writes a folder" in err
    assert f"Name a folder instead, for example {tmp_path / 'x'}." in err
    assert not target.exists()


def test_split_into_an_existing_folder_named_like_a_file_is_kept(mixed: Library,
                                                                 tmp_path: Path) -> None:
    """A folder the person already made (a folder dialog can only pick those) is theirs
    to name: the split goes into it."""
    folder = tmp_path / "runs.json"
    folder.mkdir()
    written = export(mixed, "Mixed", ExportFormat.SPLIT, folder, 0.2)
    assert [p.name for p in written] == ["train.jsonl", "valid.jsonl", "manifest.json"]
    assert written[0].parent == folder


# --- an export asked to replace files never takes them away ---------------------------


@pytest.mark.parametrize("fmt", [ExportFormat.JSONL, ExportFormat.SPLIT])
def test_a_cancelled_export_over_earlier_files_puts_them_back(
        mixed: Library, tmp_path: Path, fmt: ExportFormat) -> None:
    """The person answered Replace, then Cancel once the first file was replaced: the
    export takes back what it wrote, and the files that were there come back as they were."""
    target = tmp_path / "mine" / ("split" if fmt is ExportFormat.SPLIT else "mine.jsonl")
    export(mixed, "Mixed", fmt, target, 0.2)  # the earlier copy, then edited by hand
    earlier = {path: f"my own {path.name}\n".encode() for path in export_targets(fmt, target)}
    for path, data in earlier.items():
        path.write_bytes(data)
    first = export_targets(fmt, target)[0]

    def cancelled() -> bool:  # once the first file is replaced
        return first.read_bytes() != earlier[first]

    with pytest.raises(ExportCancelled):
        export(mixed, "Mixed", fmt, target, 0.2, cancelled=cancelled, overwrite=True)
    assert {path: path.read_bytes() for path in earlier} == earlier
    assert sorted(p.name for p in first.parent.iterdir()) == sorted(p.name for p in earlier)


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``path`` may not be replaced, even by root (a file another program holds on
    Windows refuses the same way); skips where the file system has no such flag."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True,
                      check=False).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr")
def test_a_manifest_that_cannot_be_replaced_keeps_the_earlier_jsonl(
        mixed: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mine.jsonl"
    target.write_bytes(b"my own lines\n")
    manifest = export_targets(ExportFormat.JSONL, target)[-1]
    manifest.write_bytes(b"my own manifest\n")
    mixed.close()
    with immutable(manifest):
        code = main(["--data-dir", str(mixed.root), "export", "Mixed", "--format", "jsonl",
                     "-o", str(target), "--force"])
    out, err = capsys.readouterr()
    assert code == 1
    assert target.read_bytes() == b"my own lines\n"
    assert manifest.read_bytes() == b"my own manifest\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "mine.jsonl", "mine.jsonl.manifest.json"]
    assert f"{manifest} cannot be replaced: another program has it open" in err, out + err


def test_a_split_to_a_file_names_that_file(mixed: Library, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The split's folder is the destination itself, not its parent: before, a file named
    like the folder read only "File exists"."""
    mixed.close()
    in_the_way = tmp_path / "runs"
    in_the_way.write_bytes(b"my notes\n")
    capsys.readouterr()
    code = main(["--data-dir", str(mixed.root), "export", "Mixed", "--format", "split",
                 "-o", str(in_the_way)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{in_the_way} is a file, not a folder. Choose a folder" in err, err
    assert in_the_way.read_bytes() == b"my notes\n"


def test_a_cancelled_export_leaves_another_exports_files(mixed: Library,
                                                         tmp_path: Path) -> None:
    """Two exports of one file (another window, the command line): the other finishes and
    says so while this one runs, then this one is cancelled. It takes back only its own
    writes: before, it put the earlier file back over the other's finished JSONL, whose
    manifest then described a file that was not there."""
    target = tmp_path / "mine.jsonl"
    target.write_bytes(b"my own lines\n")
    manifest = export_targets(ExportFormat.JSONL, target)[-1]
    other: list[Path] = []

    def cancelled() -> bool:  # the other export runs to its end at this one's first look
        if not other:
            other.extend(export(mixed, "Mixed", ExportFormat.JSONL, target, overwrite=True))
            return False
        return True

    with pytest.raises(ExportCancelled):
        export(mixed, "Mixed", ExportFormat.JSONL, target, cancelled=cancelled,
               overwrite=True)
    assert other == [target, manifest]
    listed = orjson.loads(manifest.read_bytes())["files"]
    assert [f["sha256"] for f in listed] == [hashlib.sha256(target.read_bytes()).hexdigest()]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "mine.jsonl", "mine.jsonl.manifest.json"]


@pytest.mark.parametrize("fmt", [ExportFormat.JSONL, ExportFormat.SPLIT])
def test_a_destination_through_dot_dot_is_written_and_named_as_the_place_it_is(
        mixed: Library, tmp_path: Path, fmt: ExportFormat) -> None:
    """A name typed as "../x.jsonl" lands beside the folder; the saved message names that
    place, not "saved/../x.jsonl", which a person cannot find in a file manager."""
    (tmp_path / "saved").mkdir()
    typed = tmp_path / "saved" / ".." / ("x" if fmt is ExportFormat.SPLIT else "x.jsonl")
    written = export(mixed, "Mixed", fmt, typed, 0.2)
    assert all(".." not in path.parts for path in written)
    assert all(path.parent == (tmp_path / "x" if fmt is ExportFormat.SPLIT else tmp_path)
               for path in written)
    assert all(path.exists() for path in written)
