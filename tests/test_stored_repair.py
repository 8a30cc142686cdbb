"""Libraries stored before text repair existed are repaired once, as an import would.

``tests/data/library-before-repair`` was written by LoRA Studio at commit 1d897ad (the
commit before text repair landed): ``lora-studio import`` of two enriched fixtures with
literal escape sequences and one legacy fixture without, then ``add --new before-repair
--all``. Its database is at schema v4 and its records keep the ``\\n`` and ``\\"`` as the
generator wrote them.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED, LEGACY
from stored import stored_bytes

from app import upkeep
from app.cli import main
from app.importer import import_paths
from app.library import Library, unpack
from app.record_repair import repair_record
from app.recovery import finish_interrupted_work, needs_recovery

OLD_LIBRARY = Path(__file__).parent / "data" / "library-before-repair"
ESCAPED = ("fp_conversation_14009fa0-9609-4142-9002-6bd77a43beb6",
           "fp_conversation_18dc6347-db6f-44f2-8728-0538236d3c0b")
CLEAN = "financial_planning_emotional_intelligence_conversation_1"


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    root = tmp_path / "old"
    shutil.copytree(OLD_LIBRARY, root)
    return root


def stored_records(root: Path) -> dict[str, dict[str, Any]]:
    with closing(sqlite3.connect(root / "library.sqlite3")) as conn:
        return {cid: unpack(doc) for cid, doc in conn.execute(
            "SELECT c.conversation_id, d.document FROM conversations c "
            "JOIN conversation_documents d ON d.pk = c.pk")}


def texts(record: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in record["messages"])


def fresh_import(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """What today's import stores for the same three files."""
    folder = tmp_path / "fresh-in"
    folder.mkdir()
    for path in ENRICHED + LEGACY:
        if path.name in ("single-convo-file-1.json", "single-convo-file-2.json") or \
                path == sorted(LEGACY)[0]:
            shutil.copy(path, folder / path.name)
    with Library(tmp_path / "fresh") as library:
        assert import_paths(library, [folder]).imported == 3
        return {cid: library.record(cid) for cid in (*ESCAPED, CLEAN)}


def test_the_old_library_really_holds_escapes(old_library: Path) -> None:
    records = stored_records(old_library)
    assert all("\\n" in texts(records[cid]) for cid in ESCAPED)
    assert not any("text_repaired" in str(r["quality"]["warnings"]) for r in records.values())


def test_opening_repairs_once_as_an_import_would_and_rebuilds_the_file(
        old_library: Path, tmp_path: Path) -> None:
    before = stored_records(old_library)
    old_jsonl = next(old_library.glob("training-files/*/before-repair.jsonl")).read_bytes()
    assert b"\\\\n" in old_jsonl  # the trainer's file teaches backslashes today
    with Library(old_library) as library:
        assert needs_recovery(library)
        done = finish_interrupted_work(library)
        assert any("repaired literal escape sequences in 2 conversations stored" in s
                   for s in done), done
        assert any("before-repair" in s for s in done), done
        json_bytes, jsonl = stored_bytes(library, "before-repair")
        assert b"\\\\n" not in jsonl and b'\\\\\\"' not in jsonl
        head = orjson.loads(json_bytes)["training_file_metadata"]
        assert head["quality_summary"]["repaired_conversations"] == 2
        assert library.repaired_count() == 2
        rows = {row.conversation_id: row for row in library.summaries()}
        assert all("text_repaired" in rows[cid].warning_codes for cid in ESCAPED)
        assert "text_repaired" not in rows[CLEAN].warning_codes
        assert not needs_recovery(library)  # recorded: the next start does nothing
        assert finish_interrupted_work(library) == []
    after = stored_records(old_library)
    assert after[CLEAN] == before[CLEAN]  # nothing to repair: untouched
    fresh = fresh_import(tmp_path)
    for cid in ESCAPED:
        assert "\\n" not in texts(after[cid])
        assert after[cid]["messages"] == fresh[cid]["messages"]
        assert after[cid]["system_prompt"] == fresh[cid]["system_prompt"]
        codes = Counter(w["code"] for w in after[cid]["quality"]["warnings"])
        assert codes == Counter(w["code"] for w in fresh[cid]["quality"]["warnings"])


def test_a_cancelled_repair_stops_between_chunks_and_the_next_finds_what_is_left(
        old_library: Path) -> None:
    """As the cut-off pass does (one chunk loop serves both): a Cancel of the start-up work
    stops the repair before its next chunk."""
    from app.build import BuildCancelled
    from app.stored_repair import repair_stored

    with Library(old_library) as library:
        with pytest.raises(BuildCancelled):
            repair_stored(library, cancelled=lambda: True)
        assert library.repaired_count() == 0
        assert sorted(repair_stored(library, cancelled=lambda: False)) == sorted(ESCAPED)
        assert library.repaired_count() == 2


def test_repair_is_idempotent_and_keeps_legitimate_backslashes() -> None:
    record = {
        "conversation_id": "x", "system_prompt": "You help.",
        "messages": [
            {"role": "system", "content": "You help."},
            {"role": "user", "content": 'I saved it to C:\\new\\taxes.xlsx.\\n\\nIs \\"that\\" ok?',
             "turn_number": 1},
            {"role": "assistant", "content": "Yes.\\nIt is fine.", "turn_number": 2},
        ],
        "quality": {"warnings": []},
    }
    fixed = repair_record(record)
    assert fixed is not None
    assert fixed["messages"][1]["content"] == 'I saved it to C:\\new\\taxes.xlsx.\n\nIs "that" ok?'
    assert fixed["messages"][2]["content"] == "Yes.\nIt is fine."
    assert [w["code"] for w in fixed["quality"]["warnings"]] == ["text_repaired"] * 2
    assert repair_record(fixed) is None  # already repaired: never twice
    plain = {**record, "messages": [record["messages"][0],
                                    {"role": "user", "content": "What does \\n mean?",
                                     "turn_number": 1}]}
    assert repair_record(plain) is None  # no sign of double escaping: kept as written


def test_the_first_command_repairs_and_says_so(old_library: Path, capsys) -> None:
    assert main(["--data-dir", str(old_library), "tokens"]) == 0
    err = capsys.readouterr().err
    assert "note: repaired literal escape sequences in 2 conversations stored" in err
    assert "note: rebuilt the training file 'before-repair'" in err
    assert upkeep.due(old_library) == []
    assert main(["--data-dir", str(old_library), "conversations", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "note:" not in err  # once only
    rows = {row["conversation_id"]: row for row in map(orjson.loads, out.splitlines())}
    assert all("text_repaired" in rows[cid]["warning_codes"] for cid in ESCAPED)


def test_a_new_library_never_needs_the_pass(tmp_path: Path) -> None:
    with Library(tmp_path / "new") as library:
        assert upkeep.due(library.root) == []
        assert not needs_recovery(library)
