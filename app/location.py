"""Where a library lives: a folder on this computer (SQLite), or a team's PostgreSQL database.

A location is decided once, by ``parse_location``, from what a person typed or chose
(``--library``, the window's Open dialogs, ``LORA_STUDIO_HOME``): text with a
``postgresql://`` (or ``postgres://``) scheme is a team library, anything else a folder.

A team library keeps nothing on one member's disk that the others need; what one copy of
LoRA Studio keeps for itself (its token-count cache, its upkeep record, its tokenizer
choice) goes to a folder of its own under the user's cache folder, named by a hash of the
URL without its password, so the same team library always finds the same folder.

A password never shows: ``str()``, ``repr()`` and ``display`` hide it; only the engine
gets the URL as typed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.errors import LibraryError
from app.paths import APP_NAME, ENV_HOME, library_dir

TEAM_SCHEMES = ("postgresql", "postgres")
DRIVER = "postgresql+psycopg"  # psycopg 3: the driver SQLAlchemy opens team libraries with


@dataclass(frozen=True)
class LibraryLocation:
    """A library folder (``url`` None), or a team library's URL and this computer's cache
    folder for it (``folder``). Frozen and picklable: child processes get one."""

    folder: Path
    url: str | None = field(default=None, repr=False)  # as typed, with any password

    @property
    def is_team(self) -> bool:
        return self.url is not None

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect of the library's database: "sqlite" or "postgresql"."""
        return "postgresql" if self.is_team else "sqlite"

    @property
    def engine_url(self) -> URL:
        """What SQLAlchemy connects to (the team library's URL with the psycopg driver)."""
        if self.url is None:
            raise LibraryError("a library folder has no database URL")
        return make_url(self.url).set(drivername=DRIVER)

    @property
    def display(self) -> str:
        """The location as shown to people: the folder, or the URL without its password."""
        if self.url is None:
            return str(self.folder)
        return hide_password(self.url)

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"LibraryLocation({self.display!r})"


def hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (and as typed, scheme and all)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "a database URL that cannot be read"


def is_url(text: str) -> bool:
    return "://" in text and not os.path.isabs(text)


def parse_location(value: str | os.PathLike[str] | LibraryLocation | None) -> LibraryLocation:
    """Decide by the scheme: a PostgreSQL URL is a team library, anything else a folder
    (None: ``LORA_STUDIO_HOME``, a folder or a URL, else the user-data folder)."""
    if isinstance(value, LibraryLocation):
        return value
    if value is None:
        value = os.environ.get(ENV_HOME) or None  # it may name a team library too
    if value is None or isinstance(value, os.PathLike):
        return LibraryLocation(library_dir(value))
    text = str(value).strip()
    if not text:
        return LibraryLocation(library_dir(None))
    if not is_url(text):
        return LibraryLocation(library_dir(text))
    scheme = text.split("://", 1)[0].lower()
    if scheme.split("+", 1)[0] not in TEAM_SCHEMES:
        raise LibraryError(
            f"'{hide_password(text)}' is not a library LoRA Studio can open: give a folder "
            "for a library on this computer, or a postgresql://user@host/database URL for "
            "a team library.")
    try:
        url = make_url(text)
    except ArgumentError:
        raise LibraryError(
            f"'{hide_password(text)}' is not a database URL LoRA Studio can read: write it "
            "as postgresql://user@host:port/database.") from None
    if not url.database:
        raise LibraryError(
            f"the team library URL {hide_password(text)} names no database: add it at the "
            "end, as in postgresql://user@host:port/database.")
    return LibraryLocation(team_cache_folder(url), text)


def team_identity(url: URL) -> str:
    """The team library a URL names, the same however it is written: without password,
    driver or the ``postgres`` spelling of the scheme."""
    return URL.create(TEAM_SCHEMES[0], url.username, None, url.host, url.port, url.database,
                      url.query).render_as_string(hide_password=False)


def team_cache_folder(url: URL) -> Path:
    """This computer's own folder for a team library (same URL, same folder)."""
    digest = hashlib.sha256(team_identity(url).encode("utf-8")).hexdigest()[:16]
    return Path(user_cache_dir(APP_NAME, appauthor=False)) / "team-libraries" / digest
