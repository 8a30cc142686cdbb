"""Per-conversation token counts in the library, and the context budget of training files.

The library's count (``conversations.token_count``: 0 = not counted yet, ``NO_LINE`` = the
conversation yields no training line, having no reply to train on) is filled in on
first need or by a background pass. Each count is stored with the basis it was made with
(``token_basis``: the tokenizer and chat template, ``app.tokenizer_choice``); a count of
another basis than the library's choice is no count, so after a change (by any member of
a team library) everything is counted again and old and new counts never mix. Counts are
cached by exact rendered text in ``token-counts.sqlite3`` beside the library (this
computer's: a cache, deleting it only costs time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from app.budget_fit import reply_ends
from app.cutoff import DEFAULT_POLICY, CutOffPolicy
from app.errors import LibraryError
from app.key_parts import in_parts
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
from app.tokenizer_choice import counting

if TYPE_CHECKING:  # the tokenizer is loaded by whoever counts
    from app.tokens import TokenCounter

CACHE_NAME = TOKEN_CACHE_NAME
NO_LINE = -1  # counted: no reply to train on, so no line (kept apart from 0, "not counted")

Progress = Callable[[int, int, str], None]
__all__ = ["DEFAULT_MAX_SEQ_LEN", "NO_LINE", "check_max_seq_len", "ensure_counts",
           "first_reply_over", "library_cache", "lines_over", "max_seq_len", "over_budget",
           "uncounted"]


def library_cache(library: Library) -> CountCache:
    return CountCache(library.root / CACHE_NAME)


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
    choice, counter = counting(library)
    query = select(Conversation.pk, Conversation.conversation_id, Conversation.token_count,
                   Conversation.token_basis)
    rows: list[tuple[int, str, int, str]] = []
    with library.session() as session:
        if conversation_ids is None:
            rows = [(pk, cid, n, b) for pk, cid, n, b in session.execute(
                query.order_by(Conversation.pk))]
        else:
            wanted = list(dict.fromkeys(conversation_ids))
            for ids in in_parts(wanted):
                rows += [(pk, cid, n, b) for pk, cid, n, b in session.execute(
                    query.where(Conversation.conversation_id.in_(ids)))]
    counts = {cid: n for _pk, cid, n, basis in rows if basis == choice.counts_key and n != 0}
    todo = [(pk, cid) for pk, cid, _n, _basis in rows if cid not in counts]
    cache = library_cache(library)
    for start in range(0, len(todo), CHUNK):
        if cancelled and cancelled():
            break
        part = todo[start:start + CHUNK]
        found = dict(zip([pk for pk, _ in part],
                         _longest_lines(library, counter, [pk for pk, _ in part],
                                        DEFAULT_POLICY, cache), strict=True))
        counts.update((cid, found[pk]) for pk, cid in part)
        if not library.read_only:
            _store(library, found, counter.basis)
        if progress:
            progress(min(start + CHUNK, len(todo)), len(todo), part[-1][1])
    return counts


def _longest_lines(library: Library, counter: TokenCounter, pks: Sequence[int],
                   policy: CutOffPolicy, cache: CountCache) -> list[int]:
    """Per conversation (by pk, in order): its longest line under ``policy``, or
    ``NO_LINE``; one batch for the tokenizer."""
    per_record = [conversation_lines(r, policy) for r in library.records_by_pk(list(pks))]
    flat = count_lines(counter, [m for lines in per_record for m in lines], cache)
    longest: list[int] = []
    position = 0
    for lines in per_record:
        longest.append(max(flat[position:position + len(lines)], default=NO_LINE))
        position += len(lines)
    return longest


def _store(library: Library, counts: Mapping[int, int], basis: str) -> None:
    """Each count with the basis that made it: if another member changed the library's
    choice meanwhile, these are simply not counts of the new one."""
    with library.session() as session, session.begin():
        driver_sql(
            session.connection(),
            "UPDATE conversations SET token_count = ?, token_basis = ? WHERE pk = ?",
            [(n, basis, pk) for pk, n in counts.items()])


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
    key = library.counts_key()
    with library.session() as session:
        return session.scalar(select(func.count()).select_from(Conversation).where(
            or_(Conversation.token_basis != key, Conversation.token_count == 0))) or 0


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
    over = lines_over(library, conversation_ids, max_seq_len(library, name),
                      progress=progress, cancelled=cancelled)
    return [cid for cid in dict.fromkeys(conversation_ids) if cid in over]


def lines_over(library: Library, conversation_ids: Sequence[str], limit: int, *,
               policy: CutOffPolicy | str = DEFAULT_POLICY, fit: bool = False,
               progress: Progress | None = None,
               cancelled: Callable[[], bool] | None = None) -> set[str]:
    """Those of ``conversation_ids`` whose line, as a file with cut-off policy ``policy``
    writes it, is longer than ``limit``; with ``fit`` (the file ends a longer line at its
    last whole reply that fits, ``app.budget_fit``) only those whose first trained reply
    alone does not fit, which the file writes whole.

    The library's counts are of the default policy's lines, which are never longer than
    another policy's (trim stops before the first cut-off turn; weight0 and keep go on), so
    another policy's lines are counted here; the count cache knows every line that is the
    same as the default one."""
    ids = list(dict.fromkeys(conversation_ids))
    counts = line_counts(library, ids, policy, progress, cancelled)
    over = [cid for cid in ids if counts.get(cid, 0) > limit]
    if fit and over:
        return first_reply_over(library, over, limit, policy)
    return set(over)


def line_counts(library: Library, conversation_ids: Sequence[str],
                policy: CutOffPolicy | str = DEFAULT_POLICY, progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None) -> dict[str, int]:
    """Each conversation's line under ``policy``, in tokens (its longest; it has one at
    most): the library's stored counts for the default policy, counted here for another."""
    policy = CutOffPolicy(policy)
    ids = list(dict.fromkeys(conversation_ids))
    return (ensure_counts(library, ids, progress, cancelled) if policy is DEFAULT_POLICY
            else _policy_counts(library, ids, policy, progress, cancelled))


def _policy_counts(library: Library, conversation_ids: Sequence[str], policy: CutOffPolicy,
                   progress: Progress | None, cancelled: Callable[[], bool] | None
                   ) -> dict[str, int]:
    """Each conversation's longest line under ``policy`` (not stored: the library keeps
    the default policy's counts)."""
    _choice, counter = counting(library)
    todo = [(pk, cid) for cid, pk in library.row_keys(conversation_ids).items()]
    cache = library_cache(library)
    counts: dict[str, int] = {}
    for start in range(0, len(todo), CHUNK):
        if cancelled and cancelled():
            break
        part = todo[start:start + CHUNK]
        longest = _longest_lines(library, counter, [pk for pk, _ in part], policy, cache)
        counts.update(zip([cid for _, cid in part], longest, strict=True))
        if progress:
            progress(min(start + CHUNK, len(todo)), len(todo), part[-1][1])
    return counts


def first_reply_over(library: Library, conversation_ids: Sequence[str], limit: int,
                     policy: CutOffPolicy | str = DEFAULT_POLICY) -> set[str]:
    """Those of ``conversation_ids`` whose line under ``policy`` is longer than ``limit``
    even when it ends at its first trained reply: a file that fits its lines
    (``app.budget_fit``) still writes them whole, so only they stay over its budget."""
    _choice, counter = counting(library)
    found = library.row_keys(conversation_ids)
    pks = list(found.values())
    ids = {pk: cid for cid, pk in found.items()}
    starts: list[tuple[str, list[dict[str, object]]]] = []
    for start in range(0, len(pks), CHUNK):
        part = pks[start:start + CHUNK]
        for pk, record in zip(part, library.records_by_pk(part), strict=True):
            for line in conversation_lines(record, policy):
                starts.append((ids[pk], line[:reply_ends(line)[0]]))
    counts = count_lines(counter, [messages for _, messages in starts], library_cache(library))
    return {cid for (cid, _), n in zip(starts, counts, strict=True) if n > limit}
