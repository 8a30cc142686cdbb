"""A training file of a schema v3 library is built once at the first open: its build has
no index to be cut from, so moving it in renders every conversation again, and the text
repair that followed rebuilt it a second time (18 s, then 7 s, at 5,000 conversations).
Moved in after the one-time passes, it is built by the rebuild of the pass that changed
its conversations, and its JSON and JSONL are byte for byte what the two builds made.

``tests/data/library-before-policies`` was written by LoRA Studio at commit d54ab62 (see
``tests/test_upgrade_policies.py``): one training file, 'every reply', whose two
conversations the text repair changes.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from stored import stored_bytes

from app.library import Library
from app.models import TrainingFile
from app.recovery import files_built_on_disk, finish_interrupted_work, one_time_passes
from app.trainingfiles import move_into_database

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-policies"
NAME = "every reply"
# The times a build writes (when it was made and changed): the two opens differ by them.
TIMES = re.compile(rb'"(?:created_at|updated_at|generated_at|built_at)": ?"[^"]*"')


def revision(library: Library) -> int:
    with library.session() as session:
        row = session.query(TrainingFile).filter_by(name=NAME).one()
        return int(row.revision)


def timeless(data: bytes) -> bytes:
    return TIMES.sub(b'"time": ""', data)


@pytest.fixture
def two_copies(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "moved-first", tmp_path / "passes-first"
    shutil.copytree(OLD_LIBRARY, first)
    shutil.copytree(OLD_LIBRARY, second)
    return first, second


def test_a_v3_file_is_built_once_with_the_bytes_two_builds_made(
        two_copies: tuple[Path, Path]) -> None:
    moved_first, passes_first = two_copies
    with Library(moved_first) as library:  # the order before: moved in, then the passes
        before = revision(library)
        assert files_built_on_disk(library) == [NAME]
        move_into_database(library, NAME)
        one_time_passes(library)
        assert finish_interrupted_work(library) == []
        assert revision(library) == before + 2  # built twice
        expected = stored_bytes(library, NAME)
    with Library(passes_first) as library:
        said = finish_interrupted_work(library)
        assert revision(library) == before + 1  # built once
        assert not files_built_on_disk(library)
        assert not list((passes_first / "training-files").glob("*/*.json"))
        found = stored_bytes(library, NAME)
        assert finish_interrupted_work(library) == []
    assert [timeless(part) for part in found] == [timeless(part) for part in expected]
    assert TIMES.search(expected[0]), "the times masked are in the header"
    # What the open says is as it was: the move, then what the repair changed.
    assert said[:3] == [
        f"moved the training file '{NAME}' into the library database (built again from its "
        "conversations; its files from the older version are removed)",
        "repaired literal escape sequences in 2 conversations stored before text repair "
        "existed (warning text_repaired)",
        f"rebuilt the training file '{NAME}', which holds repaired conversations"]
