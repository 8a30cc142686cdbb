"""A job's child process meets a known failure of the library's database (here another
program holding it with BEGIN EXCLUSIVE): the sentence that reaches the window names the
library's database file, as the window's own known failures do (``failure_sentence(exc,
library.database)``), whether or not the child's error could have gone back as itself.
A batch rename or move fails on statements whose parameters pickle: that error went back
as itself, and the window said "the library database is busy" without saying which."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import ids_of

from app import batch_jobs
from app.errors import LibraryError
from app.job_process import run_in_child
from app.library import Library
from ui.tasks import Task, in_child

BUSY = "is busy: another program is writing to it"


@contextmanager
def held(library: Library) -> Iterator[None]:
    """Another program holds the library's database for writing (SQLite waits 5 s)."""
    holder = sqlite3.connect(library.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.close()


def test_a_busy_database_in_a_childs_rename_or_move_names_the_database_file(
        two_batches: Library) -> None:
    library = two_batches
    ids = ids_of(library, "legacy-batch")[:2]
    batches = {row.conversation_id: row.batch_id for row in library.summaries()}
    for job, args in ((batch_jobs.rename_batch, ("legacy-batch", "renamed")),
                      (batch_jobs.move_conversations, (ids, "elsewhere"))):
        with held(library), pytest.raises(LibraryError) as raised:
            run_in_child(job, library.location, *args, opener=Library.under_parent_lock)
        text = str(raised.value)
        assert text.startswith(f"the library database {library.db_path} {BUSY}"), text
    assert {row.conversation_id: row.batch_id for row in library.summaries()} == batches


def test_the_window_says_which_database_a_childs_move_found_busy(
        qtbot, two_batches: Library) -> None:
    """The same through the window's own way of running a job (``ui.tasks``)."""
    library = two_batches
    ids = ids_of(library, "legacy-batch")[:2]
    task = Task(in_child(batch_jobs.move_conversations, library, ids, "elsewhere"))
    said: list[str] = []
    task.signals.failed.connect(said.append)
    with held(library):
        task.run()
    assert said and said[0].startswith(f"the library database {library.db_path} {BUSY}"), said
