"""An import that stores conversations nearly repeating others (a re-generation with a
word changed) flags them near_duplicate, and said nothing of it: the person learnt it only
from the Warnings chooser or, later, from the add's review. The summary says how many, and
the window's summary names each by its file and what it nearly repeats (client, batch,
file; or the file of this import), as it names the duplicates it skipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.importer import import_paths
from app.library import Library
from ui.import_flow import report_sections

ENRICHED_2 = Path(__file__).parent / "fixtures" / "enriched" / "enriched-2.json"


def regenerated(source: Path, target: Path, new_id: str) -> Path:
    """The same conversation under another id, one word of its first client message
    changed: a re-generation, which the import stores and flags."""
    record = json.loads(source.read_text(encoding="utf-8"))
    record["dataset_metadata"]["dataset_name"] = new_id
    text = json.dumps(record)
    text = text.replace(record["dataset_metadata"]["dataset_name"], new_id)
    first = record["training_pairs"][0]["current_user_input"]
    changed = first.replace(" I ", " we ", 1) if " I " in first else first + " Thanks."
    assert changed != first
    record = json.loads(text)
    record["training_pairs"][0]["current_user_input"] = changed
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record), encoding="utf-8")
    return target


def test_the_summary_counts_and_names_what_each_nearly_repeats(
        library: Library, tmp_path: Path) -> None:
    first = tmp_path / "delivery-1"
    first.mkdir()
    shutil.copy(ENRICHED_2, first / "enriched-2.json")
    assert import_paths(library, [first], batch="originals").near_duplicates == []

    second = tmp_path / "delivery-2"
    regenerated(ENRICHED_2, second / "regen-a.json", "fp_conversation_regen-a")
    regenerated(second / "regen-a.json", second / "regen-b.json", "fp_conversation_regen-b")
    report = import_paths(library, [second], batch="regenerated")

    assert report.imported == 2
    assert len(report.near_duplicates) == 2
    assert ("2 conversations imported (2 of them nearly repeat another conversation, flagged "
            "near_duplicate: an add can leave them out)") in report.summary()
    sections = {s.heading: s.lines for s in report_sections(report)}
    heading = next(h for h in sections if "nearly repeat another" in h)
    assert heading.startswith("2 imported conversations nearly repeat another (flagged "
                              "near_duplicate")
    lines = " | ".join(sections[heading])
    assert "regen-a.json: " in lines and "in batch 'originals', from enriched-2.json" in lines
    assert "regen-b.json: " in lines
    assert "nearly repeats" in lines and "Conversation id fp_conversation_regen-" in lines


def test_one_conversation_nearly_repeating_is_said_in_the_singular(
        library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(ENRICHED_2, folder / "enriched-2.json")
    import_paths(library, [folder], batch="originals")
    report = import_paths(library, [regenerated(ENRICHED_2, tmp_path / "one" / "r.json",
                                                "fp_conversation_regen-one")])
    assert ("1 conversation imported (it nearly repeats another conversation, flagged "
            "near_duplicate: an add can leave it out)") in report.summary()


def test_one_nearly_repeating_a_file_earlier_in_the_import_names_that_file(
        library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(ENRICHED_2, folder / "a-original.json")
    regenerated(ENRICHED_2, folder / "b-regen.json", "fp_conversation_regen-b")
    report = import_paths(library, [folder], batch="x")
    assert [v.near_where for v in report.verdicts] == [
        None, "a-original.json, imported earlier in this import"]
