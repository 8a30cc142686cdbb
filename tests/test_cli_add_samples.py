"""``lora-studio add`` leaves the app's sample conversations out when they come with the
user's own, as the window's add review does, and says so; asked for alone, they go in."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LEGACY

from app.bundle import resources_dir
from app.cli import main
from app.library import Library
from app.samples import sample_ids
from app.trainingfiles import member_ids


class Cli:
    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder, self.capsys = folder, capsys

    def __call__(self, *args: str) -> list[str]:
        self.capsys.readouterr()
        code = main(["--library", str(self.folder), *args])
        out, err = self.capsys.readouterr()
        assert code == 0, err
        return out.splitlines()


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """A library holding the samples (their own batches) and two of the user's own."""
    run = Cli(tmp_path / "lib", capsys)
    samples = resources_dir() / "samples"
    run("import", *sorted(str(p) for p in samples.iterdir() if p.is_dir()))
    run("import", *map(str, LEGACY[:2]))
    return run


def _ids(cli: Cli) -> tuple[list[str], list[str]]:
    """The sample ids and the user's own, in import order."""
    with Library.open(cli.folder, read_only=True) as library:
        samples = sample_ids(library)
        own = [r.conversation_id for r in library.summaries()
               if r.conversation_id not in samples]
    return samples, own


def _members(cli: Cli, name: str) -> list[str]:
    with Library.open(cli.folder, read_only=True) as library:
        return member_ids(library, name)


def test_samples_with_ones_own_are_left_out_and_said(cli: Cli) -> None:
    samples, own = _ids(cli)
    assert len(samples) == 8 and len(own) == 2
    out = cli("add", "real data", "--new", "--all")
    assert out[0] == (
        "left out 8 sample conversations that came with the app, as the window's add does "
        "when samples come with your own conversations; to add them all the same, add them "
        "on their own: lora-studio add \"real data\" " + " ".join(samples))
    assert out[1].startswith("added 2 to 'real data': now 2 conversations")
    assert _members(cli, "real data") == own


def test_one_sample_with_ones_own_is_said_in_the_singular(cli: Cli) -> None:
    samples, own = _ids(cli)
    out = cli("add", "one", "--new", samples[3], *own)
    assert out[0] == (
        "left out 1 sample conversation that came with the app, as the window's add does "
        "when samples come with your own conversations; to add it all the same, add it on "
        f"its own: lora-studio add \"one\" {samples[3]}")
    assert _members(cli, "one") == own
    # the way the sentence gives: the sample on its own goes in, and is named as a sample
    out = cli("add", "one", samples[3])
    assert out[0].startswith("added 1 to 'one': now 3 conversations")
    assert "1 added conversation is a sample conversation that came with the app" in out
    assert _members(cli, "one") == [*own, samples[3]]


def test_samples_alone_go_in_and_are_named(cli: Cli) -> None:
    samples, _own = _ids(cli)
    out = cli("add", "tryout", "--new", *samples)
    assert out[0].startswith("added 8 to 'tryout': now 8 conversations")
    assert "8 added conversations are sample conversations that came with the app" in out
    assert not any(line.startswith("left out") for line in out)
    assert _members(cli, "tryout") == samples
