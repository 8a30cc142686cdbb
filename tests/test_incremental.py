"""Incremental builds (app/fragments.py, app/stored_builds.py): after every kind of change,
the files put together from the stored fragments are byte for byte what a full render
writes, and only the conversations whose rendering changed are read and rendered again."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from stored import stored_bytes

from app import trainingfiles
from app.budget_fit import reply_ends
from app.build import write_training_files
from app.library import Library, RecordState
from app.review_marks import mark_reviewed
from app.tokens import default_counter
from app.trainingfiles import (
    add_conversations,
    change_settings,
    get_training_file,
    rebuild_training_files,
    remove_conversations,
    rename_training_file,
    set_cut_off_policy,
    set_max_seq_len,
)

NAME = "Incremental"
pytestmark = pytest.mark.usefixtures("backend")  # a library folder and a team library


class Rendered:
    """Which conversations each build read to render (the real method, watched)."""

    def __init__(self, library: Library) -> None:
        self.pks: list[int] = []
        self._read = library.records_with_states
        library.records_with_states = self._watch  # type: ignore[method-assign]

    def _watch(self, pks: Sequence[int], chunk: int = 500,
               ) -> Iterator[tuple[dict[str, Any], RecordState]]:
        self.pks = list(pks)
        return self._read(pks, chunk)


@pytest.fixture
def lib(filled_library: Library, monkeypatch: pytest.MonkeyPatch) -> Library:
    # One clock for every build, so a full rebuild's header matches the incremental one.
    monkeypatch.setattr(trainingfiles, "now_iso", lambda: "2026-01-01T00:00:00Z")
    return filled_library


def _ids(library: Library) -> list[str]:
    return [row.conversation_id for row in library.summaries() if row.trainable_replies]


def _pk(library: Library, cid: str) -> int:
    return library.resolve_ids([cid])[cid]


def assert_same_as_full_rebuild(library: Library, name: str) -> None:
    """Render the file from scratch elsewhere (the library's own build, and its fragments,
    stay as they are, so incremental builds follow one another) and compare."""
    incremental = stored_bytes(library, name)
    info = get_training_file(library, name)
    assert (info.json_bytes, info.jsonl_bytes) == tuple(map(len, incremental))
    head = trainingfiles.header(library, name)
    pks = trainingfiles._member_pks(library, name)
    with tempfile.TemporaryDirectory() as folder:
        full = write_training_files(
            Path(folder, "full.json"), Path(folder, "full.jsonl"), name=name,
            digests=trainingfiles._digests(library, pks),
            records=Library.records_by_pk(library, pks), profile_of=library.profile,
            created_at=head["created_at"], updated_at=head["updated_at"],
            jsonl_name=f"{name}.jsonl", cut_off_policy=head["cut_off_policy"],
            max_seq_len=info.max_seq_len, over_budget=info.over_budget)
        assert full.rendered == len(pks)
        assert (full.json_path.read_bytes(), full.jsonl_path.read_bytes()) == incremental
    document = orjson.loads(incremental[0])  # and it is one valid JSON document,
    assert len(document["conversations"]) == info.conversations
    # laid out exactly as orjson writes the whole document (app.fragments' promise)
    assert orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n" == incremental[0]


def test_each_change_rebuilds_only_what_it_touched(lib: Library) -> None:
    ids = _ids(lib)
    watch = Rendered(lib)
    add_conversations(lib, NAME, ids[:5], create=True)
    assert len(watch.pks) == 5
    assert_same_as_full_rebuild(lib, NAME)

    add_conversations(lib, NAME, ids[5:9])
    assert sorted(watch.pks) == sorted(_pk(lib, cid) for cid in ids[5:9])
    assert_same_as_full_rebuild(lib, NAME)

    remove_conversations(lib, NAME, [ids[2]])  # from the middle
    assert watch.pks == []
    assert_same_as_full_rebuild(lib, NAME)

    remove_conversations(lib, NAME, [ids[0]])  # the first
    assert watch.pks == []
    assert_same_as_full_rebuild(lib, NAME)

    mark_reviewed(lib, [ids[4]], "Ana")
    rebuild_training_files(lib, [NAME])
    assert watch.pks == [_pk(lib, ids[4])]
    assert_same_as_full_rebuild(lib, NAME)

    lib.move_conversations([ids[6]], "elsewhere")
    rebuild_training_files(lib, [NAME])
    assert watch.pks == [_pk(lib, ids[6])]
    assert_same_as_full_rebuild(lib, NAME)

    members = len(trainingfiles.member_ids(lib, NAME))
    set_cut_off_policy(lib, NAME, "keep")  # changes every JSONL line
    assert len(watch.pks) == members
    assert_same_as_full_rebuild(lib, NAME)

    rename_training_file(lib, NAME, "Renamed")  # every line names its file
    assert len(watch.pks) == members
    assert_same_as_full_rebuild(lib, "Renamed")

    rebuild_training_files(lib, ["Renamed"])  # nothing changed: nothing is rendered
    assert watch.pks == []
    assert_same_as_full_rebuild(lib, "Renamed")


def test_lines_fitted_to_a_small_token_budget_build_as_a_full_rebuild_does(
        lib: Library) -> None:
    """A new file ends each line over its budget at its last whole reply that fits
    (app.budget_fit); every change keeps the stored build what a full render writes."""
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:4], create=True)
    assert get_training_file(lib, NAME).over_budget == "fit"
    set_max_seq_len(lib, NAME, 1024)
    assert_same_as_full_rebuild(lib, NAME)
    add_conversations(lib, NAME, ids[4:])
    assert_same_as_full_rebuild(lib, NAME)
    remove_conversations(lib, NAME, [ids[1]])
    assert_same_as_full_rebuild(lib, NAME)
    head = trainingfiles.header(lib, NAME)
    fitted = head["quality_summary"]["replies_left_out_by_reason"]["over_token_budget"]
    assert fitted > 0
    lines = [orjson.loads(line) for line in stored_bytes(lib, NAME)[1].splitlines()]
    over = [line for line in lines if line["metadata"]["token_count"] > 1024]
    assert len(over) == head["tokens"]["lines_over_max_seq_len"]
    counter = default_counter()  # the library's (the bundled tokenizer)
    for line in over:  # left whole: its first reply alone does not fit
        first = reply_ends(line["messages"])[0]
        assert counter.count(line["messages"][:first]) > 1024
    change_settings(lib, NAME, over_budget="keep")  # every line whole again
    assert_same_as_full_rebuild(lib, NAME)
    head = trainingfiles.header(lib, NAME)
    assert "over_token_budget" not in head["quality_summary"]["replies_left_out_by_reason"]
    assert head["totals"]["trainable_replies"] == sum(
        len(line["metadata"]["replies"]) for line in
        map(orjson.loads, stored_bytes(lib, NAME)[1].splitlines()))


def test_all_members_removed_and_added_back(lib: Library) -> None:
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:6], create=True)
    remove_conversations(lib, NAME, ids[:6])
    assert_same_as_full_rebuild(lib, NAME)
    watch = Rendered(lib)
    add_conversations(lib, NAME, list(reversed(ids[:6])))
    assert len(watch.pks) == 6  # the empty build kept no fragments
    assert_same_as_full_rebuild(lib, NAME)


def test_reordered_members_are_copied_not_rendered(lib: Library) -> None:
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:8], create=True)
    watch = Rendered(lib)
    order = [_pk(lib, cid) for cid in [*ids[4:8], *ids[:4]]]
    trainingfiles._rebuild(lib, NAME, new_members=order)
    assert watch.pks == []
    assert trainingfiles.member_ids(lib, NAME) == [*ids[4:8], *ids[:4]]
    assert_same_as_full_rebuild(lib, NAME)


def test_a_rebuild_from_scratch_renders_everything_to_the_same_bytes(lib: Library) -> None:
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:4], create=True)
    before = stored_bytes(lib, NAME)
    watch = Rendered(lib)
    rebuild_training_files(lib, [NAME], from_scratch=True)
    assert len(watch.pks) == 4
    assert stored_bytes(lib, NAME) == before


def test_a_build_too_large_to_hold_stores_its_renderings_first(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trainingfiles, "SPILL_BYTES", 1)  # every rendering spills
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:6], create=True)
    assert_same_as_full_rebuild(lib, NAME)
    remove_conversations(lib, NAME, ids[1:3])
    add_conversations(lib, NAME, ids[6:9])
    assert_same_as_full_rebuild(lib, NAME)


def test_files_share_nothing_and_each_keeps_its_own(lib: Library) -> None:
    """Two files holding the same conversations: their lines name their own file, and
    deleting one leaves the other's build whole."""
    ids = _ids(lib)
    add_conversations(lib, NAME, ids[:4], create=True)
    add_conversations(lib, "Second", ids[:4], create=True)
    before = stored_bytes(lib, "Second")
    trainingfiles.delete_training_file(lib, NAME)
    assert stored_bytes(lib, "Second") == before
    assert_same_as_full_rebuild(lib, "Second")
