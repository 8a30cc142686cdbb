"""SQL that reads the same on both back ends (SQLite and PostgreSQL), in one place.

The store mostly speaks SQLAlchemy, which renders for either; what it cannot hide is here:
the dialect's own INSERT (for ON CONFLICT), and plain SQL sent straight to the driver on
hot paths, whose placeholders differ (``?`` for sqlite3, ``%s`` for psycopg).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def dialect_of(where: Session | Connection) -> str:
    bind = where.get_bind() if isinstance(where, Session) else where
    return str(bind.dialect.name)


def insert_for(where: Session | Connection,
               model: type[DeclarativeBase] | Table) -> Any:
    """The dialect's INSERT of ``model`` (it has ``on_conflict_do_nothing/_update``)."""
    if dialect_of(where) == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def driver_sql(connection: Connection, statement: str, parameters: Any = ()) -> Any:
    """Run plain SQL written with ``?`` placeholders through the driver, on either back end."""
    if connection.dialect.name == "postgresql":
        statement = statement.replace("?", "%s")
    return connection.exec_driver_sql(statement, parameters)
