"""What the window says about copies of a training file saved earlier (``app.saved_copies``).

The files page shows, near the Download button, each copy of the selected file still where
it was saved, and whether the file has been rebuilt with other content since; the status
after a rebuild adds which saved copies it left out of date; and saving the JSON or the
JSONL into a folder holding an out-of-date copy of the other one, saved from here under
the same name, offers to save that one again too.

None of it reads a build on the window's thread: a copy whose build's sha256 is not stored
yet (a file built before revision 0007) is said to be checked while a worker makes it
(``SavedCopiesLine``), and the status and the question leave it out meanwhile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from app.errors import LibraryError
from app.export import FORMATS, ExportFormat
from app.library import Library
from app.saved_copies import CopyState, SavedCopyState, saved_copies, stale_copies
from app.wording import and_list
from ui.dialogs import Dialogs
from ui.home_folder import home_as_tilde
from ui.tasks import Task, start
from ui.training_files_model import parse_stamp

SHOWN_AT_MOST = 4  # copies named in the line; the rest are counted
FOLDER_CHARACTERS = 40  # a longer folder is shown by its last parts
# What a person chooses to save a copy again, by the copy's format (the Download menu)
DOWNLOAD_ENTRY = {ExportFormat.JSON.value: "Download ▸ JSON",
                  ExportFormat.JSONL.value: "Download ▸ JSONL",
                  ExportFormat.SPLIT.value: "Download ▸ Train / validation split"}
BOTH_KINDS = {ExportFormat.JSON: ExportFormat.JSONL, ExportFormat.JSONL: ExportFormat.JSON}


def folder_text(folder: Path) -> str:
    """A folder as a person reads it: ``~`` for the home folder, and a long one by its
    last parts (``…/audit50/saved``); the tooltip gives it whole."""
    text = home_as_tilde(folder)
    if len(text) <= FOLDER_CHARACTERS:
        return text
    parts = Path(text).parts
    for keep in range(len(parts) - 1, 0, -1):
        shorter = "…/" + "/".join(parts[-keep:])
        if len(shorter) <= FOLDER_CHARACTERS:
            return shorter
    return "…/" + parts[-1]


def when_text(stamp: str, today: datetime | None = None) -> str:
    """When a copy was saved, in local time: ``12:43`` today, ``2026-11-27 12:43`` before."""
    moment = parse_stamp(stamp)
    if moment is None:
        return stamp
    local = moment.astimezone()
    today = today or datetime.now().astimezone()
    return local.strftime("%H:%M" if local.date() == today.date() else "%Y-%m-%d %H:%M")


def copy_text(copy: SavedCopyState) -> str:
    """``Coaching A.jsonl (12:43) is older than this file — Download ▸ JSONL again``, or
    ``… is up to date`` (its folder heads the line it is on)."""
    where = f"{copy.path.name} ({when_text(copy.saved_at)})"
    if copy.state is CopyState.STALE:
        again = DOWNLOAD_ENTRY.get(copy.export_format, "Download")
        return f"{where} is older than this file — {again} again"
    if copy.state is CopyState.CHECKING:
        return f"{where} is being checked against this file"
    return f"{where} is up to date"


def line_text(copies: Sequence[SavedCopyState]) -> str:
    """The files page's line: the copies still where they were saved, newest first, one
    line per folder (``Saved copies in ~/saved: …``, marked ⚠ when a copy named in it is
    out of date); empty when there is none. Newest first, so that the copy just saved is
    the first one said (out-of-date ones first hid it behind a week of older saves)."""
    kept = [c for c in copies if c.state is not CopyState.GONE]
    if not kept:
        return ""
    kept.sort(key=lambda c: (_newest_first(c.saved_at), c.state is CopyState.STALE))
    by_folder: dict[Path, list[SavedCopyState]] = defaultdict(list)
    for copy in kept[:SHOWN_AT_MOST]:
        by_folder[copy.path.parent].append(copy)
    lines = [f"{'⚠ ' if any(c.state is CopyState.STALE for c in group) else ''}Saved copies "
             f"in {folder_text(folder)}: " + "; ".join(map(copy_text, group))
             for folder, group in by_folder.items()]
    if len(kept) > SHOWN_AT_MOST:
        more = kept[SHOWN_AT_MOST:]
        stale = sum(1 for c in more if c.state is CopyState.STALE)
        lines.append(f"{'⚠ ' if stale else ''}and {len(more):,} earlier saved "
                     + ("copy" if len(more) == 1 else "copies")
                     + (" (older than this file)" if stale and len(more) == 1 else
                        f" ({stale:,} of them older than this file)" if stale else ""))
    return "\n".join(lines)


def _newest_first(stamp: str) -> float:
    moment = parse_stamp(stamp)
    return -moment.timestamp() if moment else 0.0


def out_of_date_clause(library: Library, names: Iterable[str]) -> str:
    """What a rebuild of ``names`` left behind, to add to the status that names it:
    ``; your saved copy Coaching A.jsonl in ~/saved is now out of date`` (empty when no
    copy on record is)."""
    try:
        found = stale_copies(library, names, hash_missing=False)
    except LibraryError:
        return ""
    copies = [copy for stale in found.values() for copy in stale]
    if not copies:
        return ""
    by_folder: dict[Path, list[str]] = defaultdict(list)
    for copy in copies:
        by_folder[copy.path.parent].append(copy.path.name)
    if len(copies) <= 3:
        what = and_list([f"{and_list(names_there)} in {folder_text(folder)}"
                         for folder, names_there in by_folder.items()])
        return (f"; your saved {'copy' if len(copies) == 1 else 'copies'} {what} "
                f"{'is' if len(copies) == 1 else 'are'} now out of date")
    folders = and_list([folder_text(folder) for folder in by_folder])
    return f"; your {len(copies):,} saved copies in {folders} are now out of date"


def with_out_of_date(text: str, library: Library, names: Iterable[str]) -> str:
    """``text``, a status naming a rebuild of ``names``, with what it left out of date: as
    a clause after a phrase, as a sentence after a sentence."""
    clause = out_of_date_clause(library, names)
    if not clause:
        return text
    if text.endswith("."):
        words = clause.removeprefix("; ")
        return f"{text} {words[0].upper()}{words[1:]}."
    return text + clause


def other_kind_to_save(library: Library, dialogs: Dialogs, parent: QWidget, name: str,
                       fmt: ExportFormat, target: Path, recipes: bool = False) -> Path | None:
    """Saving the JSON or the JSONL of ``name`` to ``target``: when the folder holds an
    out-of-date copy of the other one, saved from here under the same name and not
    changed since, ask whether to save it again too; where to, if so. ``recipes``: the
    trainer recipes are ticked, so a JSONL saved again brings its recipe files too."""
    other = BOTH_KINDS.get(fmt)
    if other is None:
        return None
    other_path = target.with_name(target.stem + FORMATS[other].suffix)
    try:
        copies = saved_copies(library, name, hash_missing=False)
    except LibraryError:
        return None
    if not any(c.path == other_path and c.export_format == other.value
               and c.state is CopyState.STALE for c in copies):
        return None
    asked = "JSONL" if fmt is ExportFormat.JSONL else "JSON"
    replaced = [other_path.name, "its manifest"]
    if recipes and other is not ExportFormat.JSON:
        replaced.append("its trainer recipe files")
    question = (f"The {other_path.name} in this folder is from an earlier version of "
                f"'{name}'. Save it again too, so the two match?\n\n{and_list(replaced)} "
                f"are replaced; nothing else in {folder_text(target.parent)} is touched.")
    if dialogs.confirm_destructive(parent, "Save both", question, "Save both",
                                   f"Only the {asked}"):
        return other_path
    return None


class SavedCopiesLine(QLabel):
    """The files page's line about the selected file's saved copies (hidden when none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("savedCopies")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()
        self._asked: tuple[Library, str] | None = None  # the file the line is about
        self.checking: Task | None = None  # the worker making a build's sha256, if any
        self._copies: list[SavedCopyState] = []  # as the line says them
        self._checking_for: tuple[Library, str] | None = None  # what ``checking`` reads

    def show_for(self, library: Library, name: str | None) -> None:
        """Say what is known of ``name``'s saved copies (nothing when None); a copy whose
        build's sha256 is not stored yet is checked by a worker, and the line said again."""
        self._asked = (library, name) if name is not None else None
        try:
            copies = saved_copies(library, name, hash_missing=False) if name else []
        except LibraryError:
            copies = []
        self._show(copies)
        if name and any(c.state is CopyState.CHECKING for c in copies):
            self._check(library, name)

    def _check(self, library: Library, name: str) -> None:
        running = self.checking
        if running is not None and not running.ended.is_set() \
                and self._checking_for == (library, name):
            return  # already reading that build: its outcome is said when it comes

        def work(*_hooks: Any) -> list[SavedCopyState]:
            return saved_copies(library, name)  # stores what it makes

        task = Task(work)
        self._checking_for = (library, name)
        task.signals.succeeded.connect(
            lambda copies: self._show(copies) if self._asked == (library, name) else None)
        task.signals.failed.connect(
            lambda why: self._not_checked(why) if self._asked == (library, name) else None)
        self.checking = task
        start(task)

    def _not_checked(self, why: str) -> None:
        self._show([c for c in self._copies if c.state is not CopyState.CHECKING])
        self.setText(f"{self.text()}\nWhether the saved copies still match this file could "
                     f"not be checked: {why}".strip())
        self.setVisible(True)

    def _show(self, copies: Sequence[SavedCopyState]) -> None:
        self._copies = list(copies)
        text = line_text(copies)
        self.setText(text)
        self.setToolTip("\n".join(f"{c.path} — {TIP[c.state]}" for c in copies
                                   if c.state is not CopyState.GONE))
        self.setVisible(bool(text))


TIP = {CopyState.STALE: "older than this file", CopyState.CURRENT: "up to date",
       CopyState.CHECKING: "being checked against this file", CopyState.GONE: ""}
