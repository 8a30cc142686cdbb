"""The tokenizer choice lives in the library, and each count names what made it.

Until now the tokenizer and chat template a library counted with were kept in a folder on
each computer, while the counts they made were stored in the library: in a team library
two members with different choices overwrote each other's counts. This revision adds the
one-row table ``library_tokenizer`` (filled in by the first writer that opens the library
from that computer's old choice, ``app.tokenizer_choice.carry_over``) and, per
conversation, the counting basis its ``token_count`` was made with.

Revision ID: 0002_tokenizer_in_library
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tokenizer_in_library"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None

TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "library_tokenizer",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tokenizer", TEXT, nullable=False),
        sa.Column("tokenizer_name", TEXT, nullable=False),
        sa.Column("tokenizer_sha256", TEXT, nullable=False),
        sa.Column("tokenizer_json", sa.LargeBinary(), nullable=True),
        sa.Column("template", TEXT, nullable=False),
        sa.Column("template_name", TEXT, nullable=False),
        sa.Column("template_source", TEXT, nullable=True),
        sa.Column("bos_token", TEXT, nullable=False),
        sa.Column("eos_token", TEXT, nullable=False),
        sa.Column("basis", TEXT, nullable=False),
        sa.Column("changed_at", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Adding a column is an ALTER TABLE on both back ends (no copy of the table).
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("token_basis", TEXT, server_default="", nullable=False))


def downgrade() -> None:
    raise NotImplementedError("a library is never downgraded: restore a backup instead")
