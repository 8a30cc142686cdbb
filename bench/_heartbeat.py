"""What the window benches share: the real window on a library (offscreen, scripted
questions, its settings in a file of the run), the event loop run for a while, and a 10 ms
heartbeat on the GUI thread that notes the longest gap between its beats (a stall).

Imported after ``_common.use_code``: the window is the tree's under test."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from _common import ROOT


def bench_window(library: Any, folder: Path) -> Any:
    """The main window on ``library``, shown at 1440×900."""
    sys.path.insert(0, str(ROOT / "tests"))
    from PySide6.QtCore import QSettings
    from scripted_dialogs import ScriptedDialogs

    from ui.main import MainWindow

    window = MainWindow(library, ScriptedDialogs(),
                        QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1440, 900)
    window.show()
    return window


def spin(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.002)


class Heartbeat:
    """A timer beating every 10 ms on the GUI thread; ``worst_ms``: the longest gap
    between two beats since ``reset``."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self._last = time.perf_counter()
        self._worst = 0.0
        self._timer = QTimer()
        self._timer.timeout.connect(self._beat)
        self._timer.start(10)

    def _beat(self) -> None:
        now = time.perf_counter()
        self._worst = max(self._worst, now - self._last)
        self._last = now

    def reset(self) -> None:
        self._last, self._worst = time.perf_counter(), 0.0

    @property
    def worst_ms(self) -> float:
        return self._worst * 1000

    def stop(self) -> None:
        self._timer.stop()
