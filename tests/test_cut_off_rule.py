"""The cut-off rule: a reply must end like a finished sentence, a client message is cut
off only on a clear sign; and a library stored under the earlier rule is judged again once.

``tests/data/library-before-cut-rule`` was written by LoRA Studio at commit a07ceb8 (the
last commit under the earlier rule, which took every client message without an end mark
as cut off and a reply ending on an em dash as finished): ``lora-studio import`` of a
folder ``conversations`` holding ``cut_off_corpus.informal_clients``,
``cut_off_corpus.cut_at_a_dash`` and the first legacy fixture, then ``add affected --new``
of those three and ``add unaffected --new`` of the legacy one alone (both ``trim``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from cut_off_corpus import DASH_CUT, INFORMAL, cut_at_a_dash, informal_clients
from sqlalchemy import select
from stored import stored_bytes

from app import upkeep
from app.build import BuildCancelled
from app.cli import main
from app.cut_off_rule import is_cut_off, looks_cut_off
from app.export import owes_rebuild
from app.importer import import_paths
from app.library import Library
from app.loader import record_from_bytes
from app.models import Conversation
from app.recovery import finish_interrupted_work, needs_recovery
from app.trainingfiles import add_conversations, header, rebuild_if_owed

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-cut-rule"
LEGACY_ONE = "financial_planning_emotional_intelligence_conversation_1"


def _jsonl(library: Library, name: str) -> dict[str, dict[str, Any]]:
    lines = stored_bytes(library, name)[1].splitlines()
    return {line["metadata"]["conversation_id"]: line for line in map(orjson.loads, lines)}


def _trained(line: dict[str, Any]) -> int:
    return len(line["metadata"]["replies"])


def _cut_warnings(record: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(w["code"], w["turn_number"], w["message"]) for w in record["quality"]["warnings"]
            if w["code"] in ("reply_cut_off", "client_cut_off")]


@pytest.mark.parametrize("ending", [
    "ok thanks", "that makes sense", "Or is there some middle ground I'm not seeing",
    "I guess kind of", "we went with Plan A", "that is a lot to take in :(",
    "that's exactly what I'm worried about", "I'd love to", "who should I even talk to",
    "it's hard to know what it's all made of", "oh my"])
def test_informal_client_endings_are_finished(ending: str) -> None:
    assert looks_cut_off(ending, "user") is None
    assert not is_cut_off(ending, "user")


@pytest.mark.parametrize(("text", "role", "why"), [
    ("sounds good 👍", "user", None), ("Great question 🙂", "assistant", None),
    ("Thanks for talking this through with me…", "user", None),
    ("fair enough (mostly)", "user", None), ("That's the plan.", "assistant", None),
    ("the compound growth we've \\", "user",
     "ends in a lone backslash (the generator cut it off)"),
    ("That is the part I would", "assistant", "ends mid-sentence: …'That is the part I would'"),
])
def test_what_ended_well_or_was_cut_before_still_is(text: str, role: str,
                                                     why: str | None) -> None:
    """A guard: the sharper rule keeps these judgements (and their words) as they were."""
    assert looks_cut_off(text, role) == why
    assert is_cut_off(text, role) == (why is not None)


@pytest.mark.parametrize(("text", "role", "why"), [
    ("we should look at—", "assistant", "ends on a dash, mid-sentence: …'we should look at—'"),
    ("and the other option –", "user", "ends on a dash, mid-sentence"),
    ("Let me put it this way -", "assistant", "ends on a dash, mid-sentence"),
    ("Yes, and honestly,", "user", "ends on a comma, mid-sentence: …'Yes, and honestly,'"),
    ("Here is what I would do first:", "assistant", "ends on a colon, mid-sentence"),
    ("we pay it off first;", "user", "ends on a semicolon, mid-sentence"),
    ("I was going to ask about the", "user", "ends on the word 'the', mid-sentence"),
    ("my sister and", "user", "ends on the word 'and', mid-sentence"),
    ("I keep worrying because", "user", "ends on the word 'because', mid-sentence"),
    ("we moved most of it into my", "user", "ends on the word 'my', mid-sentence"),
    ('my dad always said "never borrow', "user",
     "opens a quotation mark that never closes: …'my dad always said \"never borrow'"),
    ("we set aside some (for the roof", "user", "opens a bracket that never closes"),
    ("it came to \\u20", "assistant", "ends in an unfinished escape sequence (the generator "
                                      "cut it off): …'it came to \\\\u20'"),
])
def test_each_sign_of_a_cut_is_caught_and_explained(text: str, role: str, why: str) -> None:
    said = looks_cut_off(text, role)
    assert said is not None and said.startswith(why), said
    assert is_cut_off(text, role)


def test_the_real_files_are_cut_only_where_the_generator_stopped() -> None:
    """A guard: in the user's files every cut-off turn, reply or client message, ends in
    the lone backslash the generator left; nothing else is taken for one."""
    cuts = []
    for path in ENRICHED + LEGACY:
        for message in record_from_bytes(path.read_bytes(), path.name)["messages"][1:]:
            said = looks_cut_off(message["content"], message["role"])
            assert is_cut_off(message["content"], message["role"]) == (said is not None)
            if said:
                cuts.append((message["role"], said))
    assert cuts and {said for _, said in cuts} == {
        "ends in a lone backslash (the generator cut it off)"}
    assert {role for role, _ in cuts} == {"user", "assistant"}


def test_an_informal_client_keeps_every_reply_and_a_dash_cuts(
        library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    import_paths(library, [informal_clients(folder), cut_at_a_dash(folder)])
    add_conversations(library, "trim", [INFORMAL, DASH_CUT], create=True)
    informal, dash = library.record(INFORMAL), library.record(DASH_CUT)
    assert _cut_warnings(informal) == []
    assert _cut_warnings(dash) == [
        ("reply_cut_off", 4, "reply ends on a dash, mid-sentence: …" + repr(
            dash["messages"][4]["content"][-40:]))]
    lines = _jsonl(library, "trim")
    assert _trained(lines[INFORMAL]) == 3  # every reply: the client just writes informally
    assert _trained(lines[DASH_CUT]) == 1  # up to the reply cut at the dash
    assert lines[DASH_CUT]["messages"][-1]["content"] == dash["messages"][2]["content"]
    rows = {row.conversation_id: row for row in library.summaries()}
    assert (rows[INFORMAL].replies_trained, rows[DASH_CUT].replies_trained) == (3, 1)


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def _stored_state(library: Library) -> dict[str, tuple[Any, ...]]:
    with library.session() as session:
        rows = session.execute(select(
            Conversation.conversation_id, Conversation.digest, Conversation.replies_trained,
            Conversation.warning_codes, Conversation.warnings_text)).all()
    return {cid: (orjson.loads(digest), *rest) for cid, digest, *rest in rows}


def test_a_library_stored_under_the_earlier_rule_is_judged_again_once(
        old_library: Path, tmp_path: Path) -> None:
    with Library(old_library) as library:
        before = _stored_state(library)
        unaffected_bytes = stored_bytes(library, "unaffected")
        assert before[INFORMAL][1] == 1 and "client_cut_off" in before[INFORMAL][2]
        assert before[DASH_CUT][1] == 3 and "cut_off" not in before[DASH_CUT][2]
        assert needs_recovery(library)
        done = finish_interrupted_work(library)
        assert done == [
            "judged the cut-off turns of 2 conversations again under this version's rule (an "
            "informal client message without a full stop is no longer cut off; a reply "
            "ending on a colon, a semicolon or a long dash now is)",
            "rebuilt the training file 'affected', which holds conversations whose cut-off "
            "turns were judged again"]
        assert upkeep.due(library.root) == []
        assert not owes_rebuild(library, "affected")  # rebuilt in the same start-up work
        assert not owes_rebuild(library, "unaffected")
        after = _stored_state(library)
        assert after[LEGACY_ONE] == before[LEGACY_ONE]  # nothing changed: untouched
        assert stored_bytes(library, "unaffected") == unaffected_bytes
        assert rebuild_if_owed(library, "affected") is None  # nothing left owing
        lines = _jsonl(library, "affected")
        assert [_trained(lines[cid]) for cid in (INFORMAL, DASH_CUT, LEGACY_ONE)] == [3, 1, 3]
        assert header(library, "affected")["totals"]["trainable_replies"] == 7
        stored_records = {cid: library.record(cid) for cid in (INFORMAL, DASH_CUT)}
    fresh = tmp_path / "fresh"
    folder = tmp_path / "again" / "conversations"
    informal_clients(folder)
    cut_at_a_dash(folder)
    with Library(fresh) as library:  # what today's import stores for the same files
        import_paths(library, [folder])
        now = _stored_state(library)
        for cid in (INFORMAL, DASH_CUT):
            assert after[cid] == now[cid], cid
            assert _cut_warnings(stored_records[cid]) == _cut_warnings(library.record(cid))
            assert stored_records[cid]["quality"] == library.record(cid)["quality"]


def test_the_first_command_judges_again_and_says_so(old_library: Path, capsys) -> None:
    # Brought to this version's database first, as the window or any writing command does
    # (a reading command never upgrades an older library: it reads what is there).
    with Library(old_library) as library:
        assert needs_recovery(library)
    assert main(["--library", str(old_library), "files"]) == 0
    err = capsys.readouterr().err
    assert "note: judged the cut-off turns of 2 conversations again" in err
    assert ("rebuilt the training file 'affected', which holds conversations whose cut-off "
            "turns were judged again") in err
    assert main(["--library", str(old_library), "conversations", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "judged the cut-off turns" not in err  # once only
    rows = {row["conversation_id"]: row for row in map(orjson.loads, out.splitlines())}
    assert rows[INFORMAL]["replies_trained"] == 3
    assert "client_cut_off" not in rows[INFORMAL]["warning_codes"]
    assert "reply_cut_off" in rows[DASH_CUT]["warning_codes"]


def test_a_cancelled_pass_is_not_recorded_and_runs_again(old_library: Path) -> None:
    with Library(old_library) as library:
        with pytest.raises(BuildCancelled):
            finish_interrupted_work(library, cancelled=lambda: True)
        assert upkeep.due(library.root) == [
            upkeep.TEXT_REPAIR, upkeep.CUT_OFF_RULE, upkeep.SENTENCE_SKETCHES,
            upkeep.SHORTER_COPIES, upkeep.LINE_WHITESPACE]
        assert not owes_rebuild(library, "affected")  # stopped before its first chunk
        done = finish_interrupted_work(library)
        assert any("judged the cut-off turns of 2 conversations" in s for s in done), done
        assert not owes_rebuild(library, "affected") and upkeep.due(library.root) == []


def test_a_pass_cancelled_before_its_rebuilds_leaves_them_owed_for_the_next_start(
        old_library: Path) -> None:
    """Cancelled after judging, the pass is not recorded; the file it changed still owes
    its rebuild, which the next start pays (the judging finds nothing left to change)."""
    with Library(old_library) as library:
        def after_the_judging() -> bool:  # stop once the judging has stored its change
            return owes_rebuild(library, "affected")

        with pytest.raises(BuildCancelled):
            finish_interrupted_work(library, cancelled=after_the_judging)
        assert upkeep.due(library.root) == [
            upkeep.TEXT_REPAIR, upkeep.CUT_OFF_RULE, upkeep.SENTENCE_SKETCHES,
            upkeep.SHORTER_COPIES, upkeep.LINE_WHITESPACE]
        assert owes_rebuild(library, "affected")
        done = finish_interrupted_work(library)
        assert not owes_rebuild(library, "affected") and upkeep.due(library.root) == []
        assert any("rebuilt the training file 'affected'" in s for s in done), done
