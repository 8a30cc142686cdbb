"""A training file under the "Train every reply" cut-off policy (keep) trains replies cut
off mid-word, and its saves said nothing of it (a weight0 file's save says which trainers
would train its cut-off replies): the audit's two trained replies ended in "What do in-home
c \\". The save says how many conversations' cut-off replies it trains, and how to leave
them out; a file that trims them, or holds none, says nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hostile_corpus import cut_in_the_middle

from app.cli import main
from app.export import ExportFormat, cut_off_trained_sentence, export, export_notes
from app.importer import import_paths
from app.library import Library
from app.trainingfiles import add_conversations, header


@pytest.fixture
def with_cut(filled_library: Library, tmp_path: Path) -> Library:
    extra = tmp_path / "extra"
    extra.mkdir()
    import_paths(filled_library, [cut_in_the_middle(extra)])
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Every reply", ids, create=True, cut_off_policy="keep")
    add_conversations(filled_library, "Trimmed", ids, create=True)
    clean = [i for i in ids if i != "fp_conversation_cut_in_the_middle"]
    add_conversations(filled_library, "Kept clean", clean[:1], create=True,
                      cut_off_policy="keep")
    return filled_library


def test_a_keep_files_save_says_it_trains_cut_off_replies(
        with_cut: Library, tmp_path: Path) -> None:
    cut = header(with_cut, "Every reply")["quality_summary"]["warnings_by_code"]["reply_cut_off"]
    assert cut >= 1
    target = tmp_path / "every.jsonl"
    written = export(with_cut, "Every reply", ExportFormat.JSONL, target)
    said = export_notes(ExportFormat.JSONL, written)
    assert cut_off_trained_sentence("Every reply", cut) in said
    assert "a reply cut off mid-sentence" in said[-1] and "Trim" in said[-1]
    manifest = orjson.loads((tmp_path / "every.jsonl.manifest.json").read_bytes())
    assert cut_off_trained_sentence("Every reply", cut) in manifest["notes"]
    # The full JSON is for review: it trains nothing.
    full = export(with_cut, "Every reply", ExportFormat.JSON, tmp_path / "every.json")
    assert export_notes(ExportFormat.JSON, full) == []
    for quiet in ("Trimmed", "Kept clean"):
        out = export(with_cut, quiet, ExportFormat.JSONL, tmp_path / f"{quiet}.jsonl")
        assert not any("cut off mid-sentence" in note
                       for note in export_notes(ExportFormat.JSONL, out)), quiet


def test_the_command_line_says_it_too(with_cut: Library, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with_cut.close()
    assert main(["--data-dir", str(with_cut.root), "export", "Every reply", "--format", "jsonl",
                 "-o",
                 str(tmp_path / "e.jsonl")]) == 0
    assert "a reply cut off mid-sentence, and its cut-off policy" in capsys.readouterr().out
