"""Each build of a training file with saved copies keeps the sha256 of its full JSON and
JSONL (``app.stored_builds``), so the files page checks a copy without reading the build;
a build from before revision 0007 has them made once, when asked, and stored. Real
library (a folder and a team library), real builds, real saves into folders on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import addable
from old_libraries import back_to_0006
from sqlalchemy import select

from app.export import ExportFormat, export
from app.library import Library
from app.models import TrainingFile
from app.saved_copies import CopyState, saved_copies
from app.trainingfiles import (
    add_conversations,
    rebuild_training_files,
    remove_conversations,
    set_max_seq_len,
)

pytestmark = pytest.mark.usefixtures("backend")  # a library folder and a team library

NAME = "Coaching A"


def _stored(library: Library) -> tuple[str | None, str | None]:
    with library.session() as session:
        row = session.execute(select(TrainingFile.json_sha256, TrainingFile.jsonl_sha256)
                              .where(TrainingFile.slug == NAME.casefold())).one()
    return row[0], row[1]


def _on_disk(library: Library, folder: Path) -> tuple[str, str]:
    """The sha256 of the file's JSON and JSONL as saved out now (saved after the stored
    ones are read: a save stores what it read when nothing is stored)."""
    folder.mkdir()
    export(library, NAME, ExportFormat.JSON, folder / f"{NAME}.json")
    export(library, NAME, ExportFormat.JSONL, folder / f"{NAME}.jsonl")
    return (hashlib.sha256((folder / f"{NAME}.json").read_bytes()).hexdigest(),
            hashlib.sha256((folder / f"{NAME}.jsonl").read_bytes()).hexdigest())


def _jsonl_state(library: Library, *, hash_missing: bool = True) -> CopyState:
    """The first JSONL copy's, in ``saved`` (the JSON's header says when it was built: a
    build from scratch a second later is another JSON)."""
    (state,) = [c.state for c in saved_copies(library, NAME, hash_missing=hash_missing)
                if c.export_format == "jsonl" and c.path.parent.name == "saved"]
    return state


def _saved(library: Library, tmp_path: Path) -> list[str]:
    ids = addable([row.conversation_id for row in library.summaries()])
    add_conversations(library, NAME, ids[:4], create=True)
    _on_disk(library, tmp_path / "saved")  # the copies the library now knows of
    return ids


def test_every_kind_of_build_the_size_of_a_saved_copy_stores_its_sha256(
        filled_library: Library, tmp_path: Path) -> None:
    """A removal (by its delta) changes the size: nothing to compare, nothing read. The
    conversation added back (by its delta, at the end: the same size, other bytes), the
    length limit changed and changed back, a build from scratch: each is the size of the
    copies saved, and stores the sha256 of what it saves out."""
    ids = _saved(filled_library, tmp_path)
    remove_conversations(filled_library, NAME, ids[:1])
    assert _stored(filled_library) == (None, None)
    add_conversations(filled_library, NAME, ids[:1])
    stored = _stored(filled_library)
    assert stored == _on_disk(filled_library, tmp_path / "added back")
    assert _jsonl_state(filled_library) is CopyState.STALE  # (its lines in another order)
    set_max_seq_len(filled_library, NAME, 2048)
    set_max_seq_len(filled_library, NAME, 4096)
    assert _stored(filled_library) == _on_disk(filled_library, tmp_path / "settings")
    rebuild_training_files(filled_library, [NAME], from_scratch=True)
    assert _stored(filled_library) == _on_disk(filled_library, tmp_path / "from scratch")
    assert None not in stored


def test_a_build_of_another_size_than_every_saved_copy_is_not_read_through(
        filled_library: Library, tmp_path: Path) -> None:
    ids = _saved(filled_library, tmp_path)
    add_conversations(filled_library, NAME, ids[4:6])
    assert _stored(filled_library) == (None, None)
    assert _jsonl_state(filled_library, hash_missing=False) is CopyState.STALE


def test_a_library_from_before_0007_has_the_sha256_made_once_when_a_copy_needs_it(
        filled_library: Library, tmp_path: Path, backend: str) -> None:
    """Saved, then built again with the same lines (same size, new revision): the JSONL
    copy is compared by sha256. Opened as a library of revision 0006, none is stored: without
    reading the build the copy is being checked; read, it is current, and stored (by a
    reader of a library folder, which reads an upgraded copy, kept in memory; a team
    library is read only once a writer has upgraded it)."""
    _saved(filled_library, tmp_path)
    rebuild_training_files(filled_library, [NAME], from_scratch=True)
    location = filled_library.location
    filled_library.close()
    back_to_0006(location)

    if backend == "sqlite":
        with Library.open(location, read_only=True) as reader:
            assert _stored(reader) == (None, None)
            assert _jsonl_state(reader, hash_missing=False) is CopyState.CHECKING
            assert _jsonl_state(reader) is CopyState.CURRENT
            assert _jsonl_state(reader, hash_missing=False) is CopyState.CURRENT  # kept while open
    with Library.open(location) as library:
        assert _stored(library) == (None, None)
        assert _jsonl_state(library, hash_missing=False) is CopyState.CHECKING
        assert _jsonl_state(library) is CopyState.CURRENT
        json_sha, jsonl_sha = _stored(library)
        assert json_sha is not None and jsonl_sha is not None
        assert (json_sha, jsonl_sha) == _on_disk(library, tmp_path / "check")
