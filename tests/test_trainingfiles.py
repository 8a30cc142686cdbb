"""Training files: lifecycle, validation of both renderings, failure injection, exports."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from child_process import kill_hard, python_child, wait_for_marker
from conftest import ENRICHED, FIXTURES
from hostile_corpus import with_own_dialogue
from sqlalchemy import func, select
from stored import stored_bytes, stored_files

from app.build import BuildCancelled
from app.errors import LibraryError
from app.export import FORMATS, ExportFormat, export
from app.importer import import_paths
from app.library import Library, RecordState
from app.models import BuildFragment, TrainingFile
from app.token_counts import ensure_counts
from app.trainingfiles import (
    add_conversations,
    apply_addition,
    change_settings,
    create_training_file,
    delete_training_file,
    get_training_file,
    header,
    list_training_files,
    member_ids,
    plan_addition,
    remove_conversations,
    remove_orphan_files,
    rename_training_file,
)
from app.validate import validate_path

pytestmark = pytest.mark.usefixtures("backend")

# --- helpers -----------------------------------------------------------------------


def all_ids(library: Library) -> list[str]:
    return [row.conversation_id for row in library.summaries()]


def json_ids(data: bytes) -> list[str]:
    return [c["conversation_id"] for c in orjson.loads(data)["conversations"]]


def jsonl_lines(source: Path | bytes) -> list[dict[str, Any]]:
    data = source.read_bytes() if isinstance(source, Path) else source
    return [orjson.loads(raw) for raw in data.splitlines() if raw.strip()]


def revision(library: Library, name: str) -> int:
    with library.session() as session:
        row = session.query(TrainingFile).filter(TrainingFile.slug == name.casefold()).one()
        return row.revision


def folder_bytes(library: Library) -> dict[str, bytes]:
    """Every file below the training-files folder (by relative path), temporaries included:
    builds live in the database now, so nothing is written there."""
    if not library.files_dir.exists():
        return {}
    return {p.relative_to(library.files_dir).as_posix(): p.read_bytes()
            for p in sorted(library.files_dir.rglob("*")) if p.is_file()}


def fragment_count(library: Library) -> int:
    with library.session() as session:
        return session.scalar(select(func.count()).select_from(BuildFragment)) or 0


def snapshot(library: Library, name: str) -> dict[str, Any]:
    info = get_training_file(library, name)
    return {
        "files": folder_bytes(library),
        "stored": stored_bytes(library, name),
        "fragments": fragment_count(library),
        "members": member_ids(library, name),
        "revision": revision(library, name),
        "header": header(library, name),
        "info": info,
    }


@pytest.fixture
def built(filled_library: Library) -> tuple[Library, str, list[str]]:
    """A training file holding the first five conversations, in reverse order."""
    ids = list(reversed(all_ids(filled_library)[:5]))
    create_training_file(filled_library, "Base set")
    add_conversations(filled_library, "Base set", ids)
    return filled_library, "Base set", ids


def import_unanswered(library: Library, tmp_path: Path) -> str:
    """A stored conversation with nothing to train on.

    Import refuses such files now, so the row is made by importing a good conversation and
    marking it as a library written by an older version would have stored it.
    """
    from sqlalchemy import update

    from app.models import Conversation

    document = with_own_dialogue(json.loads(ENRICHED[0].read_text(encoding="utf-8")), "x")
    document["dataset_metadata"]["dataset_name"] = "client_turn_only"
    path = tmp_path / "client-turn-only.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    report = import_paths(library, [path])
    assert report.imported == 1, report.verdicts
    with library.session() as session, session.begin():
        session.execute(update(Conversation)
                        .where(Conversation.conversation_id == "client_turn_only")
                        .values(trainable_replies=0))
    assert library.summaries(report.verdicts[0].batch_id)[0].trainable_replies == 0
    return "client_turn_only"


def test_import_refuses_a_conversation_without_replies(library: Library, tmp_path: Path) -> None:
    document = json.loads(ENRICHED[0].read_text(encoding="utf-8"))
    document["training_pairs"] = document["training_pairs"][:1]
    assert document["training_pairs"][0]["target_response"] is None
    path = tmp_path / "client-turn-only.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    report = import_paths(library, [path])
    assert report.rejected == 1
    assert "no consultant reply to train on" in report.verdicts[0].reason


# --- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("../x", "cannot contain"),
        ("a/b", "cannot contain"),
        ("a\\b", "cannot contain"),
        ("con", "reserved device name"),
        ("LPT1.txt", "reserved device name"),
        ("x.json", "without .json or .jsonl"),
        ("x.JSONL", "without .json or .jsonl"),
        (".hidden", "not allowed"),
        ("ends with dot.", "not allowed"),
        ("x" * 93, "at most 80 characters (this one has 93)"),
        ("– leading dash", "not allowed"),
        ("a/b – c", "cannot contain"),
        ("CON", "reserved device name"),
        ("nul.txt", "reserved device name"),
    ],
)
def test_bad_names_are_refused_clearly(library: Library, name: str, message: str) -> None:
    with pytest.raises(LibraryError, match=re.escape(message)):
        create_training_file(library, name)
    assert list_training_files(library) == []


@pytest.mark.parametrize("name", ["Elena Q4 – emotional set", "Elena Q4 — emotional set",
                                  "CON – backup"])
def test_typographic_dashes_are_taken_and_name_the_saved_files(
        library: Library, tmp_path: Path, name: str) -> None:
    """Autocorrect turns " - " into an en dash: such a name is a safe file name on Windows,
    macOS and Linux alike, and the saved copies are named after it as typed."""
    assert create_training_file(library, name).name == name
    written = export(library, name.upper(), ExportFormat.JSON, tmp_path / f"{name}.json")
    assert [path.name for path in written] == [f"{name}.json", f"{name}.json.manifest.json"]
    assert (tmp_path / f"{name}.json").is_file()


def test_duplicate_names_are_refused_case_insensitively(library: Library) -> None:
    create_training_file(library, "Alpha Set")
    with pytest.raises(LibraryError, match="already exists"):
        create_training_file(library, "alpha set")
    with pytest.raises(LibraryError, match="already exists"):
        create_training_file(library, "  ALPHA   SET ")
    assert [f.name for f in list_training_files(library)] == ["Alpha Set"]


def test_a_new_file_is_empty_but_has_both_renderings(library: Library) -> None:
    info = create_training_file(library, "Empty (v1)")
    assert info.conversations == 0
    files = stored_files(library, "Empty (v1)")
    document = orjson.loads(files.json_path.read_bytes())
    assert document["conversations"] == []
    assert document["training_file_metadata"]["name"] == "Empty (v1)"
    assert files.jsonl_path.read_bytes() == b""
    assert validate_path(files.json_path).ok
    assert info.json_bytes == files.json_path.stat().st_size


# --- add ---------------------------------------------------------------------------


def assert_consistent(library: Library, name: str) -> None:
    """Both stored files are valid and list exactly the members, in order."""
    info = get_training_file(library, name)
    files = stored_files(library, name)
    for path in (files.json_path, files.jsonl_path):
        verdict = validate_path(path)
        assert verdict.ok, [str(p) for p in verdict.problems]
    members = member_ids(library, name)
    lines = jsonl_lines(files.jsonl_path)
    assert json_ids(files.json_path.read_bytes()) == members
    assert [line["metadata"]["conversation_id"] for line in lines] == members
    head = orjson.loads(files.json_path.read_bytes())["training_file_metadata"]
    assert head == header(library, name)
    assert head["name"] == name
    assert head["totals"]["conversations"] == len(members) == info.conversations
    assert head["totals"]["jsonl_lines"] == len(lines)
    assert head["totals"]["trainable_replies"] == info.trainable_replies
    assert info.json_bytes == files.json_path.stat().st_size
    assert info.jsonl_bytes == files.jsonl_path.stat().st_size
    assert {line["metadata"]["training_file"] for line in lines} <= {name}


def test_add_keeps_the_order_given_and_appends(built: tuple[Library, str, list[str]]) -> None:
    library, name, first = built
    assert member_ids(library, name) == first
    assert_consistent(library, name)
    more = list(reversed(all_ids(library)[5:9]))
    info = add_conversations(library, name, more)
    assert member_ids(library, name) == first + more
    assert info.conversations == 9
    replies = {r.conversation_id: r.trainable_replies for r in library.summaries()}
    assert info.trainable_replies == sum(replies[cid] for cid in first + more)
    assert_consistent(library, name)
    # The build is in the database: one fragment per member, nothing on disk.
    assert fragment_count(library) == 9
    assert folder_bytes(library) == {}


def test_adding_present_ids_adds_only_the_new_ones_and_says_which_were_skipped(
    built: tuple[Library, str, list[str]],
) -> None:
    library, name, first = built
    fresh = all_ids(library)[6]
    plan = plan_addition(library, name, [fresh, first[1], first[3]])
    assert plan.adding == [fresh]
    assert plan.already == (first[1], first[3])
    assert plan.skipped() == {f"already in '{name}'": [first[1], first[3]]}
    info = apply_addition(library, plan)
    assert member_ids(library, name) == [*first, fresh]
    assert info.conversations == len(first) + 1
    assert_consistent(library, name)


def test_nothing_new_to_add_writes_nothing_and_says_why(
    built: tuple[Library, str, list[str]],
) -> None:
    library, name, first = built
    before = snapshot(library, name)
    with pytest.raises(LibraryError, match=f"nothing to add: 2 already in '{name}'"):
        add_conversations(library, name, first[:2])
    assert snapshot(library, name) == before


def test_unknown_ids_are_skipped_and_named(built: tuple[Library, str, list[str]]) -> None:
    library, name, first = built
    plan = plan_addition(library, name, ["nope-1", all_ids(library)[7], "nope-2"])
    assert plan.missing == ("nope-1", "nope-2")
    assert "2 not in the library: nope-1, nope-2" in plan.skipped_text()
    apply_addition(library, plan)
    assert member_ids(library, name) == [*first, all_ids(library)[7]]


def test_many_skipped_ids_are_counted_with_thousands_separators(
    built: tuple[Library, str, list[str]],
) -> None:
    """The wording rule: every number in a sentence has its separators, the more too."""
    library, name, _first = built
    plan = plan_addition(library, name, [f"nope-{n}" for n in range(1240)])
    listed = ", ".join(f"nope-{n}" for n in range(10))
    assert plan.skipped_text() == f"1,240 not in the library: {listed} and 1,230 more"


def test_a_conversation_without_trainable_replies_is_skipped(
    built: tuple[Library, str, list[str]], tmp_path: Path
) -> None:
    library, name, _first = built
    empty = import_unanswered(library, tmp_path)
    plan = plan_addition(library, name, [all_ids(library)[8], empty])
    assert plan.without_reply == (empty,)
    assert plan.skipped() == {"without a single trainable reply": [empty]}
    apply_addition(library, plan)
    assert empty not in member_ids(library, name)


def test_an_empty_request_is_refused(built: tuple[Library, str, list[str]]) -> None:
    library, name, _ = built
    before = snapshot(library, name)
    with pytest.raises(LibraryError, match="no conversations"):
        add_conversations(library, name, [])
    assert snapshot(library, name) == before


def test_the_plan_counts_hidden_and_flagged_and_leaves_them_out_when_asked(
    built: tuple[Library, str, list[str]],
) -> None:
    library, name, first = built
    rows = {r.conversation_id: r for r in library.summaries()}
    asked = [cid for cid in all_ids(library) if cid not in first]
    # two fixtures are cut off in their first reply: the file's policy (trim) trains
    # nothing of them, so they are skipped, not new
    lineless = plan_addition(library, name, asked).untrainable
    assert len(lineless) == 2
    candidates = [cid for cid in asked if cid not in lineless]
    warned = [cid for cid in candidates if rows[cid].warning_codes]
    clean = [cid for cid in candidates if not rows[cid].warning_codes]
    assert warned and len(clean) >= 2, "the fixtures hold conversations with warnings"
    hidden = [clean[0], warned[0]]
    # The file ends a longer line at its last whole reply that fits: none stays over.
    assert not plan_addition(library, name, candidates, hidden=hidden).over_budget
    change_settings(library, name, over_budget="keep")  # lines whole: the long one is over
    plan = plan_addition(library, name, candidates, hidden=hidden)
    # Their warnings are all ones the JSONL handles (the fixtures with cut-off replies give
    # no line under trim): none is flagged.
    assert [cid for cid, _codes in plan.warned] == warned
    assert plan.flagged == frozenset()
    assert plan.hidden == frozenset(hidden)
    tokens = ensure_counts(library, candidates)  # exact tokens of each training line
    assert plan.over_budget == frozenset(c for c in candidates if tokens[c] > 4096)
    assert plan.over_budget, "one fixture conversation is longer than 4,096 tokens"
    assert plan.adding == candidates
    chosen = plan.choose(leave_out_flagged=True, leave_out_hidden=True)
    assert chosen.adding == [c for c in candidates if c not in hidden]
    assert plan.adding == candidates, "choosing makes a new plan"
    assert chosen.skipped() == {"hidden by the current filter (left out)": hidden}
    apply_addition(library, chosen)
    assert member_ids(library, name) == first + chosen.adding


def test_leaving_out_flagged_keeps_the_ones_whose_warnings_the_jsonl_handles(
        library: Library) -> None:
    """Of the real enriched fixtures, two carry only Unanswered Last Turn or Text Repaired
    (the JSONL leaves the last turn out and trains the repaired text): they were flagged
    like the two with cut-off replies, and leaving out flagged ones left them out too. A
    file that keeps cut-off turns makes all six addable."""
    import_paths(library, [FIXTURES / "enriched"])
    rows = {r.conversation_id: set(r.warning_codes) for r in library.summaries()}
    handled = {"text_repaired", "unanswered_last_turn"}
    harmed = {cid for cid, codes in rows.items() if codes - handled}
    only_handled = {cid for cid, codes in rows.items() if codes and codes <= handled}
    assert len(harmed) == 2 and len(only_handled) == 2

    plan = plan_addition(library, "Clean", list(rows), create=True, cut_off_policy="keep")
    assert plan.flagged == harmed
    assert set(plan.handled) == only_handled
    assert {cid for cid, _codes in plan.warned} == harmed | only_handled
    assert dict(plan.flagged_by_code) == {"reply_cut_off": 2, "client_cut_off": 1}
    chosen = plan.choose(leave_out_flagged=True)
    assert set(chosen.adding) == set(rows) - harmed
    assert chosen.skipped() == {
        "flagged with warnings that would harm training (left out)":
            [cid for cid in plan.new if cid in harmed]}


def test_a_new_file_is_built_once(filled_library: Library) -> None:
    ids = all_ids(filled_library)[:3]
    plan = plan_addition(filled_library, "Once", ids, create=True)
    info = apply_addition(filled_library, plan)
    assert info.conversations == 3
    with filled_library.session() as session:
        (revision,) = session.scalars(select(TrainingFile.revision)).all()
    assert revision == 1, "one build: no empty revision before the real one"
    assert fragment_count(filled_library) == 3


def test_add_to_a_missing_file_is_refused(filled_library: Library) -> None:
    with pytest.raises(LibraryError, match="no training file named 'ghost'"):
        add_conversations(filled_library, "ghost", all_ids(filled_library)[:1])


def test_add_with_create_makes_the_file_or_leaves_no_trace(filled_library: Library) -> None:
    library = filled_library
    ids = all_ids(library)
    with pytest.raises(LibraryError, match="nothing to add: 1 not in the library: nope"):
        add_conversations(library, "Fresh", ["nope"], create=True)
    assert list_training_files(library) == []
    calls = [0]

    def cancelled() -> bool:
        calls[0] += 1
        return calls[0] > 2

    with pytest.raises(BuildCancelled):
        add_conversations(library, "Fresh", ids[:4], cancelled=cancelled, create=True)
    assert list_training_files(library) == []
    assert folder_bytes(library) == {}
    info = add_conversations(library, "Fresh", ids[:4], create=True)
    assert info.conversations == 4
    assert_consistent(library, "Fresh")
    with pytest.raises(LibraryError, match="already exists"):
        add_conversations(library, "fresh", ids[4:5], create=True)
    assert member_ids(library, "Fresh") == ids[:4]


# --- remove, rename, delete --------------------------------------------------------


def test_remove(built: tuple[Library, str, list[str]]) -> None:
    library, name, ids = built
    info = remove_conversations(library, name, [ids[0], ids[3]])
    assert member_ids(library, name) == [ids[1], ids[2], ids[4]]
    assert info.conversations == 3
    assert_consistent(library, name)
    with pytest.raises(LibraryError, match=f"not in '{name}': {ids[0]}"):
        remove_conversations(library, name, [ids[0]])
    assert member_ids(library, name) == [ids[1], ids[2], ids[4]]


def test_remove_everything_leaves_an_empty_file(built: tuple[Library, str, list[str]]) -> None:
    library, name, ids = built
    info = remove_conversations(library, name, ids)
    assert info.conversations == 0
    json_bytes, jsonl_bytes = stored_bytes(library, name)
    assert json_ids(json_bytes) == []
    assert jsonl_bytes == b""
    assert fragment_count(library) == 0  # nothing keeps the old renderings


def test_rename(built: tuple[Library, str, list[str]]) -> None:
    library, name, ids = built
    info = rename_training_file(library, name, "Renamed set")
    assert info.name == "Renamed set"
    assert [f.name for f in list_training_files(library)] == ["Renamed set"]
    assert member_ids(library, "Renamed set") == ids
    head = header(library, "Renamed set")
    assert head["name"] == "Renamed set"
    assert head["jsonl_file"] == "Renamed set.jsonl"
    lines = jsonl_lines(stored_bytes(library, info.name)[1])
    assert {line["metadata"]["training_file"] for line in lines} == {"Renamed set"}
    assert fragment_count(library) == len(ids)  # the old name's renderings are gone
    assert_consistent(library, "Renamed set")
    with pytest.raises(LibraryError, match="no training file named"):
        get_training_file(library, name)
    # The conversation rows know their file under its new name.
    membership = {r.conversation_id: r.training_files for r in library.summaries()}
    assert all(membership[cid] == ("Renamed set",) for cid in ids)


def test_rename_onto_another_file_is_refused(built: tuple[Library, str, list[str]]) -> None:
    library, name, _ = built
    create_training_file(library, "Other")
    before = snapshot(library, name)
    with pytest.raises(LibraryError, match="already exists"):
        rename_training_file(library, name, "other")
    assert snapshot(library, name) == before


def test_delete_removes_the_build(built: tuple[Library, str, list[str]]) -> None:
    library, name, ids = built
    other = all_ids(library)[5:7]
    add_conversations(library, "Other", [*ids[:1], *other], create=True)
    assert fragment_count(library) == 5 + 3
    delete_training_file(library, name)
    assert list_training_files(library)[0].name == "Other"
    assert fragment_count(library) == 3  # the other file's stay
    assert folder_bytes(library) == {}
    assert library.count() == 15  # conversations stay in the library
    assert all(r.training_files == () for r in library.summaries()
               if r.conversation_id not in [ids[0], *other])
    # The name is free again.
    create_training_file(library, name)
    add_conversations(library, name, ids[:1])
    assert_consistent(library, name)


# --- failure injection -------------------------------------------------------------


def test_a_cancelled_rebuild_leaves_everything_as_it_was(
    built: tuple[Library, str, list[str]],
) -> None:
    library, name, _ = built
    before = snapshot(library, name)
    calls = [0]

    def cancelled() -> bool:
        calls[0] += 1
        return calls[0] > 3  # three records are written, the fourth is refused

    with pytest.raises(BuildCancelled):
        add_conversations(library, name, all_ids(library)[5:10], cancelled=cancelled)
    assert calls[0] == 4
    assert snapshot(library, name) == before
    assert_consistent(library, name)


def test_a_failing_record_stream_leaves_everything_as_it_was(
    built: tuple[Library, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    library, name, _ = built
    before = snapshot(library, name)
    original = Library.records_with_states

    def failing(self: Library, pks: Sequence[int], chunk: int = 500,
                ) -> Iterator[tuple[dict[str, Any], RecordState]]:
        records = original(self, pks, chunk)
        yield next(records)
        yield next(records)
        raise OSError("disk full")

    monkeypatch.setattr(Library, "records_with_states", failing)
    with pytest.raises(OSError, match="disk full"):
        add_conversations(library, name, all_ids(library)[5:10])
    with pytest.raises(OSError, match="disk full"):
        rename_training_file(library, name, "Never")
    monkeypatch.undo()
    assert snapshot(library, name) == before
    assert_consistent(library, name)
    # And the same add then works.
    add_conversations(library, name, all_ids(library)[5:10])
    assert_consistent(library, name)


CHILD = r"""
import sys, time
from pathlib import Path

from app import build, trainingfiles
from app.library import Library
from app.token_counts import ensure_counts
from app.trainingfiles import add_conversations

root, name, marker, *ids = sys.argv[1:]
original = Library.records_with_states
trainingfiles.SPILL_BYTES = 1  # store each rendering at once, as a large build does
build.CHUNK = 1  # tokenize one conversation at a time, so each is stored before the next


def slow(self, pks, chunk=500):
    for index, read in enumerate(original(self, pks, chunk)):
        if index == 3:
            Path(marker).write_text("writing")  # three renderings are stored by now
            time.sleep(120)
        yield read


library = Library(root)  # a folder or a team library's URL
ensure_counts(library)  # token counts first, so only the build reads records slowly
Library.records_with_states = slow
add_conversations(library, name, ids)
print("finished, which it never should")
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX-only")
def test_a_killed_process_leaves_the_previous_build_intact(
    built: tuple[Library, str, list[str]], tmp_path: Path
) -> None:
    from app.recovery import finish_interrupted_work, needs_recovery

    library, name, _ = built
    before = snapshot(library, name)
    adding = all_ids(library)[5:12]
    library.close()  # one writer at a time: the child takes the library's lock
    marker = tmp_path / "child-is-writing"
    where = library.location.url or str(library.root)
    with python_child(CHILD, where, name, str(marker), *adding) as child:
        wait_for_marker(child, marker, 60, "started writing")
        kill_hard(child)

    # The killed child's lock died with it, so the library opens for writing at once.
    with Library(where) as reopened:
        after = snapshot(reopened, name)
        assert after["fragments"] > before["fragments"], \
            "the child should have stored renderings that nothing uses yet"
        assert needs_recovery(reopened)
        for key in ("stored", "members", "revision", "header", "info", "files"):
            assert after[key] == before[key], key
        done = finish_interrupted_work(reopened)
        assert any("left over by an interrupted build" in sentence for sentence in done)
        assert snapshot(reopened, name) == before
        assert not needs_recovery(reopened)
        assert_consistent(reopened, name)

        info = add_conversations(reopened, name, adding)
        assert member_ids(reopened, name) == before["members"] + adding
        assert info.conversations == len(before["members"]) + len(adding)
        assert_consistent(reopened, name)


def test_remove_orphan_files_removes_only_superseded_build_folders(
    built: tuple[Library, str, list[str]],
) -> None:
    library = built[0]
    library.files_dir.mkdir()  # builds are in the database; folders are from before v6
    own_file = library.files_dir / "my notes.txt"  # the user's, not ours: never touched
    own_file.write_text("keep me", encoding="utf-8")
    before = folder_bytes(library)
    stray = library.files_dir / "00001-r0"
    stray.mkdir()
    (stray / "Base set.json").write_bytes(b"{}")
    assert remove_orphan_files(library) == [stray]
    assert folder_bytes(library) == before


def test_a_damaged_stored_rendering_is_refused_and_rebuild_repairs_it(
    built: tuple[Library, str, list[str]], tmp_path: Path
) -> None:
    from sqlalchemy import update

    from app.trainingfiles import rebuild_training_files

    library, name, _ = built
    good = stored_bytes(library, name)
    with library.session() as session, session.begin():
        key = session.scalars(select(BuildFragment.key)).first()
        damaged = session.get(BuildFragment, key).jsonl.replace(b"e", b"a", 1)  # type: ignore[union-attr]
        session.execute(update(BuildFragment).where(BuildFragment.key == key)
                        .values(jsonl=damaged))
    target = tmp_path / "out.jsonl"
    with pytest.raises(LibraryError, match=f"stored build of the training file '{name}' is "
                       "damaged.*lora-studio rebuild"):
        export(library, name, ExportFormat.JSONL, target)
    assert not target.exists() and not list(tmp_path.glob("*.manifest.json"))
    rebuild_training_files(library, [name], from_scratch=True)
    repaired = stored_bytes(library, name)
    assert repaired[1] == good[1]  # the JSONL as it was; the JSON's header has a new date
    documents = [orjson.loads(data) for data in (repaired[0], good[0])]
    for document in documents:
        document["training_file_metadata"].pop("updated_at")
    assert documents[0] == documents[1]


# --- export ------------------------------------------------------------------------


@pytest.fixture
def everything(filled_library: Library) -> tuple[Library, str]:
    create_training_file(filled_library, "All")
    add_conversations(filled_library, "All", all_ids(filled_library))
    return filled_library, "All"


@pytest.mark.parametrize("fmt", [ExportFormat.JSON, ExportFormat.JSONL])
def test_export_as_stored_is_a_byte_identical_copy(
    everything: tuple[Library, str], tmp_path: Path, fmt: ExportFormat
) -> None:
    library, name = everything
    target = tmp_path / "out" / f"copy.{fmt.value}"
    assert export(library, name, fmt, target) == [target, target.with_name(
        target.name + ".manifest.json")]
    json_bytes, jsonl_bytes = stored_bytes(library, name)
    assert target.read_bytes() == (json_bytes if fmt is ExportFormat.JSON else jsonl_bytes)
    manifest = orjson.loads(target.with_name(target.name + ".manifest.json").read_bytes())
    assert manifest["source"]["json"]["bytes"] == len(json_bytes)
    assert manifest["source"]["jsonl"]["bytes"] == len(jsonl_bytes)


def test_export_messages_only(everything: tuple[Library, str], tmp_path: Path) -> None:
    library, name = everything
    target = tmp_path / "messages.jsonl"
    export(library, name, ExportFormat.MESSAGES_ONLY, target)
    lines = jsonl_lines(target)
    stored = jsonl_lines(stored_bytes(library, name)[1])
    assert len(lines) == len(stored) == header(library, name)["totals"]["jsonl_lines"] == 13
    assert all(set(line) == {"messages"} for line in lines)
    assert [line["messages"] for line in lines] == [line["messages"] for line in stored]


def test_export_per_reply(everything: tuple[Library, str], tmp_path: Path) -> None:
    library, name = everything
    info = get_training_file(library, name)
    target = tmp_path / "per-reply.jsonl"
    export(library, name, ExportFormat.PER_REPLY, target)
    lines = jsonl_lines(target)
    members = set(member_ids(library, name))
    every = sum(r.trainable_replies for r in library.summaries() if r.conversation_id in members)
    total = header(library, name)["totals"]["trainable_replies"]
    assert len(lines) == total == info.trainable_replies
    assert total + header(library, name)["totals"]["replies_left_out"] == every
    for line in lines:
        assert line["messages"][-1]["role"] == "assistant"
        assert len(line["metadata"]["replies"]) == 1
    assert validate_path(target).ok


def test_export_split_is_reproducible_and_complete(
    everything: tuple[Library, str], tmp_path: Path
) -> None:
    library, name = everything
    first = export(library, name, ExportFormat.SPLIT, tmp_path / "one", 0.2, seed=7)
    second = export(library, name, ExportFormat.SPLIT, tmp_path / "two", 0.2, seed=7)
    assert [p.name for p in first] == ["train.jsonl", "valid.jsonl", "manifest.json"]
    for a, b in zip(first[:2], second[:2], strict=True):
        assert a.read_bytes() == b.read_bytes()
    train, valid = (jsonl_lines(p) for p in first[:2])
    assert valid, "the validation file must not be empty"
    assert train
    stored = jsonl_lines(stored_bytes(library, name)[1])
    key = [line["metadata"]["conversation_id"] for line in stored]
    got = [line["metadata"]["conversation_id"] for line in train + valid]
    assert sorted(got) == sorted(key)
    assert len(train) + len(valid) == len(stored)
    assert len(valid) == 3  # round(13 * 0.2): 13 lines under the trim policy
    for path in first[:2]:
        assert validate_path(path).ok


def test_export_split_tiny_fraction_still_holds_one_out(
    everything: tuple[Library, str], tmp_path: Path
) -> None:
    library, name = everything
    train, valid, _manifest = export(library, name, ExportFormat.SPLIT, tmp_path / "tiny", 0.01)
    assert len(jsonl_lines(valid)) == 1
    assert len(jsonl_lines(train)) == 12  # 13 lines: two conversations are cut off at once


def test_export_split_refuses_a_bad_fraction(
    everything: tuple[Library, str], tmp_path: Path
) -> None:
    library, name = everything
    with pytest.raises(LibraryError, match="between 0 and 1"):
        export(library, name, ExportFormat.SPLIT, tmp_path / "bad", 1.5)


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_into_an_unwritable_destination_says_why(
    everything: tuple[Library, str], tmp_path: Path, fmt: ExportFormat
) -> None:
    library, name = everything
    blocker = tmp_path / "a-plain-file"
    blocker.write_text("I am not a folder", encoding="utf-8")
    # a split writes a folder and refuses a file's name (test_split)
    target = blocker / "sub" / ("out" if FORMATS[fmt].writes_folder else "out.jsonl")
    with pytest.raises(LibraryError, match="cannot write to") as caught:
        export(library, name, fmt, target)
    assert str(target) in str(caught.value)
    assert str(caught.value).split(": ")[-1].strip(), "the reason is missing"
    assert blocker.read_text(encoding="utf-8") == "I am not a folder"


def test_export_without_session_context_keeps_the_generators_prompt(
    everything: tuple[Library, str], tmp_path: Path
) -> None:
    from app.canonical import SESSION_CONTEXT_HEADING
    from app.export import ExportFormat, export

    library, name = everything
    target, _manifest = export(library, name, ExportFormat.NO_SESSION_CONTEXT,
                               tmp_path / "plain.jsonl")
    stored = stored_bytes(library, name)[1].splitlines()
    plain = target.read_bytes().splitlines()
    assert len(plain) == len(stored)
    greeted = 0
    for original, line in zip(map(orjson.loads, stored), map(orjson.loads, plain), strict=True):
        system = line["messages"][0]["content"]
        assert SESSION_CONTEXT_HEADING not in system
        record = library.record(line["metadata"]["conversation_id"])
        # the generator's own prompt, then the client's name (the replies greet by name)
        first_name = record["client"]["name"].split()[0]
        assert system == f"{record['system_prompt'].rstrip()}\n\nClient: {record['client']['name']}"
        assert first_name in system
        greeted += any(first_name in m["content"] for m in line["messages"][2::2])
        assert original["messages"][0]["content"].startswith(record["system_prompt"].rstrip())
        assert line["messages"][1:] == original["messages"][1:]
        # the same metadata, but the count of this line's own (shorter) text
        assert {**line["metadata"], "token_count": 0} == {**original["metadata"],
                                                           "token_count": 0}
        assert 0 < line["metadata"]["token_count"] < original["metadata"]["token_count"]
    assert greeted, "the real replies greet the client by name: the reason the name stays"
    assert validate_path(target).ok


def test_the_plan_counts_replies_the_files_cut_off_policy_leaves_out(
    filled_library: Library, tmp_path: Path,
) -> None:
    from hostile_corpus import cut_in_the_middle

    from app.trainingfiles import replies_left_out

    # the fixtures' cut-off replies are in conversations weight0 trains nothing of (not
    # added); this one loses one reply and keeps the others
    assert import_paths(filled_library, [cut_in_the_middle(tmp_path)]).imported == 1
    ids = all_ids(filled_library)
    plan = plan_addition(filled_library, "Budget", ids, create=True, cut_off_policy="weight0")
    expected = replies_left_out(filled_library, plan.new, plan.cut_off_policy)
    assert expected, "the fixtures hold replies that are cut off"
    assert plan.cut_off == frozenset(expected)
    assert plan.replies_left_out == sum(sum(r.values()) for r in expected.values())
    keep = plan_addition(filled_library, "Budget", ids, create=True, cut_off_policy="keep")
    assert keep.cut_off == frozenset() and keep.replies_left_out == 0


def test_conversations_removed_after_the_plan_are_left_out(filled_library: Library) -> None:
    from app.removal import apply_removal, plan_removal

    ids = all_ids(filled_library)
    plan = plan_addition(filled_library, "Later", ids[:4], create=True)
    apply_removal(filled_library, plan_removal(filled_library, [ids[1]]))
    info = apply_addition(filled_library, plan)
    assert member_ids(filled_library, "Later") == [ids[0], ids[2], ids[3]]
    assert info.conversations == 3


@pytest.mark.parametrize("fmt", [ExportFormat.JSON, ExportFormat.JSONL])
def test_saving_a_copy_reports_progress_and_honours_cancel(
    everything: tuple[Library, str], tmp_path: Path, fmt: ExportFormat
) -> None:
    library, name = everything
    seen: list[tuple[int, int]] = []
    target = tmp_path / "out" / f"copy.{fmt.value}"
    target.parent.mkdir()
    with pytest.raises(BuildCancelled):
        export(library, name, fmt, target, progress=lambda done, total, _: seen.append(
            (done, total)), cancelled=lambda: len(seen) > 0)
    assert list(target.parent.iterdir()) == []  # nothing left behind, no temporary
    assert seen and seen[0][1] > 0
    seen.clear()
    export(library, name, fmt, target, progress=lambda done, total, _: seen.append(
        (done, total)))
    assert seen[-1][0] == seen[-1][1]  # the last step is reported


def test_the_marks_a_name_may_hold_stay_on_one_line() -> None:
    """The refusal wrapped inside its list of marks ("- – — _" / ". ( ) +"): they are
    joined by no-break spaces, so a line breaks only between words."""
    from app.errors import LibraryError
    from app.trainingfiles import check_name
    with pytest.raises(LibraryError) as refused:
        check_name("a*b")
    said = str(refused.value)
    assert "spaces and -\u00a0–\u00a0—\u00a0_\u00a0.\u00a0(\u00a0)\u00a0+, starting" in said
