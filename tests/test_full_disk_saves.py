"""A copy saved onto a full disk says so and the chooser opens again at the same place, as
a folder that refuses the copy when it is chosen does (``ui.writable_saves``): a full
disk takes the empty probe file and refuses only the bytes. A real small tmpfs, filled;
the real window (its dialogs refuse unwritable places) and the real export."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import open_window
from stored import stored_bytes

from app.library import Library
from app.trainingfiles import add_conversations

WAIT_MS = 30_000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real, empty 1 MB tmpfs (root mounts it; others cannot)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, check=False, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=60)


def fill(disk: Path, leave: int = 0) -> None:
    """Fill ``disk`` with one file, ``filler``, until about ``leave`` bytes are free."""
    with (disk / "filler").open("ab", buffering=0) as handle:
        try:
            while shutil.disk_usage(disk).free > leave:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


@pytest.fixture
def full_disk(small_disk: Path) -> Path:
    """The small tmpfs, filled to the last byte."""
    fill(small_disk)
    return small_disk


@pytest.fixture
def window(qtbot, filled_library: Library, dialogs, tmp_path: Path):
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Pilot", ids, create=True)
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    window.pages.setCurrentWidget(window.training_files)
    qtbot.waitUntil(lambda: window.training_files.select_file("Pilot") is not False,
                    timeout=WAIT_MS)
    qtbot.waitUntil(window.download_jsonl_action.isEnabled, timeout=WAIT_MS)
    return window


def _full_disk_said(message: str, saved: str, disk: Path) -> None:
    assert message.startswith(f"{saved} cannot be saved there. The disk holding {disk} "
                              "is full. Free some space on it and try again"), message


def test_a_copy_saved_onto_a_full_disk_asks_for_another_place_there(
        qtbot, window, filled_library: Library, dialogs, tmp_path: Path,
        full_disk: Path) -> None:
    writable = tmp_path / "saved"
    writable.mkdir()
    dialogs.save_paths.extend([full_disk / "Pilot.jsonl", writable / "Pilot.jsonl"])

    window.download_jsonl_action.trigger()
    qtbot.waitUntil(lambda: (writable / "Pilot.jsonl").exists(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved "),
                    timeout=WAIT_MS)

    ((title, message),) = dialogs.warnings
    assert title == "Could not save the copy"
    _full_disk_said(message, "Pilot.jsonl", full_disk)
    offered = [asked[2] for asked in dialogs.asked if asked[0] == "save_path"]
    assert offered[1:] == [full_disk / "Pilot.jsonl"], "asked again, where it was refused"
    assert (writable / "Pilot.jsonl").read_bytes() == stored_bytes(filled_library, "Pilot")[1]
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # nothing left there


def test_a_split_saved_onto_a_full_disk_asks_for_another_folder_there(
        qtbot, window, dialogs, tmp_path: Path, full_disk: Path) -> None:
    writable = tmp_path / "split"
    dialogs.folders.extend([full_disk, writable])
    dialogs.texts.append("0.2")

    window.training_files.file_actions["split"].trigger()
    qtbot.waitUntil(lambda: (writable / "train.jsonl").exists(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved "),
                    timeout=WAIT_MS)

    ((title, message),) = dialogs.warnings
    assert title == "Could not save the split"
    _full_disk_said(message, "train.jsonl and valid.jsonl", full_disk)
    offered = [asked[2] for asked in dialogs.asked if asked[0] == "folder"]
    assert offered[1:] == [full_disk], "asked again, where it was refused"
    assert [asked[1] for asked in dialogs.asked if asked[0] == "text"] == [
        "Validation share"], "the share is asked once"
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_save_both_onto_a_disk_that_fills_up_asks_again_for_the_second_copy(
        qtbot, window, filled_library: Library, dialogs, tmp_path: Path,
        small_disk: Path) -> None:
    page = window.training_files
    for kind in ("json", "jsonl"):  # both saved there while the disk had room
        dialogs.save_paths.append(small_disk / f"Pilot.{kind}")
        with qtbot.waitSignal(page.status, timeout=WAIT_MS):
            page.file_actions[kind].trigger()
    old_json = (small_disk / "Pilot.json").read_bytes()
    old_manifest = (small_disk / "Pilot.json.manifest.json").read_bytes()
    page.members.selectRow(0)
    dialogs.confirms.append(True)
    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.remove_button.click()  # both saved copies are now out of date
    new_json, new_jsonl = stored_bytes(filled_library, "Pilot")
    assert len(new_json) > len(new_jsonl) + len(old_json) // 4 + 65_536, "the JSON must not fit"
    fill(small_disk, leave=len(new_jsonl) + 65_536)  # room for the JSONL, not for the JSON
    writable = tmp_path / "elsewhere"
    writable.mkdir()
    dialogs.save_paths.extend([small_disk / "Pilot.jsonl", writable / "Pilot.json"])
    dialogs.confirms.extend([True, True])  # replace the JSONL and its manifest; save both

    page.file_actions["jsonl"].trigger()
    qtbot.waitUntil(lambda: (writable / "Pilot.json").exists(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved "),
                    timeout=WAIT_MS)

    assert (small_disk / "Pilot.jsonl").read_bytes() == new_jsonl, "the first copy is saved"
    assert (small_disk / "Pilot.json").read_bytes() == old_json, "the earlier one is kept whole"
    assert (writable / "Pilot.json").read_bytes() == new_json
    ((title, message),) = dialogs.warnings
    assert title == "Could not save the copy"
    _full_disk_said(message, "Pilot.json", small_disk)
    assert message.endswith("Pilot.jsonl was saved there; the Pilot.json there is still the "
                            "one from an earlier version of 'Pilot'."), message
    offered = [asked[2] for asked in dialogs.asked if asked[0] == "save_path"]
    assert offered[-1] == small_disk / "Pilot.json", "asked again, where it was refused"
    assert (small_disk / "Pilot.json.manifest.json").read_bytes() == old_manifest
    assert sorted(p.name for p in small_disk.iterdir()) == [
        "Pilot.json", "Pilot.json.manifest.json", "Pilot.jsonl", "Pilot.jsonl.manifest.json",
        "filler"], "nothing half-written is left there"
