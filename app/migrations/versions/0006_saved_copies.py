"""The library remembers the copies of its training files that were saved out of it.

Nothing told a person that a copy saved earlier no longer matched its training file after a
rebuild. This revision adds ``saved_copies`` (``app.saved_copies``): one row per file an
export wrote, with the file's revision and the size and sha256 of the stored build it was
made from, and the size, modification time and sha256 of what was written. A library that
had no such table has no saved copy on record: nothing is said about copies saved before.

Revision ID: 0006_saved_copies
Revises: 0005_over_budget_column
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_saved_copies"
down_revision: str | None = "0005_over_budget_column"
branch_labels: str | None = None
depends_on: str | None = None

# The models' types (as in the baseline): byte order on PostgreSQL, as SQLite compares
TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_copies",
        sa.Column("path", TEXT, nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("export_format", TEXT, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source_bytes", BIG, nullable=False),
        sa.Column("source_sha256", TEXT, nullable=False),
        sa.Column("bytes", BIG, nullable=False),
        sa.Column("mtime_ns", BIG, nullable=False),
        sa.Column("sha256", TEXT, nullable=False),
        sa.Column("saved_at", TEXT, nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["training_files.file_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("path"),
    )
    op.create_index("ix_saved_copies_file_id", "saved_copies", ["file_id"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("a library is never downgraded: restore a backup instead")
