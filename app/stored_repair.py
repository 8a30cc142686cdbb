"""Repair the text of conversations stored before import repaired it (``app.repair``).

A library imported with an older version keeps literal escape sequences (``\\n``, ``\\"``)
in its stored records, and every training file built from them teaches the model to print
backslashes. This pass gives such records exactly what an import does today: the same
conservative repair, one ``text_repaired`` warning per repaired message, the text-derived
warnings (cut-off turns) judged again on the repaired text, new dialogue fingerprints, and
its token count made again. Training files holding a repaired conversation are rebuilt.

A record's escape sequences are repaired only if it has no ``text_repaired`` warning and
shows the clear signs of double escaping: an import with repair would have repaired it
then, so the pass is what that import would have done, and running it twice changes
nothing. Its control characters (a Windows line end, a NUL) are mended whenever a text
holds one, whatever its warnings (version 2 of the pass: imports before it kept them); once
mended, none is left for a second run. It runs once per version (``app.upkeep`` records
that), from ``app.recovery`` before any command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from app.build import BuildCancelled
from app.fingerprints import index_keys
from app.importer import NOT_COLUMNS, library_row
from app.library import Library, unpack
from app.models import Conversation, ConversationDocument
from app.record_repair import needs_repair, repair_record
from app.records import warning_line
from app.similar import NEAR_DUPLICATE
from app.stored_builds import forget_totals

CHUNK = 200
# Row columns the pass leaves as the library has them (the user's, or where it came from).
KEPT = ("conversation_id", "batch_id", "source_file", "content_sha256", "imported_at")


def pending(library: Library) -> list[int]:
    """Row keys of every stored conversation: any may hold a control character (one
    with the repair warning had only its escape sequences repaired)."""
    with library.session() as session:
        return list(session.scalars(select(Conversation.pk).order_by(Conversation.pk)))


def repair_stored(library: Library, progress: Callable[[int, int, str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None,
                  mended: list[str] | None = None) -> list[str]:
    """Repair every stored record that needs it; return the conversation ids repaired
    (``store_changed``: chunk by chunk, so a cancelled pass keeps what it did, and the
    files holding what it repaired owe their rebuild). ``mended`` gets the ids of those
    whose control characters were mended (the others had escape sequences repaired)."""
    def change(record: dict[str, Any]) -> dict[str, Any] | None:
        changed = repair_record(record)
        if changed is not None and mended is not None and needs_repair(record)[1]:
            mended.append(str(record["conversation_id"]))
        return changed

    return store_changed(library, pending(library), change, progress, cancelled)


def store_changed(library: Library, pks: Sequence[int],
                  change: Callable[[dict[str, Any]], dict[str, Any] | None],
                  progress: Callable[[int, int, str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> list[str]:
    """Give each stored record of ``pks`` to ``change``, and store again (``store_again``)
    what it returns instead of None; return those conversations' ids. Each chunk is one
    transaction, so an interrupted pass (``cancelled``, asked between chunks, raises
    ``BuildCancelled``) keeps what it did and the next one finds only what is left."""
    done: list[str] = []
    for start in range(0, len(pks), CHUNK):
        if cancelled and cancelled():
            raise BuildCancelled()
        part = pks[start:start + CHUNK]
        with library.session() as session, session.begin():
            rows = session.execute(
                select(Conversation.pk, Conversation.batch_id, Conversation.warning_codes,
                       Conversation.warnings_text, ConversationDocument.document)
                .join(ConversationDocument, ConversationDocument.pk == Conversation.pk)
                .where(Conversation.pk.in_(part))).all()
            for pk, batch, codes, text, blob in rows:
                record = unpack(blob)
                changed = change(record)
                if changed is None:
                    continue
                store_again(session, pk, changed, str(batch), codes, text,
                            record_lines(record))
                done.append(str(record["conversation_id"]))
        if progress:
            progress(min(start + CHUNK, len(pks)), len(pks), "")
    return done


def record_lines(record: Mapping[str, Any]) -> set[str]:
    """The warning lines the record itself gave the row (others came from the library)."""
    warnings = (record.get("quality") or {}).get("warnings") or []
    return {warning_line(w) for w in warnings}


def store_again(session: Any, pk: int, record: dict[str, Any], batch: str, old_codes: str,
                old_text: str, old_record_lines: set[str]) -> None:
    """Write a changed record and the row derived from it as an import would; the
    library's own additions (a near-duplicate warning) stay, the count is made again, and
    the training files holding it owe a rebuild (``forget_totals``)."""
    record["batch_id"] = batch
    row = library_row(record, batch)  # type: ignore[arg-type]
    if NEAR_DUPLICATE in old_codes.split(","):
        extra = [line for line in old_text.split("\n") if line and line not in
                 old_record_lines]
        row["warning_codes"] = ",".join(sorted(set(filter(
            None, row["warning_codes"].split(","))) | {NEAR_DUPLICATE}))
        row["warnings_text"] = "\n".join(filter(None, [row["warnings_text"], *extra]))
    values = {k: v for k, v in row.items()
              if k not in (*NOT_COLUMNS, *KEPT, "profile_hash")}
    forget_totals(session, [pk])  # files holding it render it again
    session.execute(update(Conversation).where(Conversation.pk == pk)
                    .values(**values, token_count=0))
    session.execute(update(ConversationDocument).where(ConversationDocument.pk == pk)
                    .values(document=row["document"]))
    index_keys(session, [(pk, row["dialogue_sketch"])])


def repaired_files(library: Library, ids: Sequence[str]) -> list[str]:
    """The training files to rebuild after ``ids`` were repaired."""
    from app.trainingfiles import files_holding

    return files_holding(library, conversation_ids=ids) if ids else []
