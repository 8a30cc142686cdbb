"""Dialogue fingerprints in the library: duplicate lookups, near-duplicate warnings, and
filling in fingerprints for conversations stored before they existed.

The fingerprints themselves are made by ``app.similar``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.key_parts import CHUNK, in_parts
from app.library import Library, unpack
from app.models import Conversation, ConversationDocument, DialogueKey
from app.near_in_file import NearIndex
from app.portable import driver_sql
from app.similar import (
    INDEXED,
    NEAR_DUPLICATE,
    Match,
    Unpacked,
    best_match,
    fingerprint,
    first_near,
    warning_text,
)
from app.similar import unpack as unpack_sketch


def stored_dialogues(session: Session) -> dict[str, str]:
    """Dialogue hash → conversation id, for every conversation that has one."""
    return {sha: cid for sha, cid in session.execute(
        select(Conversation.dialogue_sha256, Conversation.conversation_id)
        .where(Conversation.dialogue_sha256.is_not(None))) if sha is not None}


class StoredNear:
    """The library's conversations as the add's check indexes them (``NearIndex``), for one
    import: what finds a near one behind a key that the ``dialogue_keys`` table gives to a
    conversation that is not near.

    That table keeps one conversation per sentence hash, the first stored with it. A stock
    line ("Thank you so much.") is said by many different dialogues and its hash is often
    among their smallest: its key leads to the first of them, seldom a near one, and a
    re-generation whose other keys were reworded was not flagged at import (the add's check
    flagged it). The index is read the first time a row shares a key with a conversation
    that is not near it, once per import (the library's sketches, in the order stored), and
    kept up with the rows the import stores; an import that never meets such a row never
    reads it. Conversations another member of a team library stores meanwhile are found
    through the table only."""

    def __init__(self) -> None:
        self._index: NearIndex | None = None
        self._entries: dict[str, int] = {}  # conversation id -> its entry in the index

    def first_near(self, session: Session, sketch: bytes,
                   earlier: Sequence[dict[str, Any]], sets: dict[bytes, Unpacked]
                   ) -> Match | None:
        """The first conversation stored before (or of ``earlier``: the rows of the chunk
        in hand checked before this one) that ``sketch`` is near, as the add's check finds
        it (``near_in_file.NearIndex``), or None."""
        if self._index is None:
            self._index = NearIndex()
            for cid, stored in driver_sql(
                    session.connection(),
                    f"SELECT conversation_id, dialogue_sketch FROM "
                    f"{Conversation.__tablename__} WHERE dialogue_sketch IS NOT NULL "
                    "ORDER BY pk", ()):
                self._entries[cid] = self._index.add(cid, stored)
            for row in earlier:
                self.add(row)
        return first_near(sketch, self._index.candidates(sketch), sets)

    def add(self, row: Mapping[str, Any]) -> None:
        """Index a row checked and about to be stored (nothing while the index is unread:
        reading it reads the row then)."""
        if self._index is not None:
            cid = row["conversation_id"]
            self._entries[cid] = self._index.add(cid, row["dialogue_sketch"])

    def replaced(self, cid: str, sketch: bytes | None) -> None:
        """``cid``'s stored conversation was replaced by a version whose sketch is
        ``sketch``: a later row of the import is compared with what it says now, not with
        the text it replaced (nothing while the index is unread: reading it reads the new
        one)."""
        if self._index is None:
            return
        entry = self._entries.get(cid)
        if entry is not None:
            self._index.replace(entry, sketch or b"")
        elif sketch:  # stored without a sketch before
            self._entries[cid] = self._index.add(cid, sketch)


def flag_near_duplicates(session: Session, rows: Sequence[dict[str, Any]],
                         stored_near: StoredNear | None = None) -> None:
    """Add the ``near_duplicate`` warning to rows about to be stored that are near
    (``app.similar.is_near``: most sentences the same, or a shorter copy of one or the
    other) a stored conversation or an earlier row of the same chunk.

    Each row is compared first with the conversations its keys lead to in ``dialogue_keys``
    (the closest near one is named); when they are none near, with what ``stored_near``
    finds (``StoredNear``: the add's candidates), so a row is flagged whenever the add's
    check of the library in the order stored would flag it. ``stored_near`` is kept for
    the import's next chunks; without it one is made for these rows.

    The warning lives in the row's warning columns (what the Conversations table shows and
    filters on), not in the stored record.
    """
    deeper = stored_near if stored_near is not None else StoredNear()
    row_keys = [unpack_sketch(row["dialogue_sketch"])[:INDEXED] for row in rows]
    wanted = sorted({key for keys in row_keys for key in keys})
    stored: dict[int, tuple[str, bytes]] = {}
    connection = session.connection()
    for part in in_parts(wanted):
        # Plain SQL through the driver: built once per chunk, rows come back as tuples.
        for key, cid, sketch in driver_sql(
            connection, f"SELECT k.key, c.conversation_id, c.dialogue_sketch FROM "
            f"{DialogueKey.__tablename__} k JOIN {Conversation.__tablename__} c "
            f"ON c.pk = k.conversation_pk WHERE k.key IN ({','.join('?' * len(part))})",
            tuple(part)):
            if sketch is not None:
                stored[key] = (cid, sketch)
    sets: dict[bytes, Unpacked] = {}
    for number, (row, keys) in enumerate(zip(rows, row_keys, strict=True)):
        candidates = {stored[k] for k in keys if k in stored}
        match = best_match(row["dialogue_sketch"], sorted(candidates), sets)
        if match is None and candidates:  # a key shared with one not near: a stock line?
            match = deeper.first_near(session, row["dialogue_sketch"], rows[:number], sets)
        deeper.add(row)
        for key in keys:
            stored.setdefault(key, (row["conversation_id"], row["dialogue_sketch"]))
        if match is None:
            continue
        codes = set(filter(None, row["warning_codes"].split(",")))
        row["near_of"] = match.conversation_id  # (the import summary names it; not stored)
        row["warning_codes"] = ",".join(sorted(codes | {NEAR_DUPLICATE}))
        row["warnings_text"] = "\n".join(filter(None, [row["warnings_text"],
                                                       warning_text(match)]))


def index_keys(session: Session, sketches: Sequence[tuple[int, bytes | None]]) -> None:
    """Record each conversation's smallest sentence hashes (the first stored with a hash
    keeps it) so that later imports find it as a candidate."""
    values = [(key, pk) for pk, sketch in sketches if sketch
              for key in unpack_sketch(sketch)[:INDEXED]]
    if values:  # one executemany in the driver: eight rows per conversation add up
        driver_sql(session.connection(),
                   f"INSERT INTO {DialogueKey.__tablename__} (key, conversation_pk) "
                   "VALUES (?, ?) ON CONFLICT DO NOTHING", values)


def fill_missing(library: Library, progress: Callable[[int, int, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> int:
    """Give every conversation stored before fingerprints existed its fingerprint; returns
    how many were filled. Reads each such record once; later calls find nothing to do.
    ``progress`` hears how far it got; ``cancelled`` stops it between chunks (each chunk
    is its own transaction, so the rest is filled by the next call)."""
    missing = (Conversation.dialogue_sha256.is_(None)) | (Conversation.dialogue_sketch.is_(None))
    total = 0
    if progress is not None:
        with library.session() as session:
            total = session.scalar(select(func.count()).where(missing)) or 0
    filled = 0
    while True:
        if cancelled is not None and cancelled():
            return filled
        if progress is not None:
            progress(filled, total, "")
        with library.session() as session, session.begin():
            rows = session.execute(
                select(Conversation.pk, ConversationDocument.document)
                .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)
                .where(missing).order_by(Conversation.pk).limit(CHUNK)
            ).all()
            if not rows:
                return filled
            prints = [(pk, fingerprint(unpack(blob))) for pk, blob in rows]
            session.execute(update(Conversation), [
                {"pk": pk, "dialogue_sha256": fp.dialogue_sha256, "dialogue_sketch": fp.sketch}
                for pk, fp in prints])
            index_keys(session, [(pk, fp.sketch) for pk, fp in prints])
            filled += len(rows)
