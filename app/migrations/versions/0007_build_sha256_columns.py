"""Each training file keeps the sha256 of its stored full JSON and JSONL.

Whether a saved copy still matches its training file after a rebuild that left the size
alone was answered by reading the whole build through sha256, on the window's thread: a
stall of a third of a second at 100 MB, each time. This revision adds
``training_files.json_sha256`` and ``jsonl_sha256`` (``app.stored_builds``): a build of the
same size as a saved copy stores them, an export stores what it read, and a file whose are
NULL (every file built before this revision) has them made once, off the window's thread,
when a saved copy needs them (``app.saved_copies``).

Revision ID: 0007_build_sha256_columns
Revises: 0006_saved_copies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_build_sha256_columns"
down_revision: str | None = "0006_saved_copies"
branch_labels: str | None = None
depends_on: str | None = None

# The models' text type (as in the baseline): byte order on PostgreSQL, as SQLite compares
TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("training_files") as batch:
        batch.add_column(sa.Column("json_sha256", TEXT, nullable=True))
        batch.add_column(sa.Column("jsonl_sha256", TEXT, nullable=True))


def downgrade() -> None:
    raise NotImplementedError("a library is never downgraded: restore a backup instead")
