"""The real app (``ui.main.run_gui``) on a library folder, for ``test_quit_signals``: once its
window shows, it imports a folder through the window's own import, held after the first
file (``held_jobs.held_import``, in the window's real child process) until a gate file
exists or the import is cancelled.

    python tests/quit_app.py LIBRARY_FOLDER IMPORT_FOLDER GATE
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from held_jobs import held_import
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui import import_flow
from ui.main import MainWindow, run_gui


def import_once_shown(folder: Path) -> None:
    windows = [widget for widget in QApplication.topLevelWidgets()
               if isinstance(widget, MainWindow) and widget.isVisible()]
    if not windows:
        QTimer.singleShot(50, lambda: import_once_shown(folder))
        return
    windows[0].importer.start([folder], ask_batch=False)


def main(library: str, folder: str, gate: str) -> int:
    import_flow.import_paths = functools.partial(held_import, gate=gate)  # type: ignore[assignment]
    app = QApplication(sys.argv[:1])  # made here so that the timer has a loop to run in
    QTimer.singleShot(0, lambda: import_once_shown(Path(folder)))
    status = run_gui(library)
    del app
    return status


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
