"""``lora-studio validate`` agrees with ``import`` on a full training file of the earlier
format (the user's own: conversations of ``conversation_metadata`` and ``training_pairs``):
import splits it into its conversations, so validate says what it is and checks each
conversation as import does, instead of holding it to the schema of our own full files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from app.cli import main
from app.places import readable_reason

EARLIER = FIXTURES / "full" / "user-full-file-3-conversations.json"


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main([str(arg) for arg in args])
    return code, capsys.readouterr().out.splitlines()


def test_validate_calls_the_earlier_format_valid_as_import_takes_it(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """It printed INVALID with 20 schema errors (those of our own full format) for the file
    import takes whole, as its 3 conversations."""
    code, lines = run(capsys, "validate", EARLIER)
    assert code == 0, lines
    assert lines == [
        f"valid    {EARLIER}  [full, earlier format]",
        "    an earlier-format full training file, which LoRA Studio imports as 3 "
        "conversations (each checked here as import checks it)"]
    code, lines = run(capsys, "--data-dir", tmp_path / "lib", "import", EARLIER)
    assert code == 0 and lines[-1].startswith("3 conversations imported")


def test_validate_names_the_conversation_of_the_earlier_format_that_import_refuses(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Each conversation is still checked: one without training pairs is named with the
    reason import gives, and the sentence counts the ones import takes."""
    document = json.loads(EARLIER.read_text(encoding="utf-8"))
    document["conversations"][1]["training_pairs"] = "not a list"
    broken = tmp_path / "earlier.json"
    broken.write_text(json.dumps(document), encoding="utf-8")

    code, lines = run(capsys, "validate", broken)
    assert code == 1
    assert lines[0] == f"INVALID  {broken}  [full, earlier format]"
    assert lines[1] == ("    an earlier-format full training file: LoRA Studio imports 2 of "
                        "its 3 conversations and refuses the others for the problems below")
    problems = lines[2:]
    assert problems and all(line.startswith("    [conversation 2 of 3] $.") for line in problems)

    code, imported = run(capsys, "--data-dir", tmp_path / "lib", "import", broken)
    assert imported[-1] == "2 conversations imported, 1 conversation could not be imported."
    refused = [line for line in imported if line.startswith("rejected")]
    assert len(refused) == 1 and "[conversation 2 of 3]" in refused[0]
    # the same problem, its place said in words as an import says it ("$." is validate's)
    assert refused[0].endswith(readable_reason(problems[0].removeprefix(
        "    [conversation 2 of 3] ")))
