"""The copies of a training file saved out of the library, and whether each still matches.

Every export records each data file it wrote (``app.export``): where, in what format, the
training file's revision and the size and sha256 of the stored build it was made from, and
the size, modification time and sha256 of the file written. The files page then tells a
person when a copy is *stale*: the training file has been rebuilt with other content since
(a later revision whose stored JSON or JSONL differs in size or sha256; a rebuild that
gave the same bytes, such as a removal undone, leaves the JSONL copy current). A copy whose
file is missing, or whose size or modification time no longer match what was written, is
*gone*: the person moved or changed it, and nothing is said about it.

The table is kept in the library rather than found by reading the manifests back: the
manifests lie in whatever folders the person chose, and only the library knows which
folders those were. A library opened only to read records nothing (it never writes).

Telling a stale copy from a current one after a rebuild that kept the size takes the
sha256 of the stored build: a build the size of a saved copy stores it
(``app.stored_builds.hash_for_saved_copies``), an export stores what it read, and one not
stored yet (a file built before revision 0007) is made once by ``build_sha256``, which the
window runs off its thread: until then such a copy is ``CHECKING``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from threading import Lock

from sqlalchemy import delete, select, update

from app.library import Library, now_iso
from app.models import SavedCopy, TrainingFile
from app.stored_builds import SHA_COLUMNS, keep_build_sha256, part_of
from app.trainingfiles import read_build


class CopyState(StrEnum):
    CURRENT = "current"  # made from the training file as it is now
    STALE = "stale"  # the file was rebuilt with other content since
    GONE = "gone"  # missing, or changed since it was written: not ours to speak of
    CHECKING = "checking"  # the build's sha256 is not known yet (``build_sha256`` makes it)


@dataclass(frozen=True)
class Written:
    """One data file an export wrote, with the sha256 its manifest gives it."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class SavedCopyState:
    path: Path
    export_format: str
    saved_at: str  # UTC, as ``now_iso`` writes it
    state: CopyState


def record_saved(library: Library, name: str, export_format: str, revision: int,
                 source: dict[str, dict[str, object]], written: Sequence[Written]) -> None:
    """Remember the files an export of ``name`` just wrote. ``revision``: the training
    file's revision read before its build was (so a rebuild in between is seen as one);
    ``source``: size and sha256 of each stored part read (``app.export.Source.described``).
    A read-only library records nothing."""
    if library.read_only or not written:
        return
    described = source[part_of(export_format)]
    saved_at = now_iso()
    rows = []
    for item in written:
        if not _storable(item.path):
            continue
        stat = item.path.stat()
        rows.append(SavedCopy(
            path=str(item.path), export_format=export_format, revision=revision,
            source_bytes=int(str(described["bytes"])),
            source_sha256=str(described["sha256"]), bytes=stat.st_size,
            mtime_ns=stat.st_mtime_ns, sha256=item.sha256, saved_at=saved_at))
    if not rows:
        return
    with library.session() as session, session.begin():
        file_id = session.scalar(select(TrainingFile.file_id)
                                 .where(TrainingFile.slug == name.casefold()))
        if file_id is None:  # deleted meanwhile: its copies are nobody's
            return
        session.execute(delete(SavedCopy).where(SavedCopy.path.in_([r.path for r in rows])))
        for row in rows:
            row.file_id = file_id
            session.add(row)
        for part, read in source.items():  # the build as it was read, if it still is
            if "sha256" in read:
                session.execute(update(TrainingFile).where(
                    TrainingFile.file_id == file_id, TrainingFile.revision == revision,
                    getattr(TrainingFile, SHA_COLUMNS[part]).is_(None))
                    .values({SHA_COLUMNS[part]: str(read["sha256"])})
                    .execution_options(synchronize_session=False))


def _storable(path: Path) -> bool:
    """Whether ``path`` can be kept as text: a folder named in another encoding (bytes
    that are not UTF-8) cannot, and its copies go unrecorded, as its manifest names it
    only approximately."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


RECENT_FOLDERS = 50  # the folders of the latest saves tidied at start (``saved_folders``)
RECENT_ROWS = 2_000  # the latest saves read to find them


def saved_folders(library: Library, most: int = RECENT_FOLDERS) -> list[Path]:
    """The folders the latest copies on record were saved in, latest first: where a save
    stopped midway (the app killed, the computer off) most likely left its hidden files
    (``app.earlier_files``), to be tidied at the next start rather than at the next save
    there."""
    with library.session() as session:
        paths = session.scalars(select(SavedCopy.path).order_by(SavedCopy.saved_at.desc())
                                .limit(RECENT_ROWS)).all()
    folders = dict.fromkeys(Path(path).parent for path in paths)
    return list(folders)[:most]


def revision_of(library: Library, name: str) -> int:
    with library.session() as session:
        return int(session.scalar(select(TrainingFile.revision)
                                  .where(TrainingFile.slug == name.casefold())) or 0)


def saved_copies(library: Library, name: str, *,
                 hash_missing: bool = True) -> list[SavedCopyState]:
    """The copies of ``name`` on record, oldest save first, each with its state (the
    files' sizes and times are checked; the build's stored sha256 is compared when a
    copy's revision is not the file's and its stored size is still the same). A sha256
    not stored yet is made by reading the build through (``build_sha256``), or, without
    ``hash_missing`` (the window's thread), the copy is ``CHECKING``."""
    with library.session() as session:
        file = session.scalar(select(TrainingFile).where(TrainingFile.slug == name.casefold()))
        if file is None:
            return []
        rows = session.scalars(select(SavedCopy).where(SavedCopy.file_id == file.file_id)
                               .order_by(SavedCopy.saved_at, SavedCopy.path)).all()
        revision, real_name = file.revision, file.name
        sizes = {"json": file.json_bytes, "jsonl": file.jsonl_bytes}
        stored = {"json": file.json_sha256, "jsonl": file.jsonl_sha256}
        found = [(Path(r.path), r.export_format, r.saved_at, r.revision, r.source_bytes,
                  r.source_sha256, r.bytes, r.mtime_ns) for r in rows]
    states = []
    for path, fmt, saved_at, made_from, source_bytes, source_sha256, size, mtime_ns in found:
        part = part_of(fmt)
        if not _unchanged(path, size, mtime_ns):
            state = CopyState.GONE
        elif made_from == revision:
            state = CopyState.CURRENT
        elif sizes[part] != source_bytes:
            state = CopyState.STALE
        else:
            digest = stored[part] or _known(library, real_name, revision, part)
            if digest is None and hash_missing:
                digest = build_sha256(library, real_name, revision, part)
            if digest is None:
                state = CopyState.CHECKING
            else:
                state = CopyState.CURRENT if digest == source_sha256 else CopyState.STALE
        states.append(SavedCopyState(path, fmt, saved_at, state))
    return states


def stale_copies(library: Library, names: Iterable[str], *,
                 hash_missing: bool = True) -> dict[str, list[SavedCopyState]]:
    """The stale copies of each of ``names`` that has any (a copy still ``CHECKING``
    without ``hash_missing`` is not counted)."""
    found = {}
    for name in names:
        stale = [c for c in saved_copies(library, name, hash_missing=hash_missing)
                 if c.state is CopyState.STALE]
        if stale:
            found[name] = stale
    return found


def _unchanged(path: Path, size: int, mtime_ns: int) -> bool:
    """Whether the file is where it was written, as it was written (size and time only)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    return path.is_file() and stat.st_size == size and stat.st_mtime_ns == mtime_ns


# Made by a library that may not store them (opened only to read): (library, file,
# revision, part)
_digests: dict[tuple[str, str, int, str], str] = {}
_digests_lock = Lock()


def _known(library: Library, name: str, revision: int, part: str) -> str | None:
    with _digests_lock:
        return _digests.get((str(library.engine.url), name.casefold(), revision, part))


def build_sha256(library: Library, name: str, revision: int, part: str) -> str:
    """The sha256 of the stored full JSON (``part`` "json") or JSONL of ``name`` at
    ``revision``, read through once per revision (a build never changes in place) and
    stored with the file (kept in memory by a library opened only to read). Seconds for
    a large file: never on the window's thread."""
    known = _known(library, name, revision, part)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with read_build(library, name) as build:
        chunks = build.json_chunks() if part == "json" else build.jsonl_lines()
        for chunk in chunks:
            digest.update(chunk)
    value = digest.hexdigest()
    with library.session() as session:
        file_id = session.scalar(select(TrainingFile.file_id).where(
            TrainingFile.slug == name.casefold(), TrainingFile.revision == revision))
    if file_id is None:  # read from a later revision than asked: not that one's
        return value
    if library.read_only:
        with _digests_lock:
            _digests[(str(library.engine.url), name.casefold(), revision, part)] = value
    else:
        with library.session() as session, session.begin():
            keep_build_sha256(session, file_id, revision, part, value)
    return value
