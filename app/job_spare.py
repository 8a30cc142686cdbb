"""The spare child the desktop app keeps for its jobs (``app.job_process.keep_spare``): what
it imports and readies ahead, and the start of it.

It is started first thing, before the app imports its window: a large library's first
read runs in a child, and a child started then has imported the app by the time the
window asks (at 30,000 conversations the rows came 2.1–2.8 s after the window showed with a
child started for the read, 1.0–1.4 s with the spare started first).
"""

from __future__ import annotations

from sqlalchemy.orm import configure_mappers

from app.job_process import keep_spare
from app.tokenizer_choice import warm_default_counter

# Where the jobs run in child processes live (``ui.tasks.in_child``, the row read, token
# counts): the spare imports them ahead. Names only: the core imports no window module.
JOB_MODULES = ("app.trainingfiles", "app.batch_jobs", "app.importer", "app.library_undo",
               "app.token_counts", "ui.row_index")
# What the spare does ahead besides: the default tokenizer's counter (a plan counts tokens)
# and the database mappings' set-up (done on a job's first query otherwise).
JOB_WARM_UP = (warm_default_counter, configure_mappers)


def keep_spare_for_jobs() -> None:
    """From now on keep a spare child for the jobs; the first starts now, on a thread of
    its own (calling it again changes nothing)."""
    keep_spare(JOB_MODULES, JOB_WARM_UP)
