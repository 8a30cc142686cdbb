"""Write the Alembic revision for a change made to app/models.py (app/migrations/README.md).

    .venv/bin/python scripts/new_migration.py "adds review notes"

Alembic compares the models with a library made by the whole history so far (in a
temporary folder) and writes what differs to app/migrations/versions/NNNN_<words>.py.
Read it before keeping it: check it works on both back ends (batch operations for SQLite,
a server default for a new NOT NULL column), then set HEAD in app/migrations/__init__.py.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message", help="what the revision does, in a few words")
    args = parser.parse_args()
    from alembic import command
    from sqlalchemy import create_engine

    from app import migrations

    number = 1 + max(int(p.name[:4]) for p in (migrations.FOLDER / "versions").glob("[0-9]*.py"))
    words = re.sub(r"[^a-z0-9]+", "_", args.message.lower()).strip("_")
    rev_id = f"{number:04d}_{words}"[:32].rstrip("_")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'history.sqlite3'}"
        engine = create_engine(url)
        with engine.begin() as conn:
            migrations.upgrade(conn)
        engine.dispose()
        cfg = migrations.config()
        cfg.cmd_opts = argparse.Namespace(x=[f"url={url}"])
        cfg.set_main_option("file_template", "%%(rev)s")  # the id already holds the words
        script = command.revision(cfg, message=args.message, autogenerate=True, rev_id=rev_id)
    path = getattr(script, "path", None)
    print(f"wrote {path}\nnow read it, then set HEAD = {rev_id!r} in app/migrations/__init__.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
