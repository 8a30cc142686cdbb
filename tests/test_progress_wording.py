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
