"""The files page says when a copy saved earlier no longer matches the file, and offers to
save the other kind again beside a new copy (``ui.saved_copies``): real library, real
builds, real saves into a folder, a real rebuild, the real page under pytest-qt."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import addable
from stored import stored_bytes

from app.library import Library
from app.recipes import recipe_paths
from app.trainingfiles import add_conversations
from ui.saved_copies import folder_text
from ui.training_files_page import TrainingFilesPage

WAIT_MS = 15_000
NAME = "Coaching A"


@pytest.fixture
def coaching(page: TrainingFilesPage, filled_library: Library) -> list[str]:
    ids = addable([row.conversation_id for row in filled_library.summaries()])
    add_conversations(filled_library, NAME, ids[:5], create=True)
    page.refresh(NAME)
    return ids


def _save(qtbot, page: TrainingFilesPage, dialogs, key: str, target: Path) -> str:
    dialogs.save_paths.append(target)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as saved:
        page.file_actions[key].trigger()
    return str(saved.args[0])


def _remove_first_member(qtbot, page: TrainingFilesPage, dialogs) -> str:
    page.members.selectRow(0)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as done:
        page.remove_button.click()
    return str(done.args[0])


def test_the_page_says_which_saved_copies_a_rebuild_left_out_of_date(
        qtbot, page, dialogs, coaching, tmp_path):
    saved = tmp_path / "saved"
    assert not page.saved_copies.isVisibleTo(page)  # never saved: nothing is said
    _save(qtbot, page, dialogs, "json", saved / f"{NAME}.json")
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    line = page.saved_copies.text()
    assert page.saved_copies.isVisibleTo(page)
    assert line.startswith(f"Saved copies in {folder_text(saved)}: ")
    assert f"{NAME}.jsonl (" in line and f"{NAME}.json (" in line
    assert line.count("is up to date") == 2 and "older" not in line

    status = _remove_first_member(qtbot, page, dialogs)

    assert status == (f"Removed 1 conversation from '{NAME}'; your saved copies {NAME}.json "
                      f"and {NAME}.jsonl in {folder_text(saved)} are now out of date")
    line = page.saved_copies.text()
    assert line.startswith(f"⚠ Saved copies in {folder_text(saved)}: ")
    assert "is older than this file — Download ▸ JSONL again" in line
    assert "is older than this file — Download ▸ JSON again" in line
    assert "up to date" not in line


def test_the_copy_just_saved_is_said_first_and_a_weeks_saves_are_counted(
        qtbot, page, dialogs, coaching, tmp_path, monkeypatch):
    """After a save the line named the out-of-date copies first and hid the one just saved
    among "4 more saved copies" (audit57 W3)."""
    from app import saved_copies

    minutes = iter(range(60))  # each save a minute after the one before, as a person's are
    monkeypatch.setattr(saved_copies, "now_iso",
                        lambda: f"2026-11-29T09:{next(minutes):02d}:00Z")
    saved = tmp_path / "saved"
    for day in range(4):  # days of saves under other names, each then left behind
        _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME} day {day}.jsonl")
        _remove_first_member(qtbot, page, dialogs)
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME} today.jsonl")
    first, more = page.saved_copies.text().split("\n")
    assert first.startswith(f"⚠ Saved copies in {folder_text(saved)}: {NAME} today.jsonl (")
    assert first.split("; ")[0].endswith(") is up to date")
    for day in (3, 2, 1):  # then the latest of the earlier ones, newest first
        assert f"{NAME} day {day}.jsonl (" in first
    assert first.index("day 3") < first.index("day 2") < first.index("day 1")
    assert f"{NAME} day 0.jsonl" not in first
    assert more == "⚠ and 1 earlier saved copy (older than this file)"


def test_a_rename_says_which_saved_copies_it_left_out_of_date(
        qtbot, page, dialogs, coaching, tmp_path):
    """Every JSONL line names its training file, so a rename leaves the copies saved before
    out of date; its status said nothing of them (audit57 W4)."""
    saved = tmp_path / "saved"
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    dialogs.texts.append("Coaching B")
    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as renamed:
        page.file_actions["rename"].trigger()
    assert renamed.args[0] == (f"Renamed training file '{NAME}' to 'Coaching B': Edit ▸ Undo "
                               f"(Ctrl+Z) names it as before; your saved copy {NAME}.jsonl in "
                               f"{folder_text(saved)} is now out of date")


def test_a_copy_moved_away_is_not_spoken_of(qtbot, page, dialogs, coaching, tmp_path):
    saved = tmp_path / "saved"
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    (saved / f"{NAME}.jsonl").rename(tmp_path / "elsewhere.jsonl")
    status = _remove_first_member(qtbot, page, dialogs)
    assert status == f"Removed 1 conversation from '{NAME}'"
    assert not page.saved_copies.isVisibleTo(page)


@pytest.mark.parametrize("both", [True, False])
def test_saving_the_jsonl_beside_an_out_of_date_json_offers_to_save_it_too(
        qtbot, page, dialogs, coaching, filled_library, tmp_path, both):
    saved = tmp_path / "saved"
    _save(qtbot, page, dialogs, "json", saved / f"{NAME}.json")
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    old_json = (saved / f"{NAME}.json").read_bytes()
    _remove_first_member(qtbot, page, dialogs)
    dialogs.asked.clear()
    dialogs.confirms.extend([True, both])  # replace the JSONL's manifest; then: save both?

    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    if both:
        qtbot.waitUntil(lambda: "older" not in page.saved_copies.text(), timeout=WAIT_MS)

    question = dialogs.asked[-1]
    assert question[:2] == ("confirm_destructive", "Save both")
    assert question[2].startswith(
        f"The {NAME}.json in this folder is from an earlier version of '{NAME}'. Save it "
        "again too, so the two match?")
    stored_json, stored_jsonl = stored_bytes(filled_library, NAME)
    assert (saved / f"{NAME}.jsonl").read_bytes() == stored_jsonl
    line = page.saved_copies.text()
    if both:
        assert (saved / f"{NAME}.json").read_bytes() == stored_json
        assert line.count("is up to date") == 2
    else:
        assert (saved / f"{NAME}.json").read_bytes() == old_json
        assert f"{NAME}.json (" in line
        assert "is older than this file — Download ▸ JSON again" in line


def test_no_question_when_the_other_kind_there_is_current_or_not_ours(
        qtbot, page, dialogs, coaching, tmp_path):
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / f"{NAME}.json").write_text("{}")  # the person's own file of that name
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    assert [a for a in dialogs.asked if a[0] != "save_path"] == []


def test_a_folder_is_shown_readably(monkeypatch, tmp_path):
    monkeypatch.setattr(Path, "home", staticmethod(lambda: tmp_path / "home"))
    assert folder_text(tmp_path / "home" / "saved") == "~/saved"
    deep = Path("/srv/projects/coaching/2026/november/deliveries/saved")
    assert folder_text(deep) == "…/2026/november/deliveries/saved"
    assert folder_text(Path("/tmp/saved")) == "/tmp/saved"


def test_save_both_saves_the_other_kind_with_the_recipes_ticked_for_the_first(
        qtbot, page, dialogs, coaching, tmp_path):
    saved = tmp_path / "saved"
    page.recipes_action.setChecked(True)
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    _save(qtbot, page, dialogs, "json", saved / f"{NAME}.json")
    recipes = recipe_paths(saved / f"{NAME}.jsonl", writes_folder=False)
    assert all(path.is_file() for path in recipes)
    for path in recipes:  # the person tidied them away; saving both writes them again
        path.unlink()
    _remove_first_member(qtbot, page, dialogs)
    dialogs.asked.clear()
    dialogs.confirms.extend([True, True])  # replace the JSON's manifest; then: save both

    _save(qtbot, page, dialogs, "json", saved / f"{NAME}.json")
    qtbot.waitUntil(lambda: "older" not in page.saved_copies.text(), timeout=WAIT_MS)

    assert dialogs.asked[-1][:2] == ("confirm_destructive", "Save both")
    assert [path.name for path in recipes if not path.is_file()] == []
    assert dialogs.asked[-1][2].endswith(
        f"{NAME}.jsonl, its manifest and its trainer recipe files are replaced; nothing else "
        f"in {folder_text(saved)} is touched.")


def test_a_build_whose_sha256_is_not_stored_is_checked_off_the_windows_thread(
        qtbot, page, dialogs, coaching, filled_library, tmp_path):
    """A file built before revision 0007 has no sha256 stored: the line does not read the
    build to say whether the copy matches; it says the copy is being checked, and a worker
    reads it, stores the sha256 and the line says the copy is up to date."""
    from sqlalchemy import select, update

    from app.models import TrainingFile
    from app.trainingfiles import rebuild_training_files

    saved = tmp_path / "saved"
    _save(qtbot, page, dialogs, "jsonl", saved / f"{NAME}.jsonl")
    rebuild_training_files(filled_library, [NAME], from_scratch=True)  # same lines again
    with filled_library.session() as session, session.begin():  # as revision 0007 leaves it
        session.execute(update(TrainingFile).values(json_sha256=None, jsonl_sha256=None))

    page.refresh(NAME)

    assert f"{NAME}.jsonl (" in page.saved_copies.text()
    assert page.saved_copies.text().endswith("is being checked against this file")
    qtbot.waitUntil(lambda: page.saved_copies.text().endswith("is up to date"),
                    timeout=WAIT_MS)
    with filled_library.session() as session:
        stored = session.scalar(select(TrainingFile.jsonl_sha256))
    assert stored == hashlib.sha256((saved / f"{NAME}.jsonl").read_bytes()).hexdigest()
