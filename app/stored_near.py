"""Flag the shorter copies stored before near-duplicates took them in.

An import flags a conversation ``near_duplicate`` when it is near one stored before it
(``app.similar.is_near``). Until this version that meant sharing most sentences only: a
shorter copy (the same opening turns, fewer of them) went unflagged, and each conversation
was indexed under its four smallest sentence hashes, too few for a copy and its original to
find each other. A flag is set once, at import, and nothing makes it again, so this pass
gives stored conversations what an import does today, once (``app.upkeep``, from
``app.recovery``): every conversation is indexed under its ``INDEXED`` smallest hashes, and
of two stored conversations that are near, the later one is flagged (naming the earlier)
unless it already is. The flag is the library's, not the record's: no training file's
lines or header change, so nothing is rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.fingerprints import index_keys
from app.key_parts import in_parts
from app.library import Library
from app.models import Conversation, DialogueKey
from app.portable import driver_sql
from app.similar import (
    INDEXED,
    NEAR_DUPLICATE,
    Match,
    Unpacked,
    closeness,
    near_matches,
    unpack,
    warning_text,
)
from app.upkeep import in_chunks

Progress = Callable[[int, int, str], None]


def _representatives(session: Session, keys: Sequence[int]) -> dict[int, tuple[int, str, bytes]]:
    """Indexed hash -> the (row key, id, sketch) of the conversation it leads to."""
    found: dict[int, tuple[int, str, bytes]] = {}
    wanted = sorted(set(keys))
    for part in in_parts(wanted):
        for key, pk, cid, sketch in driver_sql(
                session.connection(),
                f"SELECT k.key, c.pk, c.conversation_id, c.dialogue_sketch FROM "
                f"{DialogueKey.__tablename__} k JOIN {Conversation.__tablename__} c "
                f"ON c.pk = k.conversation_pk WHERE k.key IN ({','.join('?' * len(part))})",
                tuple(part)):
            if sketch is not None:
                found[key] = (pk, cid, sketch)
    return found


def _later_flags(library: Library, pks: Sequence[int], progress: Progress | None,
                 cancelled: Callable[[], bool] | None) -> dict[int, Match]:
    """Row key of the later of each near pair -> its closest earlier match."""
    flags: dict[int, Match] = {}

    def keep(pk: int, match: Match) -> None:
        if pk not in flags or closeness(match) > closeness(flags[pk]):
            flags[pk] = match

    unpacked: dict[bytes, Unpacked] = {}
    for part in in_chunks(pks, progress, cancelled, 1, 2):
        with library.session() as session:
            rows = [(pk, cid, sketch) for pk, cid, sketch in session.execute(
                select(Conversation.pk, Conversation.conversation_id,
                       Conversation.dialogue_sketch).where(Conversation.pk.in_(part)))
                    if sketch]
            found = _representatives(session, [key for _pk, _cid, sketch in rows
                                               for key in unpack(sketch)[:INDEXED]])
        for pk, cid, sketch in rows:
            others = {found[key] for key in unpack(sketch)[:INDEXED]
                      if key in found and found[key][0] != pk}
            by_id = {other_cid: other_pk for other_pk, other_cid, _ in others}
            candidates = sorted((other_cid, other_sketch) for _, other_cid, other_sketch
                                in others)
            for match in near_matches(sketch, candidates, unpacked):
                other = by_id[match.conversation_id]
                if other < pk:
                    keep(pk, match)
                else:
                    keep(other, Match(cid, match.similarity, match.containment))
        unpacked.clear()
    return flags


def flag_stored_copies(library: Library, progress: Progress | None = None,
                       cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Index every stored conversation under its ``INDEXED`` smallest hashes and flag the
    later of each near pair not flagged yet; return the ids flagged. Each chunk is one
    transaction and the pass is idempotent, so a cancelled one (``BuildCancelled``) is
    simply run again."""
    with library.session() as session:
        pks = list(session.scalars(
            select(Conversation.pk).where(Conversation.dialogue_sketch.is_not(None))
            .order_by(Conversation.pk)))
    for part in in_chunks(pks, progress, cancelled, 0, 2):
        with library.session() as session, session.begin():
            index_keys(session, [(pk, sketch) for pk, sketch in session.execute(
                select(Conversation.pk, Conversation.dialogue_sketch)
                .where(Conversation.pk.in_(part)).order_by(Conversation.pk))])
    flags = _later_flags(library, pks, progress, cancelled)
    flagged: list[str] = []
    todo = sorted(flags)
    for part in in_parts(todo):
        with library.session() as session, session.begin():
            rows = session.execute(
                select(Conversation.pk, Conversation.conversation_id,
                       Conversation.warning_codes, Conversation.warnings_text)
                .where(Conversation.pk.in_(part))).all()
            for pk, cid, codes, text in rows:
                had = set(filter(None, codes.split(",")))
                if NEAR_DUPLICATE in had:
                    continue
                # Only while still unflagged: another member of a team library may be
                # running the same pass (the condition is checked again after its commit).
                done = session.execute(update(Conversation).where(  # type: ignore[attr-defined]
                    Conversation.pk == pk,
                    ~("," + Conversation.warning_codes + ",").contains(f",{NEAR_DUPLICATE},"))
                    .values(warning_codes=",".join(sorted(had | {NEAR_DUPLICATE})),
                            warnings_text="\n".join(filter(None, [text,
                                                                  warning_text(flags[pk])])))
                    .execution_options(synchronize_session=False)).rowcount
                if done:
                    flagged.append(cid)
    return flagged
