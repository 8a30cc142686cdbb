"""Messages a person meets on the main journeys name the file and the reason, and say
what to do: a copy that cannot be saved where they chose, a file skipped as a duplicate.
Real window, real library, real fixtures, real files on disk."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ENRICHED, open_window, settle
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.export import ExportFormat
from app.importer import Verdict, import_paths
from app.trainingfiles import add_conversations

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture
def window_with_file(qtbot, filled_library, dialogs, tmp_path):
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "December", ids[:3], create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    assert window.training_files.selected_file().name == "December"
    return window


def save_copy(qtbot, window, dialogs, target: Path, fmt: ExportFormat) -> tuple[str, str]:
    """Choose ``target`` in the save dialog, then Cancel when the chooser opens again
    (ui.writable_saves); the warning shown in between."""
    dialogs.save_paths.extend([target, None])
    action = (window.download_json_action if fmt is ExportFormat.JSON
              else window.download_jsonl_action)
    action.trigger()
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=30000)
    return dialogs.warnings[-1]


@pytest.mark.parametrize("fmt", [ExportFormat.JSON, ExportFormat.JSONL])
def test_saving_into_a_folder_that_is_a_file_says_so(qtbot, window_with_file, dialogs,
                                                     tmp_path, fmt):
    in_the_way = tmp_path / "exports"
    in_the_way.write_text("a file where the person thought a folder was", encoding="utf-8")
    target = in_the_way / f"December{'.json' if fmt is ExportFormat.JSON else '.jsonl'}"
    title, message = save_copy(qtbot, window_with_file, dialogs, target, fmt)
    assert title == ("Save the full JSON" if fmt is ExportFormat.JSON else "Save the JSONL")
    assert message.startswith(f"{target.name} cannot be saved there. ")
    assert f"{in_the_way} is a file, not a folder" in message
    assert not dialogs.save_paths  # the chooser opened again, and was cancelled
    assert "Choose a folder" in message
    assert "File exists" not in message and "Not a directory" not in message
    assert in_the_way.read_text(encoding="utf-8").startswith("a file where")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="a folder's permissions bind neither root nor Windows' chmod")
def test_saving_into_a_folder_without_write_permission_says_what_to_do(
        qtbot, window_with_file, dialogs, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        _title, message = save_copy(qtbot, window_with_file, dialogs,
                                    locked / "December.jsonl",
                                    ExportFormat.JSONL)
    finally:
        locked.chmod(0o755)
    assert message.startswith("December.jsonl cannot be saved there. ")
    assert f"you do not have permission to use {locked}" in message
    assert "Choose another place" in message
    assert list(locked.iterdir()) == []


def test_a_duplicate_by_content_names_the_conversation_and_where_it_was_seen(
        qtbot, library, dialogs, tmp_path):
    folder = tmp_path / "with-a-copy"
    folder.mkdir()
    shutil.copy(ENRICHED[1], folder / "a-first.json")
    shutil.copy(ENRICHED[1], folder / "b-copy-of-the-first.json")
    window = open_window(qtbot, library, dialogs, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    dialogs.texts.append("")
    point, action = QPointF(40, 40), Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), action, mime, buttons, modifiers)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        QApplication.sendEvent(window, QDropEvent(point, action, mime, buttons, modifiers))
    report = blocker.args[0]
    imported = next(v for v in report.verdicts if v.verdict is Verdict.IMPORTED)
    duplicate = next(v for v in report.verdicts if v.verdict is Verdict.DUPLICATE)
    cid = imported.conversation_id
    assert Path(duplicate.path).name == "b-copy-of-the-first.json"
    assert duplicate.reason == \
        f"the same content as conversation {cid}, imported earlier in this import"
    summary = window.importer.last_summary.text()
    # named by its client and the file it repeats, the id last (a person knows the first two)
    assert duplicate.client and duplicate.client in library.record(cid)["client"]["name"]
    assert ("  with-a-copy/b-copy-of-the-first.json: "
            f"{duplicate.client}'s conversation repeats with-a-copy/a-first.json, imported "
            f"earlier in this import; skipped. Conversation id {cid}\n") in summary

    again = import_paths(library, [folder / "a-first.json"])
    (verdict,) = again.verdicts
    assert verdict.reason == (f"the same content as conversation {cid} (already in the "
                              "library: batch 'with-a-copy', from a-first.json)")


def test_a_dropped_text_file_is_refused_as_not_a_json_file_and_the_rest_imports(
        qtbot, library, dialogs, tmp_path):
    """Dropped by name, a .txt is refused for what it is, like the walk of a dropped folder
    leaves it out: not "not valid JSON", even when what it holds is a conversation."""
    notes = tmp_path / "notes.txt"
    notes.write_text("remember to check batch 4", encoding="utf-8")
    renamed = tmp_path / "conversation.json.txt"
    shutil.copy(ENRICHED[1], renamed)
    window = open_window(qtbot, library, dialogs, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in (notes, renamed, ENRICHED[0])])
    dialogs.texts.append("")
    point, action = QPointF(40, 40), Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), action, mime, buttons, modifiers)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        QApplication.sendEvent(window, QDropEvent(point, action, mime, buttons, modifiers))
    report = blocker.args[0]
    refused = {Path(v.path).name: v.reason for v in report.verdicts
               if v.verdict is Verdict.REJECTED}
    reason = "not a .json conversation file; only .json files are imported"
    assert refused == {"notes.txt": reason, "conversation.json.txt": reason}
    assert report.imported == 1 and library.count() == 1
    summary = window.importer.last_summary.text()
    assert f"{tmp_path.name}/notes.txt: {reason}" in summary
    assert "not valid JSON" not in summary


def test_a_text_file_chosen_in_import_files_is_refused_as_not_a_json_file(
        qtbot, library, dialogs, tmp_path):
    """File ▸ Import files… offers "All files (*)" too: a .txt chosen there is refused like
    a dropped one, and the other file imports."""
    notes = tmp_path / "notes.txt"
    notes.write_text("remember to check batch 4", encoding="utf-8")
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append([notes, ENRICHED[0]])
    dialogs.texts.append("")
    with qtbot.waitSignal(window.importer.finished, timeout=30000) as blocker:
        window.import_files_action.trigger()
    report = blocker.args[0]
    (refused,) = [v for v in report.verdicts if v.verdict is Verdict.REJECTED]
    assert (refused.path, refused.reason) == (
        str(notes), "not a .json conversation file; only .json files are imported")
    assert report.imported == 1 and library.count() == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_folder_that_exists_but_takes_no_files_is_not_called_missing(filled_library):
    """/proc exists but takes no new files (the system answers "No such file"): the
    message must not claim the folder does not exist."""
    from app.errors import LibraryError
    from app.export import export

    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "December", ids[:1], create=True)
    with pytest.raises(LibraryError) as caught:
        export(filled_library, "December", ExportFormat.JSON, Path("/proc/December.json"))
    message = str(caught.value)
    assert message.startswith("cannot write to /proc/December.json: ")
    assert "does not exist" not in message
    assert "Choose another folder" in message


def test_a_duplicate_by_id_says_it_came_earlier_in_the_same_import(library, tmp_path):
    """A conversation both alone and inside a full training file of the same drop: the
    second is skipped, and the reason says the first came in this import (the library was
    empty before), not that it "is already in the library"."""
    from conftest import FIXTURES

    folder = tmp_path / "drop"
    folder.mkdir()
    single = next(path for path in ENRICHED if path.name == "single-convo-file-1.json")
    shutil.copy(single, folder / "a-single.json")
    shutil.copy(FIXTURES / "full" / "user-full-file-3-conversations.json",
                folder / "b-full.json")
    report = import_paths(library, [folder])
    alone = next(v for v in report.verdicts if Path(v.path).name == "a-single.json")
    assert alone.verdict is Verdict.IMPORTED
    twice = [v for v in report.verdicts if v.conversation_id == alone.conversation_id
             and v is not alone]
    assert [v.verdict for v in twice] == [Verdict.DUPLICATE]
    assert twice[0].reason == \
        f"conversation {alone.conversation_id} was imported earlier in this import"

    again = import_paths(library, [folder / "b-full.json"])
    reasons = {v.conversation_id: v.reason for v in again.verdicts}
    assert reasons[alone.conversation_id] == \
        f"conversation {alone.conversation_id} is already in the library (batch 'drop', " \
        "from a-single.json)"


def test_a_changed_conversation_kept_says_how_to_replace_it_in_the_window(
        qtbot, library, dialogs, tmp_path):
    """The window has no "replace" option on import: it asks after the import, with the
    summary open. While it asks, the summary says the answer decides; once the person
    kept the stored version, it says so and how to replace it later."""
    import json

    original = next(p for p in ENRICHED if p.name == "enriched-1.json")
    import_paths(library, [original])
    document = json.loads(original.read_text(encoding="utf-8"))
    pair = next(p for p in document["training_pairs"] if p.get("target_response"))
    pair["target_response"] += " (Corrected.)"
    fixed = tmp_path / "fixed" / "enriched-1.json"
    fixed.parent.mkdir()
    fixed.write_text(json.dumps(document), encoding="utf-8")
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append([fixed])
    dialogs.texts.append("")
    dialogs.confirms.append(False)  # keep the stored version
    while_asked: list[str] = []
    ask = dialogs.confirm_destructive

    def summary_while_asked(*args: object, **kwargs: object) -> bool:
        while_asked.append(window.importer.last_summary.text())
        return ask(*args, **kwargs)

    dialogs.confirm_destructive = summary_while_asked
    with qtbot.waitSignal(window.importer.finished, timeout=30000):
        window.import_files_action.trigger()
    assert len(while_asked) == 1, "the Replace question was asked once"
    assert "different content: the stored version stays unless you answer Replace to the " \
        "question about changed conversations." in while_asked[0]
    assert "import the file again" not in while_asked[0]
    details = window.importer.last_summary.text()
    assert "Changed (kept as stored): 1" in details
    assert "different content: you kept the stored version (to use this one, import the " \
        "file again and answer Replace)." in details
    assert "with replace" not in details
