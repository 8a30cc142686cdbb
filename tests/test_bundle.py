"""The PyInstaller bundle builds here and runs without the source tree."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("PyInstaller") is None, reason="PyInstaller is not installed"
    ),
]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_bundle_builds_and_runs_headless(tmp_path: Path, pg_url: str) -> None:
    script = ROOT / "scripts" / "build_bundle.py"
    result = subprocess.run(
        [sys.executable, str(script), "--dist", str(tmp_path / "dist"),
         "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    bundle = Path(result.stdout.strip().splitlines()[-1])
    assert f"LoRA Studio {VERSION} " in result.stdout  # the version comes from pyproject.toml
    assert "valid" in result.stdout and "[full]" in result.stdout
    internal = bundle / "_internal"
    for shipped in ("schemas/c-alpha-build_v3.4_emotional-dataset-full-JSON-format_v4.json",
                    "resources/icon.png", "resources/samples", "docs/FORMATS.md"):
        assert (internal / shipped).exists(), shipped
    # The bundled command line imports the shipped samples into a fresh library.
    exe = bundle / ("lora-studio.exe" if os.name == "nt" else "lora-studio")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    imported = subprocess.run(
        [str(exe), "--data-dir", str(tmp_path / "lib"), "import",
         str(internal / "resources" / "samples")],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "8 conversations imported." in imported.stdout
    # A team library on PostgreSQL: the bundle carries psycopg and its libpq.
    team = subprocess.run(
        [str(exe), "--library", pg_url, "import", str(internal / "resources" / "samples")],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert team.returncode == 0, team.stdout + team.stderr
    assert "8 conversations imported." in team.stdout
    # A library of an older version is read through an upgraded copy: the bundle carries
    # the schema migrations (Alembic's scripts are files) and runs them.
    from old_libraries import make_v5_library

    old = make_v5_library(tmp_path / "v5")
    listed = subprocess.run([str(exe), "--library", str(old), "files"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "base" in listed.stdout
