"""A training file made before cut-off policies trained every reply; opening its library
gives it the default policy (Trim), and the rebuild that follows leaves its cut-off replies
out. That is the intended fix, but nobody chose it for this file: the first open says so,
with what it leaves out and how to train them as before (it said only "rebuilt").

``tests/data/library-before-policies`` was written by LoRA Studio at commit d54ab62
(schema v3, before policies): ``lora-studio import --batch before-policies`` of
``enriched/single-convo-file-1.json`` and ``single-convo-file-3.json`` (both cut off in
their first reply), then ``add --new "every reply" --all``: 2 lines, 4 replies trained.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from old_libraries import make_v5_library

from app.cli import main
from app.library import Library
from app.recovery import finish_interrupted_work
from app.trainingfiles import change_settings, get_training_file, header

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-policies"
NAME = "every reply"


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def test_the_first_open_says_the_file_now_leaves_its_cut_off_replies_out(
        old_library: Path, tmp_path: Path) -> None:
    [jsonl] = old_library.glob("training-files/*/every reply.jsonl")
    lines = [orjson.loads(line) for line in jsonl.read_bytes().splitlines()]
    assert len(lines) == 2  # the older version trained both, cut off in their first reply
    assert all("reply_cut_off" in line["metadata"]["warnings"] for line in lines)
    with Library(old_library) as library:
        said = finish_interrupted_work(library)
        head = header(library, NAME)
        assert head["cut_off_policy"] == "trim"
        assert head["totals"]["replies_left_out"] == 4
        assert get_training_file(library, NAME).trainable_replies == 0
        assert finish_interrupted_work(library) == []  # said once
        # What it says to do trains them as before.
        change_settings(library, NAME, cut_off_policy="keep")
        assert get_training_file(library, NAME).trainable_replies == 4
        assert header(library, NAME)["totals"]["jsonl_lines"] == 2
    assert (f"the training file '{NAME}' was made before cut-off policies, when every reply "
            "was trained: rebuilt now, it follows the default policy (Trim) and leaves 4 "
            "cut-off replies out of training, and 2 conversations no longer have a line; set "
            "its cut-off policy to Keep to train them as before") in said
    # A file made with a policy (a v5 library's) is not named.
    with Library(make_v5_library(tmp_path / "v5")) as library:
        assert not any("before cut-off policies" in s for s in finish_interrupted_work(library))


def test_the_command_line_says_it_as_a_note(old_library: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--library", str(old_library), "rebuild", NAME]) == 0
    err = capsys.readouterr().err
    assert f"note: the training file '{NAME}' was made before cut-off policies" in err


def test_a_cancel_after_the_files_rebuild_still_says_what_it_changed(
        old_library: Path) -> None:
    """Cancelled once the file was moved in and rebuilt under Trim, the open still says
    what that changed: at the next start its header names a policy, so it is never said."""
    from app.build import BuildCancelled

    said: list[str] = []
    with Library(old_library) as library:

        def cancel_once_it_is_in() -> bool:  # (moved in after the passes changing it)
            return get_training_file(library, NAME).built

        with pytest.raises(BuildCancelled):
            finish_interrupted_work(library, cancelled=cancel_once_it_is_in, said=said)
        assert header(library, NAME)["cut_off_policy"] == "trim"  # rebuilt before the cancel
        assert any(s.startswith(f"moved the training file '{NAME}'") for s in said)
        assert any(s.startswith(f"the training file '{NAME}' was made before cut-off "
                                "policies") for s in said)
        again = finish_interrupted_work(library)
        assert not any("before cut-off policies" in s for s in again)
