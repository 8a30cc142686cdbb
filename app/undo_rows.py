"""What the exact undos (``app.file_undo``, ``app.library_undo``, ``app.member_undo``,
``app.batch_undo``) share: rows kept as plain dicts, read and written back a part at a
time, stored renderings kept compressed, members' rendered states, and Cancel.

Each undo keeps the rows its change took away and writes them back in one transaction;
these are the steps they take the same way, so one copy of each decides how a rendering
is kept in memory or how many keys go in one query.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from app.build import BuildCancelled
from app.errors import LibraryError
from app.key_parts import in_parts
from app.models import BuildFragment, Conversation, Member, TrainingFile
from app.portable import insert_for
from app.wording import first_few

Row = dict[str, Any]
# A rendering's JSON and JSONL, kept compressed (about a fifth of their size): they are
# most of what an undo of a large training file keeps in the window's memory.
PACKED = ("json", "jsonl")
# What a member's rendering depends on: its batch, reviewer, content hash and review date.
RenderedState = tuple[str, str | None, str, str | None]


def table_of(model: Any) -> Table:
    """A mapped class's table, for reading and writing its rows as plain dicts."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def rows_where(session: Session, table: Table, column: Any, values: Sequence[Any]) -> list[Row]:
    """Every row of ``table`` whose ``column`` is among ``values``, as plain dicts."""
    found: list[Row] = []
    for part in in_parts(values):
        found.extend(dict(row._mapping)
                     for row in session.execute(select(table).where(column.in_(part))))
    return found


def packed(fragment: Row) -> Row:
    """A stored rendering as an undo keeps it: its JSON and JSONL compressed."""
    return {**fragment, **{column: zlib.compress(fragment[column], 1) for column in PACKED}}


def unpacked(fragment: Row) -> Row:
    """A kept rendering as the library stores it again."""
    return {**fragment, **{column: zlib.decompress(fragment[column]) for column in PACKED}}


def insert_rows(session: Session, table: Table, rows: Sequence[Row]) -> None:
    """Write kept rows back as they were."""
    for part in in_parts(rows):
        session.execute(insert(table), part)


def put_renderings_back(session: Session, fragments: Sequence[Row]) -> None:
    """Store kept (packed) renderings again; one stored since under the same key is the
    same rendering (the key is its content's), so it stays."""
    if not fragments:
        return
    statement = insert_for(session, BuildFragment).on_conflict_do_nothing(
        index_elements=[BuildFragment.key])
    for part in in_parts(fragments):
        session.execute(statement, [unpacked(fragment) for fragment in part])


def rendered_states(session: Session, pks: Sequence[int]) -> dict[int, tuple[str, RenderedState]]:
    """Each of ``pks`` still in the library: its conversation id and what its rendering
    depends on, to tell whether a kept rendering of it is still the one a build makes."""
    found: dict[int, tuple[str, RenderedState]] = {}
    for part in in_parts(pks):
        for pk, cid, batch, reviewer, content, at in session.execute(
                select(Conversation.pk, Conversation.conversation_id, Conversation.batch_id,
                       Conversation.reviewed_by, Conversation.content_sha256,
                       Conversation.reviewed_at).where(Conversation.pk.in_(part))):
            found[pk] = (cid, (batch, reviewer, content, at))
    return found


def quoted_ids(ids: Sequence[str]) -> str:
    """The first few conversation ids, quoted, for a refusal's sentence."""
    return first_few([f"'{cid}'" for cid in ids], 3)


def stop_if_cancelled(cancelled: Callable[[], bool] | None) -> None:
    """Cancel pressed while an undo ran: its one transaction is rolled back, so nothing
    was changed and the same undo can be offered again."""
    if cancelled is not None and cancelled():
        raise BuildCancelled()


def file_members(session: Session, file_id: int) -> list[int]:
    """A training file's members' row keys, in its order."""
    return list(session.scalars(select(Member.conversation_pk)
                                .where(Member.file_id == file_id).order_by(Member.position)))


def file_named(session: Session, name: str) -> TrainingFile:
    """The training file of that name (names differ in more than capitals)."""
    row = session.scalar(select(TrainingFile).where(TrainingFile.slug == name.casefold()))
    if row is None:
        raise LibraryError(f"there is no training file named '{name}'")
    return row


def file_gone(session: Session, file_id: int, created_at: str, name: str) -> str | None:
    """Why the training file an undo was recorded for is no longer the one it changed
    (deleted, or renamed since), as the undo's sentence says it; None when it is."""
    row = session.get(TrainingFile, file_id)
    if row is None or row.created_at != created_at:
        return f"'{name}' was deleted since"
    if row.name != name:
        return f"'{name}' was renamed '{row.name}' since"
    return None
