"""The core never depends on the desktop UI: no Qt, no ``ui`` imports under ``app/``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

APP = ROOT / "app"
FORBIDDEN = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "ui"}
MODULES = sorted(APP.rglob("*.py"))


def imported_roots(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def test_the_core_has_modules() -> None:
    assert len(MODULES) > 10
    assert APP / "cli.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_core_module_imports_qt_or_ui(path: Path) -> None:
    bad = [(line, name) for line, name in imported_roots(path) if name in FORBIDDEN]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_importing_the_cli_does_not_load_qt() -> None:
    code = (
        "import sys\n"
        "import app.cli, app.importer, app.trainingfiles, app.export\n"
        "loaded = sorted(m for m in sys.modules\n"
        "                if m.split('.')[0] in {'PySide6', 'shiboken6', 'ui'})\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"loaded: {result.stdout} {result.stderr}"
    assert result.stdout.strip() == "[]"
