"""Restoring from a training file of ours in the window: the question before the import
offers to keep the batches its conversations name and to make the training file again, and
both are done (audit57 W2, W8). The question's real dialog answers, driven as a person
would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import ENRICHED, corrected, open_window
from restore_source import (
    BATCHES,
    NAME,
    Source,
    fingerprints_as_in,
    make_source,
    times_as_in,
)
from stored import stored_bytes

from app import trainingfiles
from app.full_found import FullFileFacts, read_facts
from app.importer import import_paths
from app.library import Library
from app.trainingfiles import get_training_file, list_training_files
from ui.full_import_question import FullImportQuestion

WAIT_MS = 60000


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Source:
    monkeypatch.setattr(trainingfiles, "now_iso", lambda: "2026-01-01T00:00:00Z")
    return make_source(tmp_path / "made")


def answered_by_the_dialog(qtbot: Any, person: Callable[[FullImportQuestion], None]
                           ) -> Callable[..., Any]:
    """The window's question, shown as the real dialog, which ``person`` answers."""
    def ask(parent: Any, facts: Sequence[FullFileFacts], typed_batch: bool = False) -> Any:
        dialog = FullImportQuestion(facts, typed_batch, parent)
        qtbot.addWidget(dialog)
        dialog.show()
        person(dialog)
        return dialog.answer()
    return ask


def batches(library: Library) -> dict[str, str]:
    return {row.conversation_id: row.batch_id for row in library.summaries()}


def test_the_question_is_answered_as_it_comes_and_the_file_is_back(
    qtbot: Any, dialogs: Any, source: Source, tmp_path: Path
) -> None:
    asked: list[FullImportQuestion] = []
    dialogs.full_import = answered_by_the_dialog(qtbot, asked.append)  # OK as it comes
    with Library.open(tmp_path / "fresh") as fresh:
        window = open_window(qtbot, fresh, dialogs, tmp_path)
        dialogs.opened.append([source.full])
        with qtbot.waitSignal(window.importer.finished, timeout=WAIT_MS):
            window.import_files_action.trigger()
        (question,) = asked
        assert question.keep.isChecked() and question.recreate.isChecked()
        assert "'Production 2026.json': training file 'Production 2026'" in " ".join(
            question.about.text().split())
        assert "cut-off policy Keep as context, weight 0, length limit 2,048 tokens" in " ".join(
            question.about.text().split())
        assert dialogs.labels == []  # no batch name was asked: the question has it
        assert batches(fresh) == source.batch_of
        json_bytes, jsonl_bytes = stored_bytes(fresh, NAME)
        assert jsonl_bytes == source.jsonl
        assert times_as_in(source.json, fingerprints_as_in(source.json, json_bytes)) == source.json
        summary = window.importer.last_summary
        assert f"Training file '{NAME}' recreated from {NAME}.json" in summary.headline.text()
        qtbot.waitUntil(lambda: window.training_files.model.row_of(NAME) is not None,
                        timeout=WAIT_MS)  # the files page lists it without a reload
        window.close()


def test_one_batch_and_no_file_is_the_other_answer(
    qtbot: Any, dialogs: Any, source: Source, tmp_path: Path
) -> None:
    def one_batch(dialog: FullImportQuestion) -> None:
        assert not dialog.batch.isEnabled()  # until one batch is chosen
        dialog.one_batch.click()
        assert dialog.batch.isEnabled() and dialog.batch.text() == NAME
        dialog.batch.setText("restored")
        dialog.recreate.click()

    dialogs.full_import = answered_by_the_dialog(qtbot, one_batch)
    with Library.open(tmp_path / "fresh") as fresh:
        window = open_window(qtbot, fresh, dialogs, tmp_path)
        dialogs.opened.append([source.full])
        with qtbot.waitSignal(window.importer.finished, timeout=WAIT_MS):
            window.import_files_action.trigger()
        assert set(batches(fresh).values()) == {"restored"}
        assert list_training_files(fresh) == []
        window.close()


def test_with_other_files_the_batch_name_is_asked_first_and_the_file_still_restored(
    qtbot: Any, dialogs: Any, source: Source, tmp_path: Path
) -> None:
    """A training file chosen with other files: the usual batch question (for those), then
    the question about the training file, without a name of its own."""
    seen: list[bool] = []
    dialogs.full_import = answered_by_the_dialog(
        qtbot, lambda dialog: seen.append(dialog.typed_batch and dialog.batch.isHidden()))
    with Library.open(tmp_path / "fresh") as fresh:
        trainingfiles.create_training_file(fresh, NAME)  # the name is taken
        window = open_window(qtbot, fresh, dialogs, tmp_path)
        outsider = next(p for p in ENRICHED if "single-convo-file-1" in p.name)
        dialogs.opened.append([source.full, outsider])
        dialogs.texts.append("typed")
        with qtbot.waitSignal(window.importer.finished, timeout=WAIT_MS):
            window.import_files_action.trigger()
        assert seen == [True]
        stored = batches(fresh)
        assert {cid: stored[cid] for cid in source.batch_of} == source.batch_of
        assert set(stored.values()) <= {*BATCHES, "typed"}
        made = get_training_file(fresh, f"{NAME} (2)")
        assert (made.conversations, made.cut_off_policy, made.max_seq_len) == (
            len(source.batch_of), "weight0", 2048)
        window.close()


def test_a_name_no_batch_may_have_is_refused_in_the_dialog(qtbot: Any, source: Source) -> None:
    facts = read_facts(source.full)
    assert facts is not None
    dialog = FullImportQuestion([facts])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.one_batch.click()
    dialog.batch.setText("bad\x07name")
    dialog._accept()
    assert dialog.isVisible() and dialog.problem.isVisible()
    assert dialog.problem.text().endswith(": type another name.")


def test_a_member_kept_as_stored_then_replaced_leaves_the_file_as_the_original(
    qtbot: Any, dialogs: Any, source: Source, tmp_path: Path
) -> None:
    """The library held another version of a member: the file made again holds it until
    the Replace question that follows is answered Replace; then the file is the original
    (in the batch the record names: a replace keeps the stored version's batch)."""
    member = next(cid for cid in source.batch_of if "fp_conversation" in cid)
    dialogs.full_import = answered_by_the_dialog(qtbot, lambda dialog: None)
    with Library.open(tmp_path / "fresh") as fresh:
        window = open_window(qtbot, fresh, dialogs, tmp_path)
        other = corrected(member, tmp_path)
        assert import_paths(fresh, [other], batch=source.batch_of[member]).imported == 1
        dialogs.opened.append([source.full])
        dialogs.confirms.append(True)  # Replace
        with qtbot.waitSignal(window.importer.replacer.replaced, timeout=WAIT_MS):
            window.import_files_action.trigger()
        # the summary, still open, no longer says the file holds the stored version
        headline = window.importer.last_summary.headline.text()
        assert headline.endswith(
            "; 1 conversation of the file differed from the library's stored version: "
            "replaced by the file's, and the training file rebuilt with it.")
        assert "until it is replaced" not in headline
        json_bytes, jsonl_bytes = stored_bytes(fresh, NAME)
        assert jsonl_bytes == source.jsonl
        assert times_as_in(source.json, fingerprints_as_in(source.json, json_bytes)) == (
            source.json)
        window.close()


def test_a_file_of_many_batches_is_described_in_a_few_lines(qtbot: Any, source: Source) -> None:
    from dataclasses import replace

    facts = read_facts(source.full)
    assert facts is not None
    many = replace(facts, batches={f"batch-{i:04d}": 1 for i in range(2000)})
    dialog = FullImportQuestion([many, many, many, many, many])
    qtbot.addWidget(dialog)
    text = " ".join(dialog.about.text().split())
    assert "from 2,000 batches: batch-0000 (1), batch-0001 (1)" in text
    assert "batch-0005 (1) and 1,994 more;" in text and "batch-0006" not in text
    assert text.endswith("and 2 more training files.")
    assert dialog.sizeHint().height() < 600
    # the choice to make them again names as many as are described, then counts
    twenty = FullImportQuestion([replace(facts, name=f"File {n}") for n in range(20)])
    qtbot.addWidget(twenty)
    offer = " ".join(twenty.recreate.text().split())
    assert offer.startswith("Also make the training files 'File 0', 'File 1', 'File 2' and "
                            "17 more again: ")
    assert twenty.recreate.sizeHint().height() < 4 * twenty.fontMetrics().height()


def test_its_own_file_imported_back_is_said_and_not_ticked(
    qtbot: Any, dialogs: Any, source: Source, tmp_path: Path
) -> None:
    """The library made the file and imports its saved copy back: the question says it has
    it, does not offer to make a second "Name (2)", and the import makes none."""
    from app.full_restore import import_and_restore

    asked: list[FullImportQuestion] = []
    dialogs.full_import = answered_by_the_dialog(qtbot, asked.append)  # OK as it comes
    with Library.open(tmp_path / "fresh") as fresh:
        import_and_restore(fresh, [source.full], recreate=True)
        window = open_window(qtbot, fresh, dialogs, tmp_path)
        dialogs.opened.append([source.full])
        with qtbot.waitSignal(window.importer.finished, timeout=WAIT_MS):
            window.import_files_action.trigger()
        (question,) = asked
        assert not question.recreate.isChecked()
        assert (f"'{NAME}' is already in this library with the same conversations and "
                "settings: it is not made again unless you ask.") in " ".join(
            question.about.text().split())
        assert [info.name for info in list_training_files(fresh)] == [NAME]
        window.close()


def test_a_file_of_ours_in_a_chosen_folder_is_asked_about_and_made_again(
    qtbot: Any, dialogs: Any, source: Source, tmp_path: Path
) -> None:
    """A folder holding the saved file among conversation files: the batch question (for
    the folder), then the question about the training file, whose answers are done."""
    import shutil

    folder = tmp_path / "delivery" / "week-12"
    folder.mkdir(parents=True)
    shutil.copy(source.full, folder / source.full.name)
    outsider = next(p for p in ENRICHED if "single-convo-file-1" in p.name)
    shutil.copy(outsider, folder / outsider.name)
    asked: list[FullImportQuestion] = []
    dialogs.full_import = answered_by_the_dialog(qtbot, asked.append)  # OK as it comes
    with Library.open(tmp_path / "fresh") as fresh:
        window = open_window(qtbot, fresh, dialogs, tmp_path)
        dialogs.folders.append(folder.parent)
        dialogs.texts.append("")  # each folder its batch
        with qtbot.waitSignal(window.importer.finished, timeout=WAIT_MS):
            window.import_folder_action.trigger()
        (question,) = asked
        assert question.typed_batch and question.recreate.isChecked()
        assert f"'{NAME}.json': training file '{NAME}'" in " ".join(
            question.about.text().split())
        stored = batches(fresh)
        assert {cid: stored[cid] for cid in source.batch_of} == source.batch_of
        made = get_training_file(fresh, NAME)
        assert (made.conversations, made.cut_off_policy, made.max_seq_len) == (
            len(source.batch_of), "weight0", 2048)
        assert stored_bytes(fresh, NAME)[1] == source.jsonl
        window.close()


def test_of_several_files_only_those_not_held_are_offered(qtbot: Any, source: Source) -> None:
    """Two files, one the library holds already: the offer names the other and is ticked;
    the one held is said, even past those described one by one."""
    from dataclasses import replace

    from ui.full_import_question import offered

    facts = read_facts(source.full)
    assert facts is not None
    held = replace(facts, same_as=NAME)
    other = replace(facts, name="Other")
    dialog = FullImportQuestion([held, other])
    qtbot.addWidget(dialog)
    assert dialog.recreate.isChecked()
    offer = " ".join(dialog.recreate.text().split())
    assert offer.startswith("Also make the training file 'Other' again:")
    assert offered([held, other]) == [other]
    many = FullImportQuestion([other, other, other, held, other])
    qtbot.addWidget(many)
    assert " ".join(many.about.text().split()).endswith(
        "and 2 more training files (1 of them already in this library with the same "
        "conversations and settings).")
