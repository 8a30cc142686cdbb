"""The checks on the Conversations page outlive the window (``ui.check_keeper``,
``app.kept_checks``): an hour of curation is not lost to a restart, a crash or a switch of
libraries. Real libraries, the real window with its settings and its checks file in the
test's own folders (``conftest._isolated_home``), real files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conftest import open_window, settle
from PySide6.QtCore import Qt
from scripted_dialogs import ScriptedDialogs

from app.importer import import_paths
from app.kept_checks import checks_file, checks_folder
from app.library import Library
from app.removal import apply_removal, plan_removal
from ui.check_keeper import NOT_KEPT_TITLE
from ui.conversations_model import Column
from ui.main import MainWindow

WAIT_MS = 10_000


def check_rows(window: MainWindow, rows: list[int]) -> list[str]:
    """Tick these table rows as a click does; their conversation ids."""
    model = window.conversations.model
    for row in rows:
        assert model.setData(model.index(row, Column.CHECK), Qt.CheckState.Checked,
                             Qt.ItemDataRole.CheckStateRole)
    return [model.row_at(row).conversation_id for row in rows]


def checked(window: MainWindow) -> set[str]:
    return set(window.conversations.model.checked_ids())


def window_on(qtbot, library: Library, tmp_path: Path,
             dialogs: ScriptedDialogs | None = None) -> MainWindow:
    window = open_window(qtbot, library, dialogs or ScriptedDialogs(), tmp_path, show=False)
    settle(qtbot, window)
    return window


def test_checks_come_back_in_a_new_window_on_the_library(qtbot, filled_library: Library,
                                                        tmp_path: Path) -> None:
    window = window_on(qtbot, filled_library, tmp_path)
    ids = check_rows(window, [0, 2, 3])
    window.close()

    again = window_on(qtbot, filled_library, tmp_path)
    assert checked(again) == set(ids)
    assert again.statusBar().currentMessage() == "3 checked, as you left them."
    assert "Checked 3" in again.counts.text()
    # kept for this user, never in the library's folder
    kept = checks_file(filled_library.location).path
    assert kept.is_file() and kept.is_relative_to(checks_folder())
    assert kept.is_relative_to(tmp_path)  # (the test's own folders: conftest._isolated_home)
    assert not kept.is_relative_to(filled_library.root)


def test_checks_hidden_by_the_remembered_filter_come_back_too(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    window = window_on(qtbot, filled_library, tmp_path)
    model = window.conversations.model
    ids = check_rows(window, [0, model.rowCount() - 1])
    bar = window.conversations.filter_bar
    bar.search.setText(ids[0])  # only the first shows
    bar.apply_search_now()
    assert model.shown_count == 1 and model.hidden_checked_count == 1
    window.close()

    again = window_on(qtbot, filled_library, tmp_path)
    assert again.conversations.filter_bar.state() == {"search": ids[0]}
    assert checked(again) == set(ids)
    assert again.conversations.model.hidden_checked_count == 1
    assert "(1 hidden by the filter)" in again.counts.text()


def test_a_removed_conversation_is_no_longer_checked(qtbot, filled_library: Library,
                                                    tmp_path: Path) -> None:
    window = window_on(qtbot, filled_library, tmp_path)
    ids = check_rows(window, [0, 1, 2])
    window.close()
    apply_removal(filled_library, plan_removal(filled_library, ids[1:2]))

    again = window_on(qtbot, filled_library, tmp_path)
    assert checked(again) == {ids[0], ids[2]}
    assert again.statusBar().currentMessage() == "2 checked, as you left them."


def test_checks_are_written_soon_after_a_change_not_only_at_close(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    """A crash keeps what was checked a moment before it: a second window opened while the
    first still runs (and never closes it) finds the checks."""
    window = window_on(qtbot, filled_library, tmp_path)
    kept = window.check_keeper.path
    ids = check_rows(window, [1, 2])
    qtbot.waitUntil(kept.is_file, timeout=WAIT_MS)

    second = window_on(qtbot, filled_library, tmp_path)
    assert checked(second) == set(ids)


def test_select_none_is_kept_too(qtbot, filled_library: Library, tmp_path: Path) -> None:
    window = window_on(qtbot, filled_library, tmp_path)
    kept = window.check_keeper.path
    check_rows(window, [0, 1])
    qtbot.waitUntil(kept.is_file, timeout=WAIT_MS)
    window.select_none_action.trigger()
    qtbot.waitUntil(lambda: not kept.exists(), timeout=WAIT_MS)
    window.close()

    again = window_on(qtbot, filled_library, tmp_path)
    assert checked(again) == set()
    assert "as you left them" not in again.statusBar().currentMessage()


def test_each_library_has_its_own_checks(qtbot, filled_library: Library, tmp_path: Path,
                                         fixture_folder: Path) -> None:
    window = window_on(qtbot, filled_library, tmp_path)
    ids = check_rows(window, [0])
    window.close()
    other = Library.open(tmp_path / "other-library")
    try:
        import_paths(other, [fixture_folder])  # the same conversations, another library
        elsewhere = window_on(qtbot, other, tmp_path)
        assert checked(elsewhere) == set()
        check_rows(elsewhere, [3])
        elsewhere.close()
    finally:
        other.close()

    again = window_on(qtbot, filled_library, tmp_path)
    assert checked(again) == set(ids)


def test_a_large_library_gets_its_checks_back_after_its_first_read(
        qtbot, filled_library: Library, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import row_reader

    window = window_on(qtbot, filled_library, tmp_path)
    ids = check_rows(window, [0, 3])
    window.close()

    monkeypatch.setattr(row_reader, "READ_AT_START_FROM", 1)  # read in the background
    again = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    assert again.conversations.opening
    settle(qtbot, again)
    assert checked(again) == set(ids)
    assert again.statusBar().currentMessage() == "2 checked, as you left them."


def test_an_unwritable_data_folder_is_said_once_and_checking_goes_on(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    folder = checks_folder()
    folder.parent.mkdir(parents=True)
    folder.write_text("a file where the folder should be")  # (even root cannot write in it)
    dialogs = ScriptedDialogs()
    window = window_on(qtbot, filled_library, tmp_path, dialogs)
    check_rows(window, [0])
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    title, message = dialogs.warnings[0]
    assert title == NOT_KEPT_TITLE
    assert str(folder) in message and "make that folder writable" in message

    ids = check_rows(window, [1, 2])  # still checks, and says nothing more
    qtbot.wait(1500)  # (past the next write's moment)
    assert checked(window) == {window.conversations.model.row_at(0).conversation_id, *ids}
    window.close()
    assert len(dialogs.warnings) == 1
    assert folder.read_text() == "a file where the folder should be"

    again = window_on(qtbot, filled_library, tmp_path)
    assert checked(again) == set()


def test_a_damaged_checks_file_is_said_and_the_page_starts_unchecked(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    kept = checks_file(filled_library.location).path
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b'{"checked": "cut sho')
    window = window_on(qtbot, filled_library, tmp_path)
    assert checked(window) == set()
    assert str(kept) in window.statusBar().currentMessage()
    check_rows(window, [0])
    window.close()
    assert checked(window_on(qtbot, filled_library, tmp_path)) == {
        window.conversations.model.row_at(0).conversation_id}


def test_checks_go_with_their_library_through_a_switch_and_back(
        qtbot, filled_library: Library, switcher, tmp_path: Path) -> None:
    """File ▸ Recent libraries to another library and File ▸ Open local library back: each
    window shows its own library's checks, and the first comes back as it was left."""
    other = tmp_path / "other-library"
    Library(other).close()
    ids = check_rows(switcher.window, [0, 2])
    with qtbot.waitSignal(switcher.switched, timeout=30000) as switched:
        switcher.open_location(str(other))
    assert switched.args[0].conversations.model.checked_count == 0
    with qtbot.waitSignal(switcher.switched, timeout=30000) as switched:
        switcher.window.open_local_action.trigger()
    back = switched.args[0]
    settle(qtbot, back)
    assert checked(back) == set(ids)
    assert back.statusBar().currentMessage().endswith("2 checked, as you left them.")


def test_checks_stay_after_create_training_files_and_come_back_with_the_window(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    """As before: adding the checked conversations to a file leaves them checked (the next
    file often takes the same ones); they are kept like any checks."""
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    ids = check_rows(window, [0, 1])
    dialogs.texts.append("Kept set")
    with qtbot.waitSignal(window.creator.reviewing, timeout=30000):
        assert window.creator.add_checked(None)
    with qtbot.waitSignal(window.creator.built, timeout=30000):
        window.creator.review.add_button.click()
    settle(qtbot, window)
    assert checked(window) == set(ids)
    window.close()

    again = window_on(qtbot, filled_library, tmp_path)
    assert checked(again) == set(ids)
    assert all("Kept set" in again.conversations.model.row_at(again.conversations.model
                                                              .row_of_id(cid)).training_files
               for cid in ids)


def test_a_team_library_keeps_its_checks_by_its_address_never_its_password(
        tmp_path: Path) -> None:
    """Each member keeps their own checks of a team library in their own folder; a changed
    password is the same library, and no password is written."""
    from app.kept_checks import load_checks, save_checks
    from app.location import parse_location

    ann = checks_file(parse_location("postgresql://ann:first-Secret@db.example/team"))
    again = checks_file(parse_location("postgres://ann:second-Secret@db.example/team"))
    without = checks_file(parse_location("postgresql://ann@db.example/team"))  # (~/.pgpass)
    other = checks_file(parse_location("postgresql://ann:first-Secret@db.example/other"))
    assert ann == again == without and ann.path != other.path
    save_checks(ann, ["c-1", "c-2"])
    assert load_checks(again) == ["c-1", "c-2"]
    assert load_checks(other) == []
    assert b"Secret" not in ann.path.read_bytes() and ann.path.is_relative_to(tmp_path)


def test_a_conversation_removed_while_the_window_is_open_leaves_the_kept_checks(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    from app.kept_checks import load_checks

    window = window_on(qtbot, filled_library, tmp_path)
    kept = checks_file(filled_library.location)
    ids = check_rows(window, [0, 1, 2])
    qtbot.waitUntil(lambda: sorted(load_checks(kept)) == sorted(ids), timeout=WAIT_MS)
    apply_removal(filled_library, plan_removal(filled_library, ids[:1]))
    window.changes.conversations_changed.emit()  # as the window's own removal says it
    settle(qtbot, window)
    assert checked(window) == set(ids[1:])
    qtbot.waitUntil(lambda: sorted(load_checks(kept)) == sorted(ids[1:]), timeout=WAIT_MS)


# --- read off the GUI thread --------------------------------------------------------------


class HeldChecksFile:
    """The library's checks file as a named pipe (a disk that answers only when told): a
    read of it waits until ``release`` writes the kept ids into it. Whoever reads it
    on the GUI thread holds the window until then."""

    def __init__(self, library: Library, ids: list[str], tmp_path: Path) -> None:
        import threading

        from app.kept_checks import ChecksFile, save_checks

        self.path = checks_file(library.location).path
        written = ChecksFile(tmp_path / "written.json", "folder:written")
        save_checks(written, ids)
        self._content = written.path.read_bytes()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(self.path)
        self._go = threading.Event()
        self.released = threading.Event()
        # (released anyway after a while, so code that reads on the GUI thread fails the
        # test instead of hanging it)
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def _write(self) -> None:
        self._go.wait(timeout=20)
        self.released.set()
        with self.path.open("wb") as pipe:
            pipe.write(self._content)

    def release(self) -> None:
        self._go.set()
        self._writer.join(timeout=WAIT_MS / 1000)


def kept_ids(library: Library, count: int) -> list[str]:
    return [row.conversation_id for row in library.summaries()[:count]]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_slow_checks_file_never_holds_the_window(qtbot, filled_library: Library,
                                                   tmp_path: Path) -> None:
    """The window opens, and answers, while the kept checks are still being read; they
    come back when the read ends, as they were left."""
    ids = kept_ids(filled_library, 3)
    held = HeldChecksFile(filled_library, ids, tmp_path)
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path)
    assert not held.released.is_set()  # the window was made without waiting for the read
    assert window.check_keeper.restoring
    held.release()
    settle(qtbot, window)
    assert checked(window) == set(ids)
    assert window.statusBar().currentMessage() == "3 checked, as you left them."


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_checks_made_while_the_kept_ones_are_read_stay_and_are_kept(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    from app.kept_checks import load_checks

    ids = kept_ids(filled_library, 2)
    held = HeldChecksFile(filled_library, ids, tmp_path)
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path)
    model = window.conversations.model
    last = check_rows(window, [model.rowCount() - 1])
    held.release()
    settle(qtbot, window)
    assert checked(window) == {*ids, *last}
    assert window.statusBar().currentMessage() == "2 checked, as you left them."
    kept = checks_file(filled_library.location)
    qtbot.waitUntil(lambda: kept.path.is_file()
                    and set(load_checks(kept)) == {*ids, *last}, timeout=WAIT_MS)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_rows_read_again_while_the_checks_are_read_get_them_back(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    """New rows swapped in while the file is read (a change in the library): the kept ids
    are found among the new rows, a removed one dropped."""
    ids = kept_ids(filled_library, 3)
    held = HeldChecksFile(filled_library, ids, tmp_path)
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path)
    page = window.conversations
    before = page.model.index_
    apply_removal(filled_library, plan_removal(filled_library, ids[1:2]))
    window.changes.conversations_changed.emit()
    qtbot.waitUntil(lambda: not page.loading and page.model.index_ is not before,
                    timeout=WAIT_MS)
    assert window.check_keeper.restoring
    held.release()
    settle(qtbot, window)
    assert checked(window) == {ids[0], ids[2]}
    assert window.statusBar().currentMessage() == "2 checked, as you left them."


# --- files of libraries no longer used ----------------------------------------------------


def kept_for(folder: Path, library: str, days_old: float, now: float) -> Path:
    """A checks file as ``save_checks`` writes it, last touched ``days_old`` days ago."""
    from app.kept_checks import ChecksFile, save_checks

    digest = hashlib.sha256(library.encode()).hexdigest()[:20]
    kept = ChecksFile(folder / f"{digest}.json", library)
    save_checks(kept, ["c-1"])
    os.utime(kept.path, (now - days_old * 86_400,) * 2)
    return kept.path


def test_checks_of_gone_or_long_unused_libraries_are_dropped(tmp_path: Path) -> None:
    import time

    from app.kept_checks import KEEP_UNUSED_DAYS, drop_stale_checks

    now = time.time()
    folder = tmp_path / "kept"
    here = tmp_path / "libraries" / "here"
    here.mkdir(parents=True)
    moved_away = tmp_path / "libraries" / "moved away"  # its parent is there, it is not
    unplugged = tmp_path / "drive not mounted" / "library"  # neither is there
    odd = tmp_path / "libraries" / 'quote " and ünïcode'
    in_use = kept_for(folder, f"folder:{here}", 3, now)
    gone = kept_for(folder, f"folder:{moved_away}", 3, now)
    gone_odd_name = kept_for(folder, f"folder:{odd}", 3, now)
    unreachable = kept_for(folder, f"folder:{unplugged}", 3, now)
    unused = kept_for(folder, f"folder:{here}-2", KEEP_UNUSED_DAYS + 1, now)
    (tmp_path / "libraries" / "here-2").mkdir()
    team = kept_for(folder, "team:postgresql://ann@db.example/team", 30, now)
    old_team = kept_for(folder, "team:postgresql://ann@db.example/old",
                        KEEP_UNUSED_DAYS + 1, now)
    opening = kept_for(folder, f"folder:{moved_away}-opening", KEEP_UNUSED_DAYS + 1, now)
    leftover = folder / ".abc.json.x1y2.tmp"
    leftover.write_bytes(b'{"format":1')
    os.utime(leftover, (now - 2 * 86_400,) * 2)
    writing = folder / ".def.json.z3.tmp"
    writing.write_bytes(b"{")
    other = folder / "notes.txt"
    other.write_text("not ours")
    os.utime(other, (now - 400 * 86_400,) * 2)

    dropped = drop_stale_checks(folder, keep=opening, now=now)
    assert sorted(dropped) == sorted([gone, gone_odd_name, unused, old_team, leftover])
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in (in_use, unreachable, team, opening, writing, other))
    assert drop_stale_checks(tmp_path / "never made") == []


def test_opening_a_library_keeps_its_checks_however_old_and_drops_a_gone_ones(
        qtbot, filled_library: Library, tmp_path: Path) -> None:
    """Opening a library touches its checks file (it is in use, however long ago its checks
    changed) and drops, on the keeper's thread, the file of a library folder deleted."""
    import time

    from app.kept_checks import KEEP_UNUSED_DAYS, save_checks

    now = time.time()
    ids = kept_ids(filled_library, 2)
    kept = checks_file(filled_library.location)
    save_checks(kept, ids)
    long_ago = now - (KEEP_UNUSED_DAYS + 10) * 86_400
    os.utime(kept.path, (long_ago, long_ago))
    deleted = tmp_path / "a library deleted since"
    gone = kept_for(kept.folder, f"folder:{deleted}", 1, now)

    window = window_on(qtbot, filled_library, tmp_path)
    assert checked(window) == set(ids)
    qtbot.waitUntil(lambda: not gone.exists(), timeout=WAIT_MS)
    assert kept.path.stat().st_mtime > long_ago + 86_400
