"""What a save killed midway left in a folder of recent saves is tidied when the window
next opens, not only at the next save there (``ui.stopped_saves``): a real child process
keeps the earlier files and writes half a JSONL as an export does, and is killed
(SIGKILL: no cleanup runs); then the real window opens on the real library."""

from __future__ import annotations

from pathlib import Path

import pytest
from child_process import kill_hard, python_child, wait_for_marker
from conftest import open_window
from PySide6.QtCore import QSettings

from app.export import ExportFormat, export
from app.library import Library
from app.trainingfiles import add_conversations

WAIT_MS = 30_000
STOPPED = "an export that stopped before it finished"

# A save in another process that keeps the earlier files (the copy and its manifest),
# writes half of the new JSONL, says so (the marker) and waits there until it is killed.
CHILD = """
import sys, threading
from pathlib import Path
from app.earlier_files import put_back_on_failure
from app.jsonio import atomic_writer
target, marker = Path(sys.argv[1]), Path(sys.argv[2])
with put_back_on_failure([target, target.with_name(target.name + ".manifest.json")]):
    with atomic_writer(target) as out:
        out.write(b"half a li")
        out.flush()
        marker.write_text("kept")
        threading.Event().wait()
"""


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _killed_while_saving(target: Path, tmp_path: Path) -> None:
    marker = tmp_path / "kept"
    with python_child(CHILD, str(target), str(marker)) as child:
        wait_for_marker(child, marker, 60, "kept the earlier files")
        kill_hard(child)
    assert len(_hidden(target.parent)) == 4  # two kept files, the half JSONL, the record


@pytest.mark.parametrize("known", ["on record", "last folder"])
def test_the_window_tidies_what_a_killed_save_left_when_it_opens(
        qtbot, filled_library: Library, dialogs, tmp_path: Path, known: str) -> None:
    """The folder is known from the saved copies on record, or as the folder the window
    last saved in (its settings): the person's file is whole, what was left goes, and the
    status bar says so naming the file."""
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Small", ids, create=True)
    target = tmp_path / "out" / "Small.jsonl"
    target.parent.mkdir()
    if known == "on record":
        export(filled_library, "Small", ExportFormat.JSONL, target)
    else:
        target.write_bytes(b"my own lines\n")
        target.with_name("Small.jsonl.manifest.json").write_bytes(b"{}\n")
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("training_files/export_folder", str(target.parent))
        settings.sync()
    before = target.read_bytes()
    _killed_while_saving(target, tmp_path)

    window = open_window(qtbot, filled_library, dialogs, tmp_path)

    qtbot.waitUntil(lambda: _hidden(target.parent) == [], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: STOPPED in window.statusBar().currentMessage(), timeout=WAIT_MS)
    said = window.statusBar().currentMessage()
    assert f"Removed the earlier copy of {target} kept by {STOPPED}" in said, said
    assert f"Removed 1 unfinished temporary file left in {target.parent}" in said, said
    assert target.read_bytes() == before
    assert not dialogs.warnings


def test_a_folder_no_save_is_known_in_is_left_for_its_next_save(
        qtbot, filled_library: Library, dialogs, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "mine.jsonl"
    target.parent.mkdir()
    target.write_bytes(b"my own lines\n")
    target.with_name("mine.jsonl.manifest.json").write_bytes(b"{}\n")
    _killed_while_saving(target, tmp_path)

    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    qtbot.waitUntil(lambda: window.stopped_saves.ended.is_set(), timeout=WAIT_MS)

    assert len(_hidden(target.parent)) == 4
