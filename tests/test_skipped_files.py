"""Files in a dropped folder that the import does not read are told, a line a kind with a
count and a few names: not .json, or hidden .json. What a file browser hides (dot names,
Thumbs.db, desktop.ini) is passed over in silence. Real folders, a real SQLite library,
real fixture conversations, the real command and the real summary dialog."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from conftest import ENRICHED

from app.cli import main
from app.importer import import_paths
from app.library import Library
from app.skipped_files import EXAMPLES, SkippedFiles
from ui.import_flow import ImportSummaryDialog

TXT = ("only .json files are imported; give a conversation file the .json ending to "
       "import it")
JSONL = ("JSONL files are not imported: a training file's JSONL has its full JSON beside it "
         "(import the .json file of the same name), and conversations written one a line "
         "must each be saved as a .json file of its own")
SUMMARY = "2 conversations imported, 5 files not read."
HIDDEN = ("a name starting with a dot hides a file, and hidden files are not imported; "
          "rename a conversation file without the dot to import it")


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """A folder as people drop them: conversations, a JSONL copy, notes, a hidden
    conversation, and what macOS and Windows leave beside files."""
    folder = tmp_path / "drop"
    (folder / "sub").mkdir(parents=True)
    (folder / ".git").mkdir()
    shutil.copy(ENRICHED[0], folder / "one.json")
    shutil.copy(ENRICHED[1], folder / "sub" / "two.json")
    shutil.copy(ENRICHED[2], folder / ".hidden.json")
    shutil.copy(ENRICHED[2], folder / ".git" / "inside-a-hidden-folder.json")
    (folder / "pilot.jsonl").write_text('{"messages": []}\n', encoding="utf-8")
    for name in ("notes.txt", "sub/todo.txt", "README"):
        (folder / name).write_text("remember batch 4", encoding="utf-8")
    for name in (".DS_Store", "._one.json", "Thumbs.db", "sub/desktop.ini", ".gitignore"):
        (folder / name).write_bytes(b"\x00system")
    return folder


def test_a_folders_other_files_are_reported_by_kind(library: Library, drop: Path) -> None:
    report = import_paths(library, [drop])
    assert report.imported == 2 and report.rejected == 0
    told = {kind.kind: (kind.count, sorted(Path(p).name for p in kind.examples))
            for kind in report.skipped}
    assert told == {".txt": (2, ["notes.txt", "todo.txt"]), ".jsonl": (1, ["pilot.jsonl"]),
                    "": (1, ["README"]), "hidden .json": (1, [".hidden.json"])}
    assert report.skipped[0].kind == ".txt"  # the most numerous first
    assert report.summary() == SUMMARY


def test_many_files_of_a_kind_are_one_line_with_a_few_names() -> None:
    skipped = SkippedFiles()
    for number in range(10_000):
        skipped.add(f"photo-{number}.PNG", f"/drop/photo-{number}.PNG")
    (kind,) = skipped.kinds()
    assert (kind.kind, kind.count, len(kind.examples)) == (".png", 10_000, EXAMPLES)
    assert kind.sentence() == (
        f"10,000 .png files: {TXT} (/drop/photo-0.PNG, /drop/photo-1.PNG, /drop/photo-2.PNG "
        "and 9,997 more)")


def test_the_command_says_what_it_skipped_and_keeps_its_json_lines(
        tmp_path: Path, drop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["--data-dir", str(tmp_path / "lib"), "import", str(drop)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-1] == SUMMARY
    skipped = [line for line in out if line.startswith("not read ")]
    assert skipped[0].startswith(f"not read  2 .txt files: {TXT} (")
    assert f"not read  1 .jsonl file: {JSONL} ({drop / 'pilot.jsonl'})" in skipped
    assert f"not read  1 hidden .json file: {HIDDEN} ({drop / '.hidden.json'})" in skipped
    assert f"not read  1 file without an ending: {TXT} ({drop / 'README'})" in skipped
    assert len(skipped) == 4  # nothing about .DS_Store, Thumbs.db, desktop.ini, .git

    code = main(["--data-dir", str(tmp_path / "lib2"), "import", str(drop), "--json"])
    result = capsys.readouterr()
    lines = [orjson.loads(line) for line in result.out.splitlines()]
    assert [line["verdict"] for line in lines] == ["imported", "imported"]  # stdout: verdicts
    assert "not read  2 .txt files" in result.err


def test_the_summary_dialog_lists_the_skipped_kinds(qtbot, library: Library,
                                                    drop: Path) -> None:
    dialog = ImportSummaryDialog(import_paths(library, [drop]))
    qtbot.addWidget(dialog)
    text = dialog.text()
    assert "5 files were not read\n" in text
    assert f"  1 hidden .json file: {HIDDEN} (drop/.hidden.json)" in text
    assert f"  1 .jsonl file: {JSONL} (drop/pilot.jsonl)" in text
    assert "DS_Store" not in text and "Thumbs.db" not in text and ".git" not in text
    assert dialog.headline.text().endswith(", 5 files not read.")
