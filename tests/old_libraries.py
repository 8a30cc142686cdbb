"""Real libraries written by older versions of LoRA Studio, made fresh for each test."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text

from app.location import LibraryLocation
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


# What revision 0007 added: undone, a library made now is one of revision 0006.
AFTER_0006 = ("ALTER TABLE training_files DROP COLUMN json_sha256",
              "ALTER TABLE training_files DROP COLUMN jsonl_sha256")
# What revisions 0006 and 0007 added: undone, a library made now is one of revision 0005.
AFTER_0005 = (*AFTER_0006, "DROP TABLE saved_copies")
# What revisions 0005 and 0006 added: undone, a library made now is one of revision 0004.
AFTER_0004 = (*AFTER_0005, "ALTER TABLE training_files DROP COLUMN over_budget")
# What revisions 0004 and 0005 added: undone, a library made now is one of revision 0003.
AFTER_0003 = (*AFTER_0004, "ALTER TABLE conversations DROP COLUMN replies_trained")
# What revisions 0003 and 0004 added: undone, a library made now is one of revision 0002.
AFTER_0002 = (*AFTER_0003, "ALTER TABLE training_files DROP COLUMN changes",
              "ALTER TABLE training_files DROP COLUMN changes_built")
# What revisions 0002 and 0003 added: undone, a library made now is one of the baseline
# (schema v7).
AFTER_BASELINE = (*AFTER_0002, "DROP TABLE library_tokenizer",
                  "ALTER TABLE conversations DROP COLUMN token_basis")


def back_to_baseline(location: LibraryLocation, *, stamped: bool = True) -> None:
    """Turn a closed library made by this LoRA Studio into one of the Alembic baseline
    (``stamped``) or of schema v7 from before Alembic (not stamped: SQLite only)."""
    _undo(location, AFTER_BASELINE, "0001_baseline" if stamped else None)


def back_to_0002(location: LibraryLocation) -> None:
    """Turn a closed library made by this LoRA Studio into one of revision 0002 (a rebuild
    owed was a sentinel in ``totals`` then)."""
    _undo(location, AFTER_0002, "0002_tokenizer_in_library")


def back_to_0003(location: LibraryLocation) -> None:
    """Turn a closed library made by this LoRA Studio into one of revision 0003 (the
    Replies column counted every consultant reply then)."""
    _undo(location, AFTER_0003, "0003_rebuild_owed_column")


def back_to_0005(location: LibraryLocation) -> None:
    """Turn a closed library made by this LoRA Studio into one of revision 0005 (no saved
    copy was recorded then)."""
    _undo(location, AFTER_0005, "0005_over_budget_column")


def back_to_0006(location: LibraryLocation) -> None:
    """Turn a closed library made by this LoRA Studio into one of revision 0006 (no build
    kept its sha256 then)."""
    _undo(location, AFTER_0006, "0006_saved_copies")


def back_to_0004(location: LibraryLocation) -> None:
    """Turn a closed library made by this LoRA Studio into one of revision 0004 (every
    line over the token budget was written whole then)."""
    _undo(location, AFTER_0004, "0004_replies_trained_column")


def _undo(location: LibraryLocation, statements: tuple[str, ...], stamp: str | None) -> None:
    url = location.engine_url if location.is_team else \
        f"sqlite:///{location.folder / DATABASE_NAME}"
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
        if stamp is not None:
            conn.execute(text("UPDATE alembic_version SET version_num = :stamp"),
                         {"stamp": stamp})
        else:
            conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
