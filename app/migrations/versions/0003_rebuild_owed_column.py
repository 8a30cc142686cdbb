"""A rebuild owed is recorded in columns of its own, not in the file's stored totals.

Until now a training file that owed a rebuild (its conversations changed and the rebuild
after the change was cancelled or dropped) had the sentinel ``"rebuild due"`` written over
its stored totals. Any build's switch wrote its totals over it, so on a team library a
build that was running when another member changed one of its conversations paid a debt
it had not seen. Now ``changes`` counts the changes a file's bytes must follow and
``changes_built`` is the count its current build read before it read its members: owed
while the first is larger (``app.stored_builds``). A sentinel becomes one change owed,
and the file has no totals (a build then reads every member, as the sentinel made it).

Revision ID: 0003_rebuild_owed_column
Revises: 0002_tokenizer_in_library
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_rebuild_owed_column"
down_revision: str | None = "0002_tokenizer_in_library"
branch_labels: str | None = None
depends_on: str | None = None

SENTINEL = b'"rebuild due"'  # what revisions up to 0002 wrote into ``totals``


def upgrade() -> None:
    # Adding a column is an ALTER TABLE on both back ends (no copy of the table).
    with op.batch_alter_table("training_files") as batch:
        batch.add_column(sa.Column("changes", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("changes_built", sa.Integer(), server_default="0",
                                   nullable=False))
    training_files = sa.table("training_files", sa.column("totals", sa.LargeBinary()),
                              sa.column("changes", sa.Integer()))
    op.execute(training_files.update()
               .where(training_files.c.totals == SENTINEL)
               .values(changes=1, totals=None))


def downgrade() -> None:
    raise NotImplementedError("a library is never downgraded: restore a backup instead")
