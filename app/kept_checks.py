"""The check marks of the Conversations page, kept for the next run: one small file per
library in this user's own state folder, never in the library.

A library may be a team's, shared by several people, each with checks of their own: so the
checks are not written into the library's database but beside this user's settings, in a
file named by a hash of the library's identity (its folder, or a team library's URL
without password). The file is written whole or not at all (``app.jsonio.atomic_writer``):
a crash while writing leaves the checks saved before it.
"""

from __future__ import annotations

import hashlib
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
