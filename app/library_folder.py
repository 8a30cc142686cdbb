"""What a folder a person chose for the library holds, and whether a library can live there,
found out before anything is written in it.

Opening a folder (``Library.open``) makes a library in any folder it is given; a person
choosing a folder in the window is asked first: an empty folder becomes a new library only
once they agree, a folder holding other things only once they agree to share it, and a file
or a folder they may not write to is refused with a sentence saying what to do instead.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from app.errors import LibraryError
from app.failures import unchangeable_library
from app.library import Library
from app.paths import DATABASE_NAME

# What operating systems and sync tools leave in any folder: it holds nothing of the person's.
LITTER = frozenset({".DS_Store", "._.DS_Store", ".localized", "Icon\r", "Thumbs.db",
                    "desktop.ini", ".directory", ".stfolder", ".stignore", ".dropbox",
                    ".dropbox.cache", ".sync"})
PROBE_PREFIX = ".lora-studio-may-write-"  # the small file a write is tried with
NAMED = 3  # how many of an occupied folder's items a question names
LOOKED_INTO = 100  # how many of its subfolders are looked into for a library (a network
# share's folder of thousands would keep the window waiting)


class FolderKind(Enum):
    LIBRARY = "library"  # holds library.sqlite3: it opens
    EMPTY = "empty"  # nothing (or only litter): a new library, once agreed
    NEW = "new"  # not there yet: made, with a new library in it, once agreed
    OCCUPIED = "occupied"  # other things and no library: shared only once agreed


@dataclass(frozen=True)
class FolderLook:
    """A chosen folder and what it holds (for an occupied one: how many items, a few names,
    and a subfolder holding a library, when one does)."""

    folder: Path
    kind: FolderKind
    items: int = 0
    names: tuple[str, ...] = ()
    library_inside: str | None = None


def look_at(chosen: str | os.PathLike[str]) -> FolderLook:
    """What ``chosen`` holds; ``LibraryError`` (a sentence naming it and what to do) for a
    file, or a folder that may not be looked into."""
    folder = Path(chosen).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise LibraryError(f"{folder} is a file, not a folder. Choose a folder for the library: "
                           "an empty one becomes a new library.")
    if not folder.exists():
        return FolderLook(folder, FolderKind.NEW)
    if (folder / DATABASE_NAME).is_file():
        return FolderLook(folder, FolderKind.LIBRARY)
    holder = next((place for place in folder.parents if (place / DATABASE_NAME).is_file()),
                  None)
    if holder is not None:
        raise LibraryError(f"{folder} is inside the library folder {holder}, which is kept "
                           "for that library alone. Choose a folder outside it, or that "
                           "folder itself to open its library.")
    try:
        entries = sorted((entry for entry in folder.iterdir() if entry.name not in LITTER),
                         key=lambda entry: entry.name.lower())
    except OSError as exc:
        why = ("you may not open it" if exc.errno in (errno.EACCES, errno.EPERM)
               else _reason(exc))
        raise LibraryError(f"LoRA Studio cannot look into {folder}: {why}. Choose a folder "
                           "you may open, or ask whoever owns it for access.") from None
    if not entries:
        return FolderLook(folder, FolderKind.EMPTY)
    inside = next((entry.name for entry in entries[:LOOKED_INTO]
                   if entry.is_dir() and (entry / DATABASE_NAME).is_file()), None)
    return FolderLook(folder, FolderKind.OCCUPIED, len(entries),
                      tuple(entry.name for entry in entries[:NAMED]), inside)


def write_problem(look: FolderLook) -> str | None:
    """Why a library could not be written in the chosen folder, as a sentence naming it
    and what to do; None when it can (a real file is made there and removed: permissions
    alone do not tell, on a network share or a read-only disk)."""
    exc = write_refusal(nearest_folder(look.folder))
    if exc is not None:
        if look.kind is FolderKind.LIBRARY:
            return (f"The library in {look.folder} cannot be opened for work: "
                    f"{_reason(exc)}. Make the folder writable, or copy the whole folder to "
                    "a place you may write to and open the copy.")
        return (f"A library cannot be made in {look.folder}: {_reason(exc)}. Choose a "
                "folder you may write to (in your home folder, on another disk or in a "
                "synced folder).")
    return None


def nearest_folder(place: Path) -> Path:
    """``place``, or where it would be made: the nearest of its parents that exists (a new
    library's folder, or the folders an export makes to save in)."""
    while not place.exists() and place != place.parent:
        place = place.parent
    return place


def write_refusal(folder: Path) -> OSError | None:
    """What the disk says when a small file is made in ``folder`` (and removed at once);
    None when it was made. Permissions alone do not tell: a read-only disk, a full one and
    a network share answer alike on every system only to a real write."""
    try:
        handle, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return exc
    return None


def refuse_changes(library: Library) -> None:
    """``LibraryError`` (``unchangeable_library``) when nothing may be written in the
    library's folder now: asked before every change starts. A window keeps its database
    open, and an open database still takes writes after its folder turned read-only (a
    disk remounted, permissions changed), while a job's own process, a rebuild or the
    next start cannot open it: one change half done. A team library's changes go to its
    server, not to this folder: never refused here."""
    if library.is_team:
        return
    exc = write_refusal(library.root)
    if exc is not None:
        raise LibraryError(unchangeable_library(library.root, exc))


def _reason(exc: OSError) -> str:
    """Why the disk said no, in a few words."""
    if exc.errno == errno.EROFS:
        return "it is on a read-only disk"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "you may not write to it"
    if exc.errno == errno.ENOSPC:
        return "its disk is full"
    return exc.strerror or str(exc)
