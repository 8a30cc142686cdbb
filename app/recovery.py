"""Finish or roll back work a killed process left behind, at the start of any command.

Three kinds of leftovers are recognised from what the library positively records:
build folders of unfinished builds or deleted training files (see
``trainingfiles.remove_orphan_files``), training files created by an older version that
never got their first build, and training files whose conversations changed batch while
their rebuild was cut short (their header no longer matches their members), or whose
stored files are missing, not the size they were built with, or without a recorded sha256
(``app.integrity``; builds of older versions). A stored file edited without changing its
size is caught when it is read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import orjson
from sqlalchemy import delete, func, select

from app import upkeep
from app.integrity import recorded_sha256
from app.library import Library
from app.models import Conversation, Member, TrainingFile
from app.paths import BUILD_FOLDER
from app.stored_repair import repair_stored, repaired_files
from app.trainingfiles import (
    BUILDING,
    DELETED,
    rebuild_training_files,
    remove_orphan_files,
)


def unfinished_creations(library: Library) -> list[str]:
    """Training files recorded without any build (an older version's interrupted add)."""
    with library.session() as session:
        return list(session.scalars(
            select(TrainingFile.name).where(TrainingFile.json_file.is_(None))))


def _stored_size(path: Path) -> int | None:
    """The file's size, or None when it is missing or has no recorded sha256."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return size if recorded_sha256(path) is not None else None


def stale_training_files(library: Library) -> list[str]:
    """Files whose header names other batches than their members have now, or whose
    stored JSON or JSONL is missing, not the size it was built with, or unrecorded."""
    with library.session() as session:
        rows = session.execute(select(
            TrainingFile.file_id, TrainingFile.name, TrainingFile.header,
            TrainingFile.json_file, TrainingFile.jsonl_file, TrainingFile.json_bytes,
            TrainingFile.jsonl_bytes).where(TrainingFile.json_file.is_not(None))).all()
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for file_id, batch_id, number in session.execute(
            select(Member.file_id, Conversation.batch_id, func.count())
            .join(Conversation, Conversation.pk == Member.conversation_pk)
            .group_by(Member.file_id, Conversation.batch_id)
        ):
            counts[file_id][str(batch_id)] = number
    stale = []
    for file_id, name, header, json_file, jsonl_file, json_bytes, jsonl_bytes in rows:
        written = (orjson.loads(header).get("scaffolding_distribution") or {}).get("batch") \
            if header else None
        sizes = (_stored_size(library.files_dir / (json_file or "")),
                 _stored_size(library.files_dir / (jsonl_file or "")))
        if written != dict(counts[file_id]) or sizes != (json_bytes, jsonl_bytes):
            stale.append(name)
    return sorted(stale)


def needs_recovery(library: Library) -> bool:
    """Cheap enough for every command, and works on a library opened read-only."""
    if upkeep.due(library.root):
        return True
    if unfinished_creations(library) or stale_training_files(library):
        return True
    with library.session() as session:
        rows = session.execute(select(TrainingFile.file_id, TrainingFile.revision)).all()
    revisions = dict(rows)
    files_dir = library.files_dir
    if not files_dir.is_dir():
        return False
    for path in files_dir.iterdir():
        match = BUILD_FOLDER.match(path.name)
        if not match or not path.is_dir():
            continue
        if (path / BUILDING).exists() or (path / DELETED).exists():
            return True
        if int(match["revision"]) < revisions.get(int(match["file_id"]), -1):
            return True
    return False


def finish_interrupted_work(library: Library) -> list[str]:
    """Roll back unfinished creations, remove known leftovers, rebuild stale files.

    Returns one sentence per thing done, for the person to read.
    """
    done = []
    for name in unfinished_creations(library):
        with library.session() as session, session.begin():
            session.execute(delete(TrainingFile).where(TrainingFile.name == name))
        done.append(f"removed the training file '{name}', whose creation was interrupted")
    for folder in remove_orphan_files(library):
        done.append(f"removed {folder.name}, left over by an interrupted build")
    stale = stale_training_files(library)
    for name in rebuild_training_files(library, stale, from_scratch=True):
        done.append(f"rebuilt the training file '{name}', whose last rebuild was interrupted "
                    "or whose stored files were changed")
    return done + one_time_passes(library)


def one_time_passes(library: Library) -> list[str]:
    """Give conversations stored by older versions what an import does today, once
    (``app.upkeep`` records it); training files holding a changed conversation are rebuilt."""
    due = upkeep.due(library.root)
    if library.read_only or not due:
        return []
    done = []
    if upkeep.TEXT_REPAIR in due:
        repaired = repair_stored(library)
        if repaired:
            done.append(f"repaired literal escape sequences in {len(repaired)} conversation(s) "
                        "stored before text repair existed (warning text_repaired)")
        for name in rebuild_training_files(library, repaired_files(library, repaired)):
            done.append(f"rebuilt the training file '{name}', which holds repaired "
                        "conversations")
    upkeep.record(library.root, due)
    return done
