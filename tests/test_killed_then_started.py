"""A real import or build killed mid-way (SIGKILL of a real child process), then a real
start: the start says what was cut short, naming the folder or the training file, how
much an import stored and what to do; a build's change was not made, and a change of
settings cut short leaves the file's settings as they were."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from child_process import kill_hard, python_child, wait_for_marker
from conftest import ENRICHED, addable
from scripted_dialogs import ScriptedDialogs
from stored import stored_bytes
from test_concurrency import with_own_dialogue

from app import importer
from app.importer import Verdict, import_paths
from app.library import Library
from app.recovery import needs_recovery
from app.trainingfiles import add_conversations, get_training_file, list_training_files
from ui.main import finish_interrupted_work_or_explain

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX-only")

TOTAL = max(600, 2 * importer.CHUNK + 100)  # past two chunks of the import

IMPORT_CHILD = r"""
import sys, time
from pathlib import Path

from app.importer import import_paths
from app.library import Library

root, folder, marker, after = sys.argv[1:]
after = int(after)


def progress(done, total, name):
    time.sleep(0.002 if done < after else 0.05)
    if done == after:
        Path(marker).write_text(str(done))


import_paths(Library(Path(root)), [Path(folder)], progress=progress, workers=1)
print("finished, which it never should")
"""

# A build that stops for good at its first conversation rendered (before its switch).
BUILD_CHILD = r"""
import sys, time
from pathlib import Path

from app.library import Library
from app.trainingfiles import add_conversations, change_settings

root, marker, what, name, *ids = sys.argv[1:]


def progress(done, total, current):
    Path(marker).write_text("building")
    time.sleep(600)


library = Library(Path(root))
if what in ("create", "add"):
    add_conversations(library, name, ids, create=what == "create", progress=progress)
else:
    change_settings(library, name, max_seq_len=1024, progress=progress)
print("finished, which it never should")
"""


def _started(root: Path, qtbot) -> list[str]:
    """A real start of the window's library: what it says it found and finished."""
    dialogs = ScriptedDialogs()
    with Library(root) as library:
        assert needs_recovery(library)
        done = finish_interrupted_work_or_explain(library, dialogs)
        assert dialogs.warnings == []
        assert finish_interrupted_work_or_explain(library, dialogs) == [], "said once"
    return done


def test_a_killed_import_is_named_at_the_next_start_and_a_rerun_finishes_it(
        qtbot, tmp_path: Path) -> None:
    template = json.loads(min(ENRICHED, key=lambda p: p.stat().st_size).read_text("utf-8"))
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(TOTAL):
        document = with_own_dialogue(template, f"killed_import_{i:04d}")
        document["dataset_metadata"]["dataset_name"] = f"killed_import_{i:04d}"  # its id
        (folder / f"conv-{i:04d}.json").write_bytes(json.dumps(document).encode())
    root = tmp_path / "library"
    Library(root).close()
    marker = tmp_path / "child-is-importing"
    with python_child(IMPORT_CHILD, str(root), str(folder), str(marker),
                      str(importer.CHUNK + importer.CHUNK // 5)) as child:
        wait_for_marker(child, marker, 90, "got far enough")
        kill_hard(child)
    with Library(root) as library:
        stored = library.count()
    assert 0 < stored < TOTAL

    done = _started(root, qtbot)

    assert done[0] == (
        f"found that an import of {TOTAL:,} files from {folder} was interrupted "
        f"({stored:,} conversations of it stored): import the same folder again (drop it "
        "on the window) to finish it; the conversations already stored are skipped")
    with Library(root) as library:
        report = import_paths(library, [folder], workers=1)
        assert report.rejected == 0
        assert report.imported == TOTAL - stored
        assert len([v for v in report.verdicts if v.verdict is Verdict.DUPLICATE]) == stored
        assert library.count() == TOTAL


def _library_with_conversations(tmp_path: Path, fixture_folder: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "library"
    with Library(root) as library:
        import_paths(library, [fixture_folder])
        ids = addable([row.conversation_id for row in library.summaries()])[:6]
    return root, ids


def _killed_build(tmp_path: Path, root: Path, what: str, name: str, ids: list[str]) -> None:
    marker = tmp_path / "child-is-building"
    with python_child(BUILD_CHILD, str(root), str(marker), what, name, *ids) as child:
        wait_for_marker(child, marker, 90, "started building")
        kill_hard(child)


def test_a_killed_creation_is_named_and_said_not_made(qtbot, tmp_path: Path,
                                                     fixture_folder: Path) -> None:
    root, ids = _library_with_conversations(tmp_path, fixture_folder)
    _killed_build(tmp_path, root, "create", "Big three", ids)

    done = _started(root, qtbot)

    assert done[0] == (
        "found that creating the training file 'Big three' from 6 conversations was "
        "interrupted: 'Big three' was not created and the library is as it was before; "
        "create it again")
    with Library(root) as library:
        assert list_training_files(library) == []


def test_a_killed_change_of_settings_is_named_and_the_settings_are_as_before(
        qtbot, tmp_path: Path, fixture_folder: Path) -> None:
    root, ids = _library_with_conversations(tmp_path, fixture_folder)
    with Library(root) as library:
        add_conversations(library, "Kept", ids, create=True)
        info = get_training_file(library, "Kept")
        before = stored_bytes(library, "Kept")
    assert info.max_seq_len != 1024
    _killed_build(tmp_path, root, "settings", "Kept", [])

    done = _started(root, qtbot)

    assert done[0] == (
        "found that changing the settings of the training file 'Kept' was interrupted: they "
        "were not changed, and 'Kept' is as it was before; change them again")
    with Library(root) as library:
        assert get_training_file(library, "Kept") == info, "its settings from before"
        assert stored_bytes(library, "Kept") == before


def test_a_killed_add_is_named_and_said_not_made(qtbot, tmp_path: Path,
                                                fixture_folder: Path) -> None:
    root, ids = _library_with_conversations(tmp_path, fixture_folder)
    with Library(root) as library:
        add_conversations(library, "Kept", ids[:2], create=True)
        info = get_training_file(library, "Kept")
        before = stored_bytes(library, "Kept")
    _killed_build(tmp_path, root, "add", "Kept", ids[2:])

    done = _started(root, qtbot)

    assert done[0] == (
        "found that adding 4 conversations to the training file 'Kept' was interrupted: "
        "nothing was added, and 'Kept' is as it was before; add them again")
    with Library(root) as library:
        assert get_training_file(library, "Kept") == info
        assert stored_bytes(library, "Kept") == before


def test_an_import_cancelled_unsaid_while_it_looked_for_files_is_named_at_the_next_start(
        qtbot, tmp_path: Path, fixture_folder: Path) -> None:
    """Cancelled (as its window closed) before it had found its files: nothing stored,
    and the next start says so, with what to do."""
    from app.killed_work import keep_unsaid_cancel

    root = tmp_path / "library"
    with Library(root) as library:
        report = import_paths(library, [fixture_folder], cancelled=lambda: True)
        assert report.cancelled and report.found < 0
        keep_unsaid_cancel(library, [fixture_folder], report)
        whole = import_paths(library, [ENRICHED[0]])  # an import that ended whole: nothing
        keep_unsaid_cancel(library, [ENRICHED[0]], whole)

    assert _started(root, qtbot) == [
        f"found that an import from {fixture_folder} was cancelled when its window closed, "
        "while it was still looking for files (nothing of it stored): import the same "
        "folder again (drop it on the window) to finish it; the conversations already "
        "stored are skipped"]
