"""A path as a person reads it in the window: under the home folder it starts with ``~``
(the library's folder in the status bar and title, a folder of saved copies)."""

from __future__ import annotations

from pathlib import Path


def home_as_tilde(path: Path) -> str:
    """``path`` with the home folder written ``~`` (as it is, when not under it)."""
    try:
        return str(Path("~") / path.resolve().relative_to(Path.home().resolve()))
    except ValueError:  # (not under the home folder)
        return str(path)
