"""Which libraries the window remembers: the recent ones and the one open last.

Settings hold a library as text: a folder's path, or a team library's URL *without* its
password (``app.team_probe.without_password``); a remembered password lives only in the
system keyring (``app.keychain``), keyed by that same text.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app import keychain
from app.team_probe import without_password

RECENT_KEY = "libraries/recent"
CURRENT_KEY = "libraries/current"
MAX_RECENT = 8
TEAM_PREFIXES = ("postgresql://", "postgres://", "postgresql+")


def is_team(text: str) -> bool:
    return text.strip().lower().startswith(TEAM_PREFIXES)


def settings_form(text: str | Path) -> str:
    """What the settings keep for a library: a folder's absolute path, or a team URL
    without its password (so a password typed into a URL never reaches the settings)."""
    text = str(text).strip()
    if is_team(text):
        try:
            return without_password(make_url(text).set(drivername="postgresql"))
        except ArgumentError:
            return ""
    return str(Path(text).expanduser().resolve())


def label(text: str) -> str:
    """How a remembered library reads in a menu."""
    return f"Team: {text}" if is_team(text) else f"Local: {text}"


def with_password(text: str) -> str:
    """A remembered team URL with the keyring's password for it, when one is kept."""
    password = keychain.recall(settings_form(text)) if is_team(text) else None
    if password is None:
        return text  # (a password typed into the URL stays)
    return make_url(text).set(password=password).render_as_string(hide_password=False)


def settings_strings(value: object) -> list[str]:
    """A QSettings list (an ini file gives a str for one item, None for none)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]  # type: ignore[attr-defined]


def recent(settings: QSettings) -> list[str]:
    return [text for text in settings_strings(settings.value(RECENT_KEY)) if text]


def current(settings: QSettings) -> str | None:
    value = settings.value(CURRENT_KEY)
    return str(value) if value else None


def remember_opened(settings: QSettings, text: str | Path) -> None:
    """The library just opened goes first in the recent list and opens at the next start."""
    kept = settings_form(text)
    if not kept:
        return
    settings.setValue(RECENT_KEY, [kept, *(t for t in recent(settings) if t != kept)]
                      [:MAX_RECENT])
    settings.setValue(CURRENT_KEY, kept)
    settings.sync()

