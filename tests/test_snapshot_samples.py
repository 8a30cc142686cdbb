"""``python -m ui.snapshot OUT --samples FOLDER`` on a folder of real conversation files:
the near-duplicate review made its twin from the first ``.json`` under the folder, whatever
it was, and stopped with ``KeyError: 'dataset_metadata'`` when that was a raw conversation
or a full training file (``tests/fixtures`` holds both, as the user's own folders do)."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES
from PySide6.QtGui import QImage

from app.importer import import_paths
from app.library import Library
from app.trainingfiles import add_conversations
from ui.snapshot import make_window, render_near_duplicate_review


def test_the_near_duplicate_review_renders_from_the_real_fixtures(qtbot, tmp_path: Path) -> None:
    library = Library(tmp_path / "library")
    import_paths(library, [p for p in sorted(FIXTURES.iterdir()) if p.is_dir()])
    trained = [row.conversation_id for row in library.summaries() if row.replies_trained]
    add_conversations(library, "all-samples", trained, create=True)
    window = make_window(library, tmp_path)
    qtbot.addWidget(window)
    out = tmp_path / "out"
    out.mkdir()

    written = render_near_duplicate_review(window, library, FIXTURES, tmp_path, out)

    assert written == [out / "15b-review-with-a-near-duplicate.png"]
    assert not QImage(str(written[0])).isNull()
    twins = [row for row in library.summaries() if row.conversation_id.endswith("-regenerated")]
    assert len(twins) == 1, "the twin of a conversation in the file was imported"
    assert twins[0].conversation_id.removesuffix("-regenerated") in trained
    window.close()
    library.close()


def test_a_folder_without_a_conversation_file_says_why_the_review_is_not_rendered(
        qtbot, tmp_path: Path, capsys) -> None:
    """Only full training files and broken ones: nothing to make a twin of, said in a
    sentence naming the folder (no traceback)."""
    library = Library(tmp_path / "library")
    import_paths(library, [FIXTURES / "full"])
    add_conversations(library, "all-samples",
                      [row.conversation_id for row in library.summaries()
                       if row.replies_trained], create=True)
    window = make_window(library, tmp_path)
    qtbot.addWidget(window)
    folder = FIXTURES / "full"

    assert render_near_duplicate_review(window, library, folder, tmp_path, tmp_path) == []
    assert capsys.readouterr().err == (
        f"no conversation file in {folder} to make a near-duplicate of, so "
        "15b-review-with-a-near-duplicate.png is not rendered: give --samples a folder "
        "holding enriched or legacy conversation files\n")
    window.close()
    library.close()
