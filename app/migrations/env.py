"""Alembic's environment for the library's migrations (both back ends).

LoRA Studio runs migrations itself when it opens a library (``app.migrations.upgrade``),
handing Alembic the connection it opened; then this runs in that connection's transaction.
A developer may also run ``alembic`` by hand (see ``app/migrations/README.md``) with
``-x url=...`` naming a library database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.models import Base

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("name the library database: alembic -x url=sqlite:///PATH ...")
    engine = create_engine(url)
    with engine.begin() as conn:
        _migrate(conn)
    engine.dispose()


def _migrate(connection: object) -> None:
    # render_as_batch: SQLite alters a table by copying it; Alembic's batch mode does that.
    context.configure(connection=connection,  # type: ignore[arg-type]
                      target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


run()
