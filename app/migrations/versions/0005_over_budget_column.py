"""Each training file says what happens to a line longer than its token budget.

A line over ``max_seq_len`` was always written whole (a trainer then cuts it mid-reply or
drops it). This revision adds ``training_files.over_budget`` (``app.budget_fit``): ``fit``
ends such a line at its last whole reply that fits, ``keep`` writes it whole. Every file
that exists gets ``keep``, so its bytes do not change under the person; a file made from
now on gets ``fit`` unless it is told otherwise.

Revision ID: 0005_over_budget_column
Revises: 0004_replies_trained_column
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_over_budget_column"
down_revision: str | None = "0004_replies_trained_column"
branch_labels: str | None = None
depends_on: str | None = None

# The models' text type (as in the baseline): byte order on PostgreSQL, as SQLite compares
TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")
EARLIER_FILES = "keep"  # app.budget_fit.FOR_EARLIER_FILES when this revision was written


def upgrade() -> None:
    with op.batch_alter_table("training_files") as batch:
        batch.add_column(sa.Column("over_budget", TEXT, server_default=EARLIER_FILES,
                                   nullable=False))


def downgrade() -> None:
    raise NotImplementedError("a library is never downgraded: restore a backup instead")
