"""``lora-studio tokens --template`` rebuilds the training files the change leaves owing a
rebuild there and then, with progress, as the window does after its tokenizer dialog:
not at the next command that opens the library for writing."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from app.cli import main
from app.library import Library
from app.models import TrainingFile
from app.recovery import needs_recovery
from app.stored_builds import rebuilds_due
from app.trainingfiles import add_conversations, header

WHY = "the library's tokenizer and chat template changed"


@pytest.fixture
def two_files(filled_library: Library) -> Library:
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "First", ids[:4], create=True)
    add_conversations(filled_library, "Second", ids[4:6], create=True)
    filled_library.close()
    return filled_library


def _templates(library: Library) -> dict[str, str]:
    """The chat template each file's stored header says its token counts were made with."""
    with library.session() as session:
        return {name: orjson.loads(head)["tokens"]["chat_template"] for name, head in
                session.execute(select(TrainingFile.name, TrainingFile.header))}


def test_a_new_template_rebuilds_every_file_before_the_command_ends(
        two_files: Library, capsys: pytest.CaptureFixture[str]) -> None:
    with Library.open(two_files.root, read_only=True) as reader:
        assert set(_templates(reader).values()) == {"Mistral [INST]"}
    capsys.readouterr()
    assert main(["--library", str(two_files.root), "tokens", "--template", "chatml"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].endswith("chat template: ChatML")
    assert out.splitlines()[2:] == [f"rebuilt training file 'First' ({WHY})",
                                    f"rebuilt training file 'Second' ({WHY})"]
    # progress on stderr, a line per tenth, ending on the whole file
    assert "rebuilding 'First': 4 of 4 conversations" in err.splitlines()
    assert "rebuilding 'Second': 2 of 2 conversations" in err.splitlines()
    with Library.open(two_files.root, read_only=True) as reader:
        with reader.session() as session:
            assert rebuilds_due(session) == []
        assert not needs_recovery(reader)  # nothing left for the next writing open
        assert _templates(reader) == {"First": "ChatML", "Second": "ChatML"}
        assert header(reader, "First")["tokens"]["chat_template"] == "ChatML"


def test_the_same_choice_again_rebuilds_nothing(two_files: Library,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--library", str(two_files.root), "tokens", "--template", "chatml"]) == 0
    capsys.readouterr()
    assert main(["--library", str(two_files.root), "tokens", "--template", "chatml"]) == 0
    out, err = capsys.readouterr()
    assert not any(line.startswith("rebuilt") for line in out.splitlines())
    assert "rebuilding" not in err

