"""``lora-studio validate`` on a copy an older LoRA Studio saved says so: its only problems
are fields a later version added, and the list alone read as a damaged file.

``tests/data/copies-saved-before`` was written by LoRA Studio at commit d54ab62:
``import`` of ``legacy/c-alpha-build_v3.4-LoRA-FP-convo-07-complete.json``, ``add --new
"saved before" --all``, then ``export --format json`` and ``--format jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main

OLDER = Path(__file__).parent / "data" / "copies-saved-before"
NOTE = ("    saved by an older LoRA Studio: the fields below were added by a later version; "
        "save the copy again from the library to have them")


def test_validate_says_a_copy_was_saved_by_an_older_version(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["validate", str(OLDER / "saved-before.json"),
                 str(OLDER / "saved-before.jsonl")]) == 1  # still invalid: fields are missing
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("INVALID ") and lines[0].endswith("saved-before.json  [full]")
    assert lines[1] == NOTE
    assert "$.training_file_metadata: 'cut_off_policy' is a required property" in lines[2]
    jsonl = next(i for i, line in enumerate(lines) if line.endswith("[jsonl]"))
    assert lines[jsonl + 1] == NOTE
    assert lines[jsonl + 2] == "    line 1, $.metadata: 'token_count' is a required property"
    # A copy with another problem too is not said to be only older.
    document = json.loads((OLDER / "saved-before.json").read_text(encoding="utf-8"))
    del document["conversations"][0]["messages"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    assert main(["validate", str(broken)]) == 1
    assert NOTE not in capsys.readouterr().out
