"""Settings ▸ Tokenizer and chat template on a team library, through real widgets on a real
PostgreSQL server: the dialog says the choice is every member's and asks before changing
it (Cancel changes nothing); another member's window hears of a change and counts again;
the choice carried over from this computer is said once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_process import run_cli
from conftest import open_window
from old_libraries import back_to_baseline
from PySide6.QtCore import Qt
from scripted_dialogs import ScriptedDialogs
from token_reference import reference_counter

from app.importer import import_paths
from app.library import Library
from app.team_changes import ORIGIN_ENV
from app.token_lines import conversation_lines
from app.tokenizer_choice import FOLDER, SETTINGS, load_choice
from ui.conversations_model import Column
from ui.tokenizer_settings import TokenizerDialog

WAIT_MS = 60_000  # another process starts Python and imports


@pytest.fixture(autouse=True)
def _no_origin_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ORIGIN_ENV, raising=False)


@pytest.fixture
def team(pg_url: str, fixture_folder: Path) -> Any:
    with Library.open(pg_url) as library:
        import_paths(library, [fixture_folder])
        yield library


def settle(qtbot: Any, dialog: TokenizerDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.checking, timeout=30_000)


def test_the_dialog_says_it_changes_the_choice_for_every_member_and_asks_first(
        qtbot: Any, team: Library) -> None:
    dialogs = ScriptedDialogs()
    dialog = TokenizerDialog(team, dialogs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, dialog)
    assert dialog.team.isVisible()
    assert "team library" in dialog.team.text() and "everyone" in dialog.team.text()
    assert team.display in dialog.team.text()

    dialog.set_bundled_template("chatml")
    settle(qtbot, dialog)
    dialogs.confirms.append(False)  # Cancel: nothing changes, the dialog stays open
    dialog.use_button.click()
    (kind, title, question), = dialogs.asked
    assert kind == "confirm_destructive" and "every member" in title
    assert "ChatML" in question and f"{team.count():,} conversation" in question
    assert dialog.isVisible() and dialog.saved is None
    assert load_choice(team).template == "mistral"

    dialogs.confirms.append(True)
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        dialog.use_button.click()
    assert len(dialogs.asked) == 2
    assert load_choice(team).template == "chatml"


def test_a_library_folders_dialog_neither_mentions_members_nor_asks(
        qtbot: Any, library: Library) -> None:
    dialogs = ScriptedDialogs()  # it would fail the test if asked: no answer scripted
    dialog = TokenizerDialog(library, dialogs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_bundled_template("chatml")
    settle(qtbot, dialog)
    assert not dialog.team.isVisible()
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        dialog.use_button.click()
    assert dialogs.asked == [] and load_choice(library).template == "chatml"


def shown_tokens(window: Any) -> dict[str, str]:
    model = window.conversations.model
    return {model.row_at(r).conversation_id:
            model.index(r, Column.TOKENS).data(Qt.ItemDataRole.DisplayRole)
            for r in range(model.rowCount())}


def expected_tokens(library: Library, template: str) -> dict[str, str]:
    count = reference_counter(template)
    longest = {row.conversation_id: max(
        (count(m) for m in conversation_lines(library.record(row.conversation_id))),
        default=0) for row in library.summaries()}
    return {cid: f"{n:,}" if n else "—" for cid, n in longest.items()}


def test_another_members_window_hears_the_change_and_counts_again(
        qtbot: Any, team: Library, pg_url: str, dialogs: Any, tmp_path: Path) -> None:
    window = open_window(qtbot, team, dialogs, tmp_path)
    mistral = expected_tokens(team, "mistral")
    qtbot.waitUntil(lambda: shown_tokens(window) == mistral, timeout=WAIT_MS)

    # Another member, in their own process, changes the team library's template.
    with qtbot.waitSignal(window.changes.tokenizer_changed, timeout=WAIT_MS):
        done = run_cli("--library", pg_url, "tokens", "--template", "chatml",
                       env={ORIGIN_ENV: "another-member"}, timeout=180)
        assert done.returncode == 0, done.stderr
    message = window.statusBar().currentMessage()
    assert "Another member changed the library's tokenizer" in message
    assert "ChatML" in message

    chatml = expected_tokens(team, "chatml")
    assert chatml != mistral
    qtbot.waitUntil(lambda: shown_tokens(window) == chatml, timeout=WAIT_MS)
    window.close()


def test_the_choice_carried_over_from_this_computer_is_said_once(
        qtbot: Any, pg_url: str, tmp_path: Path) -> None:
    with Library.open(pg_url) as library:
        location = library.location
    back_to_baseline(location)
    (location.folder / FOLDER).mkdir(parents=True, exist_ok=True)
    (location.folder / FOLDER / SETTINGS).write_bytes(orjson.dumps(
        {"tokenizer": "bundled", "template": "llama3", "counted_with": ""}))
    for times in (1, 2):
        with Library(location) as library:
            told = ScriptedDialogs()
            window = open_window(qtbot, library, told, tmp_path)
            if times == 1:  # shown once the window is up
                qtbot.waitUntil(lambda t=told: bool(t.infos), timeout=5_000)
                ((title, message),) = told.infos
                assert title == "Tokenizer and chat template"
                assert "Llama 3" in message and "for every member" in message
            else:
                qtbot.wait(200)
                assert told.infos == []
            window.close()
