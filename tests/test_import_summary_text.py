"""The import summary's text, word for word, for a mixed drop: folders of the same name in
two deliveries, listed and grouped files, rejected ones, a full training file, duplicates
and a changed conversation. Its folders are worked out once a folder, not with a Path per
file (a 10,000-file summary spent some 70 ms of the window's thread on them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import BAD, ENRICHED, FIXTURES, LEGACY, corrected

from app.importer import FileVerdict, ImportReport, Verdict, import_paths
from app.library import Library
from app.places import readable_reason
from ui import import_flow, import_report_lines
from ui.import_flow import report_text
from ui.import_report_lines import folder_and_name

FULL = FIXTURES / "full" / "user-full-file-3-conversations.json"
REFUSED = sorted((FIXTURES / "refused").glob("*.json"))


def copied(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    return folder


def mixed_drop(root: Path) -> Path:
    drop = root / "drop"
    copied(ENRICHED, drop / "delivery-A" / "batch-000")
    copied(LEGACY[:-1], drop / "delivery-B" / "batch-000")
    copied(LEGACY[-1:], drop / "delivery-B" / "batch-001")
    copied([*BAD, *REFUSED], drop / "odd")
    copied([FULL], drop / "full")
    return drop


def listed(folder: str, files: list[Path], batch: str) -> list[str]:
    return [f"  {folder}/{path.name} → batch {batch}" for path in files]


def rejected_lines(report: ImportReport) -> list[str]:
    """The rejected files' lines: their reasons' wording is another module's to test."""
    return [f"  odd/{Path(v.path).name}: {readable_reason(v.reason)}"
            for v in report.verdicts if v.verdict is Verdict.REJECTED]


def test_a_mixed_drops_summary_reads_word_for_word(library: Library, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # delivery-A's folder is listed file by file, delivery-B's larger one is grouped
    monkeypatch.setattr(import_report_lines, "GROUP_FROM", len(ENRICHED) + 1)
    drop = mixed_drop(tmp_path)
    report = import_paths(library, [drop])
    odd = sorted(path.name for path in [*BAD, *REFUSED])
    assert [Path(v.path).name for v in report.verdicts
            if v.verdict is Verdict.REJECTED] == odd
    b = [path.name for path in LEGACY[:3]]
    assert report_text(report).splitlines() == [
        "6 files could not be imported", *rejected_lines(report), "",
        "3 conversations repeat another of this import (skipped)",
        "  full/user-full-file-3-conversations.json: 3 conversations repeat conversations "
        "imported earlier in this import (from delivery-A/batch-000/single-convo-file-3.json, "
        "delivery-A/batch-000/single-convo-file-2.json and "
        "delivery-A/batch-000/single-convo-file-1.json): skipped", "",
        "9 files in the older v3 format (hand-written pairs, no scaffolding) were converted "
        "as they were imported; the files themselves are not changed",
        "  in delivery-B/batch-000/ (8 files) and batch-001/ (1 file)", "",
        "3 batches created", "  batch-001", "  delivery-A/batch-000",
        "  delivery-B/batch-000", "",
        "15 conversations imported",
        *listed("delivery-A/batch-000", ENRICHED, "delivery-A/batch-000"),
        f"  delivery-B/batch-000/: 8 files ({b[0]}, {b[1]}, {b[2]} and 5 more) → batch "
        "delivery-B/batch-000",
        *listed("batch-001", LEGACY[-1:], "batch-001")]

    # Again, with one file copied elsewhere and one changed: one batch-000 folder now,
    # so it goes by its own name.
    monkeypatch.setattr(import_report_lines, "GROUP_FROM", len(ENRICHED))
    again = copied(ENRICHED[:1], tmp_path / "again")
    (fix := tmp_path / "fix").mkdir()
    cid = next(r.conversation_id for r in library.summaries()
               if r.source_file == LEGACY[0].name)
    changed = corrected(cid, fix)
    report = import_paths(library, [drop / "delivery-A", again, changed, drop / "full"])
    (stored,) = [r for r in library.summaries() if r.source_file == ENRICHED[0].name]
    a = [path.name for path in ENRICHED[:3]]
    assert report_text(report).splitlines() == [
        "Changed (not replaced yet): 1 conversation",
        "  Already in the library with different content: the stored version stays unless "
        "you answer Replace to the question about changed conversations.",
        f"  fix/{changed.name}: conversation {cid}", "",
        "10 conversations were already in the library (skipped)",
        f"  batch-000/: 6 files ({a[0]}, {a[1]}, {a[2]} and 3 more) were imported before "
        "(in batch 'delivery-A/batch-000'): skipped",
        f"  again/{a[0]}: {stored.persona_name}'s conversation is already in the library "
        f"(batch 'delivery-A/batch-000', from {a[0]}); skipped. Conversation id "
        f"{stored.conversation_id}",
        "  full/user-full-file-3-conversations.json: 3 conversations are already in the "
        "library (in batch 'delivery-A/batch-000'): skipped"]


ODD_PATHS = ["x.json", "/x.json", "a/b.json", "/a//b/c.json", "a/./b.json", "./b.json",
             "../b.json", "a/..", "a/b/", "a/b/.", ".", "/", "", "//a/b.json",
             "a/b.json [conversation 2 of 3]", "C:\\drop\\batch-000\\x.json",
             "C:/drop/batch-000/x.json", "C:x.json", "\\\\server\\share\\x.json",
             "\\\\server\\share"]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_a_files_folder_and_name_are_paths_own(path: str) -> None:
    """What Path says on this system (Windows reads "\\" and "C:", Linux does not)."""
    assert folder_and_name(path) == (str(Path(path).parent), Path(path).name)


def test_a_summary_of_many_files_reads_each_folder_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    report = ImportReport()
    for index in range(400):
        folder = f"/deliveries/{'A' if index % 2 else 'B'}/batch-000"
        report.verdicts.append(FileVerdict(f"{folder}/{index}.json", Verdict.IMPORTED,
                                           batch_id=f"{'A' if index % 2 else 'B'}/batch-000"))
    report.verdicts += [FileVerdict(f"/odd/{index}.json", Verdict.REJECTED, "empty")
                        for index in range(40)]
    built: list[tuple[object, ...]] = []

    def counted(*parts: str) -> Path:
        built.append(parts)
        return Path(*parts)
    import_report_lines._folder.cache_clear()
    monkeypatch.setattr(import_report_lines, "Path", counted)
    monkeypatch.setattr(import_flow, "Path", counted)
    text = report_text(report)
    assert "  A/batch-000/: 200 files (1.json, 3.json, 5.json and 197 more) → batch " \
        "A/batch-000" in text and "  odd/39.json: " in text
    assert len(built) < 20, built[:5]  # once a folder (and a folder's parts), not a file
