"""Import conversation files and folders into the library.

Every file gets exactly one verdict: imported, duplicate (same conversation id or same
content as something already stored or earlier in this import) or rejected (with the
engine's reason). One bad file never stops the rest. Work is committed in chunks, so a
cancel or a crash keeps every finished chunk and never half of one.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.errors import InputError, LibraryError
from app.fingerprints import fill_missing, flag_near_duplicates, index_keys, stored_dialogues
from app.library import Library, clean_batch_id, now_iso, pack
from app.loader import load_conversation_file
from app.models import Conversation, ConversationDocument, Profile
from app.records import digest_of, summarise
from app.similar import fingerprint

CHUNK = 250  # files per commit
PARALLEL_FROM = 400  # below this many files a process pool costs more than it saves

Progress = Callable[[int, int, str], None]


class Verdict(StrEnum):
    IMPORTED = "imported"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class FileVerdict:
    path: str
    verdict: Verdict
    reason: str = ""
    conversation_id: str | None = None
    batch_id: str | None = None


@dataclass
class ImportReport:
    verdicts: list[FileVerdict] = field(default_factory=list)
    cancelled: bool = False

    def count(self, verdict: Verdict) -> int:
        return sum(1 for v in self.verdicts if v.verdict is verdict)

    @property
    def imported(self) -> int:
        return self.count(Verdict.IMPORTED)

    @property
    def duplicates(self) -> int:
        return self.count(Verdict.DUPLICATE)

    @property
    def rejected(self) -> int:
        return self.count(Verdict.REJECTED)

    def summary(self) -> str:
        text = (f"{self.imported} imported, {self.duplicates} duplicate, "
                f"{self.rejected} rejected")
        return text + (" (cancelled)" if self.cancelled else "")


@dataclass(frozen=True)
class Candidate:
    """A file to import and the batch it gets unless the file names its own."""

    path: Path
    default_batch: str


def loose_batch_name(moment: datetime | None = None) -> str:
    return (moment or datetime.now()).strftime("import-%Y-%m-%d-%H%M%S")


def collect(
    paths: Sequence[Path], batch: str | None = None
) -> tuple[list[Candidate], list[FileVerdict]]:
    """Expand files and folders (recursively, ``*.json``) into candidates.

    A folder's files default to the folder's name as batch; loose files share one
    timestamped batch. A batch given by the user overrides both defaults. Links that lead
    out of a dropped folder and folders that cannot be read get a verdict, never silence.
    """
    loose = loose_batch_name()
    candidates: list[Candidate] = []
    problems: list[FileVerdict] = []
    seen: set[str] = set()  # real paths; a file reached twice is imported once

    def add(file: Path, default: str) -> None:
        key = os.path.realpath(file)
        if key not in seen:
            seen.add(key)
            candidates.append(Candidate(file, default))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            default = batch or path.resolve().name or loose
            found, refused = _json_files(path)
            problems.extend(refused)
            if not found and not refused:
                problems.append(FileVerdict(str(path), Verdict.REJECTED,
                                            "the folder holds no .json files"))
            for file in sorted(found):
                add(file, default)
        elif path.exists() or path.is_symlink():
            # Chosen by name: a file, or something that is not one (a pipe, a device, a
            # broken link), which the reader refuses with a verdict saying what it is.
            add(path, batch or loose)
        else:
            problems.append(FileVerdict(str(path), Verdict.REJECTED, "no such file or folder"))
    return candidates, problems


def _json_files(folder: Path) -> tuple[list[Path], list[FileVerdict]]:
    """``*.json`` files below ``folder`` (hidden ones skipped) and verdicts for what is not
    read: folders that cannot be listed, and links that lead out of ``folder``."""
    inside = os.path.realpath(folder)
    found: list[Path] = []
    refused: list[FileVerdict] = []

    def unreadable(error: OSError) -> None:
        where = error.filename or str(folder)
        refused.append(FileVerdict(str(where), Verdict.REJECTED,
                                   f"this folder cannot be read ({error.strerror or error}); "
                                   "nothing in it was imported"))

    def leaves(path: Path) -> bool:
        target = os.path.realpath(path)
        return os.path.commonpath([inside, target]) != inside

    for top, folders, files in os.walk(folder, onerror=unreadable):
        kept = []
        for name in folders:
            if name.startswith("."):
                continue
            sub = Path(top, name)
            if sub.is_symlink():  # os.walk does not enter linked folders: say so
                refused.append(FileVerdict(
                    str(sub), Verdict.REJECTED,
                    f"a link to the folder {os.path.realpath(sub)}; links to folders are not "
                    "followed: import that folder itself"))
            else:
                kept.append(name)
        folders[:] = kept
        for name in files:
            if not name.lower().endswith(".json") or name.startswith("."):
                continue
            file = Path(top, name)
            if file.is_symlink() and leaves(file):
                refused.append(FileVerdict(
                    str(file), Verdict.REJECTED,
                    f"a link to {os.path.realpath(file)}, outside the folder {folder}; not "
                    "followed: copy the file into the folder, or import it by name"))
            else:
                found.append(file)
    return found, refused


def prepare(path: str, default_batch: str) -> tuple[str, dict[str, Any] | None, str]:
    """Parse one file into a ready-to-insert row (runs in worker processes too)."""
    try:
        return path, _row(path, default_batch), ""
    except InputError as exc:
        return path, None, exc.reason
    except LibraryError as exc:
        return path, None, str(exc)
    except Exception as exc:  # a bug or an unexpected shape must not stop the import
        return path, None, f"could not be read: {type(exc).__name__}: {exc}"


# The summary fields the conversations table has a column of its own for.
STORED_SUMMARY = frozenset(column.key for column in Conversation.__table__.columns)


def _row(path: str, default_batch: str) -> dict[str, Any]:
    record = load_conversation_file(Path(path), default_batch)
    record["batch_id"] = clean_batch_id(record["batch_id"] or default_batch)
    summary = summarise(record)
    dialogue = fingerprint(record)
    return {
        **{key: value for key, value in summary.items() if key in STORED_SUMMARY},
        "warning_codes": ",".join(summary["warning_codes"]),
        "profile_document": orjson.dumps(record.get("consultant_profile")),
        "digest": orjson.dumps(digest_of(summary)),
        "dialogue_sha256": dialogue.dialogue_sha256,
        "dialogue_sketch": dialogue.sketch,
        "document": pack(record),
    }


def _prepared(
    candidates: Sequence[Candidate], workers: int
) -> Iterator[tuple[str, dict[str, Any] | None, str]]:
    args = ([str(c.path) for c in candidates], [c.default_batch for c in candidates])
    if workers <= 1 or len(candidates) < PARALLEL_FROM:
        yield from map(prepare, *args)
        return
    # spawn, not fork: the caller may be a GUI with threads of its own.
    context = multiprocessing.get_context("spawn")
    delivered = 0
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = pool.map(prepare, *args, chunksize=32)
            try:
                for result in results:
                    delivered += 1
                    yield result
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    except concurrent.futures.process.BrokenProcessPool:
        # A worker died (out of memory, killed): finish the rest in this process.
        yield from map(prepare, args[0][delivered:], args[1][delivered:])


def import_paths(
    library: Library,
    paths: Sequence[Path],
    batch: str | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import files and folders; see the module docstring for the guarantees."""
    if batch is not None:
        batch = clean_batch_id(batch)
    candidates, problems = collect(paths, batch)
    report = ImportReport(verdicts=list(problems))
    with library.session() as session:
        known_ids = set(session.scalars(select(Conversation.conversation_id)))
        known_hashes = set(session.scalars(select(Conversation.content_sha256)))
    fill_missing(library)  # conversations stored before dialogue fingerprints existed
    with library.session() as session:
        known_dialogues = stored_dialogues(session)
    here: set[str] = set()  # dialogue hashes first seen in this import
    imported_at = now_iso()
    total = len(candidates)
    pending: list[dict[str, Any]] = []
    pending_verdicts: list[FileVerdict] = []

    def flush() -> None:
        if pending:
            _store(library, pending, imported_at)
        report.verdicts.extend(pending_verdicts)
        pending.clear()
        pending_verdicts.clear()

    count = workers if workers is not None else min(2, multiprocessing.cpu_count())
    for done, (path, row, reason) in enumerate(_prepared(candidates, count), start=1):
        if row is None:
            pending_verdicts.append(FileVerdict(path, Verdict.REJECTED, reason))
        elif row["content_sha256"] in known_hashes:
            pending_verdicts.append(FileVerdict(
                path, Verdict.DUPLICATE, "the same content is already in the library",
                row["conversation_id"]))
        elif row["conversation_id"] in known_ids:
            pending_verdicts.append(FileVerdict(
                path, Verdict.DUPLICATE,
                f"conversation {row['conversation_id']} is already in the library",
                row["conversation_id"]))
        elif row["dialogue_sha256"] in known_dialogues:
            same = known_dialogues[row["dialogue_sha256"]]
            where = "earlier in this import" if row["dialogue_sha256"] in here \
                else "already in the library"
            pending_verdicts.append(FileVerdict(
                path, Verdict.DUPLICATE,
                f"the same dialogue as conversation {same} ({where}), under the id "
                f"{row['conversation_id']}", row["conversation_id"]))
        else:
            known_ids.add(row["conversation_id"])
            known_hashes.add(row["content_sha256"])
            known_dialogues[row["dialogue_sha256"]] = row["conversation_id"]
            here.add(row["dialogue_sha256"])
            pending.append(row)
            pending_verdicts.append(FileVerdict(path, Verdict.IMPORTED, "",
                                                row["conversation_id"], row["batch_id"]))
        if len(pending_verdicts) >= CHUNK:
            flush()
        if progress:
            progress(done, total, Path(path).name)
        if cancelled and cancelled():
            report.cancelled = done < total
            break
    flush()
    return report


def _store(library: Library, rows: list[dict[str, Any]], imported_at: str) -> None:
    """Insert one chunk in one transaction."""
    with library.session() as session, session.begin():
        for batch_id in sorted({r["batch_id"] for r in rows}):
            library.ensure_batch(session, batch_id)
        profiles = {r["profile_hash"]: r["profile_document"] for r in rows}
        session.execute(
            sqlite_insert(Profile).on_conflict_do_nothing(),
            [{"profile_hash": h, "document": d} for h, d in profiles.items()],
        )
        flag_near_duplicates(session, rows)
        pks = session.scalars(
            insert(Conversation).returning(Conversation.pk, sort_by_parameter_order=True),
            [
                {k: v for k, v in r.items() if k not in ("profile_document", "document")}
                | {"imported_at": imported_at}
                for r in rows
            ],
        ).all()
        index_keys(session, [(pk, r["dialogue_sketch"]) for pk, r in zip(pks, rows, strict=True)])
        session.execute(
            insert(ConversationDocument),
            [{"pk": pk, "document": r["document"]} for pk, r in zip(pks, rows, strict=True)],
        )

