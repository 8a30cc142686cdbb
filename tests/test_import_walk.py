"""The folder walk of an import: the order the files are imported (and reported) in, their
default batches, and what the walk tells while it goes (real folders in tmp_path)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ENRICHED

from app.importer import LOOK_EVERY, WalkCancelled, collect, import_paths
from app.library import Library

# Names whose order differs between plain text and pathlib, which compares part by part:
# "a/z.json" < "a-b/x.json" < "a.json" part-wise, "a-b/x.json" < "a.json" < "a/z.json" as
# text ('-' < '.' < '/'); and capitals, which sort before small letters where names are
# case-sensitive (pathlib's order is the reference on every system).
LAYOUT = ["b.json", "a.json", "C.json", "a/z.json", "a/y.JSON", "a-b/x.json", "a.b/w.json",
          "a/deeper/v.json", "sub/deeper/d.json", "sub/e.json", "Tub/f.json"]
SKIPPED = [".hidden/h.json", "a/.h.json", "readme.txt", "a/notes.md"]


def make(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ENRICHED[0], root / name)


def test_files_come_in_pathlib_order_with_their_folder_as_batch(tmp_path: Path) -> None:
    """Two folders 'deeper' are told apart by the folder above each."""
    drop = tmp_path / "drop"
    make(drop, LAYOUT + SKIPPED)
    candidates, problems = collect([drop])
    assert problems == []
    expected = sorted(drop / name for name in LAYOUT)
    assert expected != sorted(expected, key=str)  # the layout tells the two orders apart
    assert [c.path for c in candidates] == expected
    batches = {c.path.relative_to(drop).as_posix(): c.default_batch for c in candidates}
    assert batches == {"b.json": "drop", "a.json": "drop", "C.json": "drop",
                       "a/z.json": "a", "a/y.JSON": "a", "a-b/x.json": "a-b",
                       "a.b/w.json": "a.b", "a/deeper/v.json": "a/deeper",
                       "sub/deeper/d.json": "sub/deeper", "sub/e.json": "sub", "Tub/f.json": "Tub"}


def test_several_dropped_folders_keep_the_order_they_were_given_in(tmp_path: Path) -> None:
    make(tmp_path / "second", ["b.json", "a.json"])
    make(tmp_path / "first", ["d.json", "c/c.json"])
    loose = tmp_path / "loose.json"
    shutil.copy(ENRICHED[0], loose)
    candidates, _ = collect([tmp_path / "second", loose, tmp_path / "first"], batch="Mine")
    assert [c.path.relative_to(tmp_path).as_posix() for c in candidates] == [
        "second/a.json", "second/b.json", "loose.json", "first/c/c.json", "first/d.json"]
    assert {c.default_batch for c in candidates} == {"Mine"}
    assert all(c.named for c in candidates)


def test_the_walk_tells_how_many_files_it_has_found_as_it_goes(tmp_path: Path) -> None:
    """So that an import can start its workers before the walk is over."""
    make(tmp_path / "one", ["a.json", "b.json", "x/c.json"])
    make(tmp_path / "two", ["d.json", "y/e.json", "y/z/f.json"])
    told: list[int] = []
    candidates, _ = collect([tmp_path / "one", tmp_path / "two"], counted=told.append)
    assert len(candidates) == 6
    # After every folder listed (one, one/x, two, two/y, two/y/z), counting on across the
    # dropped folders: not only once at the end.
    assert told == [2, 3, 4, 5, 6]


# --- cancel during the walk ------------------------------------------------------------


def test_a_cancel_during_the_walk_ends_it_at_the_next_folder(tmp_path: Path) -> None:
    """A dropped tree of 40 folders, cancelled once the walk's own count reaches 30 files
    (after the dropped folder and three of its own): no folder is listed after that."""
    drop = tmp_path / "drop"
    make(drop, [f"batch-{folder:02}/c{file}.json" for folder in range(40) for file in range(10)])
    told: list[int] = []
    with pytest.raises(WalkCancelled):
        collect([drop], counted=told.append, cancelled=lambda: bool(told) and told[-1] >= 30)
    assert told == [0, 10, 20, 30], "the walk went on listing folders after the cancel"


def test_a_cancel_inside_a_large_folder_ends_the_walk_before_the_folder_is_listed(
        tmp_path: Path) -> None:
    """One folder of many files: the cancel is looked at between its entries, not only
    once the whole folder is listed."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for number in range(LOOK_EVERY * 5):
        (drop / f"c{number}.json").write_bytes(b"{}")
    looks: list[int] = []

    def cancelled() -> bool:
        looks.append(1)
        return len(looks) >= 3  # before the listing, after 64 entries, after 128

    told: list[int] = []
    with pytest.raises(WalkCancelled):
        collect([drop], counted=told.append, cancelled=cancelled)
    assert told == [], "the folder was listed to its end"
    assert len(looks) == 3


def test_an_import_cancelled_during_the_walk_imports_nothing_and_says_so(
        library: Library, tmp_path: Path) -> None:
    """Through ``import_paths``, with the real fixtures in a tree of folders: the import
    ends at the walk, stores nothing, and a second import brings every file."""
    drop = tmp_path / "drop"
    make(drop, [f"batch-{folder}/{path.name}" for folder in range(4) for path in ENRICHED])
    looks: list[int] = []

    def cancelled() -> bool:
        looks.append(1)
        return len(looks) >= 3  # the walk looks before each folder: a cancel at the third

    report = import_paths(library, [drop], cancelled=cancelled, workers=1)
    assert report.cancelled and report.verdicts == [] and report.batches_created == []
    assert report.summary() == (
        "0 conversations imported before the import was cancelled, while it was still "
        "looking through the folders for files: import the same files or folders again to "
        "finish (those already in are skipped as duplicates).")
    assert library.count() == 0
    assert len(looks) == 3, "the import went on after the cancel"
    again = import_paths(library, [drop], workers=1)
    assert not again.cancelled and again.imported > 0
    assert library.count() == again.imported
