"""``validate`` reads a full training file too large to read whole as the import does, a
conversation at a time, and says what a whole read says of it.

The whole-read limit is lowered to 1 MB for speed (``streamed``); validate's whole read is
watched so that a file over it is never read whole (a 1 GB file took gigabytes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from test_import_large_full import (
    LIMIT,
    USER_FULL,
    enlarged,
    our_full,
    over_limit,
    streamed,  # noqa: F401  (a fixture)
    write,
)

from app import jsonio, validate
from app.library import Library
from app.validate import Verdict, validate_path


def read_whole(path: Path, monkeypatch: pytest.MonkeyPatch) -> Verdict:
    """The verdict of ``path`` read whole, as a file under the limit is."""
    with monkeypatch.context() as patch:
        patch.setattr(jsonio, "MAX_INPUT_BYTES", 64 * 1024 * 1024)
        return validate_path(path)


def read_streamed(path: Path, monkeypatch: pytest.MonkeyPatch) -> Verdict:
    """The verdict of ``path`` over the limit, failing if it is read whole."""
    def never_whole(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{path.name} was read whole")
    with monkeypatch.context() as patch:
        patch.setattr(validate, "read_json_file", never_whole)
        assert path.stat().st_size > jsonio.MAX_INPUT_BYTES
        return validate_path(path)


def problems(verdict: Verdict) -> list[tuple[str, str, str]]:
    return sorted((p.file, p.where, p.reason) for p in verdict.problems)


@pytest.mark.usefixtures("streamed")
def test_a_large_full_file_is_valid_read_a_conversation_at_a_time(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    verdict = read_streamed(path, monkeypatch)
    assert verdict.ok and verdict.kind == "full"
    assert read_whole(path, monkeypatch).ok


@pytest.mark.usefixtures("streamed")
def test_a_large_full_file_has_the_problems_a_whole_read_finds(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    document = orjson.loads(path.read_bytes())
    document["training_file_metadata"]["not_ours"] = 1
    del document["conversations"][3]["quality_tier"]
    document["conversations"][-1]["stats"] = "none"
    write(path, document)
    streamed_verdict = read_streamed(path, monkeypatch)
    whole = read_whole(path, monkeypatch)
    assert not whole.ok and len(whole.problems) == 3
    assert (streamed_verdict.kind, problems(streamed_verdict)) == (whole.kind, problems(whole))
    last = len(document["conversations"]) - 1
    assert {p.where for p in streamed_verdict.problems} == {
        "$.training_file_metadata", "$.conversations[3]", f"$.conversations[{last}].stats"}


@pytest.mark.usefixtures("streamed")
def test_a_large_earlier_format_file_is_checked_as_import_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = orjson.loads(USER_FULL.read_bytes())
    count = len(document["conversations"])
    while len(orjson.dumps(document, option=orjson.OPT_INDENT_2)) <= LIMIT:
        count *= 2
        document = enlarged(orjson.loads(USER_FULL.read_bytes()), count)
    document["conversations"][5] = {"conversation_id": "x", "training_pairs": "none"}
    path = write(tmp_path / "earlier.json", document)
    streamed_verdict = read_streamed(path, monkeypatch)
    whole = read_whole(path, monkeypatch)
    assert not whole.ok and whole.kind == "full, earlier format"
    assert (streamed_verdict.kind, streamed_verdict.note, problems(streamed_verdict)) == (
        whole.kind, whole.note, problems(whole))


@pytest.mark.usefixtures("streamed")
def test_a_large_truncated_file_says_where_it_ends(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    path.write_bytes(path.read_bytes()[:-5000])
    verdict = read_streamed(path, monkeypatch)
    assert verdict.kind == "broken"
    [problem] = verdict.problems
    assert problem.reason.startswith("the JSON ends too early (truncated file?) after ")
    assert "copy or save the whole file again" in problem.reason
