"""The import summary groups what one place gives many of (a full training file's
conversations, a folder's files) when they are duplicates or imported, and still lists
every rejected file with its own reason. Real files, a real library, the real dialog."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY, ROOT
from test_import_summary_reads import rows

from app.importer import import_paths
from ui import import_report_lines
from ui.import_flow import ImportSummaryDialog

FULL = ROOT / "tests" / "fixtures" / "full" / "user-full-file-3-conversations.json"


def sections(qtbot, report) -> dict[str, list[str]]:
    """The summary dialog's sections as its rows show them: each heading, its lines."""
    dialog = ImportSummaryDialog(report)
    qtbot.addWidget(dialog)
    return {heading: [f"  {line}" for line in lines]
            for heading, lines in rows(dialog).items()}


def test_a_full_training_files_conversations_are_one_line_each_section(qtbot, library):
    found = sections(qtbot, import_paths(library, [FULL]))
    assert found["3 conversations imported"] == [
        f"  {FULL.parent.name}/{FULL.name}: 3 conversations → batch "
        f"{library.summaries()[0].batch_id}"]
    again = sections(qtbot, import_paths(library, [FULL]))
    batch = library.summaries()[0].batch_id  # where they are: what a person knows them by
    assert again == {"3 conversations were already in the library (skipped)": [
        f"  {FULL.parent.name}/{FULL.name}: 3 conversations are already in the library (in "
        f"batch '{batch}'): skipped"]}


def test_a_folders_many_files_are_one_line_and_a_few_are_listed(
        qtbot, library, fixture_folder: Path, monkeypatch: pytest.MonkeyPatch):
    count = len(ENRICHED) + len(LEGACY)
    monkeypatch.setattr(import_report_lines, "GROUP_FROM", count)  # this folder is "many"
    found = sections(qtbot, import_paths(library, [fixture_folder]))
    (line,) = found[f"{count} conversations imported"]
    assert line.startswith(f"  {fixture_folder.name}/: {count} files (")
    assert line.endswith(f" and {count - 3} more) → batch {fixture_folder.name}")

    # A few from another folder, below the threshold, are listed one by one; a rejected
    # file always is, with its reason.
    few = fixture_folder.parent / "few"
    few.mkdir()
    shutil.copy(ENRICHED[0], few / ENRICHED[0].name)
    (few / "broken.json").write_text("{", encoding="utf-8")
    found = sections(qtbot, import_paths(library, [fixture_folder, few]))
    (rejected,) = found["1 file could not be imported"]
    assert rejected.startswith("  few/broken.json: ")
    # the same files' names as stored: a folder dropped again, said as such
    grouped, one = found[f"{count + 1} conversations were imported before, from files of "
                         "the same names (skipped)"]
    assert grouped.startswith(f"  {fixture_folder.name}/: {count} files (")
    # the same files from the same folder: said to be imported before, not a problem
    assert grouped.endswith(f"were imported before (in batch '{fixture_folder.name}'): "
                            "skipped")
    (row,) = [r for r in library.summaries() if r.source_file == ENRICHED[0].name]
    assert one == (f"  few/{ENRICHED[0].name}: {row.persona_name}'s conversation is already "
                   f"in the library (batch '{fixture_folder.name}', from {ENRICHED[0].name}); "
                   f"skipped. Conversation id {row.conversation_id}")


@pytest.mark.skipif(os.name == "nt" or sys.platform == "darwin",
                    reason="only Linux keeps file names that are not UTF-8")
def test_names_that_are_not_utf8_show_their_odd_bytes(qtbot, library, tmp_path: Path):
    """Qt drops a name's bytes that are not UTF-8 ("caf.json", a file that is not there):
    the summary shows them as U+FFFD, as the table and the command line do."""
    root = os.fsencode(tmp_path / "drop")
    os.makedirs(root)
    shutil.copy(ENRICHED[0], os.fsdecode(root + b"/caf\xe9.json"))
    Path(os.fsdecode(root + b"/bad\xe9.json")).write_text("{", encoding="utf-8")
    found = sections(qtbot, import_paths(library, [Path(os.fsdecode(root))]))
    (rejected,) = found["1 file could not be imported"]
    assert rejected.startswith("  drop/bad\ufffd.json: "), rejected
    assert found["1 conversation imported"] == ["  drop/caf\ufffd.json → batch drop"]
