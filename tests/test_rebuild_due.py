"""A change that training files must follow (a replaced conversation, a batch move) is
recorded with it in the library, so that when the rebuild after it is dropped (the window
closed during it, Cancel) the next open rebuilds the files and says so: in the window at
start and after a library switch, and on the command line. Real libraries and fixtures."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import corrected, open_window
from old_libraries import make_v5_library
from scripted_dialogs import ScriptedDialogs
from sqlalchemy import select, update
from stored import stored_bytes

from app import recovery, replace_checks, trainingfiles
from app.build import BuildCancelled, Progress, render_fragments
from app.cli import main
from app.errors import LibraryError
from app.export import ExportFormat, export, owes_rebuild
from app.importer import Verdict, import_paths
from app.library import Library
from app.models import TrainingFile
from app.recovery import finish_interrupted_work, needs_recovery
from app.stored_builds import rebuilds_due
from app.tokenizer_choice import choose, load_choice
from app.trainingfiles import (
    add_conversations,
    files_holding,
    rebuild_if_owed,
    rebuild_training_files,
)
from ui.library_switch import FINISH_CANCELLED, open_and_finish
from ui.main import finish_interrupted_work_or_explain
from ui.tasks import jobs_of

NAME = "advice-v1"
OWED = (f"rebuilt the training file '{NAME}', whose rebuild after its conversations "
        "changed did not finish")


def holding_four(library: Library) -> list[str]:
    """A training file of four conversations; their ids."""
    ids = [row.conversation_id for row in library.summaries()][:4]
    add_conversations(library, NAME, ids, create=True)
    return ids


def batches_named(jsonl: bytes) -> dict[str, str]:
    """The batch each conversation's JSONL lines name, by conversation id."""
    named: dict[str, set[str]] = {}
    for line in jsonl.splitlines():
        metadata = orjson.loads(line)["metadata"]
        named.setdefault(metadata["conversation_id"], set()).add(metadata["batch_id"])
    assert all(len(batches) == 1 for batches in named.values())
    return {cid: batches.pop() for cid, batches in named.items()}


def replace_without_rebuild(library: Library, cid: str, folder: Path) -> None:
    report = import_paths(library, [corrected(cid, folder)], replace=True)
    assert report.replaced_ids == [cid]
    assert files_holding(library, conversation_ids=[cid]) == [NAME]


@pytest.mark.usefixtures("backend")
def test_a_replace_whose_rebuild_was_dropped_is_finished_at_the_next_open(
        filled_library: Library, tmp_path: Path) -> None:
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[2], tmp_path)
    assert b"(Corrected.)" not in stored_bytes(filled_library, NAME)[1]
    assert needs_recovery(filled_library)  # (it was not: the file stayed stale for good)
    assert finish_interrupted_work(filled_library) == [OWED]
    assert b"(Corrected.)" in stored_bytes(filled_library, NAME)[1]
    assert not needs_recovery(filled_library) and finish_interrupted_work(filled_library) == []


def test_two_moves_that_leave_the_batch_counts_as_they_were_are_still_rebuilt(
        two_batches: Library) -> None:
    """The header's batch counts alone do not tell: one conversation each way."""
    one = next(r.conversation_id for r in two_batches.summaries("enriched-batch"))
    other = next(r.conversation_id for r in two_batches.summaries("legacy-batch"))
    add_conversations(two_batches, NAME, [one, other], create=True)
    before = stored_bytes(two_batches, NAME)[1]
    assert batches_named(before) == {one: "enriched-batch",
                                                  other: "legacy-batch"}
    two_batches.move_conversations([one], "legacy-batch")
    two_batches.move_conversations([other], "enriched-batch")
    assert needs_recovery(two_batches)
    assert finish_interrupted_work(two_batches) == [OWED]
    assert batches_named(stored_bytes(two_batches, NAME)[1]) == {
        one: "legacy-batch", other: "enriched-batch"}


def test_the_rebuild_after_the_change_pays_what_it_owed(filled_library: Library,
                                                        tmp_path: Path) -> None:
    """The window's own rebuild (or any build of the file) leaves nothing for the next
    open: the files are not rebuilt twice."""
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[1], tmp_path)
    filled_library.move_conversations([ids[0]], "moved")
    assert needs_recovery(filled_library)
    assert rebuild_training_files(filled_library, [NAME]) == [NAME]
    assert not needs_recovery(filled_library)


def test_the_next_command_finishes_it_and_says_so(tmp_path: Path, fixture_folder: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with Library.open(tmp_path / "lib") as library:
        import_paths(library, [fixture_folder])
        ids = holding_four(library)
        replace_without_rebuild(library, ids[3], tmp_path)
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path / "lib"), "files"]) == 0
    assert f"note: {OWED}" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path / "lib"), "files"]) == 0
    assert "note:" not in capsys.readouterr().err  # once


@pytest.fixture
def own_library(tmp_path: Path, fixture_folder: Path) -> Iterator[Library]:
    """The fixtures in a library the test closes itself, to open it again."""
    library = Library.open(tmp_path / "library")
    import_paths(library, [fixture_folder])
    yield library
    library.close()


def held_until_cancelled(entered: threading.Event):
    """The rebuild after a replace, in its thread, held until it is cancelled (where the
    real one would next look at its cancel); it never rebuilds. Not ``held_jobs``'
    ``held_rebuild``, which a gate file lets go on to rebuild in a child process."""
    def rebuild(library, names, progress=None, cancelled=None):
        entered.set()
        while not cancelled():
            threading.Event().wait(0.01)
        raise BuildCancelled()

    return rebuild


def replace_in_window(qtbot, library: Library, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> tuple[object, ScriptedDialogs]:
    """A window whose replace of a changed conversation is held in its rebuild."""
    entered = threading.Event()
    monkeypatch.setattr(replace_checks, "rebuild_training_files", held_until_cancelled(entered))
    ids = holding_four(library)
    return offer_replace(qtbot, library, tmp_path, ids[2], entered)


def offer_replace(qtbot, library: Library, tmp_path: Path, cid: str,
                  entered: threading.Event) -> tuple[object, ScriptedDialogs]:
    """A window that replaces ``cid`` with a corrected copy, once its rebuild (held by
    the caller, who sets ``entered`` there) has begun."""
    changed = import_paths(library, [corrected(cid, tmp_path)])
    assert [v.verdict for v in changed.verdicts] == [Verdict.CHANGED]
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.confirms.append(True)  # replace
    assert window.importer.replacer.offer(changed)
    qtbot.waitUntil(entered.is_set, timeout=60000)
    return window, dialogs


@pytest.mark.qt_log_level_fail("WARNING")
def test_closing_the_window_during_the_rebuild_after_a_replace_leaves_it_to_the_next_start(
        qtbot, own_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, dialogs = replace_in_window(qtbot, own_library, tmp_path, monkeypatch)
    dialogs.confirms.append(True)  # cancel the job and close
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60000)
    assert [asked[1] for asked in dialogs.asked] == ["Replace changed conversations",
                                                      "A job is still running"]
    assert dialogs.warnings == []  # nothing reached the closed window
    own_library.close()

    with Library.open(own_library.root) as again:
        assert b"(Corrected.)" not in stored_bytes(again, NAME)[1]
        assert finish_interrupted_work_or_explain(again, ScriptedDialogs()) == [OWED]
        assert b"(Corrected.)" in stored_bytes(again, NAME)[1]


@pytest.mark.qt_log_level_fail("WARNING")
def test_cancelling_the_rebuild_after_a_replace_says_the_replace_stands_and_what_is_owed(
        qtbot, own_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "Cancelled: nothing was changed": the conversation is replaced."""
    window, dialogs = replace_in_window(qtbot, own_library, tmp_path, monkeypatch)
    (task,) = jobs_of(window)
    with qtbot.waitSignal(window.importer.replacer.status, timeout=60000) as status:
        task.cancel()
    assert status.args[0] == (f"Replaced 1 conversation; rebuilding '{NAME}' was cancelled: "
                              "LoRA Studio rebuilds it the next time it opens this library")
    assert dialogs.warnings == []
    assert needs_recovery(own_library)


def test_switching_to_a_library_that_owes_a_rebuild_finishes_it_and_says_so(
        qtbot, switcher, tmp_path: Path, fixture_folder: Path) -> None:
    other = tmp_path / "other"
    with Library.open(other) as library:
        import_paths(library, [fixture_folder])
        ids = holding_four(library)
        replace_without_rebuild(library, ids[0], tmp_path)
    with qtbot.waitSignal(switcher.switched, timeout=30000) as switched:
        switcher.window.open_location_requested.emit(str(other))
    said = switched.args[0].statusBar().currentMessage()
    assert said == f"On opening {other.resolve()}, LoRA Studio {OWED}."
    assert b"(Corrected.)" in stored_bytes(switcher.library, NAME)[1]


def test_an_owed_rebuild_renders_again_only_what_changed(
        filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[2], tmp_path)
    rendered: list[int] = []
    build = trainingfiles._build

    def counting(*args: Any, **kwargs: Any) -> int:
        rendered.append(build(*args, **kwargs))
        return rendered[-1]

    monkeypatch.setattr(trainingfiles, "_build", counting)
    assert finish_interrupted_work(filled_library) == [OWED]
    assert rendered == [1]  # the replaced conversation (it rendered all four, from scratch)
    assert b"(Corrected.)" in stored_bytes(filled_library, NAME)[1]


def test_a_rebuild_is_done_only_while_it_is_owed(filled_library: Library,
                                                 tmp_path: Path) -> None:
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[2], tmp_path)
    assert rebuild_if_owed(filled_library, NAME) == 1
    assert rebuild_if_owed(filled_library, NAME) is None  # paid
    assert rebuild_if_owed(filled_library, "no-such-file") is None
    assert not needs_recovery(filled_library)


def test_a_rebuild_another_member_paid_meanwhile_is_neither_done_nor_claimed(
        filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    holding_four(filled_library)
    # The list of files owing a rebuild, as read before another member's rebuild paid it.
    monkeypatch.setattr(recovery, "rebuilds_due", lambda session: [NAME])
    before = stored_bytes(filled_library, NAME)
    assert finish_interrupted_work(filled_library) == []
    assert stored_bytes(filled_library, NAME) == before


def test_moving_an_old_build_into_the_database_keeps_a_rebuild_owed(tmp_path: Path) -> None:
    root = make_v5_library(tmp_path / "lib")
    with Library(root) as library:  # a writer: the schema becomes v6, builds stay on disk
        with library.session() as session, session.begin():
            session.execute(update(TrainingFile).where(TrainingFile.name == "base")
                            .values(changes=TrainingFile.changes + 1))
        assert trainingfiles.move_into_database(library, "base")  # cut from the old files
        with library.session() as session:
            assert rebuilds_due(session) == ["base"]  # (the move forgot it)


def test_a_copy_saved_of_a_file_owing_a_rebuild_is_rebuilt_first(
        filled_library: Library, tmp_path: Path) -> None:
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[2], tmp_path)
    target = tmp_path / "out" / "copy.jsonl"
    target.parent.mkdir()
    export(filled_library, NAME, ExportFormat.JSONL, target)
    assert b"(Corrected.)" in target.read_bytes()  # (it saved the build from before)
    assert not owes_rebuild(filled_library, NAME)
    assert target.read_bytes() == stored_bytes(filled_library, NAME)[1]


def test_a_reader_refuses_to_save_a_file_owing_a_rebuild(
        filled_library: Library, tmp_path: Path) -> None:
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[2], tmp_path)
    target = tmp_path / "out" / "copy.json"
    target.parent.mkdir()
    with Library(filled_library.root, read_only=True) as reader, \
            pytest.raises(LibraryError, match=f"'{NAME}' must be rebuilt first: its "
                          "conversations changed"):
        export(reader, NAME, ExportFormat.JSON, target)
    assert not target.exists()


def test_a_reader_refusing_a_file_owing_the_rebuild_after_a_tokenizer_change_says_so(
        filled_library: Library, tmp_path: Path) -> None:
    """Not "its conversations changed": they did not, the tokenizer did."""
    holding_four(filled_library)
    choose(filled_library, template="chatml")
    with pytest.raises(BuildCancelled):  # the window's rebuild after the change, cancelled
        rebuild_training_files(filled_library, [NAME], cancelled=lambda: True)
    target = tmp_path / "copy.jsonl"
    with Library(filled_library.root, read_only=True) as reader, \
            pytest.raises(LibraryError) as refused:
        export(reader, NAME.upper(), ExportFormat.JSONL, target)
    assert str(refused.value) == (
        f"the training file '{NAME}' must be rebuilt first: the tokenizer changed and its "
        "rebuild with the new one did not finish. Save the copy from LoRA Studio's window, "
        "which rebuilds it first, or run this command again once no window holds the "
        "library")
    assert not target.exists()


def held_in_the_second_file(entered: threading.Event):
    """The real rebuild, held once the first of its files is rebuilt (no longer owed) until
    it is cancelled; then it goes on and stops at its own next look at the cancel."""
    def rebuild(library, names, progress=None, cancelled=None):
        def held(done: int, total: int, current: str) -> None:
            if progress is not None:
                progress(done, total, current)
            with library.session() as session:
                owed = rebuilds_due(session)
            if len(owed) < len(names):
                entered.set()
                while not cancelled():
                    threading.Event().wait(0.01)

        return rebuild_training_files(library, names, held, cancelled)

    return rebuild


@pytest.mark.qt_log_level_fail("WARNING")
def test_cancelling_during_the_second_file_says_the_first_was_rebuilt(
        qtbot, own_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "rebuilding 'A' and 'B' was cancelled": 'A' was rebuilt and owes nothing."""
    entered = threading.Event()
    monkeypatch.setattr(replace_checks, "rebuild_training_files",
                        held_in_the_second_file(entered))
    ids = holding_four(own_library)
    add_conversations(own_library, "other-v1", ids[:2], create=True)
    window, dialogs = offer_replace(qtbot, own_library, tmp_path, ids[1], entered)
    (task,) = jobs_of(window)
    with qtbot.waitSignal(window.importer.replacer.status, timeout=60000) as status:
        task.cancel()
    first, second = sorted([NAME, "other-v1"])
    assert status.args[0] == (f"Replaced 1 conversation; rebuilt '{first}'; rebuilding "
                              f"'{second}' was cancelled: LoRA Studio rebuilds it the next "
                              "time it opens this library")
    with own_library.session() as session:
        assert rebuilds_due(session) == [second]
    assert dialogs.warnings == []


def test_a_cancelled_open_leaves_the_owed_rebuild_recorded_and_says_so(
        own_library: Library, tmp_path: Path) -> None:
    """The cancel reaches the rebuilds of ``finish_interrupted_work``; its BuildCancelled is
    no failure (no bug report): the library opens as it is and still owes the rebuild."""
    ids = holding_four(own_library)
    replace_without_rebuild(own_library, ids[2], tmp_path)
    own_library.close()
    opened = open_and_finish(str(own_library.root), None, lambda: True)
    with opened.library as again:
        assert (opened.problem, opened.finished) == (FINISH_CANCELLED, [])
        assert "bug" not in FINISH_CANCELLED.lower()
        with again.session() as session:
            assert rebuilds_due(session) == [NAME]
        assert b"(Corrected.)" not in stored_bytes(again, NAME)[1]


def test_closing_the_window_while_a_team_library_opening_rebuilds_cancels_the_rebuild(
        qtbot, switcher, library: Library, pg_url: str, fixture_folder: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, the opening's rebuilds did not hear the cancel: "Stopping…", then "has not
    stopped" while they ran to the end."""
    with Library.open(pg_url) as team:
        import_paths(team, [fixture_folder])
        ids = holding_four(team)
        replace_without_rebuild(team, ids[2], tmp_path)
    entered, released = threading.Event(), threading.Event()
    real = recovery.rebuild_if_owed

    def held(library, name, progress=None, cancelled=None):
        entered.set()
        while not (cancelled and cancelled()) and not released.is_set():
            threading.Event().wait(0.01)
        return real(library, name, progress, cancelled)

    monkeypatch.setattr(recovery, "rebuild_if_owed", held)
    window, dialogs = switcher.window, switcher.dialogs
    dialog = switcher.ask_team_library()
    dialog.host.setText(pg_url)  # the dialog reads a pasted address
    dialog.open_button.click()
    try:
        qtbot.waitUntil(entered.is_set, timeout=60000)
        assert len(jobs_of(window)) == 1  # the opening, one of the window's jobs
        dialogs.confirms.append(True)  # cancel it and close
        window.close()
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=20000)
    finally:
        released.set()
        qtbot.waitUntil(lambda: not switcher.opening, timeout=60000)
    assert switcher.library is library
    assert dialogs.warnings == []
    with Library.open(pg_url) as team, team.session() as session:
        assert rebuilds_due(session) == [NAME]  # finished at the next open


# --- a change made while a build runs (a team library; a window's job on a folder) ----


def other_member(library: Library) -> contextlib.AbstractContextManager[Library]:
    """Who changes the library while a build of ``library`` runs: another member of a team
    library (a Library of its own); on a folder, the window whose job the build is."""
    if library.is_team:
        return Library.open(library.location)
    return contextlib.nullcontext(library)


def build_with_a_move_meanwhile(library: Library, cid: str) -> str:
    """The rebuild an earlier change owes, with ``cid`` moved to another batch by another
    member once the build has read its members (while it renders), before its switch;
    the batch ``cid`` was in."""
    batch = batches_named(stored_bytes(library, NAME)[1])[cid]
    moved: list[int] = []

    def meanwhile(_done: int, _total: int, _current: str) -> None:
        if not moved:
            with other_member(library) as other:
                moved.append(other.move_conversations([cid], "moved"))

    assert rebuild_if_owed(library, NAME, meanwhile) == 1
    assert moved == [1]
    assert batches_named(stored_bytes(library, NAME)[1])[cid] == batch  # built as read
    return batch


@pytest.mark.usefixtures("backend")
def test_a_change_made_while_a_build_runs_stays_owed_after_its_switch(
        filled_library: Library, tmp_path: Path) -> None:
    """Before, the build's switch wrote its totals over the mark: the debt was lost and the
    file stayed stale unnoticed."""
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[2], tmp_path)  # the build renders it again
    build_with_a_move_meanwhile(filled_library, ids[0])
    with filled_library.session() as session:
        assert rebuilds_due(session) == [NAME]
    assert finish_interrupted_work(filled_library) == [OWED]
    assert batches_named(stored_bytes(filled_library, NAME)[1])[ids[0]] == "moved"
    assert b"(Corrected.)" in stored_bytes(filled_library, NAME)[1]
    assert not needs_recovery(filled_library)


@pytest.mark.usefixtures("backend")
def test_an_add_after_such_a_build_reads_every_member_and_pays_the_debt(
        filled_library: Library, tmp_path: Path) -> None:
    """The totals that build stored were made before the change: an add trusting them (and
    its other members) would have paid the debt and kept the stale rendering."""
    ids = holding_four(filled_library)
    replace_without_rebuild(filled_library, ids[2], tmp_path)
    batch = build_with_a_move_meanwhile(filled_library, ids[0])
    fifth = [row.conversation_id for row in filled_library.summaries()][4]
    add_conversations(filled_library, NAME, [fifth])
    assert batches_named(stored_bytes(filled_library, NAME)[1]) == {
        **dict.fromkeys([*ids, fifth], batch), ids[0]: "moved"}
    assert not needs_recovery(filled_library)


def moved_while_added(library: Library, cid: str) -> Progress:
    """A progress callback that has another member move ``cid`` to the batch 'moved' the
    first time the build reports (it has read its members' states then)."""
    moved: list[int] = []

    def meanwhile(_done: int, _total: int, _current: str) -> None:
        if not moved:
            with other_member(library) as other:
                moved.append(other.move_conversations([cid], "moved"))

    return meanwhile


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("into", ["a new file", "an existing file"])
def test_a_conversation_changed_while_a_build_adds_it_leaves_the_file_owing_a_rebuild(
        filled_library: Library, into: str) -> None:
    """Before, the file did not hold the conversation when the change was made, so nothing
    counted the change for it: the file kept the old batch with no rebuild owed."""
    ids = [row.conversation_id for row in filled_library.summaries()][:5]
    if into == "an existing file":
        add_conversations(filled_library, NAME, ids[:4], create=True)
    added = ids[:4] if into == "a new file" else ids[4:]
    batch = filled_library.summaries()[0].batch_id
    add_conversations(filled_library, NAME, added, moved_while_added(filled_library, added[0]),
                      create=into == "a new file")
    assert batches_named(stored_bytes(filled_library, NAME)[1])[added[0]] == batch
    with filled_library.session() as session:
        assert rebuilds_due(session) == [NAME]
    assert finish_interrupted_work(filled_library) == [OWED]
    assert batches_named(stored_bytes(filled_library, NAME)[1])[added[0]] == "moved"
    assert not needs_recovery(filled_library)


@pytest.mark.usefixtures("backend")
def test_a_build_that_adds_conversations_nobody_changed_owes_nothing(
        filled_library: Library) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()][:5]
    add_conversations(filled_library, NAME, ids[:4], create=True)
    add_conversations(filled_library, NAME, ids[4:])
    with filled_library.session() as session:
        assert rebuilds_due(session) == []


# --- a tokenizer change ---------------------------------------------------------------


def template_named(library: Library, name: str) -> str:
    """The chat template the file's header says its token counts were made with."""
    with library.session() as session:
        header = session.scalar(select(TrainingFile.header).where(TrainingFile.name == name))
    assert header is not None
    return str(orjson.loads(header)["tokens"]["chat_template"])


def test_a_tokenizer_change_whose_rebuild_was_cancelled_is_finished_at_the_next_open(
        filled_library: Library) -> None:
    """Before, nothing recorded it: the files kept the old tokenizer's counts for good."""
    ids = holding_four(filled_library)
    add_conversations(filled_library, "other-v1", ids[:2], create=True)
    before = template_named(filled_library, NAME)
    choose(filled_library, template="chatml")
    with pytest.raises(BuildCancelled):  # the window's rebuild after the change, cancelled
        rebuild_training_files(filled_library, [NAME, "other-v1"], cancelled=lambda: True)
    assert template_named(filled_library, NAME) == before != "ChatML"
    with filled_library.session() as session:
        assert rebuilds_due(session) == [NAME, "other-v1"]
    assert owes_rebuild(filled_library, NAME)
    assert finish_interrupted_work(filled_library) == [
        f"rebuilt the training file '{name}', whose rebuild after the tokenizer changed did "
        "not finish" for name in (NAME, "other-v1")]
    assert template_named(filled_library, NAME) == template_named(
        filled_library, "other-v1") == "ChatML"
    assert not needs_recovery(filled_library)


def test_choosing_the_tokenizer_in_use_again_owes_no_rebuild(filled_library: Library) -> None:
    holding_four(filled_library)
    choose(filled_library, template=load_choice(filled_library).template)
    assert not needs_recovery(filled_library)


# --- a conversation replaced between a build's read of its state and of its record -------


def replaced_before_rendering(library: Library, cid: str, folder: Path,
                              monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Have another member replace ``cid`` (a reply corrected) once the next build has read
    its members' states, just before it reads their records to render them."""
    real = trainingfiles.render_fragments
    replaced: list[str] = []

    def render(records: Any, keys: Any, **settings: Any) -> Iterator[Any]:
        if not replaced:
            with other_member(library) as other:
                replaced.extend(import_paths(other, [corrected(cid, folder)],
                                             replace=True).replaced_ids)
        yield from real(records, keys, **settings)

    monkeypatch.setattr(trainingfiles, "render_fragments", render)
    return replaced


def kept_renderings(library: Library, pk: int) -> list[tuple[bool, bool]]:
    """For each rendering of conversation ``pk`` the file's members refer to: whether it
    holds the corrected reply, and whether its key is that of the conversation's stored
    state now (the key names the state a rendering was made from)."""
    from app.file_totals import StoredTotals
    from app.models import BuildFragment, Member

    with library.session() as session:
        row = session.scalar(select(TrainingFile).where(TrainingFile.name == NAME))
        assert row is not None
        stored = StoredTotals.loads(row.totals)
        assert stored is not None
        state_key = trainingfiles._member_states(library, [pk])[pk].key(stored.settings, pk)
        return [(b"(Corrected.)" in json, key.rpartition(":")[0] == state_key)
                for key, json in session.execute(
                    select(BuildFragment.key, BuildFragment.json)
                    .join(Member, Member.fragment_key == BuildFragment.key)
                    .where(Member.conversation_pk == pk))]


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("into", ["a new file", "an existing file"])
def test_a_rendering_is_kept_under_the_key_of_the_state_it_was_rendered_from(
        filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        into: str) -> None:
    """Rendered from the corrected record, the fragment was stored under the key of the
    state the build had read before the replace (the original's): a later build of that
    state would have taken the corrected bytes for it."""
    ids = [row.conversation_id for row in filled_library.summaries()][:5]
    if into == "an existing file":
        add_conversations(filled_library, NAME, ids[:4], create=True)
    added = ids[:4] if into == "a new file" else ids[4:]
    replaced = replaced_before_rendering(filled_library, added[0], tmp_path, monkeypatch)
    add_conversations(filled_library, NAME, added, create=into == "a new file")
    assert replaced == [added[0]]
    pk = filled_library.resolve_ids([added[0]])[added[0]]
    assert [corrected == current for corrected, current
            in kept_renderings(filled_library, pk)] == [True]
    monkeypatch.setattr(trainingfiles, "render_fragments", render_fragments)
    finish_interrupted_work(filled_library)  # whatever rebuild is still owed
    assert kept_renderings(filled_library, pk) == [(True, True)]
    assert not needs_recovery(filled_library)


@pytest.mark.usefixtures("backend")
def test_a_build_whose_conversations_keep_changing_before_rendering_says_so(
        filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each start again reads the states anew; a conversation moved before every render
    ends the build with a sentence instead of a loop (nothing is written)."""
    ids = [row.conversation_id for row in filled_library.summaries()][:4]
    real = trainingfiles.render_fragments
    moves: list[int] = []

    def render(records: Any, keys: Any, **settings: Any) -> Iterator[Any]:
        with other_member(filled_library) as other:
            moves.append(other.move_conversations([ids[0]], f"moved-{len(moves)}"))
        yield from real(records, keys, **settings)

    monkeypatch.setattr(trainingfiles, "render_fragments", render)
    with pytest.raises(LibraryError) as refused:
        add_conversations(filled_library, NAME, ids, create=True)
    assert str(refused.value) == (
        f"'{NAME}' was not built: its conversations keep being replaced, moved or marked "
        "reviewed meanwhile; try again once that work is done")
    assert len(moves) == trainingfiles.MEMBER_RETRIES
    assert NAME not in [info.name for info in trainingfiles.list_training_files(
        filled_library)]


@pytest.mark.usefixtures("backend")
def test_a_conversation_removed_before_rendering_is_left_out_not_a_bug_report(
        filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """Removed by another member after the build read its state, before its record was
    read to render: the record read failed with a KeyError (a bug report); the file is now
    made again without it, as a removal found at the switch already was."""
    from app.removal import apply_removal, plan_removal

    ids = [row.conversation_id for row in filled_library.summaries()][:4]
    real = trainingfiles.render_fragments
    removed: list[str] = []

    def render(records: Any, keys: Any, **settings: Any) -> Iterator[Any]:
        if not removed:
            with other_member(filled_library) as other:
                apply_removal(other, plan_removal(other, [ids[0]]))
            removed.append(ids[0])
        yield from real(records, keys, **settings)

    monkeypatch.setattr(trainingfiles, "render_fragments", render)
    add_conversations(filled_library, NAME, ids, create=True)
    assert removed == [ids[0]]
    lines = stored_bytes(filled_library, NAME)[1].splitlines()
    held = {orjson.loads(line)["metadata"]["conversation_id"] for line in lines}
    assert ids[0] not in held and held <= set(ids[1:])
    assert [info.conversations for info in trainingfiles.list_training_files(
        filled_library) if info.name == NAME] == [3]


# --- a rebuild owed for changed conversations and for a tokenizer change, both ---------

BOTH = (f"rebuilt the training file '{NAME}', whose rebuild after its conversations and the "
        "tokenizer both changed did not finish")


def owing_both(library: Library, folder: Path) -> None:
    """A file whose conversation was replaced and then the tokenizer changed, neither
    rebuild done (the window closed, Cancel)."""
    ids = holding_four(library)
    replace_without_rebuild(library, ids[2], folder)
    choose(library, template="chatml")


def test_the_next_command_names_both_changes_the_rebuild_followed(
        tmp_path: Path, fixture_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, it named only the tokenizer: the replaced conversation went unmentioned."""
    with Library.open(tmp_path / "lib") as library:
        import_paths(library, [fixture_folder])
        owing_both(library, tmp_path)
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path / "lib"), "files"]) == 0
    assert f"note: {BOTH}\n" in capsys.readouterr().err
    with Library.open(tmp_path / "lib") as library:
        assert b"(Corrected.)" in stored_bytes(library, NAME)[1]
        assert template_named(library, NAME) == "ChatML"


def test_switching_to_a_library_owing_both_rebuilds_names_both(
        qtbot, switcher, tmp_path: Path, fixture_folder: Path) -> None:
    other = tmp_path / "other"
    with Library.open(other) as library:
        import_paths(library, [fixture_folder])
        owing_both(library, tmp_path)
    with qtbot.waitSignal(switcher.switched, timeout=30000) as switched:
        switcher.window.open_location_requested.emit(str(other))
    said = switched.args[0].statusBar().currentMessage()
    assert said == f"On opening {other.resolve()}, LoRA Studio {BOTH}."


def test_a_reader_refusing_a_file_owing_both_rebuilds_names_both(
        filled_library: Library, tmp_path: Path) -> None:
    """What the command line says when a copy cannot be saved yet (the window gives its
    own advice: the test below)."""
    owing_both(filled_library, tmp_path)
    target = tmp_path / "copy.jsonl"
    with Library(filled_library.root, read_only=True) as reader, \
            pytest.raises(LibraryError) as refused:
        export(reader, NAME, ExportFormat.JSONL, target)
    assert str(refused.value) == (
        f"the training file '{NAME}' must be rebuilt first: its conversations and the "
        "tokenizer both changed, and its rebuild did not finish. Save the copy from LoRA "
        "Studio's window, which rebuilds it first, or run this command again once no window "
        "holds the library")
    assert not target.exists()


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_the_files_page_of_a_reader_names_both_changes_when_a_copy_must_wait(
        qtbot, own_library: Library, tmp_path: Path) -> None:
    """A window on a library it may only read (another window holds it): Save a copy of a
    file owing both rebuilds is refused, naming both changes."""
    owing_both(own_library, tmp_path)
    dialogs = ScriptedDialogs()
    with Library(own_library.root, read_only=True) as reader:
        window = open_window(qtbot, reader, dialogs, tmp_path)
        assert window.training_files.select_file(NAME)
        target = tmp_path / "copy.jsonl"
        dialogs.save_paths.append(target)
        window.download_jsonl_action.trigger()
        qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=30000)
        title, message = dialogs.warnings[-1]
        window.close()
    assert title == "Could not save the copy"
    assert message == (  # advice a window can follow, not the command line's
        f"the training file '{NAME}' must be rebuilt first: its conversations and the "
        "tokenizer both changed, and its rebuild did not finish. This window opened the "
        "library only to read it, so it cannot rebuild the file: close the other window or "
        "app that holds the library, then open the library here again and save the copy, "
        "which rebuilds the file first.")
    assert not target.exists()
