"""Where the files that ship beside the code live (schemas, resources).

In a source checkout they sit at the project root; in a PyInstaller bundle they are
unpacked under ``sys._MEIPASS``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def project_root() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def schemas_dir() -> Path:
    return project_root() / "schemas"


def resources_dir() -> Path:
    return project_root() / "resources"
