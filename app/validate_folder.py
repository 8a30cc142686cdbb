"""The files ``lora-studio validate FOLDER`` checks, and those it passes over, with why.

``import`` takes folders; ``validate`` refused one ("is a folder, not an ordinary file"), so
a person checking the folder their copies were saved in (full JSON, JSONL, manifests,
recipes) had to name every file. A folder is read as import reads one: below it too, its
``.json`` and ``.jsonl`` files in name order (a manifest is a ``.json`` file); the others
are counted, each kind with its reason, for one line a person reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.recipes import DATASET_INFO
from app.wording import first_few, plural

CHECKED_ENDINGS = (".json", ".jsonl")
EXAMPLES = 3  # names a kind of passed-over file lists; the rest are counted
NOT_JSON = "not JSON"
RECIPE_LIST = "dataset list"
HIDDEN = "hidden"
LINKED_FOLDER = "linked folder"
# What each kind is, with its count, before its first few names.
SAYS = {
    NOT_JSON: lambda n: f"{plural(n, 'file')} not .json or .jsonl, the files validate reads",
    RECIPE_LIST: lambda n: (f"{plural(n, 'file')} named {DATASET_INFO}, LLaMA-Factory's "
                            "list of datasets beside the recipes, not a training file"),
    HIDDEN: lambda n: f"{n:,} hidden by a name starting with a dot",
    LINKED_FOLDER: lambda n: f"{plural(n, 'link')} to a folder, not followed",
}


@dataclass
class FolderFiles:
    """What a folder's walk found: the files to check, the names passed over by kind,
    and the folders below it that could not be read, with why."""

    files: list[Path] = field(default_factory=list)
    passed_over: dict[str, list[str]] = field(default_factory=dict)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def pass_over(self, kind: str, name: str) -> None:
        self.passed_over.setdefault(kind, []).append(name)

    @property
    def not_checked(self) -> int:
        return sum(len(names) for names in self.passed_over.values())


def _kind(name: str) -> str | None:
    """Why a file of this name is passed over; None for one validate checks."""
    if name.startswith("."):
        return HIDDEN
    if name == DATASET_INFO:
        return RECIPE_LIST
    if not name.lower().endswith(CHECKED_ENDINGS):
        return NOT_JSON
    return None


def folder_files(folder: Path) -> FolderFiles:
    """The files below ``folder`` that validate checks, in path order; hidden folders
    and links to folders are not entered (a link could lead back up, round and round)."""
    found = FolderFiles()

    def refused(error: OSError) -> None:
        where = Path(error.filename) if error.filename else folder
        found.unreadable.append((where, error.strerror or str(error)))

    for top, folders, names in os.walk(folder, onerror=refused):
        here = Path(top)
        kept = []
        for name in sorted(folders):
            if name.startswith("."):
                found.pass_over(HIDDEN, str((here / name).relative_to(folder)) + os.sep)
            elif (here / name).is_symlink():
                found.pass_over(LINKED_FOLDER, str((here / name).relative_to(folder)))
            else:
                kept.append(name)
        folders[:] = kept
        for name in sorted(names):
            kind = _kind(name)
            if kind is None:
                found.files.append(here / name)
            else:
                found.pass_over(kind, str((here / name).relative_to(folder)))
    return found


def passed_over_words(found: FolderFiles) -> str:
    """The files passed over, in words: how many of each kind, which, and why."""
    parts = [f"{SAYS[kind](len(names))} ({first_few(names, EXAMPLES)})"
             for kind, names in sorted(found.passed_over.items(), key=lambda kv: -len(kv[1]))]
    return "; ".join(parts)


def nothing_to_check(folder: Path, found: FolderFiles) -> str:
    """What to do when a folder holds no file validate reads."""
    others = f" (not checked: {passed_over_words(found)})" if found.passed_over else ""
    return (f"nothing to check: no .json or .jsonl file in {folder} or below it{others}. "
            "Give the folder where you saved copies from LoRA Studio, or the files "
            "themselves")
