"""The window opened on a library of an older version says, whole and where it can be read,
what the first open changed: the status bar alone cut it to the room its counts leave (at
784 px beside a token count in progress: "At sta"), and the next status message replaced it.

The library is ``tests/data/library-before-fingerprints`` (LoRA Studio at commit d54ab62,
schema v3: see ``tests/test_upgrade_fingerprints.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from scripted_dialogs import ScriptedDialogs

from ui.library_switch import start_app

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-fingerprints"


def test_the_first_window_on_an_older_library_says_what_it_changed_in_a_message(
        qtbot, settings, tmp_path: Path) -> None:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    dialogs = ScriptedDialogs()
    switcher = start_app(str(root), dialogs, settings)
    assert switcher is not None
    try:
        [(title, message)] = dialogs.infos
        assert title == "Finished on opening the library"
        assert message.startswith("At start, LoRA Studio:\n\n• ")
        assert "• Mended Windows line ends (\\r\\n, made \\n) or control characters (removed) " \
               "in 1 conversation stored before import mended them" in message
        assert "• Flagged 1 conversation near_duplicate" in message
        bar = switcher.window.statusBar().currentMessage()
        assert bar.startswith("At start, LoRA Studio mended Windows line ends")
    finally:
        switcher.window.close()
        switcher.close()
    again = ScriptedDialogs()  # a second start has nothing to say
    switcher = start_app(str(root), again, settings)
    assert switcher is not None
    try:
        assert again.infos == []
    finally:
        switcher.window.close()
        switcher.close()


def test_switching_to_an_older_library_lets_the_old_one_go_before_its_message(
        qtbot, switcher, library, tmp_path: Path) -> None:
    """The message waits for an OK; the library switched away from is closed (its lock
    let go) before it, not kept open for as long as nobody answers."""
    from test_library_folder_choice import choose_and_switch

    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    lock = library._lock
    held_when_said: list[bool] = []
    dialogs = switcher.dialogs
    real_inform = dialogs.inform

    def inform(parent, title: str, message: str) -> None:
        held_when_said.append(lock._handle is not None)
        real_inform(parent, title, message)

    dialogs.inform = inform
    choose_and_switch(qtbot, switcher, root)
    assert switcher.library.root == root
    assert [title for title, _ in dialogs.infos] == ["Finished on opening the library"]
    assert held_when_said == [False]
