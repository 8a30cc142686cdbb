"""Saved copies of a training file, and whether a later rebuild left them out of date
(``app.saved_copies``): real library, real builds, real saves into folders on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import addable

from app.export import ExportFormat, export
from app.library import Library
from app.member_undo import remove_recorded, undo_removal
from app.saved_copies import CopyState, saved_copies
from app.trainingfiles import add_conversations, rebuild_training_files, set_max_seq_len

pytestmark = pytest.mark.usefixtures("backend")  # a library folder and a team library


def _made(library: Library, size: int = 4) -> list[str]:
    ids = addable([row.conversation_id for row in library.summaries()])
    add_conversations(library, "Coaching A", ids[:size], create=True)
    return ids


def _states(library: Library) -> dict[str, CopyState]:
    return {c.path.name: c.state for c in saved_copies(library, "Coaching A")}


def _save_both(library: Library, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    export(library, "Coaching A", ExportFormat.JSON, folder / "Coaching A.json", overwrite=True)
    export(library, "Coaching A", ExportFormat.JSONL, folder / "Coaching A.jsonl",
           overwrite=True)


def test_each_save_is_recorded_and_matches_the_file_until_it_is_rebuilt(
        filled_library: Library, tmp_path: Path) -> None:
    ids = _made(filled_library)
    _save_both(filled_library, tmp_path / "saved")
    copies = saved_copies(filled_library, "Coaching A")
    assert [(c.path, c.export_format) for c in copies] == [
        (tmp_path / "saved" / "Coaching A.json", "json"),
        (tmp_path / "saved" / "Coaching A.jsonl", "jsonl")]
    assert _states(filled_library) == {"Coaching A.json": CopyState.CURRENT,
                                       "Coaching A.jsonl": CopyState.CURRENT}

    add_conversations(filled_library, "Coaching A", ids[4:6])  # rebuilt, other content

    assert _states(filled_library) == {"Coaching A.json": CopyState.STALE,
                                       "Coaching A.jsonl": CopyState.STALE}
    # saved again: the JSONL matches, the JSON left beside it does not
    export(filled_library, "Coaching A", ExportFormat.JSONL,
           tmp_path / "saved" / "Coaching A.jsonl", overwrite=True)
    assert _states(filled_library) == {"Coaching A.json": CopyState.STALE,
                                       "Coaching A.jsonl": CopyState.CURRENT}


def test_a_rebuild_that_gives_the_same_lines_leaves_the_jsonl_copy_current(
        filled_library: Library, tmp_path: Path) -> None:
    """Compared by content, not by revision or time: a removal undone rebuilds the file
    (a new revision) with the lines it had."""
    ids = _made(filled_library)
    _save_both(filled_library, tmp_path / "saved")
    _info, undo = remove_recorded(filled_library, "Coaching A", ids[:1])
    assert _states(filled_library)["Coaching A.jsonl"] is CopyState.STALE

    undo_removal(filled_library, undo)

    assert _states(filled_library)["Coaching A.jsonl"] is CopyState.CURRENT


def test_a_copy_moved_or_changed_since_is_gone_and_never_called_stale(
        filled_library: Library, tmp_path: Path) -> None:
    _made(filled_library)
    _save_both(filled_library, tmp_path / "saved")
    json_copy, jsonl_copy = tmp_path / "saved" / "Coaching A.json", \
        tmp_path / "saved" / "Coaching A.jsonl"
    json_copy.rename(tmp_path / "moved.json")
    with jsonl_copy.open("ab") as handle:  # the person's own line
        handle.write(b"{}\n")
    set_max_seq_len(filled_library, "Coaching A", 2048)

    assert _states(filled_library) == {"Coaching A.json": CopyState.GONE,
                                       "Coaching A.jsonl": CopyState.GONE}


def test_a_copy_touched_but_not_changed_in_size_is_gone_too(
        filled_library: Library, tmp_path: Path) -> None:
    """Size and time only (no file is read to say so): a copy whose time changed may have
    been edited, and nothing is said about it."""
    _made(filled_library)
    _save_both(filled_library, tmp_path / "saved")
    jsonl_copy = tmp_path / "saved" / "Coaching A.jsonl"
    stat = jsonl_copy.stat()
    os.utime(jsonl_copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert _states(filled_library)["Coaching A.jsonl"] is CopyState.GONE


def test_a_library_opened_only_to_read_records_no_save(
        filled_library: Library, tmp_path: Path) -> None:
    _made(filled_library)
    location = filled_library.location
    filled_library.close()
    with Library.open(location, read_only=True) as reader:
        (tmp_path / "saved").mkdir()
        export(reader, "Coaching A", ExportFormat.JSONL, tmp_path / "saved" / "A.jsonl")
    with Library.open(location) as library:
        assert saved_copies(library, "Coaching A") == []


def test_a_stored_size_that_matches_is_checked_by_its_sha256(
        filled_library: Library, tmp_path: Path) -> None:
    """A rebuild from scratch renders the same lines again: same size, new revision; the
    copy is compared by the sha256 of the stored JSONL and stays current."""
    _made(filled_library)
    _save_both(filled_library, tmp_path / "saved")
    rebuild_training_files(filled_library, ["Coaching A"], from_scratch=True)
    assert _states(filled_library)["Coaching A.jsonl"] is CopyState.CURRENT


def test_a_copy_in_a_folder_named_in_another_encoding_is_saved_and_left_unrecorded(
        filled_library: Library, tmp_path: Path) -> None:
    """A folder made on an older system ("désir" in Latin-1) cannot be named as text in
    the library: the copy is saved as before, and nothing is said of it later."""
    _made(filled_library)
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xe9sir"))
    folder.mkdir()
    export(filled_library, "Coaching A", ExportFormat.JSON, folder / "Coaching A.json")
    assert (folder / "Coaching A.json").exists()
    assert saved_copies(filled_library, "Coaching A") == []
