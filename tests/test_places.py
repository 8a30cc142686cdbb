"""Where a problem is, in words for people and as a JSON path for machines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_process import run_cli
from conftest import BAD
from hostile_corpus import hostile_cases, write_corpus

from app.importer import import_paths
from app.library import Library
from app.places import place_words, readable_reason, split_reason
from ui.import_flow import ImportSummaryDialog

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.mark.parametrize(("where", "words"), [
    ("$", ""),
    ("$.training_pairs[1].target_response", "training pair 2, consultant reply"),
    ("$.training_pairs[0].current_user_input", "training pair 1, client message"),
    ("$.conversations[2].messages[3].content", "conversation 3, message 4 (client), text"),
    ("$.conversations[1].messages[2]", "conversation 2, message 3 (consultant)"),
    ("$.messages[0]", "message 1 (system prompt)"),
    ("$.consultant_profile", "consultant profile"),
    ("$.input_parameters.persona_key", "input parameters, persona key"),
    ("$.extra[4]", "extra item 5"),
    ("line 13, column 18", "line 13, column 18"),
])
def test_places_read_as_words(where: str, words: str) -> None:
    assert place_words(where) == words


def test_a_reason_keeps_its_path_apart_and_reads_without_it() -> None:
    reason = "$.training_pairs[1].turn_number: 'turn_number' must be a whole number"
    assert split_reason(reason) == ("$.training_pairs[1].turn_number",
                                    "'turn_number' must be a whole number")
    assert readable_reason(reason) == ("training pair 2, turn number: 'turn_number' must be "
                                       "a whole number")
    assert readable_reason("$: the file is empty") == "the file is empty"
    assert split_reason("no place: here") == ("", "no place: here")


@pytest.fixture
def refused(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    write_corpus(folder, hostile_cases(), big=False)
    for path in BAD:
        shutil.copy(path, folder / path.name)
    return folder


def test_the_import_summary_reads_without_json_paths(qtbot, library: Library,
                                                     refused: Path) -> None:
    report = import_paths(library, [refused])
    assert any(v.reason.startswith("$.training_pairs[") for v in report.verdicts)
    dialog = ImportSummaryDialog(report)
    qtbot.addWidget(dialog)
    text = dialog.text()
    assert "$." not in text and "$:" not in text, text
    assert "training pair 2, target response" not in text  # the field's own words instead
    assert "training pair 2, consultant reply: 'target_response' must be" in text
    assert "the file is empty" in text


def test_the_commands_json_keeps_the_machine_path(tmp_path: Path, refused: Path) -> None:
    result = run_cli("--data-dir", tmp_path / "lib", "import", refused, "--json")
    assert result.returncode == 1  # some were refused
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and all(set(line) == {"path", "verdict", "where", "reason",
                                       "conversation_id", "batch_id"} for line in lines)
    wrong = next(line for line in lines if line["path"].endswith(
        "wrong-type-pair-target_response.json"))
    assert wrong["verdict"] == "rejected"
    assert wrong["where"] == "$.training_pairs[1].target_response"
    assert wrong["reason"].startswith("'target_response' must be")
    assert "could not be imported" in result.stderr  # the summary goes to stderr, stdout
    # stays JSON


def test_a_full_files_message_is_named_with_who_writes_it(qtbot, tmp_path: Path) -> None:
    """A full training file (ours) whose conversation has a message in the wrong place."""
    from conftest import ENRICHED
    from stored import stored_bytes

    from app.trainingfiles import add_conversations, create_training_file

    with Library(tmp_path / "source") as source:
        import_paths(source, ENRICHED)
        create_training_file(source, "x")
        add_conversations(source, "x", [row.conversation_id for row in source.summaries()])
        document = json.loads(stored_bytes(source, "x")[0])
    document["conversations"][1]["messages"][2]["role"] = "user"
    full = tmp_path / "edited-full.json"
    full.write_text(json.dumps(document), encoding="utf-8")
    with Library(tmp_path / "lib") as library:
        report = import_paths(library, [full])
    dialog = ImportSummaryDialog(report)
    qtbot.addWidget(dialog)
    text = dialog.text()
    assert ("conversation 2, message 3 (consultant): must be an assistant message "
            "(roles alternate)") in text, text
