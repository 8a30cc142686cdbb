"""Libraries from before v6 kept each build as two files on disk; opening one moves every
build into the database, byte for byte, and only then removes its folder.

``tests/data/library-v5`` is a real v5 library made by the v5 code (LoRA Studio as of
schema 5): its database as SQL text, its ``training-files/`` folders as written then (two
training files, one with another cut-off policy, one rebuilt after a review mark).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from cli_process import run_cli
from old_libraries import FILES, make_v5_library
from sqlalchemy import func, select
from stored import stored_bytes

from app import recovery, trainingfiles
from app.errors import LibraryError
from app.export import ExportFormat, export
from app.library import Library
from app.models import BuildFragment
from app.paths import DATABASE_NAME
from app.recovery import finish_interrupted_work, needs_recovery
from app.trainingfiles import (
    get_training_file,
    header,
    list_training_files,
    member_ids,
    remove_conversations,
)

ENRICHED_1 = Path(__file__).parent / "fixtures" / "enriched" / "enriched-1.json"


def old_files(root: Path) -> dict[str, tuple[bytes, bytes]]:
    return {name: ((root / "training-files" / folder / f"{name}.json").read_bytes(),
                   (root / "training-files" / folder / f"{name}.jsonl").read_bytes())
            for name, folder in FILES.items()}


def test_opening_a_v5_library_moves_every_build_in_byte_for_byte(tmp_path: Path) -> None:
    root = make_v5_library(tmp_path / "lib")
    before = old_files(root)
    with Library(root) as library:  # a writer: the schema becomes v6
        assert [f.name for f in list_training_files(library)] == list(FILES)
        assert not any(f.built for f in list_training_files(library))
        assert needs_recovery(library)
        done = finish_interrupted_work(library)
        assert [s for s in done if s.startswith("moved")] == [
            f"moved the training file '{name}' into the library database (its files from "
            "the older version are removed)" for name in FILES]
        for name, (json_bytes, jsonl_bytes) in before.items():
            assert stored_bytes(library, name) == (json_bytes, jsonl_bytes), name
            info = get_training_file(library, name)
            assert info.built
            assert (info.json_bytes, info.jsonl_bytes) == (len(json_bytes), len(jsonl_bytes))
            head = orjson.loads(json_bytes)["training_file_metadata"]
            assert header(library, name) == head  # its dates too: nothing a person made
        assert list((root / "training-files").iterdir()) == []
        assert not needs_recovery(library)
        assert finish_interrupted_work(library) == []
    assert (root / f"{DATABASE_NAME}.v5.bak").is_file()


def test_the_command_line_moves_the_builds_then_exports_the_same_files(
    tmp_path: Path
) -> None:
    """Through the real command, in its own process: the first command that may change
    the library (here an import of a file it holds already) upgrades it and says what it
    did; the exports are the files the older version wrote."""
    root = make_v5_library(tmp_path / "lib")
    before = old_files(root)
    result = run_cli("--data-dir", root, "import", ENRICHED_1)
    assert result.returncode == 0, result.stderr
    assert "duplicate" in result.stdout
    assert "moved the training file 'base' into the library database" in result.stderr
    target = tmp_path / "out" / "base.json"
    result = run_cli("--data-dir", root, "export", "base", "--format", "json", "-o", target)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == before["base"][0]
    again = run_cli("--data-dir", root, "export", "second set", "--format", "jsonl", "-o",
                    tmp_path / "out" / "second.jsonl")
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert (tmp_path / "out" / "second.jsonl").read_bytes() == before["second set"][1]


def test_a_failed_move_keeps_the_old_files_until_the_database_has_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_v5_library(tmp_path / "lib")
    before = old_files(root)

    def failing(*_args: object) -> None:
        raise OSError("disk full")

    with Library(root) as library:
        monkeypatch.setattr(trainingfiles, "save_fragments", failing)
        with pytest.raises(OSError, match="disk full"):
            finish_interrupted_work(library)
        assert old_files(root) == before  # nothing on disk was touched
        assert recovery.files_built_on_disk(library) == sorted(FILES)
        with pytest.raises(LibraryError,
                           match=r"stored as files from an older LoRA Studio.*lora-studio"):
            export(library, "base", ExportFormat.JSONL, tmp_path / "x.jsonl")
        monkeypatch.undo()
        finish_interrupted_work(library)  # the next start tries again
        assert stored_bytes(library, "base") == before["base"]
        assert stored_bytes(library, "second set") == before["second set"]


@pytest.mark.parametrize("damage", ["no index", "index of other files"])
def test_without_a_usable_index_the_build_is_rendered_again_the_same(
    tmp_path: Path, damage: str
) -> None:
    root = make_v5_library(tmp_path / "lib")
    before = old_files(root)
    index = root / "training-files" / FILES["base"] / ".fragments"
    if damage == "no index":
        index.unlink()
    else:  # the sizes still match, the places do not: the cut must not be trusted
        data = orjson.loads(index.read_bytes())
        spans = data["spans"]
        first, second = sorted(spans, key=lambda key: spans[key][0])[:2]
        spans[first][1] -= 1
        spans[second][0] -= 1
        index.write_bytes(orjson.dumps(data))
    with Library(root) as library:
        done = finish_interrupted_work(library)
        assert ("moved the training file 'base' into the library database (built again from "
                "its conversations; its files from the older version are removed)") in done
        assert stored_bytes(library, "base") == before["base"]
        assert stored_bytes(library, "second set") == before["second set"]


def test_the_first_change_after_the_move_renders_with_the_current_code(
    tmp_path: Path
) -> None:
    """Fragments cut from old files are never reused: the next change renders everything
    and gives what a full render gives."""
    from test_incremental import Rendered, assert_same_as_full_rebuild

    root = make_v5_library(tmp_path / "lib")
    with Library(root) as library:
        finish_interrupted_work(library)
        watch = Rendered(library)
        members = member_ids(library, "second set")
        remove_conversations(library, "second set", members[:1])
        assert len(watch.pks) == len(members) - 1
        assert_same_as_full_rebuild(library, "second set")
        with library.session() as session:  # the cut fragments went with the change
            assert session.scalar(select(func.count()).select_from(BuildFragment)) == 4 + 1


def _index_with_digests(root: Path) -> None:
    """Turn the v5 fixture's indexes into version 3 (the last v5 builds also recorded each
    fragment's sha256 in them)."""
    from app.legacy_builds import fragment_digest

    for name, folder in FILES.items():
        index_path = root / "training-files" / folder / ".fragments"
        index = orjson.loads(index_path.read_bytes())
        json_bytes = (root / "training-files" / folder / f"{name}.json").read_bytes()
        jsonl_bytes = (root / "training-files" / folder / f"{name}.jsonl").read_bytes()
        index["version"] = 3
        index["digests"] = {key: fragment_digest(json_bytes[a:b], jsonl_bytes[c:d])
                            for key, (a, b, c, d) in index["spans"].items()}
        index_path.write_bytes(orjson.dumps(index))


@pytest.mark.parametrize("edited", [False, True])
def test_an_index_with_sha256s_is_cut_only_when_the_files_still_match_it(
    tmp_path: Path, edited: bool
) -> None:
    root = make_v5_library(tmp_path / "lib")
    _index_with_digests(root)
    before = old_files(root)
    if edited:  # one letter of a reply, by hand: same size, still JSON
        jsonl = root / "training-files" / FILES["base"] / "base.jsonl"
        data = jsonl.read_bytes()
        at = data.index(b'"content":"') + len(b'"content":"')
        jsonl.write_bytes(data[:at] + (b"Q" if data[at:at + 1] != b"Q" else b"R")
                          + data[at + 1:])
    with Library(root) as library:
        done = finish_interrupted_work(library)
        again = "built again from its conversations; " if edited else ""
        assert (f"moved the training file 'base' into the library database ({again}its "
                "files from the older version are removed)") in done
        # Either way the file is what the library's conversations give: the edit is gone.
        assert stored_bytes(library, "base") == before["base"]
        assert stored_bytes(library, "second set") == before["second set"]


def test_a_reader_exports_an_older_build_from_its_files_only_as_built(
    filled_library: Library, tmp_path: Path
) -> None:
    """A reader may not move builds in: it reads the old files, checked against the sha256
    the last older version recorded beside them; a changed file gives no copy."""
    from old_schema import downgrade

    from app.trainingfiles import add_conversations

    ids = [row.conversation_id for row in filled_library.summaries()][:4]
    add_conversations(filled_library, "old", ids, create=True)
    expected = stored_bytes(filled_library, "old")
    root = filled_library.root
    filled_library.close()
    downgrade(root / "library.sqlite3", 5)
    jsonl = next((root / "training-files").glob("*/old.jsonl"))
    assert jsonl.read_bytes() == expected[1]
    with Library(root, read_only=True) as reader:
        target = tmp_path / "out" / "old.jsonl"
        export(reader, "old", ExportFormat.JSONL, target)
        assert target.read_bytes() == expected[1]
        data = jsonl.read_bytes()
        jsonl.write_bytes(data.replace(b'"role"', b'"rolE"', 1))  # same size
        changed = tmp_path / "out" / "changed.jsonl"
        with pytest.raises(LibraryError, match="was changed after it was built"):
            export(reader, "old", ExportFormat.JSONL, changed)
        assert not changed.exists()


def test_moving_the_builds_says_what_it_does_and_a_cancel_leaves_the_rest_for_later(
        tmp_path: Path) -> None:
    """At start the window shows this work's progress with a Cancel button: each step is
    announced before it runs, and a cancel between steps keeps what was done."""
    from app.build import BuildCancelled

    root = make_v5_library(tmp_path / "lib")
    before = old_files(root)
    heard: list[tuple[int, int, str]] = []
    with Library(root) as library:
        with pytest.raises(BuildCancelled):  # cancelled once the first file is moved
            finish_interrupted_work(library, lambda *said: heard.append(said),
                                    lambda: bool(heard))
        names = list(FILES)
        assert heard == [(0, len(names), f"Moving the training file '{names[0]}' into the "
                                         "library database")]
        assert get_training_file(library, names[0]).built
        assert not get_training_file(library, names[1]).built
        assert needs_recovery(library)
        done = finish_interrupted_work(library)  # the next start finishes it
        assert [s for s in done if s.startswith("moved")] == [
            f"moved the training file '{names[1]}' into the library database (its files "
            "from the older version are removed)"]
        for name, files in before.items():
            assert stored_bytes(library, name) == files, name
        assert not needs_recovery(library)
