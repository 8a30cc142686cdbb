"""File ▸ Open or create library folder… and the welcome panel's "Use another folder…",
through the real window and switcher, real folders on disk and a real settings file (the
file chooser and the questions answered by ``ScriptedDialogs``).

An empty folder becomes a library once the person agrees, named in the question; a folder
holding a library opens; one holding other things is shared only once agreed; a file or a
folder that may not be written is refused with a sentence, and the window stays where it
was. The folder chosen is remembered: the next start opens it, and Recent libraries lists it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from scripted_dialogs import ScriptedDialogs

from app.library import Library
from app.paths import DATABASE_NAME
from ui.library_choice import current, recent
from ui.library_switch import start_app
from ui.main import window_title


def choose(qtbot, switcher, folder: Path, *answers: bool) -> None:
    """File ▸ Open or create library folder…, ``folder`` chosen, the questions answered."""
    switcher.dialogs.folders.append(folder)
    switcher.dialogs.confirms.extend(answers)
    switcher.window.open_folder_action.trigger()


def choose_and_switch(qtbot, switcher, folder: Path, *answers: bool) -> None:
    with qtbot.waitSignal(switcher.switched, timeout=30000):
        choose(qtbot, switcher, folder, *answers)


def test_an_empty_folder_becomes_a_library_there_once_agreed_and_the_window_shows_it(
        qtbot, switcher, library, settings, tmp_path):
    empty = tmp_path / "big disk" / "LoRA library"
    empty.mkdir(parents=True)
    window = switcher.window
    assert window.open_folder_action in window.file_menu.actions()
    choose_and_switch(qtbot, switcher, empty, True)
    dialogs = switcher.dialogs
    kind, title, start = dialogs.asked[0]
    assert (kind, title) == ("folder", "Open or create library folder")
    assert start == library.root.parent  # beside the open library
    kind, title, question = dialogs.asked[1]
    assert kind == "confirm" and question.startswith(f"{empty} is empty.")
    assert "Create a new library there?" in question
    assert (empty / DATABASE_NAME).is_file()
    window = switcher.window
    assert window.library.root == empty and window.isVisible()
    assert window.windowTitle() == window_title(window.library)
    assert str(empty) in window.windowTitle()
    assert window.welcome.isVisible() and str(empty) in window.welcome.place.toolTip()
    assert window.statusBar().currentMessage().startswith(f"Created a new library in {empty}.")
    assert current(settings) == str(empty)
    assert recent(settings)[:2] == [str(empty), str(library.root.resolve())]
    assert dialogs.warnings == []


def test_a_chosen_folder_opens_again_at_the_next_start_and_is_in_recent_libraries(
        qtbot, switcher, library, settings, tmp_path, monkeypatch):
    monkeypatch.delenv("LORA_STUDIO_HOME")  # (a double-click start sets none)
    chosen = tmp_path / "synced" / "library"
    chosen.mkdir(parents=True)
    choose_and_switch(qtbot, switcher, chosen, True)
    assert switcher.dialogs.asked[1][2].endswith("The next start opens it too.")
    switcher.window.close()
    switcher.close()
    again = start_app(None, ScriptedDialogs(), settings)
    assert again is not None
    try:
        assert again.library.root == chosen
        assert str(chosen) in again.window.windowTitle()
        again.window.file_menu.aboutToShow.emit()
        again.window.recent_menu.aboutToShow.emit()
        entries = {a.text(): a.isEnabled() for a in again.window.recent_menu.actions()}
        assert entries[f"Local: {chosen}"] is False  # the open one, greyed out
        assert entries[f"Local: {library.root.resolve()}"] is True
        # Chosen again: it opens, nothing is asked, nothing made anew.
        assert again.dialogs.asked == []
    finally:
        again.window.close()
        again.close()


def test_a_folder_holding_a_library_opens_without_a_question(
        qtbot, switcher, library, settings, tmp_path):
    other = tmp_path / "other"
    Library(other).close()
    before = (other / DATABASE_NAME).stat().st_mtime_ns
    choose_and_switch(qtbot, switcher, other)
    assert [kind for kind, *_ in switcher.dialogs.asked] == ["folder"]
    assert switcher.library.root == other.resolve()
    assert switcher.window.statusBar().currentMessage().startswith(f"Opened {other}.")
    assert (other / DATABASE_NAME).stat().st_mtime_ns >= before


@contextlib.contextmanager
def unwritable_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this user may not write to: a read-only disk for root (whom permissions do
    not bind), a folder without write permission for anybody else."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.name == "nt":
        pytest.skip("a folder's permissions do not bind Windows' chmod")
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                          capture_output=True, check=False, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only disk: {done.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, timeout=60)


def test_a_folder_that_may_not_be_written_is_named_and_the_library_stays_open(
        qtbot, switcher, library, settings, tmp_path):
    window = switcher.window
    with unwritable_folder(tmp_path) as folder:
        choose(qtbot, switcher, folder)
        assert not switcher.opening
        assert [kind for kind, *_ in switcher.dialogs.asked] == ["folder"]  # no question
        title, message = switcher.dialogs.warnings[-1]
        assert title == "Library not opened"
        assert message.startswith(f"A library cannot be made in {folder}: ")
        assert "read-only disk" in message or "may not write" in message
        assert "Choose a folder you may write to" in message
        assert message.endswith(f"The window stays on {library.root.resolve()}.")
        assert not (folder / DATABASE_NAME).exists()
    assert switcher.window is window and switcher.library is library
    assert library.count() == 0  # still open, still usable
    assert current(settings) == str(library.root.resolve())


def test_a_file_is_refused_with_a_sentence(qtbot, switcher, library, tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("mine", encoding="utf-8")
    choose(qtbot, switcher, file)
    title, message = switcher.dialogs.warnings[-1]
    assert title == "Library not opened"
    assert message.startswith(f"{file} is a file, not a folder.")
    assert file.read_text(encoding="utf-8") == "mine"
    assert switcher.library is library and not switcher.opening


def test_a_folder_holding_other_things_is_shared_only_once_agreed(
        qtbot, switcher, library, settings, tmp_path):
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "taxes.pdf").write_bytes(b"%PDF")
    (documents / "photos").mkdir()
    Library(documents / "old library").close()
    choose(qtbot, switcher, documents, False)
    kind, title, question = switcher.dialogs.asked[-1]
    assert (kind, title) == ("confirm_destructive", "Create a library beside other files")
    assert question.startswith(f"{documents} holds 3 items (old library, photos, "
                               "taxes.pdf) and no library.")
    assert "subfolder 'old library' holds a library" in question
    assert not (documents / DATABASE_NAME).exists() and switcher.library is library
    choose_and_switch(qtbot, switcher, documents, True)
    assert switcher.library.root == documents
    assert (documents / "taxes.pdf").read_bytes() == b"%PDF"


def test_a_folder_inside_a_library_folder_is_refused(qtbot, switcher, library, tmp_path):
    inside = library.root / "my exports"
    inside.mkdir()
    choose(qtbot, switcher, inside)
    title, message = switcher.dialogs.warnings[-1]
    assert title == "Library not opened"
    assert message.startswith(f"{inside} is inside the library folder {library.root}")
    assert not (inside / DATABASE_NAME).exists() and switcher.library is library


def test_cancelling_the_chooser_changes_nothing(qtbot, switcher, library, settings):
    choose(qtbot, switcher, None)  # type: ignore[arg-type]
    assert switcher.library is library and not switcher.opening
    assert switcher.dialogs.warnings == []


def test_the_welcome_panel_says_where_the_library_is_and_changes_it(
        qtbot, switcher, library, tmp_path):
    from ui.welcome import PLACE_WIDTH

    window = switcher.window
    welcome = window.welcome
    assert window.conversations_stack.currentWidget() is welcome
    # One short line: a long path loses its middle, and is whole in the tooltip.
    assert welcome.place.toolTip() == f"Library folder: {library.root.resolve()}"
    shown = welcome.place.text()
    assert shown.startswith("Library folder: /") and shown.endswith("/library")
    assert welcome.place.fontMetrics().horizontalAdvance(shown) <= PLACE_WIDTH
    assert welcome.place_button.isVisible()
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    switcher.dialogs.folders.append(empty)
    switcher.dialogs.confirms.append(True)
    with qtbot.waitSignal(switcher.switched, timeout=30000):
        welcome.place_button.click()
    assert switcher.library.root == empty
    assert switcher.window.welcome.place.toolTip() == f"Library folder: {empty}"


def test_open_local_library_is_greyed_out_on_it_and_names_it(qtbot, switcher, library):
    action = switcher.window.open_local_action
    assert not action.isEnabled()
    assert action.statusTip() == f"Go back to the library in {library.root.resolve()}"


def test_what_a_folder_holds_leaves_out_what_systems_and_sync_tools_put_there(tmp_path):
    from app.library_folder import FolderKind, look_at

    folder = tmp_path / "synced"
    folder.mkdir()
    for litter in (".DS_Store", "desktop.ini", ".stfolder"):
        (folder / litter).write_text("", encoding="utf-8")
    assert look_at(folder).kind is FolderKind.EMPTY
    assert look_at(tmp_path / "not yet").kind is FolderKind.NEW
    (folder / "notes.md").write_text("", encoding="utf-8")
    look = look_at(folder)
    assert (look.kind, look.items, look.names) == (FolderKind.OCCUPIED, 1, ("notes.md",))


def test_lora_studio_home_still_wins_at_the_next_start_and_the_window_says_so(
        qtbot, switcher, library, settings, tmp_path):
    home = Path(os.environ["LORA_STUDIO_HOME"]).resolve()  # (the test's own)
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    choose_and_switch(qtbot, switcher, chosen, True)
    question = switcher.dialogs.asked[1][2]
    assert question.endswith(f"The next start opens {home} all the same: LORA_STUDIO_HOME "
                             "names it.")
    said = switcher.window.statusBar().currentMessage()
    assert said == (f"Created a new library in {chosen}. The next start opens {home} all "
                    "the same: LORA_STUDIO_HOME names it.")
    switcher.window.close()
    switcher.close()
    again = start_app(None, ScriptedDialogs(), settings)
    assert again is not None
    try:
        assert again.library.root == home
    finally:
        again.window.close()
        again.close()


def test_a_team_library_window_names_its_address_and_opens_a_folder_from_there(
        qtbot, pg_url, settings, tmp_path, no_keyring):
    from ui.library_choice import settings_form

    switcher = start_app(pg_url, ScriptedDialogs(), settings)
    assert switcher is not None and switcher.library.is_team
    try:
        window = switcher.window
        address = settings_form(pg_url)
        assert window.welcome.place.toolTip() == f"Team library {address}"
        assert window.welcome.place_button.text() == "Open a library folder…"
        assert window.open_local_action.isEnabled()  # back to the folder on this computer
        empty = tmp_path / "my own"
        empty.mkdir()
        choose_and_switch(qtbot, switcher, empty, True)
        assert switcher.dialogs.asked[0][2] == Path.home()  # a team library is no folder
        assert switcher.library.root == empty and not switcher.library.is_team
        assert current(settings) == str(empty)
        assert recent(settings)[:2] == [str(empty), address]
    finally:
        switcher.window.close()
        switcher.close()
