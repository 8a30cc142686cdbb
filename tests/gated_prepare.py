"""An import's per-file work for the cancel tests of the worker pool: notes every file it
prepares, and holds the files from ``GATED_FROM`` on (by their number in the name) until the
pool's stop event is set, so a test knows which files a worker is in when the pool closes.
Importable in the spawned workers (they get the tests folder on their path)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import app.import_pool as import_pool
from app.prepare import prepare

GATED_FROM = "LORA_TEST_GATED_FROM"  # environment: the first file number held
HELD_FOR = 60.0  # seconds at most: a pool that never stops its workers fails, not hangs


def noted_prepare(path: str, batch: str, named: bool = False,
                  own_batches: bool = True) -> list[Any]:
    number = int(re.findall(r"\d+", Path(path).name)[0])
    stop = getattr(import_pool, "_stop", None)  # None: code without the stop event
    if stop is not None and number >= int(os.environ.get(GATED_FROM, "0")):
        stop.wait(HELD_FOR)
    with open(Path(path).parent.parent / "prepared.log", "a") as log:
        log.write(Path(path).name + "\n")
    return prepare(path, batch, named, own_batches)


def prepared(folder: Path) -> list[str]:
    """The files the workers prepared, as they noted them."""
    log = folder.parent / "prepared.log"
    return log.read_text().split() if log.exists() else []
