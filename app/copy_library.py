"""Copy a library into an empty team library (``lora-studio copy-library --to URL``).

Everything the library database holds goes across as it is, row for row and key for key:
batches, consultant profiles, conversations with their documents, review marks and token
counts, near-duplicate keys, training files with their members and stored builds. A
training file downloaded from the team library is then byte for byte the one the library
gave, and nothing is rendered again.

The copy is one transaction on the team's server: it is all there or, after a failure or
a cancel, none of it (the database is empty again and the copy can simply be run again).
The target must be empty: a copy never mixes two libraries or overwrites anybody's work.
Members who write to the team library meanwhile wait for the copy (``SHUT_OUT``).
The source is only read (one read transaction, so the copy is of one moment).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Integer, func, insert, select, text

from app.build import BuildCancelled
from app.errors import LibraryError
from app.library import Library
from app.models import Base, LibraryTokenizer, TrainingFile
from app.team_locks import CREATING_FILES, FRAGMENTS, IMPORTING, REMOVING, lock_key
from app.tokenizer_choice import load_choice, store_choice, tokenizer_json
from app.wording import plural

CHUNK = 1000  # rows per INSERT batch (and per progress report)
COPYING = "library:copy-in"  # two copies into one empty database: the second waits, then refuses

Progress = Callable[[int, int, str], None]


class CopyCancelled(BuildCancelled):
    """The person stopped the copy: the team library is left empty."""


@dataclass
class CopyReport:
    """Rows copied, per table (in the order copied)."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# The library's data, copied row for row. The tokenizer choice is a setting, not data: the
# target may hold its first writer's already, and takes the source's (``_copy_choice``).
DATA_TABLES = [table for table in Base.metadata.sorted_tables
               if table.name != LibraryTokenizer.__tablename__]


def _counts(conn: Connection) -> dict[str, int]:
    return {table.name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
            for table in DATA_TABLES}


def _refuse_builds_on_disk(source: Library, conn: Connection) -> None:
    """A build from before v6 is in files beside the library, which a team cannot share."""
    on_disk = list(conn.scalars(select(TrainingFile.name).where(
        TrainingFile.head.is_(None), TrainingFile.json_file.is_not(None))))
    if on_disk:
        raise LibraryError(
            f"the training file '{on_disk[0]}' of {source.display} is still kept in files "
            "from an older version of LoRA Studio, which a team library cannot share. Open "
            "that library once in the window (or run any command that changes it, such as "
            f"`lora-studio --library \"{source.display}\" rebuild \"{on_disk[0]}\"`): its "
            "builds move into the library database. Then copy again; nothing was copied.")


def _refuse_a_full_target(target: Library, conn: Connection) -> None:
    held = {name: n for name, n in _counts(conn).items() if n}
    if held:
        what = ", ".join(f"{plural(n, 'row')} in {name}" for name, n in sorted(held.items())[:3])
        raise LibraryError(
            f"the team library {target.display} is not empty ({what}): copy-library only "
            "fills an empty database, so that no one's work is mixed up or overwritten. "
            "Give the URL of a new, empty database; nothing was copied.")


def _advance_sequences(conn: Connection) -> None:
    """Rows came with their keys; the server's counters must start after them, or the
    next conversation or training file created in the team library would clash."""
    for table in Base.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) \
                or keys[0].autoincrement is False:
            continue
        column = keys[0].name
        sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": column})
        if sequence is None:
            continue
        conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT max("{column}") FROM '
                          f'"{table.name}"), 1), (SELECT count(*) > 0 FROM "{table.name}"))'),
                     {"s": sequence})


# What the copy holds until it commits, in this order (a build takes the fragments lock
# before the creation and removal locks; taking them the same way round never deadlocks).
SHUT_OUT = (COPYING, FRAGMENTS, CREATING_FILES, REMOVING, IMPORTING)


def _shut_out_other_writers(writing: Connection) -> None:
    """Hold the team's locks for the whole copy: a member who imports, creates a training
    file or removes conversations meanwhile waits until the copy is in, then finds it (an
    import then stores only what the copy did not bring) instead of taking keys the copy
    is writing and failing, or making the copy fail, at the commit."""
    for name in SHUT_OUT:
        writing.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})


def copy_library(source: Library, target: Library, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> CopyReport:
    """Copy everything in ``source`` into ``target``, an empty team library."""
    if not target.is_team:
        raise LibraryError(
            f"{target.display} is a library folder: copy-library copies into a team "
            "library, given as --to postgresql://user@host:port/database.")
    if source.location == target.location:
        raise LibraryError(f"{source.display} cannot be copied into itself.")
    report = CopyReport()
    with source.engine.connect() as reading, reading.begin(), \
            target.engine.connect() as writing, writing.begin():
        _refuse_builds_on_disk(source, reading)
        _shut_out_other_writers(writing)
        _refuse_a_full_target(target, writing)
        totals = _counts(reading)
        grand_total, done = sum(totals.values()), 0
        for table in DATA_TABLES:
            copied = 0
            columns = list(table.columns)
            # Rows in key order: the server stores them as the library had them.
            result = reading.execution_options(stream_results=True).execute(
                select(*columns).order_by(*table.primary_key.columns))
            for part in result.partitions(CHUNK):
                writing.execute(insert(table), [dict(row._mapping) for row in part])
                copied += len(part)
                done += len(part)
                if progress:
                    progress(done, grand_total, table.name)
                if cancelled and cancelled():
                    raise CopyCancelled("the copy was stopped; the team library is still "
                                        "empty")
            report.rows[table.name] = copied
        _advance_sequences(writing)
        _copy_choice(source, writing)
    return report


def _copy_choice(source: Library, writing: Connection) -> None:
    """The counts copied were made with the source's tokenizer and template: the team
    library counts with them too (for every member), and the counts stay valid."""
    choice = load_choice(source)
    store_choice(writing, choice, tokenizer_json(source, choice),
                 old_counts_valid=not choice.stored and choice.counts_key == "")
