"""Real libraries written by older versions of LoRA Studio, made fresh for each test."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from app.paths import DATABASE_NAME

V5 = Path(__file__).parent / "data" / "library-v5"
# The training files of the v5 library and the build folder each was in.
FILES = {"base": "00001-r2", "second set": "00002-r1"}


def make_v5_library(root: Path) -> Path:
    root.mkdir(parents=True)
    conn = sqlite3.connect(root / DATABASE_NAME)
    try:
        conn.executescript((V5 / "library.sql").read_text(encoding="utf-8"))
        conn.execute("PRAGMA user_version = 5")
        conn.commit()
    finally:
        conn.close()
    shutil.copytree(V5 / "training-files", root / "training-files")
    shutil.copytree(V5 / "tokenizer", root / "tokenizer")
    return root
