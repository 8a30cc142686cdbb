"""The actions that tick check boxes are named for it ("Check all shown", "Uncheck all",
"Invert checks"), not for selecting rows they never select, wherever a person reads them:
the Edit menu, the toolbar, the table's right-click menu, their tips (which say how many
conversations they change) and the README. The real window on a real library."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ids_of, open_window, settle
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from app.library import Library
from ui.main import MainWindow

ROOT = Path(__file__).resolve().parents[1]
SELECTING = re.compile(r"\bselect(ion)? (all|none)\b|invert selection", re.IGNORECASE)


def keys(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.PortableText)


def words_read(window: MainWindow) -> list[str]:
    """Every text, tip and tooltip of the window's menus, toolbar and table menu."""
    actions: list[QAction] = list(window.conversations.table.actions())
    actions += window.toolbar.actions()
    menus = [window.edit_menu, window.file_menu, window.view_menu, window.training_menu]
    while menus:
        menu = menus.pop()
        for action in menu.actions():
            actions.append(action)
            if action.menu() is not None:
                menus.append(action.menu())
    return [text for action in actions
            for text in (action.text(), action.statusTip(), action.toolTip())]


def test_the_check_actions_are_named_for_what_they_do(qtbot, two_batches: Library, dialogs,
                                                      tmp_path: Path) -> None:
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    named = {action.text(): keys(action) for action in
             (window.select_all_action, window.select_none_action, window.invert_action)}
    assert named == {"Check all shown": "Ctrl+A", "Uncheck all": "Ctrl+Shift+A",
                     "Invert checks": "Ctrl+I"}
    for action in (window.select_all_action, window.select_none_action, window.invert_action):
        assert action in window.edit_menu.actions()
        assert action in window.toolbar.actions()
        assert action in window.conversations.table.actions()
    said = [text for text in words_read(window) if SELECTING.search(text)]
    assert said == []


def test_their_tips_say_how_many_conversations_they_change(qtbot, two_batches: Library,
                                                           dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    page, model = window.conversations, window.conversations.model
    total = model.total
    check_all, uncheck_all, invert = (window.select_all_action, window.select_none_action,
                                      window.invert_action)
    assert check_all.statusTip() == f"Check the {total} conversations shown"
    assert check_all.toolTip() == f"Check the {total} conversations shown (Ctrl+A)"
    assert uncheck_all.statusTip() == "Uncheck every conversation (none is checked)"
    assert invert.statusTip() == (f"Flip the checks of the {total} conversations shown "
                                  "(those the filter hides keep theirs)")

    legacy = ids_of(two_batches, "legacy-batch")
    model.set_checked_ids(legacy[:2])
    assert uncheck_all.statusTip() == "Uncheck all 2 checked conversations"
    assert uncheck_all.toolTip() == "Uncheck all 2 checked conversations (Ctrl+Shift+A)"
    assert page.set_batch_filter("enriched-batch")  # the checked ones hidden
    shown = model.shown_count
    assert 0 < shown < total
    assert check_all.statusTip() == (f"Check the {shown} conversations shown; the 2 checked "
                                     "conversations the filter hides stay checked")
    assert uncheck_all.statusTip() == ("Uncheck all 2 checked conversations (the filter hides "
                                       "them all)")
    model.setData(model.index(0, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert uncheck_all.statusTip() == ("Uncheck all 3 checked conversations (2 of them are "
                                       "hidden by the filter)")
    check_all.trigger()  # as its tip said: the shown ones, and those checked before stay
    assert model.checked_count == shown + 2 and model.hidden_checked_count == 2
    assert set(legacy[:2]) <= set(model.checked_ids())


def test_the_readme_names_them_as_the_window_does() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "*Edit ▸ Check all shown* (Ctrl+A)" in readme
    assert "*Uncheck all* (Ctrl+Shift+A)" in readme and "*Invert checks*" in readme
    assert not SELECTING.search(readme)


def test_two_whole_batches_are_combined_with_ctrl_a_on_each(qtbot, two_batches: Library,
                                                           dialogs, tmp_path: Path) -> None:
    """The user's own words: filter by batch, then select all, and combine. Ctrl+A on one
    batch, then on the other, leaves both checked (it unchecked the first one's before)."""
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    settle(qtbot, window)
    page, model = window.conversations, window.conversations.model
    assert page.set_batch_filter("legacy-batch")
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert page.set_batch_filter("enriched-batch")
    qtbot.keyClick(page.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    both = set(ids_of(two_batches, "legacy-batch")) | set(ids_of(two_batches, "enriched-batch"))
    assert set(model.checked_ids()) == both
    assert model.hidden_checked_count == len(ids_of(two_batches, "legacy-batch"))
