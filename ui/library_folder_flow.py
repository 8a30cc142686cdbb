"""File ▸ Open or create library folder…: the folder chooser and the questions before a
library is made, ending in the folder to open (``LibrarySwitcher.open_location`` opens it,
the one way the window moves to another library).

A folder holding a library opens; an empty one (or one not there yet) becomes a new library
once the person agrees, named in the question; one holding other things is shared with a
library only once they agree to that; a file or a folder they may not write to is refused
with a sentence naming it and what to do, and the window stays on its library.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.errors import LibraryError
from app.library_folder import FolderKind, FolderLook, look_at, write_problem
from app.paths import ENV_HOME
from ui.dialogs import Dialogs
from ui.wording import plural

CHOOSER_TITLE = "Open or create library folder"
REFUSED_TITLE = "Library not opened"


def choose_library_folder(parent: QWidget, dialogs: Dialogs, start: Path,
                          open_now: str) -> str | None:
    """Ask for a folder (the chooser opens in ``start``) and, for a new library, whether to
    make it; the folder to open, or None (cancelled, or refused with a sentence that ends
    by saying the window stays on ``open_now``)."""
    chosen = dialogs.folder(parent, CHOOSER_TITLE, start)
    if chosen is None:
        return None
    try:
        look = look_at(chosen)
    except LibraryError as exc:
        dialogs.warn(parent, REFUSED_TITLE, f"{exc}\nThe window stays on {open_now}.")
        return None
    problem = write_problem(look)
    if problem is not None:
        dialogs.warn(parent, REFUSED_TITLE, f"{problem}\nThe window stays on {open_now}.")
        return None
    if look.kind is FolderKind.LIBRARY:
        return str(look.folder)
    if look.kind is FolderKind.OCCUPIED:
        agreed = dialogs.confirm_destructive(
            parent, "Create a library beside other files", occupied_question(look),
            "Create library here")
    else:
        agreed = dialogs.confirm(parent, "Create a new library", new_question(look))
    return str(look.folder) if agreed else None


def new_question(look: FolderLook) -> str:
    where = ("is empty" if look.kind is FolderKind.EMPTY
             else "does not exist yet (LoRA Studio makes it)")
    return (f"{look.folder} {where}.\n\nCreate a new library there? LoRA Studio keeps its "
            f"conversations and training files in it.{next_start(look.folder)}")


def occupied_question(look: FolderLook) -> str:
    named = ", ".join(look.names) + (", …" if look.items > len(look.names) else "")
    inside = (f"\n\nIts subfolder '{look.library_inside}' holds a library: to open that "
              "one, choose the subfolder itself." if look.library_inside else "")
    return (f"{look.folder} holds {plural(look.items, 'item')} ({named}) and no "
            f"library.{inside}\n\nCreate a new library in it anyway? LoRA Studio adds its "
            "own files (library.sqlite3 and a few beside it) and changes nothing that is "
            f"there.{next_start(look.folder)} To keep them apart, cancel and choose or make "
            "an empty folder.")


def next_start(folder: Path) -> str:
    """Which library the next start opens: the new one, unless ``LORA_STUDIO_HOME``
    names another."""
    return next_start_note(str(folder)) or " The next start opens it too."


def next_start_note(folder: str) -> str:
    """What the next start opens, when ``LORA_STUDIO_HOME`` says otherwise than the library
    just chosen (the variable wins: a person or a script set it on purpose)."""
    home = os.environ.get(ENV_HOME)
    if not home or "://" in home or Path(home).expanduser().resolve() == Path(folder):
        return ""
    return (f" The next start opens {Path(home).expanduser().resolve()} all the same: "
            f"{ENV_HOME} names it.")
