"""The check marks of the Conversations page, kept for the next run: one small file per
library in this user's own state folder, never in the library.

A library may be a team's, shared by several people, each with checks of their own: so the
checks are not written into the library's database but beside this user's settings, in a
file named by a hash of the library's identity (its folder, or a team library's URL
without password). The file is written whole or not at all (``app.jsonio.atomic_writer``):
a crash while writing leaves the checks saved before it.

Files of libraries that are gone, or not opened for half a year, are dropped
(``drop_stale_checks``): each library ever opened left one, and nothing else removes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson
from platformdirs import user_state_dir
from sqlalchemy.engine import make_url

from app.jsonio import atomic_writer
from app.location import LibraryLocation, team_identity
from app.paths import APP_NAME

# Not a sub-folder of the app's own folder: on Windows and macOS that is the user-data
# folder, the default library's, and nothing but the library writes in a library folder.
FOLDER_NAME = f"{APP_NAME} kept checks"
FORMAT = 1  # the file's layout: {"format", "library", "checked": [conversation ids]}
# A checks file not read or written for this long is dropped: its library was not opened
# in all that time (opening it touches the file, ``touch_checks``).
KEEP_UNUSED_DAYS = 180
# A temporary file a crash left behind mid-write is dropped after this long (a write
# takes milliseconds; a day leaves any running write alone).
LEFTOVER_DAYS = 1
# How far into a file its library's identity is looked for: it comes first, and a path
# is at most a few thousand characters.
HEAD_BYTES = 16_384


class ChecksNotKept(Exception):
    """The checks file could not be written or read; the message says which file and what
    to do, in a sentence a person reads."""


@dataclass(frozen=True)
class ChecksFile:
    """Where one library's checks are kept for this user."""

    path: Path
    library: str  # the library's identity, as written in the file for a person who opens it

    @property
    def folder(self) -> Path:
        return self.path.parent


def checks_folder() -> Path:
    """This user's folder for kept checks (not created until the first checks are kept)."""
    return Path(user_state_dir(FOLDER_NAME, appauthor=False))


def library_identity(location: LibraryLocation) -> str:
    """The same library gives the same text on every run: a folder by its resolved path, a
    team library by its URL without password (two people's checks of one team library are
    each in their own user folder)."""
    if location.url is not None:
        return f"team:{team_identity(make_url(location.url))}"
    return f"folder:{location.folder.resolve()}"


def checks_file(location: LibraryLocation, folder: Path | None = None) -> ChecksFile:
    identity = library_identity(location)
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:20]
    return ChecksFile((folder or checks_folder()) / f"{digest}.json", identity)


def load_checks(kept: ChecksFile) -> list[str]:
    """The conversation ids checked when the checks were last kept ([] when none were).
    A file that cannot be read is not an error the person can act on at once: it says so
    (``ChecksNotKept``) and the page starts without checks."""
    try:
        data = kept.path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ChecksNotKept(
            f"The checks kept from the last run could not be read from {kept.path} "
            f"({exc.strerror or exc}); the page starts with nothing checked.") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
    checked = document.get("checked") if isinstance(document, dict) else None
    if not isinstance(checked, list):
        raise ChecksNotKept(
            f"The checks kept from the last run in {kept.path} are damaged (not a list of "
            "conversation ids); the page starts with nothing checked, and the file is "
            "replaced at the next check.")
    return [c for c in checked if isinstance(c, str)]


def save_checks(kept: ChecksFile, conversation_ids: Iterable[str]) -> None:
    """Keep these ids (all of them: the library decides at the next start which still
    exist); no checks, no file."""
    ids = list(conversation_ids)
    try:
        if not ids:
            kept.path.unlink(missing_ok=True)
            return
        payload = orjson.dumps({"format": FORMAT, "library": kept.library, "checked": ids})
        with atomic_writer(kept.path) as out:
            out.write(payload)
    except OSError as exc:
        raise ChecksNotKept(
            f"Your checks cannot be kept in {kept.folder} ({exc.strerror or exc}). Checking "
            "works as usual, but the checks are gone when LoRA Studio closes: make that "
            "folder writable (or free some space) to keep them.") from None


def touch_checks(kept: ChecksFile) -> None:
    """Mark the file used now (the library was opened), so ``drop_stale_checks`` keeps it
    however long ago its checks last changed. Not being able to is no loss worth saying."""
    with contextlib.suppress(OSError):
        os.utime(kept.path)


def drop_stale_checks(folder: Path, keep: Path | None = None,
                      now: float | None = None) -> list[Path]:
    """Delete the checks files in ``folder`` that no library will read again, and return
    them: those not touched for ``KEEP_UNUSED_DAYS``, and those of a library folder that is
    gone (the folder it was in is there, the library's folder is not; a folder on a drive
    or share that is not there now is kept). ``keep``: the file of the library being
    opened, never dropped. Reads at most the first ``HEAD_BYTES`` of each file; a file that
    cannot be read or deleted is left for the next start."""
    now = time.time() if now is None else now
    dropped: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no folder yet (nothing kept), or not readable: nothing to drop
        return dropped
    for entry in entries:
        path = Path(entry.path)
        if path == keep or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age_days = (now - entry.stat(follow_symlinks=False).st_mtime) / 86_400
        except OSError:
            continue
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            stale = age_days > LEFTOVER_DAYS  # a write a crash cut short
        elif entry.name.endswith(".json"):
            stale = age_days > KEEP_UNUSED_DAYS or _library_gone(path)
        else:
            continue  # not ours
        if stale:
            try:
                path.unlink()
            except OSError:
                continue
            dropped.append(path)
    return dropped


def _library_gone(path: Path) -> bool:
    """The library folder this file keeps checks for no longer exists, while the folder
    that held it does (a library deleted or moved away, not one on a drive unplugged).
    A team library's is never known gone (asking its server is no start-up work)."""
    identity = _library_of(path)
    if identity is None or not identity.startswith("folder:"):
        return False
    library = Path(identity.removeprefix("folder:"))
    try:
        return library.parent.is_dir() and not library.exists()
    except OSError:
        return False


def _library_of(path: Path) -> str | None:
    """The library identity written at the start of a checks file (``save_checks`` writes
    it right after the format), without reading its list of ids; None if not found."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES).decode("utf-8", errors="ignore")
    except OSError:
        return None
    marker = '"library":'
    start = head.find(marker)
    if start < 0:
        return None
    try:  # the value alone: the rest of the file is not read
        identity, _end = json.JSONDecoder().raw_decode(head, start + len(marker))
    except ValueError:  # cut off within the first HEAD_BYTES, or not JSON
        return None
    return identity if isinstance(identity, str) else None
