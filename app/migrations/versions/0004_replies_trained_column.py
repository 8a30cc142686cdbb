"""Each conversation stores how many replies the default cut-off policy trains.

The Conversations table's Replies column showed every consultant reply, also for a
conversation whose first reply is cut off: the default policy (trim) trains none of it, so
the column said "3" where the Tokens column said "no training line". This revision adds
``conversations.replies_trained``, the count a file of the default policy trains, and fills
it from what each conversation's stored digest says of that policy. A digest stored before
the per-policy counts existed has none: its conversation keeps its count of every reply,
the one it showed until now, until it is imported again.

Revision ID: 0004_replies_trained_column
Revises: 0003_rebuild_owed_column
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0004_replies_trained_column"
down_revision: str | None = "0003_rebuild_owed_column"
branch_labels: str | None = None
depends_on: str | None = None

DEFAULT_POLICY = "trim"  # app.cutoff.DEFAULT_POLICY when this revision was written
CHUNK = 1000


def _trained(digest: bytes | None, every_reply: int) -> int:
    """The default policy's count from a stored digest, else the count of every reply."""
    try:
        policies = orjson.loads(digest or b"{}").get("policies") or {}
        return int(policies[DEFAULT_POLICY]["trainable_replies"])
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return every_reply


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("replies_trained", sa.Integer(), server_default="0",
                                   nullable=False))
    conversations = sa.table("conversations", sa.column("pk", sa.Integer()),
                             sa.column("digest", sa.LargeBinary()),
                             sa.column("trainable_replies", sa.Integer()),
                             sa.column("replies_trained", sa.Integer()))
    connection = op.get_bind()
    change = (conversations.update()
              .where(conversations.c.pk == sa.bindparam("row"))
              .values(replies_trained=sa.bindparam("trained")))
    last = 0
    while True:  # in chunks, so a library of 100,000 never holds every digest at once
        rows = connection.execute(
            sa.select(conversations.c.pk, conversations.c.digest,
                      conversations.c.trainable_replies)
            .where(conversations.c.pk > last).order_by(conversations.c.pk).limit(CHUNK)).all()
        if not rows:
            break
        connection.execute(change, [{"row": pk, "trained": _trained(digest, replies)}
                                    for pk, digest, replies in rows])
        last = rows[-1][0]


def downgrade() -> None:
    raise NotImplementedError("a library is never downgraded: restore a backup instead")
