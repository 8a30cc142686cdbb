"""Token counts fill in behind the window: after an import, at start, after a new template."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from conftest import ENRICHED, LEGACY
from PySide6.QtCore import QSettings, Qt, QThreadPool
from scripted_dialogs import ScriptedDialogs
from sqlalchemy import update
from token_reference import reference_counter

from app.library import Library
from app.models import LibraryTokenizer
from app.token_counts import DEFAULT_MAX_SEQ_LEN, NO_LINE, ensure_counts, uncounted
from app.token_lines import conversation_lines
from app.tokenizer_choice import choose
from app.tokens import bundled_tokenizer_path
from app.trainingfiles import add_conversations, member_rows, set_cut_off_policy
from ui.conversations_model import Column, tokens_tooltip
from ui.main import MainWindow
from ui.members_model import ID_ROLE, MEMBER_TOKENS, MembersModel
from ui.tasks import Task, start


def make_window(qtbot, library: Library, settings: QSettings) -> MainWindow:
    window = MainWindow(library, ScriptedDialogs(), settings)
    qtbot.addWidget(window)
    window.resize(1300, 800)
    window.show()
    return window


def tokenizer_counts(library: Library, template: str) -> dict[str, int]:
    """Each conversation's longest line, counted by the ``tokenizers`` library itself."""
    count = reference_counter(template)
    return {row.conversation_id: max(
        (count(m) for m in conversation_lines(library.record(row.conversation_id))),
        default=0) for row in library.summaries()}


def shown_tokens(window: MainWindow) -> dict[str, str]:
    model = window.conversations.model
    return {model.row_at(r).conversation_id:
            model.index(r, Column.TOKENS).data(Qt.ItemDataRole.DisplayRole)
            for r in range(model.rowCount())}


def wait_for_counts(qtbot, window: MainWindow, expected: dict[str, int]) -> None:
    wanted = {cid: f"{n:,}" if n else "—" for cid, n in expected.items()}  # —: no line
    qtbot.waitUntil(lambda: shown_tokens(window) == wanted, timeout=60000)


def test_an_import_in_the_window_fills_the_tokens_column(qtbot, library: Library,
                                                          settings, tmp_path: Path) -> None:
    window = make_window(qtbot, library, settings)
    folder_ = tmp_path / "batch"
    folder_.mkdir()
    for path in ENRICHED + LEGACY:
        shutil.copy(path, folder_ / path.name)
    with qtbot.waitSignal(window.token_counts.finished, timeout=60000,
                          check_params_cb=lambda n: n > 0) as counted:
        assert window.importer.start([folder_], ask_batch=False)
    assert counted.args == [len(ENRICHED) + len(LEGACY)]
    expected = tokenizer_counts(library, "mistral")
    assert sum(1 for n in expected.values() if n) >= len(ENRICHED)
    wait_for_counts(qtbot, window, expected)
    # The progress goes when the count ends (a second pass, asked for by the import while
    # the first ran in its child process, may still be finishing).
    qtbot.waitUntil(lambda: not window.token_counts.bar.isVisible(), timeout=60000)


def test_a_window_opened_on_uncounted_conversations_counts_them(
        qtbot, filled_library: Library, settings) -> None:
    expected = tokenizer_counts(filled_library, "mistral")
    window = make_window(qtbot, filled_library, settings)
    assert set(shown_tokens(window).values()) == {""}  # made before counts existed
    wait_for_counts(qtbot, window, expected)


def test_a_new_template_is_counted_when_asked(qtbot, filled_library: Library,
                                              settings) -> None:
    window = make_window(qtbot, filled_library, settings)
    wait_for_counts(qtbot, window, tokenizer_counts(filled_library, "mistral"))
    choose(filled_library, template="chatml")
    window.token_counts.start()
    expected = tokenizer_counts(filled_library, "chatml")
    assert expected != tokenizer_counts(filled_library, "mistral")
    wait_for_counts(qtbot, window, expected)


def test_a_tokenizer_that_cannot_load_is_a_sentence(qtbot, filled_library: Library,
                                                    settings) -> None:
    choose(filled_library, tokenizer_file=bundled_tokenizer_path())
    with filled_library.engine.begin() as conn:  # the library's copy is damaged
        conn.execute(update(LibraryTokenizer).values(tokenizer_json=b"not a tokenizer"))
    window = make_window(qtbot, filled_library, settings)
    qtbot.waitUntil(lambda: "Token counts could not be made" in
                    window.statusBar().currentMessage(), timeout=30000)
    message = window.statusBar().currentMessage()
    assert "tokenizer.json" in message and "Traceback" not in message
    assert set(shown_tokens(window).values()) == {""}


def test_closing_the_window_stops_the_count_before_the_library_closes(
        qtbot, filled_library: Library, settings) -> None:
    window = make_window(qtbot, filled_library, settings)
    qtbot.waitUntil(lambda: window.token_counts.running, timeout=30000)
    window.close()
    assert window.token_counts._idle.is_set()  # nothing runs against the library now
    filled_library.close()
    with Library(filled_library.root) as reopened:  # the lock was released, nothing held
        assert reopened.count() == len(ENRICHED) + len(LEGACY)


def test_a_conversation_without_a_line_is_counted_once_and_says_so(
        qtbot, filled_library: Library, settings) -> None:
    expected = tokenizer_counts(filled_library, "mistral")
    no_line = {cid for cid, n in expected.items() if n == 0}
    assert no_line  # the real fixtures hold conversations with no reply to train on
    window = make_window(qtbot, filled_library, settings)
    wait_for_counts(qtbot, window, expected)
    assert uncounted(filled_library) == 0  # nothing left for the next start to redo
    rows = {row.conversation_id: row for row in filled_library.summaries()}
    for cid in no_line:
        assert rows[cid].token_count == NO_LINE
        assert tokens_tooltip(rows[cid]).startswith("No training line")
    # The counts show while the pass that made them may still be ending (it announces as
    # it goes, and its child process reports last): the next start comes after it.
    qtbot.waitUntil(lambda: not window.token_counts.running, timeout=30000)
    with qtbot.waitSignal(window.token_counts.finished, timeout=30000) as again:
        window.token_counts.start()
    assert again.args == [0]


def test_a_member_without_a_line_shows_a_dash_in_the_files_page(
        qtbot, filled_library: Library) -> None:
    """The files page's member list reads the stored counts: no line is a dash and says
    why, never the stored marker (-1); a line is counted as the file wrote it."""
    counts = ensure_counts(filled_library)
    no_line = {cid for cid, n in counts.items() if n == NO_LINE}
    assert no_line
    every = [row.conversation_id for row in filled_library.summaries()]
    # an add under trim leaves them out; a later change of policy keeps them as members
    add_conversations(filled_library, "Members", every, create=True, cut_off_policy="keep")
    set_cut_off_policy(filled_library, "Members", "trim")
    members = MembersModel()
    members.set_rows(member_rows(filled_library, "Members"))
    shown = {members.index(r, 0).data(ID_ROLE): r for r in range(members.rowCount())}
    assert no_line & shown.keys(), "the file holds no conversation without a line"
    for cid, r in shown.items():
        text = members.index(r, MEMBER_TOKENS).data(Qt.ItemDataRole.DisplayRole)
        tip = members.index(r, MEMBER_TOKENS).data(Qt.ItemDataRole.ToolTipRole)
        if cid in no_line:
            assert text == "—" and "No training line" in tip
        elif counts[cid] <= DEFAULT_MAX_SEQ_LEN:  # its line here is the library's: trim, whole
            assert text == f"{counts[cid]:,}" and "No training line" not in tip
        else:  # the file's line, ended at its last whole reply that fits the length limit
            assert 0 < int(text.replace(",", "")) <= DEFAULT_MAX_SEQ_LEN
            assert f"The library counts {counts[cid]:,} tokens" in tip
    assert max(counts.values()) > DEFAULT_MAX_SEQ_LEN, "no line is ended to fit"


def test_closing_does_not_wait_for_a_count_still_queued_behind_other_jobs(
        qtbot, filled_library: Library, settings) -> None:
    """With every thread of Qt's pool taken by other jobs (two on a 2-core machine), the
    count waits in the queue; closing takes it out instead of waiting up to 30 s for a
    pass that never started."""
    window = make_window(qtbot, filled_library, settings)
    qtbot.waitUntil(lambda: not window.token_counts.pending, timeout=60000)  # its first
    pool = QThreadPool.globalInstance()
    release = threading.Event()
    busy = [Task(lambda progress, cancelled: release.wait(60))
            for _ in range(pool.maxThreadCount())]
    try:
        for task in busy:
            start(task)
        qtbot.waitUntil(lambda: pool.activeThreadCount() == pool.maxThreadCount(),
                        timeout=30000)
        window.token_counts.start()
        qtbot.waitUntil(lambda: window.token_counts.running, timeout=30000)  # queued
        queued = window.token_counts._task
        assert queued is not None
        window.token_counts.stop(timeout=0)
        assert window.token_counts._idle.is_set(), "nothing left to wait for"
        assert not window.token_counts.running
    finally:
        release.set()
        for task in busy:
            task.ended.wait(60)
    assert pool.waitForDone(60000)
    assert not queued.ended.is_set(), "the queued pass never ran"
