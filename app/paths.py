"""Where the library lives: ``--data-dir``, else ``LORA_STUDIO_HOME``, else the user-data folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "LoRA Studio"
ENV_HOME = "LORA_STUDIO_HOME"
DATABASE_NAME = "library.sqlite3"
TRAINING_FILES_DIR = "training-files"  # builds of libraries from before v6 (now in the DB)
TOKEN_CACHE_NAME = "token-counts.sqlite3"  # counts by rendered text (app.token_counts)


def library_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the library folder without creating it (creation happens on open)."""
    if data_dir:
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env and "://" not in env:  # (a team library's URL names no folder: app.location)
        return Path(env).expanduser().resolve()
    return user_library_dir()


def user_library_dir() -> Path:
    """The library a first start opens, when nothing names another: the user-data folder."""
    return Path(user_data_dir(APP_NAME, appauthor=False))


# One folder per build of a training file: <file id>-r<revision>.
BUILD_FOLDER = re.compile(r"^(?P<file_id>\d{5,})-r(?P<revision>\d+)$")
