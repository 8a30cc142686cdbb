"""The GitHub Actions workflows pass actionlint (syntax, expressions, action inputs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"
    return str(beside) if beside.exists() else shutil.which("actionlint")


def test_there_is_a_release_workflow() -> None:
    assert ROOT / ".github" / "workflows" / "release.yml" in WORKFLOWS


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed (Linux only)")
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow: Path) -> None:
    result = subprocess.run([str(_actionlint()), str(workflow)], capture_output=True,
                            text=True, timeout=120, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_windows_tests_run_the_readmes_test_command() -> None:
    """The Windows workflow runs what the README tells a person to run, so a change to one
    cannot leave the other testing something else."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line.strip() for line in readme.splitlines()
                   if line.strip().startswith("python bootstrap.py test"))
    workflow = (ROOT / ".github" / "workflows" / "tests.yml").read_text(encoding="utf-8")
    assert "runs-on: windows-latest" in workflow
    assert f"run: {command}\n" in workflow
