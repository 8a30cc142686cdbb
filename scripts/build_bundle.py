"""Build the one-folder desktop bundle with PyInstaller and smoke-run it.

    python scripts/build_bundle.py [--dist DIR]

Prints the bundle folder. The smoke run proves the bundle is complete: the command-line
program answers --version and validates the example training file that ships inside it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["version"]


def build(dist: Path, work: Path) -> Path:
    subprocess.check_call([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                           "--log-level", "WARN", "--distpath", str(dist),
                           "--workpath", str(work), str(ROOT / "build.spec")], cwd=ROOT)
    return dist / f"LoRA-Studio-{version()}"


def cli_executable(bundle: Path) -> Path:
    return bundle / ("lora-studio.exe" if os.name == "nt" else "lora-studio")


def smoke_run(bundle: Path) -> None:
    exe = str(cli_executable(bundle))
    example = (bundle / "_internal" / "schemas"
               / "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    print(subprocess.check_output([exe, "--version"], env=env, text=True).strip())
    print(subprocess.check_output([exe, "validate", str(example)], env=env, text=True).strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    args = parser.parse_args()
    bundle = build(args.dist, args.work)
    smoke_run(bundle)
    print(bundle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
