"""A train / validation split chosen into a folder that cannot be written is refused when
the folder is chosen, with a sentence naming it, and the chooser opens again there: before,
the validation share was asked, the export ran, and only then did it fail, ending the flow.
A real read-only folder: one without write permission, or, for root (whom permissions do
not bind), a real tmpfs mounted read-only."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from stored import stored_bytes

from app.library import Library
from app.library_folder import PROBE_PREFIX
from app.trainingfiles import add_conversations
from ui.writable_saves import why_not_writable

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 15_000
TITLE = "Choose a folder for train.jsonl and valid.jsonl"


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "read-only"
    folder.mkdir()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        mount, umount = shutil.which("mount"), shutil.which("umount")
        done = mount and subprocess.run(
            [mount, "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
            capture_output=True, check=False).returncode == 0
        if not done or umount is None:
            pytest.skip("running as root, whom folder permissions do not bind, and no "
                        "read-only tmpfs can be mounted here")
        try:
            yield folder
        finally:
            subprocess.run([umount, str(folder)], check=True)
        return
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if why_not_writable(folder) is None:
        pytest.skip("this system lets the owner write in a folder without write permission")
    try:
        yield folder
    finally:
        folder.chmod(stat.S_IRWXU)


@pytest.fixture
def pilot(page, filled_library: Library) -> Library:
    ids = [row.conversation_id for row in filled_library.summaries()][:5]
    add_conversations(filled_library, "Pilot", ids, create=True)
    page.refresh(select_name="Pilot")
    return filled_library


@pytest.mark.parametrize("inside", [False, True], ids=["the folder", "a new folder in it"])
def test_a_split_into_a_read_only_folder_is_refused_and_asked_again_there(
        qtbot, page, dialogs, pilot: Library, tmp_path: Path, read_only: Path,
        inside: bool) -> None:
    chosen = read_only / "split" if inside else read_only
    writable = tmp_path / "saved"
    dialogs.folders.extend([chosen, writable])
    dialogs.texts.append("0.2")

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as saved:
        page.file_actions["split"].trigger()

    ((title, message),) = dialogs.warnings
    assert title == TITLE
    assert message.startswith("train.jsonl and valid.jsonl cannot be saved there. "), message
    assert f"{read_only} is on a read-only disk. Choose a place you may write to." in message \
        or f"permission to use {read_only}. Choose another place" in message, message
    folder_asks = [asked for asked in dialogs.asked if asked[0] == "folder"]
    assert [asked[2] for asked in folder_asks][1:] == [chosen], "asked again, where refused"
    assert [asked for asked in dialogs.asked if asked[0] == "text"] == [
        ("text", "Validation share", "0.1")], "the share is asked once, of the good folder"
    assert saved.args[0].startswith("Saved train.jsonl (")
    lines = [*(writable / "train.jsonl").read_bytes().splitlines(),
             *(writable / "valid.jsonl").read_bytes().splitlines()]
    assert sorted(lines) == sorted(stored_bytes(pilot, "Pilot")[1].splitlines())
    assert all(orjson.loads(line)["messages"] for line in lines)
    assert not any(read_only.iterdir()), "nothing was written where it was refused"
    assert not any(p.name.startswith(PROBE_PREFIX) for p in writable.iterdir())
