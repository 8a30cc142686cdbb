"""A JSONL line holds each client message and reply without the whitespace around it
(a reply ending in "…exists?  \\n\\n" would teach the model to emit it before ending its
turn); the stored record and the full JSON keep the text as the file had it. Training files
built before are rebuilt once, those whose lines change only.

``tests/data/library-before-trimming`` was written by LoRA Studio at commit 51fb4b4 (before
lines were trimmed): ``lora-studio import conversations`` (a folder of ``enriched-1.json``
and ``padded_copy``'s file), then ``add padded --new fp_conversation_padded`` and ``add
clean --new`` enriched-1's conversation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED
from sqlalchemy import select
from stored import stored_bytes

from app import trainingfiles, upkeep
from app.importer import import_paths
from app.library import Library
from app.models import Conversation
from app.recovery import finish_interrupted_work, needs_recovery
from app.token_counts import count_missing
from app.trainingfiles import add_conversations, header, rebuild_training_files

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-trimming"
PADDED_ID = "fp_conversation_padded"
CLEAN_ID = "fp_conversation_2e6e3685-eb74-46c9-b11d-13a3e162a4b5"  # enriched-1.json


def padded_copy(folder: Path) -> tuple[Path, str, str]:
    """enriched-2.json under another id, its first client message opening with spaces and
    its second reply ending in spaces and blank lines (its copies in the histories too);
    the file, and those two texts as the file has them."""
    document = json.loads(ENRICHED[2].read_text(encoding="utf-8"))
    document["dataset_metadata"]["dataset_name"] = PADDED_ID
    pairs = document["training_pairs"]
    client, reply = pairs[0]["current_user_input"], pairs[3]["target_response"]
    padded = {client: "   " + client, reply: reply + "  \n\n"}
    for pair in pairs:
        for field in ("current_user_input", "target_response"):
            pair[field] = padded.get(pair.get(field), pair.get(field))
        for entry in pair.get("conversation_history") or []:
            entry["content"] = padded.get(entry["content"], entry["content"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "padded.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path, padded[client], padded[reply]


def _lines(library: Library, name: str) -> dict[str, dict[str, Any]]:
    return {line["metadata"]["conversation_id"]: line for line in
            map(orjson.loads, stored_bytes(library, name)[1].splitlines())}


def _texts(line: dict[str, Any]) -> list[str]:
    return [m["content"] for m in line["messages"] if m["role"] != "system"]


def test_a_line_holds_messages_without_the_whitespace_around_them(
        library: Library, tmp_path: Path) -> None:
    path, client, reply = padded_copy(tmp_path / "conversations")
    assert import_paths(library, [path]).imported == 1
    add_conversations(library, "padded", [PADDED_ID], create=True)
    texts = _texts(_lines(library, "padded")[PADDED_ID])
    assert client.strip() in texts and reply.strip() in texts
    assert all(text == text.strip() for text in texts)
    assert client.strip()[:-1] in client  # the inner text is untouched
    # the stored record and the full JSON keep the file's text
    stored = [m["content"] for m in library.record(PADDED_ID)["messages"]]
    assert client in stored and reply in stored
    full = orjson.loads(stored_bytes(library, "padded")[0])
    held = [m["content"] for m in full["conversations"][0]["messages"]]
    assert client in held and reply in held


def test_an_added_line_is_the_line_a_full_rebuild_writes(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One date for every build: the rebuild dates the header anew, and a second passing
    # between the add and the rebuild is no difference of the rendering (CI once saw one).
    monkeypatch.setattr(trainingfiles, "now_iso", lambda: "2026-01-01T00:00:00Z")
    path, _client, _reply = padded_copy(tmp_path / "conversations")
    import_paths(library, [path, ENRICHED[1]])
    add_conversations(library, "both", [CLEAN_ID], create=True)
    add_conversations(library, "both", [PADDED_ID])  # rendered on its own, added to the file
    added = stored_bytes(library, "both")
    rebuild_training_files(library, ["both"])
    assert stored_bytes(library, "both") == added


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def test_files_built_before_are_rebuilt_once_those_that_change_only(
        old_library: Path, tmp_path: Path) -> None:
    with Library(old_library) as library:
        before = _texts(_lines(library, "padded")[PADDED_ID])
        assert any(text != text.strip() for text in before)
        clean = stored_bytes(library, "clean")
        assert needs_recovery(library)
        done = finish_interrupted_work(library)
        assert done == ["rebuilt the training file 'padded', which holds conversations whose "
                        "lines no longer keep the whitespace around a message"]
        assert upkeep.due(library.root) == []
        assert stored_bytes(library, "clean") == clean
        after = _lines(library, "padded")
        assert _texts(after[PADDED_ID]) == [text.strip() for text in before]
        old_head = header(library, "padded")
        count_missing(library)  # its count was of the untrimmed line: counted again
        counted = {row.conversation_id: row.token_count for row in library.summaries()}
        assert finish_interrupted_work(library) == []  # once
    with Library(tmp_path / "fresh") as library:  # what today's import and add write
        path, _client, _reply = padded_copy(tmp_path / "again" / "conversations")
        shutil.copy(ENRICHED[1], path.parent)
        import_paths(library, [path.parent])
        add_conversations(library, "padded", [PADDED_ID], create=True)
        assert _lines(library, "padded") == after
        assert header(library, "padded")["totals"] == old_head["totals"]
        count_missing(library)
        assert {row.conversation_id: row.token_count for row in library.summaries()} == counted


def test_the_pass_run_again_rebuilds_nothing_already_trimmed(old_library: Path) -> None:
    """A second member of a team library (each has its own upkeep record), a lost record or
    a pass cancelled after its rebuilds runs it again: files whose lines are already
    trimmed keep their bytes (a rebuild would change their updated_at for nothing)."""
    with Library(old_library) as library:
        finish_interrupted_work(library)
        built = stored_bytes(library, "padded"), stored_bytes(library, "clean")
    record = orjson.loads((old_library / upkeep.FILE_NAME).read_bytes())
    del record[upkeep.LINE_WHITESPACE]
    (old_library / upkeep.FILE_NAME).write_bytes(orjson.dumps(record))
    with Library(old_library) as library:
        assert finish_interrupted_work(library) == []
        assert (stored_bytes(library, "padded"), stored_bytes(library, "clean")) == built
        assert not needs_recovery(library)


def _estimates(library: Library) -> dict[str, tuple[int, Any]]:
    """Per conversation, its stored estimate and its digest's per-policy numbers."""
    with library.session() as session:
        return {cid: (tokens, orjson.loads(digest)["policies"]) for cid, tokens, digest in
                session.execute(select(Conversation.conversation_id,
                                       Conversation.estimated_tokens, Conversation.digest))}


def test_the_token_estimates_count_the_text_a_line_holds(library: Library,
                                                         tmp_path: Path) -> None:
    """The padded copy trains the same text as enriched-2, so it is estimated the same, in
    the library and in a training file's header (each in a library of its own: the same
    dialogue twice is one conversation)."""
    path, _client, _reply = padded_copy(tmp_path / "conversations")
    import_paths(library, [path])
    add_conversations(library, "padded", [PADDED_ID], create=True)
    original = "fp_conversation_2ecd51bd-8dd9-478a-9fb4-de20f69bd441"  # enriched-2.json
    with Library(tmp_path / "other") as other:
        import_paths(other, [ENRICHED[2]])
        add_conversations(other, "original", [original], create=True)
        assert _estimates(library)[PADDED_ID] == _estimates(other)[original]
        assert _estimates(other)[original][0] > 0
        assert (header(library, "padded")["totals"]["estimated_tokens"]
                == header(other, "original")["totals"]["estimated_tokens"])


def test_a_library_that_had_the_first_pass_has_its_estimates_made_again(
        old_library: Path, tmp_path: Path) -> None:
    """Version 1 of the pass (before the estimates counted the trimmed text) trimmed the
    lines but left the estimates of the untrimmed text: a library that had it runs the pass
    again, so its estimates and its files' headers are what today's import writes."""
    (old_library / upkeep.FILE_NAME).write_bytes(orjson.dumps(
        {upkeep.TEXT_REPAIR: 1, upkeep.CUT_OFF_RULE: 1, upkeep.SHORTER_COPIES: 1,
         upkeep.LINE_WHITESPACE: 1}))
    with Library(old_library) as library:
        finish_interrupted_work(library)
        assert upkeep.due(library.root) == []
        estimates = _estimates(library)[PADDED_ID]
        totals = header(library, "padded")["totals"]["estimated_tokens"]
    with Library(tmp_path / "fresh") as library:
        path, _client, _reply = padded_copy(tmp_path / "again" / "conversations")
        shutil.copy(ENRICHED[1], path.parent)
        import_paths(library, [path.parent])
        add_conversations(library, "padded", [PADDED_ID], create=True)
        assert _estimates(library)[PADDED_ID] == estimates
        assert header(library, "padded")["totals"]["estimated_tokens"] == totals
