"""A full training file too large to read whole (streamed at import, ``app.fullstream``)
that changes a stored conversation: the Replace question says what differs, as it does for
a file read whole (it said nothing: the new version was looked for by reading the file
whole, which a large one is never). The whole-read limit is lowered to 1 MB for speed, as
``test_import_large_full`` does, and a file over it is never parsed whole. Real library,
real fixtures, a real full file built by the app and grown on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import open_window
from test_import_large_full import LIMIT, our_full, renamed, streamed, write
from test_replace_says_what import import_in_window

from app.cli import main
from app.importer import import_paths
from app.library import Library
from app.replace_checks import differences, reads_streamed
from app.trainingfiles import delete_training_file

__all__ = ["streamed"]  # the fixture, used by name

NEW_REPLY = "Let us slow down and look at the numbers together, one account at a time."


def big_file_changing_one(library: Library, folder: Path) -> tuple[Path, str, int]:
    """A full training file of the library's conversations over ``LIMIT``: renamed copies
    of them first, then the conversations themselves, the last one's first reply
    regenerated. Returns the file, the changed conversation's id and that reply's turn."""
    document = our_full(library)
    delete_training_file(library, "Big set")  # only the file on disk is wanted
    own: list[dict[str, Any]] = document["conversations"]
    changed = own[-1]
    reply = next(m for m in changed["messages"] if m["role"] == "assistant")
    reply["content"] = NEW_REPLY
    copies: list[dict[str, Any]] = []
    while True:
        path = write(folder / "big.json", {**document, "conversations": [*copies, *own]})
        if path.stat().st_size > LIMIT:
            return path, str(changed["conversation_id"]), int(reply["turn_number"])
        copies += [renamed(item, len(copies) + n) for n, item in enumerate(own)]


@pytest.mark.usefixtures("streamed")
def test_what_differs_is_read_from_a_streamed_full_file(filled_library: Library,
                                                        tmp_path: Path) -> None:
    path, cid, turn = big_file_changing_one(filled_library, tmp_path)
    report = import_paths(filled_library, [path])
    assert [v.conversation_id for v in report.changed] == [cid]
    assert reads_streamed([str(path)])


    assert differences(filled_library, [(cid, str(path))]) == {
        cid: f"1 reply changed (turn {turn})"}


@pytest.mark.usefixtures("streamed")
def test_the_replace_question_says_what_differs_in_a_streamed_full_file(
        qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path) -> None:
    path, _cid, turn = big_file_changing_one(filled_library, tmp_path)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    # A training file of ours is asked about first: its records' batches, no file made.
    from ui.full_import_question import FullImportAnswer
    dialogs.full_imports.append(FullImportAnswer(own_batches=True, recreate=False))

    question = import_in_window(qtbot, window, dialogs, [path], replace=False)

    (line,) = [line for line in question.splitlines() if line.startswith("  • ")]
    assert " · big.json [conversation " in line, question
    assert line.endswith(f"]: 1 reply changed (turn {turn})"), question


@pytest.mark.usefixtures("streamed")
def test_the_command_lines_kept_line_says_what_differs_in_a_streamed_full_file(
        filled_library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _cid, turn = big_file_changing_one(filled_library, tmp_path)
    filled_library.close()  # the command opens it
    capsys.readouterr()

    code = main(["--data-dir", str(tmp_path / "library"), "import", str(path)])

    out = capsys.readouterr().out.splitlines()
    (line,) = [line for line in out if line.startswith("  • ")]
    assert code == 0 and " · big.json [conversation " in line, out
    assert line.endswith(f"]: 1 reply changed (turn {turn})"), out
