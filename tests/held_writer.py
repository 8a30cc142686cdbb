"""Another program's write transaction on a library's database, held until released: SQLite
makes a writer of the library wait for it (up to its busy timeout), so a test sees what the
app shows while its work waits there, deterministically."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class HeldWriter:
    def __init__(self, database: Path) -> None:
        self.conn: sqlite3.Connection | None = sqlite3.connect(database, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            self.conn = None
