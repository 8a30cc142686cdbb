"""Build the Windows installer with Inno Setup from a bundle made by build_bundle.py.

    python scripts/build_installer.py [--iscc PATH]

The version comes from pyproject.toml (the one place it is written) and is handed to
``installer/lora-studio.iss``; prints the installer's path.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from build_bundle import ROOT, version

DEFAULT_ISCC = Path(r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe")


def find_iscc(given: Path | None) -> Path:
    if given is not None:
        return given
    on_path = shutil.which("ISCC") or shutil.which("iscc")
    if on_path:
        return Path(on_path)
    if DEFAULT_ISCC.exists():
        return DEFAULT_ISCC
    raise SystemExit("Inno Setup 6 was not found: install it or pass --iscc PATH to ISCC.exe")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iscc", type=Path, help="path to ISCC.exe")
    args = parser.parse_args()
    number = version()
    bundle = ROOT / "dist" / f"LoRA-Studio-{number}"
    if not bundle.is_dir():
        raise SystemExit(f"{bundle} does not exist: run scripts/build_bundle.py first")
    subprocess.check_call([str(find_iscc(args.iscc)), f"/DAppVersion={number}",
                           str(ROOT / "installer" / "lora-studio.iss")], cwd=ROOT)
    installer = ROOT / "dist" / "installer" / f"LoRA-Studio-Setup-{number}.exe"
    if not installer.exists():
        raise SystemExit(f"Inno Setup finished but {installer} is missing")
    print(installer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
