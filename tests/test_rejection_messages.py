"""A refused file's reason says what is wrong in words that fit the case, and what to do
next: real fixture files (tests/fixtures/refused) imported into a real SQLite library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ENRICHED, FIXTURES

from app.errors import InputError, LibraryError
from app.export import ExportFormat, export
from app.importer import Verdict, import_paths
from app.library import Library
from app.loader import load_conversation_file
from app.trainingfiles import add_conversations

REFUSED = FIXTURES / "refused"


@pytest.mark.parametrize(("name", "reason"), [
    ("empty.json", "$: the file is empty; save the conversation into it again, or leave it "
                   "out"),
    ("top-level-array.json",
     "$: expected a JSON object at the top level, found an array; a conversation file holds "
     "one conversation as an object: import each conversation's own file"),
    ("not-json.json",
     'line 3, column 23: not valid JSON: a value is missing, near «er": 1,    '
     '"target_response": } ]}»; correct the file at that place or save it again'),
    # Missing keys are said to be missing (it read "must be an object, found null").
    ("missing-metadata.json",
     "$: the keys 'dataset_metadata' and 'consultant_profile' are missing; every enriched "
     "conversation has them: import the file as the generator wrote it"),
])
def test_a_refused_file_says_why_and_what_to_do(library: Library, name: str,
                                                reason: str) -> None:
    report = import_paths(library, [REFUSED / name])
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.REJECTED
    assert verdict.reason == reason


def test_one_missing_key_is_named_alone(library: Library, tmp_path: Path) -> None:
    source = (REFUSED / "missing-metadata.json").read_text(encoding="utf-8")
    path = tmp_path / "one-missing.json"
    path.write_text(source.replace('"training_pairs"', '"consultant_profile": {},\n'
                                   '  "training_pairs"', 1), encoding="utf-8")
    (verdict,) = import_paths(library, [path]).verdicts
    assert verdict.reason.startswith("$: the key 'dataset_metadata' is missing; every "
                                     "enriched conversation has it: ")


def test_an_exports_own_manifest_is_recognised(filled_library: Library,
                                               tmp_path: Path) -> None:
    """People drop an export folder back in: its manifest is named for what it is."""
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Pilot Run", ids[:2], create=True)
    *_, manifest = export(filled_library, "Pilot Run", ExportFormat.JSONL,
                          tmp_path / "out" / "pilot.jsonl")
    (verdict,) = import_paths(filled_library, [manifest]).verdicts
    assert verdict.verdict is Verdict.REJECTED
    assert verdict.reason == (
        "$: this is the manifest LoRA Studio writes beside an exported copy of the training "
        "file 'Pilot Run' (what was exported, with sizes and checksums), not a "
        "conversation; leave it out of the import")


def test_a_taken_training_file_name_says_to_choose_another(filled_library: Library) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Pilot Run", ids[:1], create=True)
    with pytest.raises(LibraryError) as caught:
        add_conversations(filled_library, "pilot run", ids[1:2], create=True)
    assert str(caught.value) == (
        "a training file named 'Pilot Run' already exists; choose another name (names that "
        "differ only in capitals count as the same)")


def test_a_full_training_file_given_for_one_conversation_says_what_to_do() -> None:
    full = FIXTURES / "full" / "user-full-file-3-conversations.json"
    with pytest.raises(InputError) as caught:
        load_conversation_file(full)
    assert str(caught.value) == (
        "user-full-file-3-conversations.json: $: this is a full training file (many "
        "conversations in one file), not a single conversation file; give the file of one "
        "conversation here, or import this one (File ▸ Import files…, or lora-studio "
        "import), which reads each of its conversations")


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("dataset_metadata", [], "$.dataset_metadata: 'dataset_metadata' must be an object, "
                             "found an array"),
    ("training_pairs", {}, "$.training_pairs: 'training_pairs' must be an array, found an "
                           "object"),
])
def test_a_value_of_the_wrong_kind_says_what_to_do(library: Library, tmp_path: Path,
                                                   key: str, value: object,
                                                   reason: str) -> None:
    """Before, the reason said only what was wrong."""
    document = json.loads(ENRICHED[0].read_text(encoding="utf-8"))
    document[key] = value
    path = tmp_path / "wrong-kind.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    (verdict,) = import_paths(library, [path]).verdicts
    assert verdict.reason == (f"{reason}; correct it in the file, or import the file as the "
                              "generator wrote it")


@pytest.mark.parametrize(("text", "words"), [
    ('{"a": 1 "b": 2}', "a comma is missing between two items"),
    ('{"a" 1}', "a colon is missing after a key"),
    ('{"a": 1,}', "a key is not in double quotes, or a comma stands before a closing brace"),
    ('{"a": 1} {"b": 2}', "more text follows the end of the JSON"),
    ('{"a": "one\ttwo"}', "a line break or tab is inside a text value"),
    ('{"a": "C:\\q"}', "a backslash starts an escape JSON does not know"),
])
def test_a_broken_json_file_is_explained_in_plain_words(tmp_path: Path, text: str,
                                                        words: str) -> None:
    """Python's parser says "Expecting ',' delimiter"; a person editing the file is told
    what is wrong in words, at the line and column."""
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_conversation_file(path)
    assert words in str(caught.value)
    assert "Expecting" not in str(caught.value) and "delimiter" not in str(caught.value)
