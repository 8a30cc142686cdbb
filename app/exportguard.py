"""Where an export may write: never inside the library folder, never over a file unasked.

The library folder holds the database and the stored builds, which must only change
through the library (a copy written over ``library.sqlite3`` or over a stored JSONL would
leave the database, the JSON and the JSONL disagreeing). Replacing an existing file is
the person's decision: the window asks, the command needs ``--force``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from app.errors import LibraryError
from app.idtext import LONE_SURROGATE, readable_name


def _inside(folder: str, path: str) -> bool:
    try:
        return os.path.commonpath([folder, path]) == folder
    except ValueError:  # different drives on Windows
        return False


def check_export_targets(library_root: Path, targets: Sequence[Path],
                         overwrite: bool, manifest: Path | None = None) -> None:
    """Raise ``LibraryError`` naming the file when any target may not be written;
    ``manifest``, one of them, is said to be the manifest (a person named only the copy)."""
    root = os.path.realpath(library_root)
    for target in targets:
        if LONE_SURROGATE.search(target.name):
            raise LibraryError(
                f"cannot write {readable_name(str(target))}: its name holds bytes that are "
                "not UTF-8 text, which its manifest and a trainer's config cannot name. "
                "Choose a name in plain text.")
        real = os.path.realpath(target)  # links are resolved: a link into the library counts
        if _inside(root, real):
            raise LibraryError(
                f"cannot write {target}: it is inside the library folder {library_root}, "
                "which only LoRA Studio itself changes. Choose a file outside that folder.")
        if os.path.isdir(target):
            raise LibraryError(f"cannot write {target}: it is a folder. Give a file name.")
        if not overwrite and os.path.lexists(target):
            if target == manifest:
                raise LibraryError(
                    f"{target} already exists: the copy's manifest (what was exported, with "
                    "checksums) is written there. Save the copy under another name or in "
                    "another folder, or add --force to replace it.")
            raise LibraryError(f"{target} already exists. Choose another name, or add "
                               "--force to replace it.")
