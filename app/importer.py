"""Import conversation files, full training files and folders into the library.

Every conversation gets exactly one verdict: imported, duplicate (same conversation id and
the same conversation, or the same content, as something already stored or earlier in this
import), changed (its id is stored but the conversation differs; with ``replace`` it is
replaced instead) or rejected (with the engine's reason). A full training file gives one
verdict per conversation. One bad file never stops the rest. Work is committed in chunks,
so a cancel or a crash keeps every finished chunk and never half of one.

A verdict that depends on what the library holds is given in the transaction that stores
its chunk, against what the library holds then: a conversation someone else stored
meanwhile (another member of a team library) is a duplicate of their copy, named with its
batch and file, and a duplicate whose stored copy was removed meanwhile is stored after all.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as replace_field
from datetime import datetime
from enum import StrEnum
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import jsonio
from app.fingerprints import (
    StoredNear,
    fill_missing,
    flag_near_duplicates,
    index_keys,
    stored_dialogues,
)
from app.fullsplit import PART_MARK
from app.idtext import clean_batch_id, readable_name
from app.import_pool import Workers
from app.jsonio import unreadable_advice
from app.key_parts import in_parts
from app.library import Library, now_iso, unpack
from app.loader import NOT_JSON_FILE as NOT_JSON_FILE
from app.loader import is_json_name as is_json_name
from app.models import Conversation, ConversationDocument, Profile
from app.portable import driver_sql, insert_for

# The per-file work lives in app.prepare (what the workers import); re-exported here.
from app.prepare import NOT_COLUMNS as NOT_COLUMNS
from app.prepare import Prepared as Prepared
from app.prepare import library_row as library_row
from app.prepare import prepare as prepare
from app.prepare import prepare_lazily, unless_large
from app.review import reviewed_text
from app.running_work import running
from app.skipped_files import SkippedFiles, SkippedKind
from app.stored_builds import forget_totals
from app.team_locks import IMPORTING, REMOVING, lock_in_transaction
from app.wording import agreeing, and_list, plural

# Files per commit. Each commit writes every page the chunk touched, and the indexes on
# random keys (ids, content hashes, dialogue keys) are touched nearly everywhere by a few
# hundred rows: with 1,000 files a commit instead of 250 the parent spends about a third
# less system time per file once the library holds tens of thousands (docs/PERFORMANCE.md);
# a crash or a cancel still keeps every finished chunk. A team library commits smaller
# chunks: each holds the team's import lock while it stores (app.team_locks), and other
# members wait for it.
CHUNK = 1000
TEAM_CHUNK = 250
PARALLEL_FROM = 400  # below this many files a process pool costs more than it saves
PARALLEL_FROM_BYTES = 20_000_000  # ... unless they are big (full training files)
# Entries the walk lists between two looks at the cancel (and one before each folder).
# The window's cancel is a multiprocessing event, about 3 us a look: looked at for every
# entry it made the walk of 10,000 files in 100 folders about 40% slower (best of 15
# runs); every 64th entry costs nothing measurable, and 64 entries list in a fraction of
# a millisecond on a local disk.
LOOK_EVERY = 64



def _worth_a_pool(candidates: Sequence[Candidate]) -> bool:
    """Enough work to pay for starting worker processes: many files, or a lot of bytes
    (a hundred full training files are few files but thousands of conversations). A file
    too large to read whole is no work of theirs (this process reads it, a conversation
    at a time): its bytes count for nothing. They counted: a 164 MB file among 3 or 300
    small ones started two processes (a third to a half of a second of CPU between them,
    about 70 MB more memory in all) that sat idle until it was read to its end, for no
    time saved (bench/bench_big_among_small.py)."""
    if len(candidates) >= PARALLEL_FROM:
        return True
    if len(candidates) < 2:
        return False
    total = 0
    for candidate in candidates:
        try:
            size = candidate.path.stat().st_size
        except OSError:
            continue
        if size <= jsonio.MAX_INPUT_BYTES:
            total += size
    return total >= PARALLEL_FROM_BYTES

Progress = Callable[[int, int, str], None]


class Verdict(StrEnum):
    IMPORTED = "imported"
    DUPLICATE = "duplicate"
    CHANGED = "changed"  # the id is stored with other content; kept as it was
    REPLACED = "replaced"  # the id was stored with other content; replaced
    REJECTED = "rejected"


@dataclass(frozen=True)
class FileVerdict:
    path: str
    verdict: Verdict
    reason: str = ""
    conversation_id: str | None = None
    batch_id: str | None = None
    # A duplicate of a conversation this import did not store: that one's id, so that the
    # reason can say where it is (its batch and file), which a person knows; an id alone
    # says nothing they can act on.
    stored_as: str | None = None
    stored_batch: str | None = None  # and its batch, once read
    # That stored copy came from a file of this name: the file was imported before (a
    # folder dropped again after a cancelled import), which is no problem to look into.
    imported_before: bool = False
    # What a person knows a conversation by: its client ("David Chen"), when it has one.
    client: str | None = None
    stored_file: str | None = None  # the file the stored copy it repeats came from
    # A duplicate of a conversation imported earlier in this import: that one's file.
    earlier: str | None = None
    # What it repeats: the same "content", the same conversation "id", the same
    # "dialogue" under another id, or the id of one this import stored from another file
    # with other content (OTHER_CONTENT).
    repeats: str = ""
    # Imported from the older v3 format (hand-written pairs, no scaffolding), which the
    # import converts as it reads; the file itself is not changed.
    older_format: bool = False
    folder: bool = False  # the verdict is about a folder (or a link to one), not a file
    # Replaced with other text: who had marked the stored version reviewed, a mark the
    # replace took away (``app.review``: a mark certifies the text a person read).
    mark_taken: str | None = None
    # Stored, and flagged near_duplicate: the id of the conversation it nearly repeats,
    # and once read, where that one is (``_say_where_near``): a file of this import, or
    # its batch and file in the library.
    near_of: str | None = None
    near_where: str | None = None

    @property
    def file(self) -> str:
        """The file on disk (a full training file's conversations add their place in it
        to ``path``)."""
        return self.path.split(PART_MARK)[0]

    @property
    def unit(self) -> str:
        """What the verdict is about, as a noun: one conversation of a full training
        file, a folder, or a file (a count of them says which: "6 files", not "6")."""
        if PART_MARK in self.path:
            return "conversation"
        return "folder" if self.folder else "file"


RESTORED_REPLACING, RESTORED_REPLACED = "replacing", "replaced"


@dataclass
class ImportReport:
    verdicts: list[FileVerdict] = field(default_factory=list)
    cancelled: bool = False
    batches_created: list[str] = field(default_factory=list)
    # Batches the library held before, that this import added to: (name, conversations it
    # held before, and now). A later delivery's "batch-000" joins the stored one; the
    # summary says so rather than letting it pass as created.
    batches_joined: list[tuple[str, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong around the files
    skipped: list[SkippedKind] = field(default_factory=list)  # not read: not .json, hidden
    # A cancelled import: the files it found and those it never reached (-1 for found: it
    # was cancelled while it looked through the folders, before it knew)
    found: int = 0
    not_reached: int = 0
    # Training files made again from full training files of ours (``app.full_restore``):
    # a sentence each saying so, with their settings and what was left out; and the same
    # once the person answered Replace to the changed conversations, by what became of them
    # (RESTORED_REPLACING, RESTORED_REPLACED): a file holding one is rebuilt by the replace.
    restored: list[str] = field(default_factory=list)
    restored_later: dict[str, list[str]] = field(default_factory=dict)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for v in self.verdicts if v.verdict is verdict)

    def counts(self) -> Counter[Verdict]:
        """How many verdicts of each kind, in one pass (a summary of 100,000 reads all)."""
        return Counter(v.verdict for v in self.verdicts)

    @property
    def imported(self) -> int:
        return self.count(Verdict.IMPORTED)

    @property
    def duplicates(self) -> int:
        return self.count(Verdict.DUPLICATE)

    @property
    def rejected(self) -> int:
        return self.count(Verdict.REJECTED)

    @property
    def changed(self) -> list[FileVerdict]:
        return [v for v in self.verdicts if v.verdict is Verdict.CHANGED]

    @property
    def replaced_ids(self) -> list[str]:
        return [str(v.conversation_id) for v in self.verdicts if v.verdict is Verdict.REPLACED]

    @property
    def marks_taken(self) -> dict[str, str]:
        """The replaced conversations whose review mark the new text took away: id → who
        had marked it."""
        return {str(v.conversation_id): v.mark_taken for v in self.verdicts
                if v.verdict is Verdict.REPLACED and v.mark_taken is not None}

    @property
    def stored_ids(self) -> list[str]:
        """The conversations this import stored: new ones and replaced ones."""
        stored = (Verdict.IMPORTED, Verdict.REPLACED)
        return [str(v.conversation_id) for v in self.verdicts
                if v.verdict in stored and v.conversation_id is not None]

    @property
    def near_duplicates(self) -> list[FileVerdict]:
        """The conversations stored and flagged near_duplicate: each nearly repeats one
        stored before it, and its replies would be trained twice."""
        stored = (Verdict.IMPORTED, Verdict.REPLACED)
        return [v for v in self.verdicts if v.near_of is not None and v.verdict in stored]

    @property
    def in_library(self) -> list[FileVerdict]:
        """Duplicates of a conversation the library held (not one of this import's)."""
        return [v for v in self.verdicts
                if v.verdict is Verdict.DUPLICATE and v.stored_as is not None]

    @property
    def repeats(self) -> list[FileVerdict]:
        """Duplicates of a conversation imported earlier in this same import."""
        return [v for v in self.verdicts
                if v.verdict is Verdict.DUPLICATE and v.stored_as is None]

    def rejected_units(self) -> list[str]:
        """What could not be imported, counted in its own units: "6 files", "1 folder",
        "2 conversations" (of full training files); "6 rejected" mixed them."""
        units = Counter(v.unit for v in self.verdicts if v.verdict is Verdict.REJECTED)
        return [plural(units[unit], unit) for unit in ("file", "folder", "conversation")
                if units[unit]]

    @property
    def older_format_files(self) -> list[str]:
        """The files in the older v3 format this import converted and stored, once each.
        Not a full training file holding conversations first imported from v3 files: it is
        our own format, and they were converted when they were first imported."""
        stored = (Verdict.IMPORTED, Verdict.REPLACED)
        return list(dict.fromkeys(v.file for v in self.verdicts
                                  if v.older_format and v.verdict in stored
                                  and v.unit == "file"))

    def _unfinished(self) -> str:
        """What a cancel left undone, and how to finish it: again, the same files (those
        already in are then skipped as duplicates)."""
        again = ("import the same files or folders again to finish (those already in are "
                 "skipped as duplicates)")
        if self.found < 0:
            return (", while it was still looking through the folders for files: " + again)
        if self.not_reached:
            return (f": {self.not_reached:,} of the {plural(self.found, 'file')} it found "
                    f"{agreeing(self.not_reached, 'was', 'were')} not reached; " + again)
        return ": the large file it was reading was not read to its end; " + again

    def summary(self, changed: str = "not replaced") -> str:
        """The counts as one sentence, each in its own unit and agreeing with it ("1
        conversation imported", "6 files could not be imported"; none said of what did
        not happen), for the window and the command line alike, then the notes;
        ``changed``: what became of the changed ones (the window's summary says "being
        replaced" once the person answered Replace)."""
        of = self.counts()
        counts = [f"{plural(of[Verdict.IMPORTED], 'conversation')} imported"]
        in_library = (sum(1 for v in self.verdicts if v.verdict is Verdict.DUPLICATE
                          and v.stored_as is not None) if of[Verdict.DUPLICATE] else 0)
        if in_library:
            counts.append(f"{plural(in_library, 'conversation')} already in the library "
                          "(skipped)")
        if repeats := of[Verdict.DUPLICATE] - in_library:
            counts.append(f"{plural(repeats, 'conversation')} repeating another of this "
                          "import (skipped)")
        if of[Verdict.REJECTED] and (rejected := self.rejected_units()):
            counts.append(f"{and_list(rejected)} could not be imported")
        if changed_count := of[Verdict.CHANGED]:
            counts.append(f"{plural(changed_count, 'conversation')} changed ({changed})")
        if replaced := of[Verdict.REPLACED]:
            counts.append(f"{plural(replaced, 'conversation')} replaced")
        if self.skipped:
            counts.append(f"{plural(sum(k.count for k in self.skipped), 'file')} not read")
        if near := len(self.near_duplicates):
            counts[0] += (" (" + (f"{near:,} of them nearly repeat" if near > 1 else
                                  "it nearly repeats" if of[Verdict.IMPORTED] == 1 else
                                  "1 of them nearly repeats")
                          + " another conversation, flagged near_duplicate: an add can leave "
                          f"{agreeing(near, 'it', 'them')} out)")
        text = ", ".join(counts) + (" before the import was cancelled" if self.cancelled
                                    else "")
        if self.cancelled:
            text += self._unfinished()
        joined = [f"{name}' ({before:,} → {after:,})"
                  for name, before, after in self.batches_joined]
        if joined:
            text += (". Added to batches already in the library: '"
                     + ", '".join(joined))
        older = self.older_format_files if of[Verdict.IMPORTED] or replaced else []
        converted = ([f"{plural(len(older), 'file')} in the older v3 format "
                      f"{agreeing(len(older), 'was', 'were')} converted as "
                      f"{agreeing(len(older), 'it was', 'they were')} imported."]
                     if older else [])
        restored = self.restored
        if changed == "being replaced":
            restored = self.restored_later.get(RESTORED_REPLACING, restored)
        elif replaced and not changed_count:  # all replaced: the files were rebuilt
            restored = self.restored_later.get(RESTORED_REPLACED, restored)
        return " ".join([f"{text}.", *converted, *restored,
                         *(f"Note: {note}." for note in self.notes)])


@dataclass(frozen=True)
class Candidate:
    """A file to import and the batch it gets unless the file names its own.

    ``named``: the user named the batch, so it also holds a full file's conversations
    (which otherwise go into a batch named after the full file).
    """

    path: Path
    default_batch: str
    named: bool = False
    # A full training file of ours: each conversation keeps the batch its record names
    # (False: the file's batch for all, the rule before records' batches were kept).
    own_batches: bool = True


def loose_batch_name(moment: datetime | None = None) -> str:
    """The batch of a file that lies in no named folder (the top of a disk), the only
    file the folder rule cannot name."""
    return (moment or datetime.now()).strftime("import-%Y-%m-%d-%H%M%S")


def _folder_key(folder: Path) -> tuple[str, ...]:
    """A folder as the names leading to it from the top of its disk (links resolved): one
    key for one folder however it was reached, so a file chosen on its own and a folder
    dropped with it are named by the same rule (``folder_batch_names``)."""
    return folder.resolve().parts[1:]


def chosen_files_batches(paths: Sequence[Path]) -> list[str]:
    """The batches files chosen by name (not folders) go into when no batch is typed:
    each its folder's name, as a dropped folder's ("delivery-A/batch-000" when two of
    them share a name); what the import question names before the import reads them."""
    keys = {_folder_key(path.parent) for path in paths
            if _read_by_name(path.name) and not path.is_dir()}
    return sorted(readable_name(name) for name in
                  folder_batch_names([key for key in keys if key]).values())


class WalkCancelled(Exception):
    """The walk of the folders was cancelled before it ended (``collect``)."""


def collect(
    paths: Sequence[Path], batch: str | None = None,
    counted: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    skipped: SkippedFiles | None = None,
) -> tuple[list[Candidate], list[FileVerdict]]:
    """Expand files and folders (recursively, ``*.json``) into candidates; a file named
    on its own that is not a ``.json`` file gets a verdict saying so, unread.

    Every folder holding files is a batch named after it (a dropped folder with 16 batch
    subfolders gives 16 batches), and so is the folder of a file chosen on its own: the
    question before an import promises that, and a timestamped batch left the person
    hunting for the files they had just imported. A batch given by the user overrides
    both defaults. Links that lead out of a dropped folder and
    folders that cannot be read get a verdict, never silence. ``counted`` hears how many
    files the walk has found so far, after every folder (the import starts its workers
    as soon as they will pay). ``cancelled`` is looked at between entries (a dropped tree
    can take minutes to list on a slow disk): once it says yes the walk stops there and
    raises ``WalkCancelled``. Files in a folder that are not read (not ``.json``, or
    hidden) are told to ``skipped``, by kind (``app.skipped_files``).
    """
    loose = loose_batch_name()
    candidates: list[Candidate] = []
    problems: list[FileVerdict] = []
    seen: set[str] = set()  # real paths; a file reached twice is imported once
    real_folders: dict[str, str] = {}

    def real(file: str, link: bool) -> str:
        """``os.path.realpath(file)``, resolving each folder once (not every component
        of every path: an lstat each, for 10,000 files a third of a second)."""
        if link:
            return os.path.realpath(file)
        folder, name = os.path.split(file)
        found = real_folders.get(folder)
        if found is None:
            found = real_folders[folder] = os.path.realpath(folder or os.curdir)
        return os.path.join(found, name)

    def add(file: Path, default: str, link: bool) -> bool:
        """Add the file unless it was reached before; True when it was added."""
        key = real(str(file), link)
        if key in seen:
            return False
        seen.add(key)
        candidates.append(Candidate(file, readable_name(default), batch is not None))
        return True

    # Each candidate's folder (``_folder_key``), named once every folder is known
    # (``folder_batch_names``).
    folder_of: dict[int, tuple[str, ...]] = {}
    loose_folders: dict[str, tuple[str, ...]] = {}
    for raw in paths:
        _stop_if(cancelled)
        path = Path(raw)
        if path.is_dir():
            top = _folder_key(path) or (loose,)
            found, refused = _json_files(path, _offset(counted, len(candidates)), cancelled,
                                         skipped)
            problems.extend(refused)
            if not found and not refused:
                problems.append(FileVerdict(str(path), Verdict.REJECTED,
                                            "the folder holds no .json files", folder=True))
            for file in sorted(found, key=attrgetter("order")):
                if add(Path(file.path), batch or top[-1], file.link) and batch is None:
                    folder_of[len(candidates) - 1] = (*top, *file.below)
        elif not _read_by_name(path.name) and (path.exists() or path.is_symlink()):
            # As the walk of a folder takes only *.json files, a file chosen by name is
            # refused unread unless it is one (a .txt is not "invalid JSON").
            problems.append(FileVerdict(str(path), Verdict.REJECTED, NOT_JSON_FILE))
        elif path.exists() or path.is_symlink():
            # Chosen by name: a file, or something that is not one (a pipe, a device, a
            # broken link), which the reader refuses with a verdict saying what it is.
            parent = str(path.parent)
            if parent not in loose_folders:  # a drop of 10,000 files from one folder
                loose_folders[parent] = _folder_key(path.parent) or (loose,)
            folder = loose_folders[parent]
            if add(path, batch or folder[-1], path.is_symlink()) and batch is None:
                folder_of[len(candidates) - 1] = folder
        else:
            problems.append(FileVerdict(str(path), Verdict.REJECTED, NO_SUCH_PATH))
    names = folder_batch_names(list(folder_of.values()))
    for n, folder in folder_of.items():
        candidates[n] = replace_field(candidates[n],
                                      default_batch=readable_name(names[folder]))
    return candidates, problems


def folder_batch_names(folders: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """The batch each folder of a drop gets: its own name, or, when another folder of the
    drop has that name too (``batch-000`` in two deliveries), its path ("delivery-B/
    batch-000"), as few folders up as tell them apart. Two deliveries' same-named folders
    merged into one batch without a word, and the Batch filter then mixed them. A folder
    is the names leading to it (``_folder_key``)."""
    names: dict[tuple[str, ...], str] = {}
    left = set(folders)
    size = 1
    while left:
        tails = Counter(folder[-size:] for folder in left)
        for folder in list(left):
            if tails[folder[-size:]] == 1 or size >= len(folder):
                names[folder] = "/".join(folder[-size:])
                left.discard(folder)
        size += 1
    return names


NO_SUCH_PATH = ("no such file or folder: check the path, or choose the file again where it "
                "is now")


def _stop_if(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise WalkCancelled()


def _read_by_name(name: str) -> bool:
    """A file chosen by name goes to the reader: a ``.json`` file, or a ``.jsonl`` one,
    which the reader refuses unread with what to import instead (``app.loader``)."""
    return is_json_name(name) or name.lower().endswith(".jsonl")


def _offset(counted: Callable[[int], None] | None, before: int
            ) -> Callable[[int], None] | None:
    """``counted`` for one more folder, whose walk counts from nought."""
    if counted is None:
        return None
    return lambda found: counted(before + found)


class _Found(NamedTuple):
    """A ``*.json`` file the walk found."""

    order: tuple[str, ...]  # where ``pathlib`` sorts it among the folder's files
    path: str
    below: tuple[str, ...]  # its folder's path below the dropped folder; () when in it
    link: bool


def _json_files(folder: Path, counted: Callable[[int], None] | None = None,
                cancelled: Callable[[], bool] | None = None,
                skipped: SkippedFiles | None = None,
                ) -> tuple[list[_Found], list[FileVerdict]]:
    """``*.json`` files below ``folder`` (hidden ones skipped) and verdicts for what is not
    read: folders that cannot be listed, and links that lead out of ``folder``; the other
    files go to ``skipped``. Raises
    ``WalkCancelled`` once ``cancelled`` says yes (looked at as the folders are listed).

    The walk is ``os.walk``'s (top-down, each folder's entries in the order the system
    lists them, a folder that fails midway skipped), written out so that each entry's
    type comes from the listing itself rather than from an ``lstat`` per file.
    """
    inside = os.path.realpath(folder)
    found: list[_Found] = []
    refused: list[FileVerdict] = []

    def unreadable(error: OSError) -> None:
        where = error.filename or str(folder)
        refused.append(FileVerdict(str(where), Verdict.REJECTED,
                                   f"this folder cannot be read ({error.strerror or error}), "
                                   f"so nothing in it was imported; {unreadable_advice(error)}",
                                   folder=True))

    def leaves(path: str) -> bool:
        target = os.path.realpath(path)
        try:
            return os.path.commonpath([inside, target]) != inside
        except ValueError:  # on Windows, another drive: outside by any measure
            return True

    stack: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [(os.fspath(folder), (), ())]
    while stack:
        top, order, below = stack.pop()
        try:
            folders, files = _listing(top, cancelled)
        except OSError as error:
            unreadable(error)
            continue
        kept = []
        for entry in folders:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and not leaves(entry.path):
                # back into the folder (or to a folder within it): read where it is
                if skipped is not None:
                    skipped.add_link_inside(entry.path)
            elif entry.is_symlink():  # like os.walk, do not enter linked folders: say so
                refused.append(FileVerdict(
                    entry.path, Verdict.REJECTED,
                    f"a link to the folder {os.path.realpath(entry.path)}; links to folders "
                    "are not followed: import that folder itself", folder=True))
            else:
                kept.append((entry.path, (*order, os.path.normcase(entry.name)),
                             (*below, entry.name)))
        for entry in files:
            name = entry.name
            if not is_json_name(name) or name.startswith("."):
                if skipped is not None:
                    skipped.add(name, entry.path)
                continue
            link = entry.is_symlink()
            # A link out of the folder is not followed; one to nothing (its file moved or
            # deleted) goes to the reader, which says so as for a link to nothing inside.
            if link and leaves(entry.path) and os.path.exists(entry.path):
                refused.append(FileVerdict(
                    entry.path, Verdict.REJECTED,
                    f"a link to {os.path.realpath(entry.path)}, outside the folder {folder}; "
                    "not followed: copy the file into the folder, or import it by name"))
            else:
                found.append(_Found((*order, os.path.normcase(name)), entry.path,
                                    below, link))
        if counted:
            counted(len(found))
        stack.extend(reversed(kept))
    return found, refused


def _listing(folder: str, cancelled: Callable[[], bool] | None = None
             ) -> tuple[list[os.DirEntry[str]], list[os.DirEntry[str]]]:
    """A folder's entries as ``os.walk`` splits them: folders (links to folders included)
    and the rest. Raises ``OSError`` when the folder cannot be listed to its end, and
    ``WalkCancelled`` when ``cancelled`` says yes before an entry (or an empty folder)."""
    folders: list[os.DirEntry[str]] = []
    files: list[os.DirEntry[str]] = []
    _stop_if(cancelled)
    with os.scandir(folder) as entries:
        for number, entry in enumerate(entries, start=1):
            if number % LOOK_EVERY == 0:
                _stop_if(cancelled)
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            (folders if is_folder else files).append(entry)
    return folders, files


def substance(record: Mapping[str, Any]) -> str:
    """A fingerprint of what the conversation is (its messages, client and scaffolding),
    not of where it came from: the same conversation from its own file or from a full
    training file is the same; a corrected reply is not."""
    return hashlib.sha256(orjson.dumps(
        {k: record.get(k) for k in ("messages", "client", "scaffolding")},
        option=orjson.OPT_SORT_KEYS)).hexdigest()


def _prepared(
    candidates: Sequence[Candidate], pool: Workers, notes: list[str] | None = None
) -> Iterator[list[Prepared]]:
    """Prepared rows in candidate order: from the worker processes when they were started
    during the walk or are worth starting now (then every file is handed to them at once,
    before the rows are read), else in this process as they are read."""
    args = ([str(c.path) for c in candidates], [c.default_batch for c in candidates],
            [c.named for c in candidates], [c.own_batches for c in candidates])
    if pool.started or (pool.count > 1 and _worth_a_pool(candidates)):
        return pool.map(args, notes)
    return map(partial(unless_large, prepare), *args)


def _start_when_worth(pool: Workers) -> Callable[[int], None]:
    """What the walk tells as it finds files: the workers start once they will pay."""
    def counted(found: int) -> None:
        if found >= PARALLEL_FROM:
            pool.start()
    return counted


IMPORT_RECORD = "import"  # an import's ``app.running_work`` record (``app.recovery``)


def last_stored_pk(library: Library) -> int:
    """The highest conversation key stored so far (0: none): whatever an import started
    now stores gets a higher one."""
    with library.session() as session:
        return session.scalar(select(func.max(Conversation.pk))) or 0


def batches_stored_after(library: Library, last_pk: int) -> list[tuple[str, int]]:
    """Each batch holding conversations stored after ``last_pk`` (``last_stored_pk``,
    taken before an import started), with how many, by name: what an import killed
    part-way stored (it stores chunk by chunk, each chunk all or nothing). In a team
    library another member's import of the same minutes counts too."""
    with library.session() as session:
        return [(batch, count) for batch, count in session.execute(
            select(Conversation.batch_id, func.count(Conversation.pk))
            .where(Conversation.pk > last_pk)
            .group_by(Conversation.batch_id).order_by(Conversation.batch_id))]


def import_paths(
    library: Library,
    paths: Sequence[Path],
    batch: str | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: int | None = None,
    replace: bool | Collection[str] = False,
    own_batches: bool = True,
) -> ImportReport:
    """Import files and folders; see the module docstring for the guarantees.

    ``own_batches``: each conversation of a full training file of ours goes into the batch
    its record names (a library rebuilt from its file gets its batches back); False puts
    all of a full file's conversations into one batch (``batch``, else the file's name).

    With ``replace`` (True, or the ids asked about: only those, as a Replace question
    named them) a conversation whose id is stored but whose content differs replaces
    the stored one (keeping its batch and its place in training files, which the caller
    rebuilds: see ``ImportReport.replaced_ids``). A cancel during the walk of the folders
    ends it there: nothing is imported and the report, cancelled, holds no verdict.
    """
    if batch is not None:
        batch = clean_batch_id(batch)
    count = workers if workers is not None else min(2, multiprocessing.cpu_count())
    skipped = SkippedFiles()
    # prepare is looked up here, so a test may put its own in its place (in the workers too)
    with Workers(count, partial(unless_large, prepare), cancelled) as pool:
        try:
            candidates, problems = collect(paths, batch, _start_when_worth(pool), cancelled,
                                           skipped)
        except WalkCancelled:
            return ImportReport(cancelled=True, found=-1)
        if not own_batches:
            candidates = [replace_field(c, own_batches=False) for c in candidates]
        report = ImportReport(verdicts=list(problems), skipped=skipped.kinds())
        rows = _prepared(candidates, pool, report.notes)  # the workers start on them now
        # Kept while it stores: a kill mid-way is said at the next start (app.recovery).
        # (A replace says how many it was to replace: one cut short is finished by a
        # Replace, which an import of the same files again asks about.)
        with running(library.root, {"kind": IMPORT_RECORD, "files": len(candidates),
                                    "from": [str(p) for p in paths],
                                    "last_pk": last_stored_pk(library),
                                    "started": now_iso(),
                                    **({"replacing": _replacing(replace)} if replace else {})},
                     library.read_only):
            _import_rows(library, candidates, rows, report, replace, progress, cancelled)
    _say_where_stored(library, report)
    _say_where_near(library, report)
    _say_batches_joined(library, report)
    return report


def _say_batches_joined(library: Library, report: ImportReport) -> None:
    """Fill ``report.batches_joined``: each batch this import stored new conversations in
    that it did not create, with how many it holds now and held before them."""
    added = Counter(v.batch_id for v in report.verdicts
                    if v.verdict is Verdict.IMPORTED and v.batch_id is not None)
    for name in report.batches_created:
        added.pop(name, None)
    if not added:
        return
    with library.session() as session:
        now: dict[str, int] = {name: count for name, count in session.execute(
            select(Conversation.batch_id, func.count(Conversation.pk))
            .where(Conversation.batch_id.in_(sorted(added)))
            .group_by(Conversation.batch_id))}
    report.batches_joined = [(name, max(now.get(name, 0) - count, 0), now.get(name, 0))
                             for name, count in sorted(added.items())]


def _say_where_stored(library: Library, report: ImportReport) -> None:
    """Name the batch and file of each stored conversation a duplicate repeats (one read
    for them all, after the import: the loop over the files stays as fast as it was)."""
    ids = {v.stored_as for v in report.verdicts if v.stored_as}
    if not ids:
        return
    where: dict[str, tuple[str, str]] = {}
    listed = sorted(ids)
    with library.session() as session:
        for chunk in in_parts(listed):
            where.update((cid, (batch, source)) for cid, batch, source in session.execute(
                select(Conversation.conversation_id, Conversation.batch_id,
                       Conversation.source_file)
                .where(Conversation.conversation_id.in_(chunk))))
    for n, verdict in enumerate(report.verdicts):
        if verdict.stored_as in where:
            batch, source = where[verdict.stored_as]
            named = f"batch '{batch}', from {source}" if source else f"batch '{batch}'"
            # "… as conversation X (already in the library)", or, by id, "conversation X is
            # already in the library", which takes the place after it.
            reason = (verdict.reason.replace(STORED_MARK, f"(already in the library: {named})",
                                             1) if STORED_MARK in verdict.reason
                      else f"{verdict.reason} ({named})")
            report.verdicts[n] = replace_field(
                verdict, stored_batch=batch, stored_file=source or None, reason=reason,
                imported_before=bool(source) and source == Path(verdict.file).name)


def _say_where_near(library: Library, report: ImportReport) -> None:
    """Name where the conversation each flagged one nearly repeats is, as a person finds
    it: a file of this import, or its client, batch and file in the library (one read for
    them all, after the import)."""
    flagged = [n for n, v in enumerate(report.verdicts) if v.near_of is not None]
    if not flagged:
        return
    wanted = {report.verdicts[n].near_of for n in flagged}
    # This import's conversations, where each stands in it: one stored after the flagged
    # one (a replace later in the import) is not what it was compared with.
    here = {v.conversation_id: (n, Path(v.file).name) for n, v in enumerate(report.verdicts)
            if v.conversation_id in wanted and v.verdict in (Verdict.IMPORTED, Verdict.REPLACED)}
    where: dict[str, str] = {}
    with library.session() as session:
        for chunk in in_parts(sorted(str(cid) for cid in wanted)):
            for cid, client, batch, source in session.execute(
                    select(Conversation.conversation_id, Conversation.persona_name,
                           Conversation.batch_id, Conversation.source_file)
                    .where(Conversation.conversation_id.in_(chunk))):
                whose = f"{client}'s conversation" if client else "a conversation"
                where[cid] = (f"{whose} in batch '{batch}'"
                              + (f", from {source}" if source else ""))
    for n in flagged:
        verdict = report.verdicts[n]
        cid = str(verdict.near_of)
        at, path = here.get(cid, (n, ""))
        said = (f"{path}, imported earlier in this import" if at < n
                else where.get(cid, f"conversation {cid}"))
        report.verdicts[n] = replace_field(verdict, near_where=said)


# Where a duplicate's reason names the stored copy's batch and file, once they are read.
STORED_MARK = "(already in the library)"


def _replacing(replace: bool | Collection[str]) -> int:
    """How many conversations an import was asked to replace (-1: every changed one)."""
    return -1 if replace is True else len(replace) if not isinstance(replace, bool) else 0


def _import_rows(
    library: Library, candidates: Sequence[Candidate], rows: Iterator[list[Prepared]],
    report: ImportReport, replace: bool | Collection[str], progress: Progress | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    """Give every prepared row its verdict and store the new ones, chunk by chunk.

    What the library held when the import began only routes a row: one with no id,
    content or dialogue seen before is stored with its chunk; any other is judged as the
    chunk is stored, in the same transaction, against what the library holds then
    (``_store``)."""
    with library.session() as session:
        known_ids = set(session.scalars(select(Conversation.conversation_id)))
        known_hashes = set(session.scalars(select(Conversation.content_sha256)))
    fill_missing(library)  # conversations stored before dialogue fingerprints existed
    with library.session() as session:
        known_dialogues = set(stored_dialogues(session))
    mine = _Mine()
    imported_at = now_iso()
    total = len(candidates)
    chunk_rows: list[_Row] = []
    verdicts: list[FileVerdict | None] = []  # None: given as the chunk is stored

    def flush() -> None:
        if chunk_rows:
            report.batches_created += _store(library, chunk_rows, verdicts, mine, replace,
                                             imported_at)
        report.verdicts.extend(v for v in verdicts if v is not None)
        chunk_rows.clear()
        verdicts.clear()

    chunk = TEAM_CHUNK if library.is_team else CHUNK
    done = 0
    stream_cut = _Asked(cancelled)
    for done, prepared in enumerate(rows, start=1):
        candidate = candidates[done - 1]
        large = not prepared  # too large to read whole: read here, a conversation at a time
        every: Iterable[Prepared] = prepared if not large else prepare_lazily(
            str(candidate.path), candidate.default_batch, candidate.named, stream_cut,
            candidate.own_batches)
        for path, row, reason in every:
            if large:
                _tell_conversation(progress, done, total, path, len(verdicts))
                if len(verdicts) >= chunk:
                    flush()
            if row is None:
                verdicts.append(FileVerdict(path, Verdict.REJECTED, reason))
                continue
            keys = (row["conversation_id"], row["content_sha256"], row["dialogue_sha256"])
            new = (keys[0] not in known_ids and keys[1] not in known_hashes
                   and keys[2] not in known_dialogues)
            chunk_rows.append(_Row(len(verdicts), path, row, new, new or mine.shares(row)))
            verdicts.append(None)
            if new:
                known_ids.add(keys[0])
                known_hashes.add(keys[1])
                known_dialogues.add(keys[2])
                mine.add(row, path)  # until the chunk finds it stored by someone else
        if len(verdicts) >= chunk:
            flush()
        if progress:
            progress(done, total, candidate.path.name)
        if stream_cut.said_yes or (cancelled and cancelled()):
            # a large file read to its end before the cancel was looked at is whole
            report.cancelled = done < total or stream_cut.said_yes
            break
    else:  # every file's rows, or the workers' rows ended at a cancel (``Workers``)
        report.cancelled = done < total
    report.found, report.not_reached = total, total - done
    flush()


class _Asked:
    """The cancel, as a large file's reading looks at it, remembering whether it said yes:
    only then was the file cut short (a cancel after its last conversation cuts nothing)."""

    def __init__(self, cancelled: Callable[[], bool] | None) -> None:
        self._cancelled = cancelled
        self.said_yes = False

    def __call__(self) -> bool:
        if self._cancelled is not None and self._cancelled():
            self.said_yes = True
        return self.said_yes


# A large full training file's progress is told every this many conversations.
TELL_EVERY = 32


def _tell_conversation(progress: Progress | None, done: int, total: int, where: str,
                       held: int) -> None:
    """Progress within a large full training file: the files before it are done, and the
    label names the conversation being read ("big.json [conversation 7 of 40]")."""
    if progress is None or held % TELL_EVERY:
        return
    progress(done - 1, total, Path(where).name)


class _Row(NamedTuple):
    """A conversation of the chunk in hand, waiting for the chunk to be stored."""

    slot: int  # its place among the chunk's verdicts
    path: str
    row: dict[str, Any]
    new: bool  # nothing the library held when the import began had its id, content or dialogue
    # It was new, or met something of this import's: a copy held by anyone else was
    # stored meanwhile (by another member of a team library).
    expected_mine: bool


class _Mine:
    """The ids, contents and dialogues this import stored, or holds in the chunk in hand."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.contents: set[str] = set()
        self.dialogues: set[str] = set()
        self.replaced: set[str] = set()  # ids whose stored conversation this import replaced
        self.paths: dict[str, str] = {}  # id → the file it came from (what a repeat names)
        self.near = StoredNear()  # the near-duplicate check's index of the library, if read

    def add(self, row: dict[str, Any], path: str | None = None) -> None:
        if path is not None:
            self.paths.setdefault(row["conversation_id"], path)
        self.ids.add(row["conversation_id"])
        self.contents.add(row["content_sha256"])
        self.dialogues.add(row["dialogue_sha256"])

    def discard(self, row: dict[str, Any]) -> None:
        self.ids.discard(row["conversation_id"])
        self.contents.discard(row["content_sha256"])
        self.dialogues.discard(row["dialogue_sha256"])

    def shares(self, row: dict[str, Any]) -> bool:
        return (row["conversation_id"] in self.ids or row["content_sha256"] in self.contents
                or row["dialogue_sha256"] in self.dialogues)


class _Held:
    """What the library holds, in the transaction storing a chunk, of the ids, contents and
    dialogues the chunk's conversations carry; kept up to date as the chunk is stored."""

    def __init__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        self.by_id: dict[str, tuple[int, str, str, str | None]] = {}  # pk, batch, content, dialogue
        self.by_content: dict[str, str] = {}  # content hash → conversation id
        self.by_dialogue: dict[str, str] = {}  # dialogue hash → a conversation id
        self.marks: dict[str, str] = {}  # id → who marked it reviewed (``app.review``)
        columns = (Conversation.conversation_id, Conversation.pk, Conversation.batch_id,
                   Conversation.content_sha256, Conversation.dialogue_sha256,
                   Conversation.reviewed_by)
        for column, key in ((Conversation.conversation_id, "conversation_id"),
                            (Conversation.content_sha256, "content_sha256"),
                            (Conversation.dialogue_sha256, "dialogue_sha256")):
            wanted = sorted({r[key] for r in rows if r[key] is not None})
            for part in in_parts(wanted):
                for cid, pk, batch, content, dialogue, by in session.execute(
                        select(*columns).where(column.in_(part))):
                    self._hold(cid, pk, batch, content, dialogue)
                    if by is not None:
                        self.marks[cid] = by

    def _hold(self, cid: str, pk: int, batch: str, content: str,
              dialogue: str | None) -> None:
        self.by_id[cid] = (pk, batch, content, dialogue)
        self.by_content[content] = cid
        if dialogue is not None:
            self.by_dialogue.setdefault(dialogue, cid)

    def _carried_by_another(self, dialogue: str, gone: str) -> None:
        """``gone`` no longer carries ``dialogue``: another held conversation may (a library
        can hold two with one dialogue, stored before the dialogue check existed; every
        conversation carrying a dialogue of the chunk's is held), and it is a repeat of
        that one still."""
        del self.by_dialogue[dialogue]
        for cid, (_pk, _batch, _content, carried) in self.by_id.items():
            if carried == dialogue and cid != gone:
                self.by_dialogue[dialogue] = cid
                return

    def holds_any(self, row: dict[str, Any]) -> bool:
        return (row["conversation_id"] in self.by_id or row["content_sha256"] in self.by_content
                or row["dialogue_sha256"] in self.by_dialogue)

    def stored(self, row: dict[str, Any], pk: int) -> None:
        """``row`` was stored (or replaced the conversation of its id) under ``pk``."""
        cid = row["conversation_id"]
        before = self.by_id.get(cid)
        if before is not None:  # replaced: its old content and dialogue are gone
            if self.by_content.get(before[2]) == cid:
                del self.by_content[before[2]]
            if before[3] is not None and self.by_dialogue.get(before[3]) == cid:
                self._carried_by_another(before[3], cid)
        batch = before[1] if before is not None else row["batch_id"]
        self._hold(cid, pk, batch, row["content_sha256"], row["dialogue_sha256"])


# The conversations table's columns an import writes, and the value of each one a row may
# leave out (the model's own defaults: SQLAlchemy applies them in Python, not the database).
_COLUMNS = [column for column in Conversation.__table__.columns if column.key != "pk"]
_INSERT_COLUMNS = tuple(column.key for column in _COLUMNS)
_DEFAULTS = {column.key: None if column.default is None else column.default.arg
             for column in _COLUMNS}
if any(column.default is not None and not column.default.is_scalar for column in _COLUMNS):
    raise TypeError("a conversations column has a computed default: _insert_conversations "
                    "would need to compute it")
_INSERT_CONVERSATION = (
    f"INSERT INTO {Conversation.__tablename__} ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})")


def _insert_conversations(session: Session, rows: Sequence[dict[str, Any]],
                          imported_at: str) -> list[int]:
    """Insert the summary rows with one ``executemany`` in the driver and return their
    row keys in the order of ``rows``.

    Why not ``insert(...).returning(pk, sort_by_parameter_order=True)``: on SQLite that
    sends one statement per row (its RETURNING order is not guaranteed), and the ORM's
    per-row bookkeeping cost more than the rest of storing a chunk. The row keys are read
    back by conversation id, which is unique, within the same transaction.
    """
    stamp = {"imported_at": imported_at}
    connection = session.connection()
    driver_sql(connection, _INSERT_CONVERSATION,
               [tuple(map((_DEFAULTS | row | stamp).__getitem__, _INSERT_COLUMNS))
                for row in rows])
    ids = [row["conversation_id"] for row in rows]
    found: dict[str, int] = {}
    for part in in_parts(ids):
        found.update((cid, pk) for cid, pk in driver_sql(
            connection, f"SELECT conversation_id, pk FROM {Conversation.__tablename__} "
            f"WHERE conversation_id IN ({','.join('?' * len(part))})", tuple(part)))
    return [found[cid] for cid in ids]


def _store(library: Library, rows: Sequence[_Row], verdicts: list[FileVerdict | None],
           mine: _Mine, replace: bool | Collection[str], imported_at: str) -> list[str]:
    """Store one chunk in one transaction and give each of its conversations its verdict
    there, against what the library holds at that moment; return the batches it created.

    A new conversation is stored unless someone stored its id, content or dialogue since
    the import began (another member of a team library): then it is judged like the rest.
    The rest (their id, content or dialogue was stored, or met earlier in this import) are
    judged in order, by ``_judge``, and so is a new one repeating one of them earlier in the
    chunk, after it: a duplicate of a conversation removed meanwhile is stored after all."""
    created: list[str] = []
    with library.session() as session, session.begin():
        # A team library: what the chunk finds stored now stays so until it commits, as
        # removals wait for it and other imports store one chunk at a time (taken in the
        # order a copy of the library takes them, app.copy_library). A library folder has
        # one writer already.
        lock_in_transaction(session, REMOVING, shared=True)
        lock_in_transaction(session, IMPORTING)
        held = _Held(session, [r.row for r in rows])
        storing = []
        before = _Mine()  # what the rows judged in order carry, so far in the chunk
        for r in rows:
            if not r.new:
                before.add(r.row)
            elif held.holds_any(r.row):
                mine.discard(r.row)  # someone else stored it meanwhile: judged below
            elif not before.shares(r.row):
                storing.append(r)
            # else an earlier row of the chunk judged in order carries its id, content or
            # dialogue (a stored id's new version carries a new dialogue): judged after it,
            # against what it left held
        if storing:
            pks = _insert(library, session, [r.row for r in storing], imported_at, created,
                          mine.near)
            for r, pk in zip(storing, pks, strict=True):
                held.stored(r.row, pk)
                verdicts[r.slot] = FileVerdict(r.path, Verdict.IMPORTED, "",
                                               r.row["conversation_id"], r.row["batch_id"],
                                               **_told(r.row, stored=True))
        for r in rows:
            if verdicts[r.slot] is None:
                verdicts[r.slot] = _judge(library, session, r, held, mine, replace,
                                          imported_at, created)
    return created


MEANWHILE = ", stored meanwhile by another member of the team"
OTHER_CONTENT = "id, other content"  # ``FileVerdict.repeats``: two files of one import disagree


def _judge(library: Library, session: Session, item: _Row, held: _Held, mine: _Mine,
           replace: bool | Collection[str], imported_at: str,
           created: list[str]) -> FileVerdict:
    """The verdict of a conversation whose id, content or dialogue was met before, against
    what the library holds now: a duplicate (by content, id or dialogue, naming the copy
    held), changed or replaced (the id held with other content), or imported when
    nothing of it is held any more."""
    path, row = item.path, item.row
    cid = row["conversation_id"]
    told = _told(row)

    def meanwhile(other: str) -> str:
        ours = other in mine.ids or other in mine.replaced
        return MEANWHILE if library.is_team and item.expected_mine and not ours else ""

    def duplicate(reason: str, repeats: str, other: str) -> FileVerdict:
        """A duplicate of ``other``: this import's (naming its file) or a stored one."""
        if other in mine.ids:
            return FileVerdict(path, Verdict.DUPLICATE, reason, cid, repeats=repeats,
                               earlier=mine.paths.get(other), **told)
        return FileVerdict(path, Verdict.DUPLICATE, reason, cid, stored_as=other,
                           repeats=repeats, **told)

    same = held.by_content.get(row["content_sha256"])
    if same is not None:
        if same in mine.ids:
            return duplicate(f"the same content as conversation {same}, imported earlier "
                             "in this import", "content", same)
        return duplicate(f"the same content as conversation {same} "
                         f"{STORED_MARK}{meanwhile(same)}", "content", same)
    stored = held.by_id.get(cid)
    if stored is not None:
        pk, batch = stored[0], stored[1]
        # What the conversation is, worked out only here: most files never collide.
        old, new = _stored_record(session, pk), unpack(row["document"])
        if substance(old) == substance(new):
            if cid in mine.ids:
                return duplicate(f"conversation {cid} was imported earlier in this import",
                                 "id", cid)
            seen = ("was stored meanwhile by another member of the team" if meanwhile(cid)
                    else "is already in the library")
            return duplicate(f"conversation {cid} {seen}", "id", cid)
        if cid in mine.ids or cid in mine.replaced:
            # Two files of this import disagree: the one read first was stored; replacing
            # it by the next would let the files' order choose, and asking "replace the
            # stored version?" would name as stored what this very import brought.
            return FileVerdict(
                path, Verdict.DUPLICATE,
                f"conversation {cid} was imported earlier in this import from another file, "
                "with different content; this version was left out", cid,
                repeats=OTHER_CONTENT, earlier=mine.paths.get(cid), **told)
        # Only what was asked about: a file replaced for one of its conversations may hold
        # another that this import's first pass stored from another file.
        if not (replace is True or (not isinstance(replace, bool) and cid in replace)):
            return FileVerdict(
                path, Verdict.CHANGED,
                f"conversation {cid} is already in the library with different content; "
                "import it again with replace to use this version", cid, **told)
        # A mark certifies the text a person read: a new version saying other things loses
        # it, unless the new version brings its own (a full JSON of ours carries the mark
        # of the library it was built in: ``app.review.carried_mark``), which then stands.
        taken = (None if "reviewed_by" in row or reviewed_text(old.get("messages") or [])
                 == reviewed_text(new.get("messages") or []) else held.marks.pop(cid, None))
        _replace(session, pk, row, imported_at, keep_mark=taken is None)
        held.stored(row, pk)
        mine.near.replaced(cid, row["dialogue_sketch"])  # later rows meet its new text
        mine.replaced.add(cid)  # what it holds now is this import's, not another member's
        mine.paths.setdefault(cid, path)
        return FileVerdict(path, Verdict.REPLACED, "replaced the stored version", cid, batch,
                           mark_taken=taken, **_told(row, stored=True))
    same = held.by_dialogue.get(row["dialogue_sha256"])
    if same is not None:
        where = ("(earlier in this import)" if same in mine.ids
                 else f"{STORED_MARK}{meanwhile(same)}")
        return duplicate(f"the same dialogue as conversation {same} {where}, under the id "
                         f"{cid}", "dialogue", same)
    # Nothing of it is held (what it repeated was removed meanwhile): stored after all.
    (pk,) = _insert(library, session, [row], imported_at, created, mine.near)
    held.stored(row, pk)
    mine.add(row, path)
    return FileVerdict(path, Verdict.IMPORTED, "", cid, row["batch_id"],
                       **_told(row, stored=True))


def _told(row: dict[str, Any], stored: bool = False) -> dict[str, Any]:
    """What a verdict tells of its conversation beyond the verdict: its client, and, for
    one ``stored``, whether the import converted it from the older v3 format."""
    return {"client": row.get("persona_name") or None,
            "older_format": stored and row.get("source_kind") == "legacy",
            "near_of": row.get("near_of") if stored else None}


def _stored_record(session: Session, pk: int) -> dict[str, Any]:
    """A stored conversation's record, as imported (no review mark applied)."""
    record: dict[str, Any] = unpack(session.scalars(
        select(ConversationDocument.document).where(ConversationDocument.pk == pk)).one())
    return record


def _replace(session: Session, pk: int, row: dict[str, Any], imported_at: str,
             keep_mark: bool) -> None:
    """Put a new version in place of a stored conversation: same row key, so training
    files keep it at its place; same batch, as the user may have moved it. Unless
    ``keep_mark`` (the new version says what the stored one said), its review mark goes:
    no one reviewed the new text."""
    session.execute(
        insert_for(session, Profile).on_conflict_do_nothing(),
        [{"profile_hash": row["profile_hash"], "document": row["profile_document"]}])
    values = {k: v for k, v in row.items()
              if k not in (*NOT_COLUMNS, "conversation_id", "batch_id")}
    forget_totals(session, [pk])  # files holding it render it again
    # token_count=0: the stored count was of the old text; it is made again when asked
    # (the Tokens column, the length limit's checks) instead of passing for the new one's
    values = {**values, "token_count": 0}
    if not keep_mark:
        values.update(reviewed_by=None, reviewed_at=None)
    session.execute(update(Conversation).where(Conversation.pk == pk)
                    .values(**values, imported_at=imported_at))
    session.execute(update(ConversationDocument).where(ConversationDocument.pk == pk)
                    .values(document=row["document"]))
    index_keys(session, [(pk, row["dialogue_sketch"])])


def _insert(library: Library, session: Session, rows: list[dict[str, Any]],
            imported_at: str, created: list[str], near: StoredNear) -> list[int]:
    """Insert new conversations in ``session``'s transaction; return their row keys, in
    order. Batches it had to create are added to ``created``; ``near`` is the import's
    index for the near-duplicate check (``fingerprints.StoredNear``)."""
    for batch_id in sorted({r["batch_id"] for r in rows}):
        if library.ensure_batch(session, batch_id):
            created.append(batch_id)
    profiles = {r["profile_hash"]: r["profile_document"] for r in rows}
    session.execute(
        insert_for(session, Profile).on_conflict_do_nothing(),
        [{"profile_hash": h, "document": d} for h, d in profiles.items()],
    )
    flag_near_duplicates(session, rows, near)
    pks = _insert_conversations(session, rows, imported_at)
    index_keys(session, [(pk, r["dialogue_sketch"]) for pk, r in zip(pks, rows, strict=True)])
    driver_sql(session.connection(),
               f"INSERT INTO {ConversationDocument.__tablename__} (pk, document) "
               "VALUES (?, ?)",
               [(pk, r["document"]) for pk, r in zip(pks, rows, strict=True)])
    return pks
