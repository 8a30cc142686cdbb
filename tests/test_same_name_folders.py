"""Two deliveries each holding a folder 'batch-000' stay two batches, named by their path
below the dropped folder; a folder joining a batch the library holds is said to join it."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ENRICHED, LEGACY, open_window

from app.importer import import_paths
from app.library import Library
from ui.import_flow import report_text


def folder_of(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    return folder


def two_deliveries(root: Path) -> Path:
    drop = root / "drop"
    folder_of(ENRICHED, drop / "delivery-A" / "batch-000")
    folder_of(LEGACY[:-1], drop / "delivery-B" / "batch-000")
    folder_of(LEGACY[-1:], drop / "delivery-B" / "batch-001")  # unique: keeps its name
    return drop


def batch_sizes(library: Library) -> dict[str, int]:
    return {b.batch_id: b.conversations for b in library.batches()}


def test_same_named_folders_of_one_drop_become_two_batches(library: Library,
                                                           tmp_path: Path) -> None:
    report = import_paths(library, [two_deliveries(tmp_path)])
    assert report.imported == len(ENRICHED) + len(LEGACY)
    assert sorted(report.batches_created) == [
        "batch-001", "delivery-A/batch-000", "delivery-B/batch-000"]
    assert batch_sizes(library) == {"delivery-A/batch-000": len(ENRICHED),
                                    "delivery-B/batch-000": len(LEGACY) - 1,
                                    "batch-001": 1}
    assert report.batches_joined == []


def test_a_folder_joining_a_stored_batch_is_said_to_join_it(library: Library,
                                                            tmp_path: Path) -> None:
    import_paths(library, [folder_of(ENRICHED, tmp_path / "first" / "batch-000")])
    report = import_paths(library, [folder_of(LEGACY, tmp_path / "second" / "batch-000")])
    assert report.batches_created == []
    total = len(ENRICHED) + len(LEGACY)
    assert report.batches_joined == [("batch-000", len(ENRICHED), total)]
    assert f"Added to batches already in the library: 'batch-000' ({len(ENRICHED)} → " \
        f"{total})" in report.summary()
    assert (f"batch-000: {len(LEGACY)} conversations joined the {len(ENRICHED)} it held "
            f"(now {total})") in report_text(report)
    assert "Batches created" not in report_text(report)


def test_dropping_two_deliveries_in_the_window_keeps_them_apart(
        qtbot, library: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.folders.append(two_deliveries(tmp_path))
    dialogs.texts.append("")
    with qtbot.waitSignal(window.importer.finished, timeout=30000):
        window.import_folder_action.trigger()
    text = window.importer.last_summary.text()
    assert "delivery-A/batch-000" in text and "delivery-B/batch-000" in text
    # each file's line says which of the two folders it came from
    assert f"  delivery-B/batch-000/{LEGACY[0].name} → batch delivery-B/batch-000" in text
    page = window.conversations
    qtbot.waitUntil(lambda: page.model.rowCount() == len(ENRICHED) + len(LEGACY),
                    timeout=30000)
    assert {page.model.row_at(r).batch_id for r in range(page.model.rowCount())} == {
        "delivery-A/batch-000", "delivery-B/batch-000", "batch-001"}
    window.importer.last_summary.close()
