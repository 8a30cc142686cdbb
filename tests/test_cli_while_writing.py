"""The listing commands while another LoRA Studio writes the library (audit55 W2): during
an import ``batches`` printed a count part-way with no word of it, and ``files`` with no
training file printed nothing at all. The other LoRA Studio here is a real process doing
the real import (or add), held part-way by ``held_jobs`` until the test lets it go on."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from child_process import python_child, wait_for_marker
from conftest import ROOT

from app.cli import main
from app.library import Library

TESTS = ROOT / "tests"
# The import or the add of a whole library into a new training file, held after its first
# file or conversation until the gate file exists.
CHILD = """
import sys
import time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from held_jobs import held_import
from app.library import Library
from app.trainingfiles import apply_addition, plan_addition
tests, library, what, gate = sys.argv[1:5]
with Library.open(Path(library)) as opened:
    if what == "import":
        held_import(opened, [Path(sys.argv[5])], gate=gate)
    else:
        ids = [row.conversation_id for row in opened.summaries()]
        new = what == "add"  # "add to": the rest added to the one the test made of the first
        def held(done, total, current):
            if done >= 1 and not Path(gate).exists():
                Path(gate + ".held").touch()
                while not Path(gate).exists():
                    time.sleep(0.01)
        apply_addition(opened, plan_addition(opened, "Held", ids if new else ids[1:],
                                             create=new), held)
"""
NO_FILES = ("No training files yet: make one with 'lora-studio add NAME --new --all' (or "
            "--batch ID, or conversation ids), or on the window's LoRA Training JSON Files "
            "page.\n")


def cli(capsys: pytest.CaptureFixture[str], library: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--library", str(library), *args])
    out, err = capsys.readouterr()
    return code, out, err


@contextlib.contextmanager
def running(library: Path, gate: Path, what: str, *args: str) -> Iterator[
        subprocess.Popen[bytes]]:
    """The other LoRA Studio, held part-way; let go on (and waited for) after the block."""
    with python_child(CHILD, str(TESTS), str(library), what, str(gate), *args) as child:
        wait_for_marker(child, Path(f"{gate}.held"), 120, f"started its {what}")
        yield child
        gate.touch()
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err


def test_listings_say_an_import_is_running_elsewhere_and_stdout_stays_parseable(
        tmp_path: Path, fixture_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library, gate = tmp_path / "lib", tmp_path / "gate"
    with running(library, gate, "import", str(fixture_folder)) as child:
        note = (f"note: an import is running in another LoRA Studio (process {child.pid}): "
                "{} until it ends\n")

        code, out, err = cli(capsys, library, "batches")
        assert code == 0
        assert err == note.format("these counts may change")
        assert all(re.fullmatch(r"[^\t]+\t\d+", line) for line in out.splitlines()), out

        code, out, err = cli(capsys, library, "conversations", "--json")
        assert code == 0
        assert err == note.format("this list may change")
        assert all(isinstance(orjson.loads(line), dict) for line in out.splitlines())

        code, out, err = cli(capsys, library, "files")
        assert (code, out) == (0, "")
        assert err == note.format("this list may change") + NO_FILES
    # the import went on to its end: the whole count, nothing said
    code, out, err = cli(capsys, library, "batches")
    assert (code, err) == (0, "")
    assert out == f"{fixture_folder.name}\t{len(list(fixture_folder.iterdir()))}\n"


def test_files_says_a_training_file_is_being_made_elsewhere(
        tmp_path: Path, fixture_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library, gate = tmp_path / "lib", tmp_path / "gate"
    assert cli(capsys, library, "import", str(fixture_folder))[0] == 0
    with running(library, gate, "add") as child:
        code, out, err = cli(capsys, library, "files", "--json")
        assert (code, out) == (0, "")
        assert err == (f"note: the training file 'Held' is being made in another LoRA Studio "
                       f"(process {child.pid}): this list may change until it ends\n"
                       + NO_FILES)
    code, out, err = cli(capsys, library, "files", "--json")
    assert (code, err) == (0, "")
    assert [orjson.loads(line)["name"] for line in out.splitlines()] == ["Held"]


def test_files_with_no_training_file_says_how_to_make_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Library.open(tmp_path / "lib").close()  # a new library, empty
    for args in (("files",), ("files", "--json")):
        code, out, err = cli(capsys, tmp_path / "lib", *args)
        assert (code, out, err) == (0, "", NO_FILES)


def test_batches_of_an_empty_library_says_how_to_import(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`batches` on an empty library printed nothing at all (exit 0), as `files` did."""
    Library.open(tmp_path / "lib").close()
    code, out, err = cli(capsys, tmp_path / "lib", "batches")
    assert (code, out) == (0, "")
    assert err == ("No batches yet: the library holds no conversation. Import some with "
                   "'lora-studio import FILES_OR_FOLDERS' (each folder becomes a batch), or "
                   "in the window.\n")


def test_export_says_the_file_is_being_changed_elsewhere_and_gives_it_as_it_was(
        tmp_path: Path, fixture_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library, gate = tmp_path / "lib", tmp_path / "gate"
    assert cli(capsys, library, "import", str(fixture_folder))[0] == 0
    with Library.open(library) as opened:
        first = opened.summaries()[0].conversation_id
    assert cli(capsys, library, "add", "Held", "--new", first)[0] == 0
    assert cli(capsys, library, "add", "Other", "--new", first)[0] == 0
    jsonl = tmp_path / "out" / "held.jsonl"
    jsonl.parent.mkdir()
    with running(library, gate, "add to") as child:
        code, _out, err = cli(capsys, library, "export", "Held", "--format", "jsonl",
                              "--output", str(jsonl))
        assert code == 0, err
        assert err == (f"note: the training file 'Held' is being added to in another LoRA "
                       f"Studio (process {child.pid}): an export gives the file as it was "
                       "before this change until it ends\n")
        assert len(jsonl.read_bytes().splitlines()) == 1
        # the name as typed in another case is the same file; another file says nothing
        code, _out, err = cli(capsys, library, "export", "held", "--format", "jsonl",
                              "--output", str(jsonl), "--force")
        assert code == 0 and err.startswith("note: the training file 'Held' is being added")
        code, _out, err = cli(capsys, library, "export", "Other", "--format", "jsonl",
                              "--output", str(tmp_path / "out" / "other.jsonl"))
        assert (code, err) == (0, "")
    code, _out, err = cli(capsys, library, "export", "Held", "--format", "jsonl",
                          "--output", str(jsonl), "--force")
    assert (code, err) == (0, "")
    assert len(jsonl.read_bytes().splitlines()) > 1


def test_export_of_a_file_being_made_elsewhere_says_it_can_be_exported_once_made(
        tmp_path: Path, fixture_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library, gate = tmp_path / "lib", tmp_path / "gate"
    assert cli(capsys, library, "import", str(fixture_folder))[0] == 0
    with running(library, gate, "add") as child:
        code, _out, err = cli(capsys, library, "export", "Held", "--format", "jsonl",
                              "--output", str(tmp_path / "held.jsonl"))
        assert code != 0
        assert err.startswith(f"note: the training file 'Held' is being made in another "
                              f"LoRA Studio (process {child.pid}): it can be exported once "
                              "it is made\n")
