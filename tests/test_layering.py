"""The layers hold: import-linter's contracts (pyproject.toml) pass and cover every module.

The contracts say ``ui`` sits above ``app``, ``app`` never imports Qt, and inside ``app`` the
command line sits over the services, the services over the store, the store over the formats.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

from conftest import ROOT

CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = CONFIG["tool"]["importlinter"]["contracts"]


def _core_layers() -> list[set[str]]:
    (contract,) = [c for c in CONTRACTS if c.get("containers") == ["app"]]
    return [{name.strip() for name in layer.replace("|", ":").split(":")}
            for layer in contract["layers"]]


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout


def test_every_core_module_has_a_layer() -> None:
    """A new module must be placed in a layer, or the contract would not look at it."""
    layers = _core_layers()
    placed = [name for layer in layers for name in layer]
    assert len(placed) == len(set(placed)), "a module is listed in two layers"
    modules = {path.stem for path in (ROOT / "app").glob("*.py") if path.stem != "__init__"}
    modules |= {path.name for path in (ROOT / "app").iterdir()
                if path.is_dir() and (path / "__init__.py").exists()}
    assert modules - set(placed) == set(), "place these modules in a layer in pyproject.toml"
    assert set(placed) - modules == set(), "these layers name modules that do not exist"


def test_importing_the_cli_does_not_load_qt() -> None:
    """Also at run time: the command line starts without loading Qt or the UI package."""
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
