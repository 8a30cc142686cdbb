"""Per-conversation token counts in the library, and the context budget of training files.

The library's count (``conversations.token_count``: 0 = not counted yet, ``NO_LINE`` = the
conversation yields no training line, having no reply to train on) is filled in on
first need or by a background pass, and reset whenever the tokenizer or chat template
changes. Counts are cached by exact rendered text in ``token-counts.sqlite3`` beside the
library (a cache: deleting it only costs time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import select, update

from app.errors import LibraryError
from app.library import Library
from app.models import Conversation, TrainingFile
from app.paths import TOKEN_CACHE_NAME
from app.portable import driver_sql
from app.token_lines import (
    CHUNK,
    DEFAULT_MAX_SEQ_LEN,
    CountCache,
    check_max_seq_len,
    conversation_lines,
    count_lines,
)
from app.tokenizer_choice import counter_for, load_choice, save_choice
from app.tokens import TokenCounter

CACHE_NAME = TOKEN_CACHE_NAME
NO_LINE = -1  # counted: no reply to train on, so no line (kept apart from 0, "not counted")

Progress = Callable[[int, int, str], None]
__all__ = ["DEFAULT_MAX_SEQ_LEN", "NO_LINE", "check_max_seq_len", "ensure_counts", "library_cache",
           "max_seq_len", "over_budget", "uncounted"]


def library_cache(library: Library) -> CountCache:
    return CountCache(library.root / CACHE_NAME)


def _reset_if_basis_changed(library: Library, counter: TokenCounter) -> bool:
    """Forget stored counts made with another tokenizer or template; True if they are valid."""
    choice = load_choice(library.root)
    if choice.counted_with == counter.basis:
        return True
    if library.read_only:
        return False
    with library.session() as session, session.begin():
        session.execute(update(Conversation).values(token_count=0))
    save_choice(library.root, replace(choice, counted_with=counter.basis))
    return True


def ensure_counts(
    library: Library,
    conversation_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Fill in missing per-conversation counts (all, or of the ids given); return them.

    A conversation's count is its longest line (normally its only one): what must fit the
    trainer's maximum length. A read-only library is counted but not written to.
    """
    counter = counter_for(library.root)
    stored_valid = _reset_if_basis_changed(library, counter)
    query = select(Conversation.pk, Conversation.conversation_id, Conversation.token_count)
    rows: list[tuple[int, str, int]] = []
    with library.session() as session:
        if conversation_ids is None:
            rows = [(pk, cid, n) for pk, cid, n in session.execute(query.order_by(Conversation.pk))]
        else:
            wanted = list(dict.fromkeys(conversation_ids))
            for start in range(0, len(wanted), 500):
                rows += [(pk, cid, n) for pk, cid, n in session.execute(
                    query.where(Conversation.conversation_id.in_(wanted[start:start + 500])))]
    counts = {cid: n for _pk, cid, n in rows if stored_valid and n != 0}
    todo = [(pk, cid) for pk, cid, n in rows if cid not in counts]
    cache = library_cache(library)
    for start in range(0, len(todo), CHUNK):
        if cancelled and cancelled():
            break
        part = todo[start:start + CHUNK]
        records = list(library.records_by_pk([pk for pk, _ in part]))
        per_record = [conversation_lines(r) for r in records]
        flat = count_lines(counter, [m for lines in per_record for m in lines], cache)
        found: dict[int, int] = {}
        position = 0
        for (pk, cid), lines in zip(part, per_record, strict=True):
            mine = flat[position:position + len(lines)]
            position += len(lines)
            counts[cid] = found[pk] = max(mine, default=NO_LINE)
        if not library.read_only:
            _store(library, found)
        if progress:
            progress(min(start + CHUNK, len(todo)), len(todo), part[-1][1])
    return counts


def _store(library: Library, counts: Mapping[int, int]) -> None:
    with library.session() as session, session.begin():
        driver_sql(
            session.connection(), "UPDATE conversations SET token_count = ? WHERE pk = ?",
            [(n, pk) for pk, n in counts.items()])


def count_missing(library: Library, progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> tuple[int, bool]:
    """Count every conversation still uncounted, as the window does in the background (in
    a child process): how many it counted, and whether a cancel stopped it before the end
    (a cancel that came after the last count stopped nothing)."""
    todo = uncounted(library)
    if not todo:
        return 0, False
    if progress:
        progress(0, todo, "")
    ensure_counts(library, None, progress, cancelled)
    if not (cancelled and cancelled()):
        return todo, False
    left = uncounted(library)
    return todo - left, left > 0


def uncounted(library: Library) -> int:
    """How many conversations still need counting (all of them after a tokenizer change)."""
    if load_choice(library.root).counted_with != counter_for(library.root).basis:
        return library.count()
    with library.session() as session:
        return len(session.scalars(
            select(Conversation.pk).where(Conversation.token_count == 0)).all())


def max_seq_len(library: Library, name: str | None) -> int:
    """A training file's maximum sequence length (the default for a file not made yet)."""
    if name is None:
        return DEFAULT_MAX_SEQ_LEN
    with library.session() as session:
        value = session.scalar(select(TrainingFile.max_seq_len)
                               .where(TrainingFile.slug == name.casefold()))
    if value is None:
        raise LibraryError(f"there is no training file named '{name}'")
    return int(value)


def over_budget(library: Library, name: str | None, conversation_ids: Sequence[str],
                progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None) -> list[str]:
    """The conversations (in the order given) whose line is longer than the training file's
    maximum sequence length: a trainer would cut them. ``name`` None: a file about to be
    created, with the default length."""
    limit = max_seq_len(library, name)
    counts = ensure_counts(library, conversation_ids, progress, cancelled)
    return [cid for cid in dict.fromkeys(conversation_ids) if counts.get(cid, 0) > limit]
