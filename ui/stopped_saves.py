"""At start, what a save stopped midway left in the folders of recent saves is tidied.

A save killed midway (the app killed, the computer off) leaves hidden files beside the
person's files: the earlier files it kept, its unfinished temporary files and its lock
record (``app.earlier_files``). The next save to that folder tidied them; until then they
lay there unexplained. The folders the library's saved copies were saved in
(``app.saved_copies.saved_folders``) and the folder the window last saved in are now
tidied when the window opens, by a worker (a folder on a slow network share must not
hold the window), and what was done is said in the status bar, naming each file. A record
another running save holds is never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.earlier_files import tidy_stopped_exports
from app.errors import LibraryError
from app.library import Library
from app.saved_copies import saved_folders
from ui.tasks import Task, start


def tidy_stopped_saves(library: Library, also: Sequence[Path],
                       say: Callable[[str], None]) -> Task:
    """Start tidying the folders of recent saves and ``also`` (the window's last save
    folder); ``say`` hears what was done, when anything was (on the GUI thread)."""
    def work(*_hooks: Any) -> str:
        try:
            folders = saved_folders(library)
        except LibraryError:  # the saves on record cannot be read: the last folder still can
            folders = []
        return " ".join(tidy_stopped_exports(dict.fromkeys([*folders, *also])).sentences)

    task = Task(work)
    task.signals.succeeded.connect(lambda said: say(str(said)) if said else None)
    start(task)
    return task
