"""Edit ▸ Undo reverses the last batch rename or move, as a job like it, exactly or not at
all (a rename that merged two batches too: they are parted again): greyed out with the
reason when there is nothing to undo, or when the batches changed since; refused by the
job itself (nothing changed) when the library changed behind the window's back."""

from __future__ import annotations

from conftest import ids_of, open_window, settle
from stored import stored_bytes

from app.batch_undo import undo_rename
from app.bundle import resources_dir
from app.errors import LibraryError
from app.trainingfiles import add_conversations
from ui.batch_flow import NOTHING_TO_UNDO

WAIT_MS = 60000  # a job in a child process: a new Python that imports the app, slow when loaded


def batches(library) -> dict[str, tuple[int, str]]:
    return {b.batch_id: (b.conversations, b.created_at) for b in library.batches()}


def batch_of(library) -> dict[str, str]:
    return {row.conversation_id: row.batch_id for row in library.summaries()}


def test_undo_puts_a_renamed_batch_back_and_rebuilds_its_files(qtbot, two_batches,
                                                               dialogs, tmp_path):
    legacy = ids_of(two_batches, "legacy-batch")
    add_conversations(two_batches, "holder", legacy[:3], create=True)
    before = batches(two_batches)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    undo = window.batches.undo_action
    assert not undo.isEnabled() and undo.text() == "Undo"
    assert undo.toolTip() == NOTHING_TO_UNDO
    assert undo in window.edit_menu.actions() and undo.shortcut().toString() == "Ctrl+Z"

    window.conversations.set_batch_filter("legacy-batch")
    dialogs.texts.append("renamed")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.rename_current()
    assert b'"renamed"' in stored_bytes(two_batches, "holder")[0]
    assert undo.isEnabled()
    assert undo.text() == "Undo rename of batch 'legacy-batch' to 'renamed'"
    assert undo.toolTip() == (f"Name batch 'renamed' 'legacy-batch' again ({len(legacy)} "
                              "conversations); the training files holding them are rebuilt")

    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS) as said:
        undo.trigger()
    assert said.args == ["Undone: batch 'renamed' is 'legacy-batch' again; rebuilt 'holder'"]
    assert batches(two_batches) == before, "same batches, same creation times"
    assert b'"renamed"' not in stored_bytes(two_batches, "holder")[0]
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"
    settle(qtbot, window)
    assert window.conversations.batch_filter.value() == "legacy-batch", "the filter follows"
    assert window.conversations.model.shown_count == len(legacy)
    assert dialogs.warnings == []


def test_undo_moves_each_conversation_back_to_its_own_batch(qtbot, two_batches, dialogs,
                                                            tmp_path):
    legacy, enriched = ids_of(two_batches, "legacy-batch"), ids_of(two_batches,
                                                                    "enriched-batch")
    moving = [legacy[0], legacy[1], enriched[0]]
    before, where = batches(two_batches), batch_of(two_batches)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(moving)
    dialogs.texts.append("elsewhere")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
    assert sorted(ids_of(two_batches, "elsewhere")) == sorted(moving)
    undo = window.batches.undo_action
    assert undo.text() == "Undo move of 3 conversations to batch 'elsewhere'"
    assert undo.toolTip() == ("Put the 3 conversations back in the 2 batches they came "
                              "from; the training files holding them are rebuilt")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS) as said:
        undo.trigger()
    assert said.args == ["Undone: 3 conversations moved back from batch 'elsewhere'"]
    assert batch_of(two_batches) == where
    assert batches(two_batches) == before, "the batch the move made is gone again"
    settle(qtbot, window)
    assert "elsewhere" not in window.conversations.filter_bar._all_values["batch_id"]


def test_a_rename_that_merged_two_batches_says_so_and_is_undone(qtbot, two_batches, dialogs,
                                                                tmp_path):
    legacy = ids_of(two_batches, "legacy-batch")
    add_conversations(two_batches, "holder", legacy[:2], create=True)
    before, where = batches(two_batches), batch_of(two_batches)
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.set_batch_filter("legacy-batch")
    dialogs.texts.append("enriched-batch")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS) as said:
        assert window.batches.rename_current()
    assert said.args == [
        f"Merged batch 'legacy-batch' into 'enriched-batch': its {len(legacy)} conversations "
        "are in 'enriched-batch' now (Edit ▸ Undo takes them out again); rebuilt 'holder'"]
    assert "legacy-batch" not in batches(two_batches)
    undo = window.batches.undo_action
    assert undo.isEnabled()
    assert undo.text() == "Undo merge of batch 'legacy-batch' into 'enriched-batch'"
    assert undo.toolTip() == (
        f"Make batch 'legacy-batch' again and put the {len(legacy)} conversations it held "
        "back in it, out of 'enriched-batch'; the training files holding them are rebuilt")

    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS) as said:
        undo.trigger()
    assert said.args == [f"Undone: batch 'legacy-batch' is back, with its {len(legacy)} "
                         "conversations, apart from 'enriched-batch'; rebuilt 'holder'"]
    assert batches(two_batches) == before, "same batches, same creation times"
    assert batch_of(two_batches) == where
    assert b'"legacy-batch"' in stored_bytes(two_batches, "holder")[0]
    assert not undo.isEnabled() and undo.toolTip() == NOTHING_TO_UNDO, "one step, no redo"
    settle(qtbot, window)
    model = window.conversations.model
    shown = {model.row_at(n).conversation_id: model.row_at(n).batch_id
             for n in range(model.rowCount())}
    assert {cid: shown[cid] for cid in legacy if cid in shown} == {
        cid: "legacy-batch" for cid in legacy if cid in shown}, "the table follows"
    assert dialogs.warnings == []


def test_undo_is_greyed_out_once_the_batches_changed_since(qtbot, two_batches, dialogs,
                                                          tmp_path):
    legacy = ids_of(two_batches, "legacy-batch")
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.model.set_checked_ids(legacy[:2])
    dialogs.texts.append("elsewhere")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
    assert window.batches.undo_action.isEnabled()
    window.conversations.model.set_checked_ids(legacy[2:3])  # a second move
    dialogs.texts.append("third")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
    undo = window.batches.undo_action
    assert undo.text() == "Undo move of 1 conversation to batch 'third'", "the last one"
    assert undo.isEnabled()
    samples = sorted(p for p in (resources_dir() / "samples").iterdir() if p.is_dir())
    with qtbot.waitSignal(window.importer.finished, timeout=WAIT_MS):
        assert window.importer.start(samples[:1], ask_batch=False)  # a batch is new
    assert not undo.isEnabled()
    assert undo.toolTip() == ("The batches changed after this (an import, a removal, "
                              "another rename or move): it can no longer be undone "
                              "exactly. To put them back anyway, filter on the batch and "
                              "use Rename batch… or Move checked to batch… yourself.")


def test_the_undo_job_changes_nothing_when_the_library_changed_behind_the_window(
        qtbot, two_batches, dialogs, tmp_path):
    """A team member (here: the library used directly) moved one conversation into the
    renamed batch: putting the old name back would take it along, so the job refuses."""
    enriched = ids_of(two_batches, "enriched-batch")
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    window.conversations.set_batch_filter("legacy-batch")
    dialogs.texts.append("renamed")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.rename_current()
    record = window.batches.last
    two_batches.move_conversations(enriched[:1], "renamed")
    after = batch_of(two_batches), batches(two_batches)
    with qtbot.waitSignal(window.batches.failed, timeout=WAIT_MS):
        window.batches.undo_action.trigger()
    assert dialogs.warnings == [("Undo", (
        "Renaming batch 'legacy-batch' to 'renamed' cannot be undone exactly: the library "
        "changed since (another rename, move, import or removal, here or by a team member). "
        "Nothing was changed: to put them back anyway, filter on the batch and use Edit ▸ "
        "Rename batch… or Move checked to batch… yourself."))]
    assert (batch_of(two_batches), batches(two_batches)) == after
    assert not window.batches.undo_action.isEnabled()
    try:
        undo_rename(two_batches, record)
    except LibraryError:
        pass
    else:
        raise AssertionError("the job refuses on its own too")


def test_undo_is_greyed_out_as_soon_as_the_next_change_starts(qtbot, two_batches, dialogs,
                                                             tmp_path):
    """Before the next move's progress dialog shows, Ctrl+Z must not undo the change
    before it under the running one."""
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    undo = window.batches.undo_action
    window.conversations.set_batch_filter("legacy-batch")
    dialogs.texts.append("renamed")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.rename_current()
    assert undo.isEnabled()
    settle(qtbot, window)
    window.conversations.model.set_checked_ids(ids_of(two_batches, "renamed")[:2])
    dialogs.texts.append("elsewhere")
    with qtbot.waitSignal(window.batches.status, timeout=WAIT_MS):
        assert window.batches.move_checked()
        assert not undo.isEnabled(), "greyed out while the move runs"
    assert undo.text().startswith("Undo move of")
