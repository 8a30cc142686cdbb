"""``lora-studio validate FOLDER`` reads the folder as ``import`` does (audit55 V1): it said
"INVALID <folder> [broken] / $: is a folder, not an ordinary file" and exit 1 for the folder a
person had saved their copies in. Run against a real save: a real library, real exports
(full JSON, JSONL, a split, their manifests and recipes), the real command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import BAD, ENRICHED

from app.cli import main

FILE_LINE = ("valid    ", "INVALID  ")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out.splitlines()


@pytest.fixture
def saved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The folder of a person's saves: a full JSON and a JSONL with their manifests and
    recipes, a split in a folder below it, and a hidden file the system put there."""
    exports = tmp_path / "exports"
    _exported(tmp_path, capsys, ("export", "Set", "--format", "json", "-o",
                                 exports / "set.json"),
              ("export", "Set", "--format", "jsonl", "-o", exports / "set.jsonl", "--recipes"),
              ("export", "Set", "--format", "split", "-o", exports / "split", "--recipes"))
    (exports / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return exports


def _exported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
              *exports: tuple[object, ...]) -> None:
    """The fixtures' conversations imported into a library, made the training file "Set",
    then exported with each of ``exports`` (the command line's arguments)."""
    conversations = tmp_path / "in"
    conversations.mkdir()
    for path in ENRICHED:
        shutil.copy(path, conversations / path.name)
    library = ("--library", tmp_path / "lib")
    for args in (("import", conversations), ("add", "Set", "--new", "--all"), *exports):
        code, _ = run(capsys, *library, *args)
        assert code == 0, args


def test_a_folder_of_saves_is_checked_file_by_file(
        saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "validate", saved)
    assert code == 0, lines
    verdicts = [line for line in lines if line.startswith(FILE_LINE)]
    assert verdicts == [
        f"valid    {saved / 'set.json'}  [full]",
        f"valid    {saved / 'set.json.manifest.json'}  [manifest]",
        f"valid    {saved / 'set.jsonl'}  [jsonl]",
        f"valid    {saved / 'set.jsonl.manifest.json'}  [manifest]",
        f"valid    {saved / 'split' / 'manifest.json'}  [manifest]",
        f"valid    {saved / 'split' / 'train.jsonl'}  [jsonl]",
    ]
    # the same lines as for the files given one by one
    code, one_by_one = run(capsys, "validate", *(line.split()[1] for line in verdicts))
    assert code == 0 and one_by_one == lines[:-1]
    # the rest in one line: how many, which, and why
    assert lines[-1].startswith(f"not checked in {saved}: ")
    assert "8 files not .json or .jsonl, the files validate reads (" in lines[-1]
    assert ("2 files named dataset_info.json, LLaMA-Factory's list of datasets beside the "
            "recipes, not a training file (dataset_info.json, split/dataset_info.json)"
            in lines[-1])
    assert "1 hidden by a name starting with a dot (.DS_Store)" in lines[-1]


def test_an_invalid_file_in_the_folder_makes_it_exit_1_and_is_named(
        saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (saved / "split" / "train.jsonl").open("ab") as handle:
        handle.write(b"\n")  # changed since it was saved: its manifest says so
    shutil.copy(BAD[0], saved / "raw.json")
    code, lines = run(capsys, "validate", saved)
    assert code == 1
    invalid = [line for line in lines if line.startswith("INVALID")]
    assert invalid == [f"INVALID  {saved / 'raw.json'}  [raw]",
                       f"INVALID  {saved / 'split' / 'manifest.json'}  [manifest]",
                       f"INVALID  {saved / 'split' / 'train.jsonl'}  [jsonl]"]
    assert sum(line.startswith("valid ") for line in lines) == 4  # the other four


def test_a_folder_with_nothing_to_check_says_so_and_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "notes"
    (folder / "deeper").mkdir(parents=True)
    (folder / "deeper" / "todo.txt").write_text("check the copies", encoding="utf-8")
    code, lines = run(capsys, "validate", folder)
    assert code == 1
    assert lines == [
        f"nothing  {folder}  [folder]",
        f"    nothing to check: no .json or .jsonl file in {folder} or below it (not "
        "checked: 1 file not .json or .jsonl, the files validate reads (deeper/todo.txt)). "
        "Give the folder where you saved copies from LoRA Studio, or the files themselves"]


def test_a_problem_at_the_top_of_the_file_is_said_in_words(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No "[broken]" and no "$:" for a person: the kind and the place in words."""
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    other = tmp_path / "other.json"
    other.write_text('{"notes": []}', encoding="utf-8")
    code, lines = run(capsys, "validate", empty, other)
    assert code == 1
    assert lines[0] == f"INVALID  {empty}  [not readable as JSON]"
    assert lines[1].startswith("    the file is empty; ")
    assert lines[2] == f"INVALID  {other}  [unknown]"
    assert lines[3].startswith("    the file: not a conversation file, ")
    assert not [line for line in lines if "$:" in line or "[broken]" in line]


def test_a_jsonl_line_s_problem_names_the_line_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It read "$.messages: line 1: [] is too short": the place inside the line before the
    line it is in."""
    lines_file = tmp_path / "train.jsonl"
    lines_file.write_text('{"messages": [], "metadata": {}}\n', encoding="utf-8")
    code, lines = run(capsys, "validate", lines_file)
    assert code == 1
    problems = [line.strip() for line in lines[1:]]
    assert problems and all(line.startswith("line 1") for line in problems), problems
    assert not [line for line in problems if ": line 1" in line]


@pytest.fixture
def shared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Three downloads with trainer recipes saved into one folder: each merges its entry
    into the folder's one dataset_info.json (audit57 H1)."""
    folder = tmp_path / "shared"
    _exported(tmp_path, capsys,
              *(("export", "Set", "--format", fmt, "-o", folder / name, "--recipes")
                for fmt, name in (("jsonl", "prod.jsonl"),
                                  ("jsonl-messages", "prod-messages.jsonl"),
                                  ("jsonl-per-reply", "prod-per-reply.jsonl"))))
    return folder


MANIFESTS = ("prod-messages.jsonl.manifest.json", "prod-per-reply.jsonl.manifest.json",
             "prod.jsonl.manifest.json")


def _manifest_verdicts(lines: list[str]) -> list[str]:
    return [line for line in lines if line.endswith("[manifest]")]


def test_downloads_into_one_folder_keep_every_manifest_valid(
        shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The later downloads' merges into dataset_info.json are the app's own: no manifest
    calls them a change, and the file lists every download's entry."""
    info = json.loads((shared / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["prod", "prod-messages", "prod-per-reply"]
    code, lines = run(capsys, "validate", shared)
    assert code == 0, lines
    assert _manifest_verdicts(lines) == [
        f"valid    {shared / name}  [manifest]" for name in MANIFESTS]
    code, lines = run(capsys, "validate", shared / MANIFESTS[2])
    assert code == 0 and lines[1] == (
        "    checked the 5 files it lists beside it (dataset_info.json, shared with the "
        "folder's other downloads: only this download's own entries)")


def test_an_edited_or_removed_entry_is_still_caught(
        shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A person's edit of a download's own entry, or its removal, is reported on that
    download's manifest only (the others' entries are as saved)."""
    path = shared / "dataset_info.json"
    info = json.loads(path.read_text(encoding="utf-8"))
    info["prod"]["formatting"] = "alpaca"
    del info["prod-per-reply"]
    path.write_text(json.dumps(info, indent=4), encoding="utf-8")
    code, lines = run(capsys, "validate", shared)
    assert code == 1
    assert _manifest_verdicts(lines) == [
        f"valid    {shared / MANIFESTS[0]}  [manifest]",
        f"INVALID  {shared / MANIFESTS[1]}  [manifest]",
        f"INVALID  {shared / MANIFESTS[2]}  [manifest]"]
    text = "\n".join(lines)
    assert ("dataset_info.json no longer has the entry 'prod-per-reply' LoRA Studio saved for "
            "this download, so LLaMA-Factory cannot find its data: save it again from LoRA "
            "Studio") in text
    assert ("dataset_info.json: the entry 'prod' changed since LoRA Studio saved it") in text


def test_a_manifest_from_before_says_what_it_checks(
        shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A manifest written before the change records the whole file's sha256: checked as
    before, and when a later download's entries changed the file, the sentence says why
    and that saving again records only the download's own entries."""
    manifest = shared / MANIFESTS[2]
    document = json.loads(manifest.read_text(encoding="utf-8"))
    entry = next(e for e in document["files"] if e["file"] == "dataset_info.json")
    del entry["dataset_entries"]
    entry.update(bytes=5, sha256="0" * 64)  # the whole file as an earlier download saw it
    manifest.write_text(json.dumps(document), encoding="utf-8")
    code, lines = run(capsys, "validate", manifest)
    assert code == 1
    assert ("dataset_info.json changed since LoRA Studio saved it (its size or sha256 is not "
            "the one the manifest records): save it again from LoRA Studio (this manifest, "
            "written by an earlier LoRA Studio, records the whole file, which every later "
            "download into this folder adds its entries to; saved again, the manifest records "
            "only this download's own entries)") in "\n".join(lines)
