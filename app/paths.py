"""Where the library lives: ``--data-dir``, else ``LORA_STUDIO_HOME``, else the user-data folder."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "LoRA Studio"
ENV_HOME = "LORA_STUDIO_HOME"
DATABASE_NAME = "library.sqlite3"
TRAINING_FILES_DIR = "training-files"


def library_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the library folder without creating it (creation happens on open)."""
    if data_dir:
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    return Path(user_data_dir(APP_NAME, appauthor=False))
