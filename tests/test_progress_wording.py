"""The progress dialog writes its counts as every other sentence does: "1,217 of 6,013"
(the same dialogs say "10,015 conversations"; "641 of 10018" read as another number)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from PySide6.QtWidgets import QProgressDialog, QWidget

from ui.tasks import run_with_progress

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def test_the_progress_label_groups_thousands(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    gate = threading.Event()
    outcomes: list[object] = []

    def work(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]) -> str:
        progress(1217, 6013, "batch-003/enriched-1.json")
        gate.wait()  # held until the test has read the label
        return "done"

    run_with_progress(window, "Importing conversations", work, outcomes.append,
                      outcomes.append)
    try:
        qtbot.waitUntil(lambda: any("of" in d.labelText()
                                    for d in window.findChildren(QProgressDialog)),
                        timeout=15000)
        [dialog] = window.findChildren(QProgressDialog)
        assert dialog.labelText() == ("Importing conversations\n"
                                      "1,217 of 6,013: batch-003/enriched-1.json")
    finally:
        gate.set()
    qtbot.waitUntil(lambda: outcomes == ["done"], timeout=15000)


def _held(window: QWidget, steps: list[tuple[int, int, str]], go: threading.Event,
          emitted: threading.Event, gate: threading.Event, outcomes: list[object]) -> None:
    """A job that says ``steps`` all at once when ``go`` is set, then waits for ``gate``."""
    def work(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]) -> str:
        go.wait(15)
        for step in steps:
            progress(*step)
        emitted.set()
        gate.wait(15)
        return "done"

    run_with_progress(window, "Building 'All of November'", work, outcomes.append,
                      outcomes.append)


def test_the_dialog_shows_once_the_work_has_taken_a_moment_not_after_4_s(qtbot):
    """Qt counts the minimum duration from a value at its minimum: the dialog showed only
    after Qt's own 4 s, and meanwhile the window looked idle and took clicks. Its timer and
    the test's are both on this event loop: the dialog's, due first, fires first."""
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    go, emitted, gate = threading.Event(), threading.Event(), threading.Event()
    outcomes: list[object] = []
    _held(window, [], go, emitted, gate, outcomes)
    try:
        [dialog] = window.findChildren(QProgressDialog)
        assert not dialog.isVisible()  # a job done in a moment shows none
        qtbot.wait(3 * dialog.minimumDuration())  # (the event loop runs meanwhile)
        assert dialog.isVisible()
    finally:
        go.set()
        gate.set()
    qtbot.waitUntil(lambda: outcomes == ["done"], timeout=15000)


def test_the_words_say_the_count_the_bar_shows(qtbot):
    """Two steps that reach the window together: the dialog's setValue handles the second
    while it shows the first, and the first's words, set after it, stayed under a full
    bar ("1,921 of 2,000" at 100 % for the last second of a build)."""
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    go, emitted, gate = threading.Event(), threading.Event(), threading.Event()
    outcomes: list[object] = []
    _held(window, [(1921, 2000, "David Chen"), (2000, 2000, "Maria Lopez")], go, emitted,
          gate, outcomes)
    try:
        [dialog] = window.findChildren(QProgressDialog)
        qtbot.waitUntil(dialog.isVisible, timeout=15000)
        go.set()
        assert emitted.wait(15)  # (the window's thread held: both steps wait for it)
        qtbot.waitUntil(lambda: dialog.value() == 2000, timeout=15000)
        qtbot.wait(50)
        assert dialog.labelText() == "Building 'All of November'\n2,000 of 2,000: Maria Lopez"
    finally:
        go.set()
        gate.set()
    qtbot.waitUntil(lambda: outcomes == ["done"], timeout=15000)


def test_a_long_file_name_is_shortened_in_the_middle_not_the_dialog_widened(qtbot):
    """At each step that showed one, a long name widened the dialog (to 1,800 px for 240
    characters: past a laptop's screen, and its Cancel with it)."""
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(1093, 700)
    window.show()
    name = "client-onboarding-" + "x" * 200 + "-enriched-v2-final.json"
    go, emitted, gate = threading.Event(), threading.Event(), threading.Event()
    outcomes: list[object] = []
    _held(window, [(1, 2, name)], go, emitted, gate, outcomes)
    try:
        [dialog] = window.findChildren(QProgressDialog)
        qtbot.waitUntil(dialog.isVisible, timeout=15000)
        go.set()
        qtbot.waitUntil(lambda: dialog.value() == 1, timeout=15000)
        _title, said = dialog.labelText().split("\n")
        assert said.startswith("1 of 2: client-onboarding-xx") and "…" in said
        assert said.endswith("xx-enriched-v2-final.json")
        assert dialog.width() == dialog.minimumWidth() < window.width()
    finally:
        go.set()
        gate.set()
    qtbot.waitUntil(lambda: outcomes == ["done"], timeout=15000)


@pytest.fixture
def held_import(qtbot, library, dialogs, tmp_path, monkeypatch):
    """The real window on ``library``, importing the enriched fixtures in a child held back
    until the test sets the gate it is given with the window: its dialog is up meanwhile."""
    from conftest import ENRICHED, open_window, settle

    from ui import import_flow

    gate = threading.Event()

    def held(job, library, *args, **kwargs):
        def work(progress, cancelled):
            gate.wait(15)
            return job(library, *args, progress=progress, cancelled=cancelled)
        return work

    monkeypatch.setattr(import_flow, "in_child", held)
    window = open_window(qtbot, library, dialogs, tmp_path)
    settle(qtbot, window)
    try:
        assert window.importer.start(list(ENRICHED), ask_batch=False)
        [dialog] = window.findChildren(QProgressDialog)
        qtbot.waitUntil(dialog.isVisible, timeout=15000)
        yield window, dialog, gate
    finally:
        gate.set()


def test_an_import_says_it_reads_the_files_until_it_counts_them(
        qtbot, held_import, library):
    """Before its first files are stored and counted an import reads and checks them
    (seconds for 2,000): its dialog said only "Importing conversations" over a bar that
    moves without a count."""
    from conftest import ENRICHED

    window, dialog, gate = held_import
    assert dialog.labelText() == "Importing conversations\nReading the files…"
    gate.set()
    qtbot.waitUntil(lambda: library.count() == len(ENRICHED), timeout=30000)
    qtbot.waitUntil(lambda: not window.findChildren(QProgressDialog), timeout=30000)


def test_cancel_keeps_the_dialog_saying_so_until_the_import_has_stopped(qtbot, held_import):
    """Cancel hid the dialog at once: for the seconds the import's step under way took
    (1.6 s for 2,000 files) the window looked as if nothing ran, and took clicks."""
    from PySide6.QtWidgets import QPushButton

    from ui.tasks import jobs_of

    window, dialog, gate = held_import
    [cancel] = dialog.findChildren(QPushButton)
    cancel.click()
    assert dialog.isVisible()
    assert dialog.labelText() == ("Importing conversations\n"
                                  "Cancelling: the step under way ends first…")
    assert not [b for b in dialog.findChildren(QPushButton) if b.isVisible()]
    (task,) = jobs_of(window)
    assert task.is_cancelled()
    gate.set()
    qtbot.waitUntil(lambda: not jobs_of(window), timeout=30000)
    qtbot.waitUntil(lambda: not [d for d in window.findChildren(QProgressDialog)
                                 if d.isVisible()], timeout=30000)


@pytest.mark.parametrize("how", ["close", "escape"])
def test_closing_the_dialog_cancels_as_its_cancel_does_and_it_stays_saying_so(
        qtbot, held_import, how):
    """The title bar's close button hid the dialog at once (cancelling the work): the window
    looked idle while the step under way ended, as Cancel did before. Escape, pressed again
    after a Cancel, hid it too."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    from ui.tasks import jobs_of

    window, dialog, gate = held_import
    if how == "close":
        dialog.close()  # what the title bar's close button does
    else:
        [cancel] = dialog.findChildren(QPushButton)
        cancel.click()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()
    assert dialog.labelText() == ("Importing conversations\n"
                                  "Cancelling: the step under way ends first…")
    (task,) = jobs_of(window)
    assert task.is_cancelled()
    dialog.close()  # again: still nothing more to do than wait
    assert dialog.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: not jobs_of(window), timeout=30000)
    qtbot.waitUntil(lambda: not [d for d in window.findChildren(QProgressDialog)
                                 if d.isVisible()], timeout=30000)


@pytest.mark.parametrize(("total", "said", "bar"), [
    (1, "Reading the changed conversations\nbig.json…", 0),
    (3, "Reading the changed conversations\nbig.json (1 of 3 done)…", 3),
])
def test_a_wait_for_one_thing_says_what_it_reads_without_a_count(qtbot, total, said, bar):
    """A wait on one large file said "big.json (0 of 1 done)…" over an empty bar for as long
    as the file was read: a count of one tells nothing, and an empty bar says nothing moves."""
    from PySide6.QtCore import QTimer

    from ui.tasks import wait_behind_progress

    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    gate = threading.Event()
    seen: list[tuple[str, int]] = []

    def work(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]) -> str:
        progress(total // 3, total, "big.json")
        gate.wait(15)
        return "read"

    def look() -> None:
        [dialog] = window.findChildren(QProgressDialog)
        if "big.json" not in dialog.labelText():
            QTimer.singleShot(20, look)
            return
        seen.append((dialog.labelText(), dialog.maximum()))
        gate.set()

    QTimer.singleShot(20, look)
    result, failure, cancelled = wait_behind_progress("Reading the changed conversations",
                                                      work, window)
    assert (result, failure, cancelled) == ("read", None, False)
    assert seen == [(said, bar)]
