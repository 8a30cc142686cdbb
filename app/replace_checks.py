"""What replacing changed conversations does to the training files that hold them.

Before the question: who the changed conversations are (client and batch, as the table
shows them) and which training files a replace rebuilds, with how many of them each holds
(``Holding``, read once and handed on to the checks before the replace).
Around the replace: the add review's checks (a warning that would harm training, over the
file's length limit, nearly repeating another conversation of the file) asked of the
replaced members of each file before and after, so the window can say what the new
versions brought in. An add asks them of conversations entering a file; a replace swaps the
content of conversations already in it, which no review saw.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app import jsonio
from app.budget_fit import OverBudget
from app.build import BuildCancelled
from app.errors import InputError, LibraryError
from app.importer import FileVerdict, ImportReport, import_paths
from app.key_parts import in_parts
from app.library import Library
from app.loader import Loaded, load_file_lazily
from app.models import Conversation, Member, TrainingFile
from app.near_in_file import MemberSketches, NearCheckCancelled, near_on_add
from app.quality import harmful_warnings
from app.review import reviewed_text
from app.similar import NEAR_DUPLICATE
from app.stored_builds import rebuilds_due
from app.trainingfiles import get_training_file, over_budget_pks, rebuild_training_files
from app.wording import agreeing, and_list, plural

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Stored:
    """A changed conversation as the library holds it: what a person knows it by."""

    conversation_id: str
    client: str | None
    batch: str
    reviewed_by: str | None = None  # who marked it reviewed in the library, if anyone


def stored_conversations(library: Library, ids: Sequence[str]) -> dict[str, Stored]:
    """The stored client, batch and review mark of each of ``ids`` held in the library."""
    found: dict[str, Stored] = {}
    wanted = list(dict.fromkeys(ids))
    with library.session() as session:
        for part in in_parts(wanted):
            found.update((cid, Stored(cid, client, batch, by)) for cid, client, batch, by in
                         session.execute(
                select(Conversation.conversation_id, Conversation.persona_name,
                       Conversation.batch_id, Conversation.reviewed_by)
                .where(Conversation.conversation_id.in_(part))))
    return found


@dataclass(frozen=True)
class Holding:
    """Which training files hold which of some conversations, read with one query: what
    the question says (the files and how many each holds, how many are in none) and the
    files whose checks and rebuild a replace of them needs."""

    asked: int  # the distinct ids asked about
    by_file: Mapping[str, frozenset[str]] = field(default_factory=dict)  # name -> its ids

    @property
    def counts(self) -> list[tuple[str, int]]:
        """Each file holding any of them, with how many of them it holds, by name."""
        return sorted((name, len(held)) for name, held in self.by_file.items())

    @property
    def names(self) -> list[str]:
        """The files holding any of them, by name: the ones a replace of them rebuilds."""
        return sorted(self.by_file)

    @property
    def in_no_file(self) -> int:
        """How many of them no training file holds: a replace of them rebuilds nothing."""
        return self.asked - len({cid for held in self.by_file.values() for cid in held})


def holding(library: Library, ids: Sequence[str]) -> Holding:
    """Which training files hold which of ``ids`` (``Holding``)."""
    wanted = list(dict.fromkeys(ids))
    by_file: dict[str, set[str]] = {}
    with library.session() as session:
        for part in in_parts(wanted):
            for cid, name in session.execute(
                    select(Conversation.conversation_id, TrainingFile.name)
                    .join(Member, Member.conversation_pk == Conversation.pk)
                    .join(TrainingFile, TrainingFile.file_id == Member.file_id)
                    .where(Conversation.conversation_id.in_(part))):
                by_file.setdefault(name, set()).add(cid)
    return Holding(len(wanted), {name: frozenset(held) for name, held in by_file.items()})


@dataclass(frozen=True)
class MemberChecks:
    """The add review's checks of some members of one training file, as they stand."""

    harmful: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # id -> codes
    over_limit: frozenset[str] = frozenset()
    near: frozenset[str] = frozenset()


def _members(library: Library, name: str, ids: Sequence[str]) -> list[tuple[str, int, str]]:
    """(id, row key, own warning codes) of the ones of ``ids`` that ``name`` holds, in file
    order. The row's codes hold the library's near-duplicate flag too, which is no warning
    of the conversation's own file (the add review leaves it out as well). Only the rows
    asked for are read, not the whole file."""
    # Members by (file, row key), the row keys by id: so put, SQLite looks each one up by
    # the members' primary key; joined by the file's name it walked every member of it.
    file_id = (select(TrainingFile.file_id).where(TrainingFile.name == name)
               .scalar_subquery())
    found: list[tuple[int, str, int, str]] = []
    with library.session() as session:
        for part in in_parts(list(dict.fromkeys(ids))):
            found += [(position, cid, pk, codes) for position, cid, pk, codes in
                      session.execute(
                select(Member.position, Conversation.conversation_id, Conversation.pk,
                       Conversation.warning_codes)
                .join(Member, Member.conversation_pk == Conversation.pk)
                .where(Member.file_id == file_id, Member.conversation_pk.in_(
                    select(Conversation.pk).where(Conversation.conversation_id.in_(part)))))]
    return [(cid, pk, codes) for _position, cid, pk, codes in sorted(found)]


def member_checks(library: Library, name: str, ids: Sequence[str],
                  progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None,
                  read: MemberSketches | None = None) -> MemberChecks:
    """Which of ``ids`` in the training file ``name`` have a warning that would harm
    training, are over its length limit (under its own cut-off and over-limit settings) or
    nearly repeat another of its members: the add review's checks, by its own functions.
    A file holding none of them (any more: the names come from before the question, which a
    person may take a while to answer, and a team member may rename or delete a file
    meanwhile) has nothing to check."""
    members = _members(library, name, ids)
    if not members:
        return MemberChecks()
    info = get_training_file(library, name)
    harmful = {}
    for cid, _pk, codes in members:
        own = harmful_warnings(c for c in codes.split(",") if c and c != NEAR_DUPLICATE)
        if own:
            harmful[cid] = own
    by_pk = {pk: cid for cid, pk, _codes in members}
    over = over_budget_pks(library, name, list(by_pk), progress, cancelled,
                           fit=info.over_budget == OverBudget.FIT.value,
                           policy=info.cut_off_policy)
    try:
        near = near_on_add(library, name, [(cid, pk) for cid, pk, _codes in members],
                           progress, cancelled,
                           f"looking for near-duplicates in '{name}'", read)
    except NearCheckCancelled:
        raise BuildCancelled() from None
    return MemberChecks(harmful, frozenset(by_pk[pk] for pk in over), frozenset(near.near))


def checks_by_file(library: Library, ids: Sequence[str], names: Sequence[str],
                   progress: Progress | None = None,
                   cancelled: Callable[[], bool] | None = None,
                   read: MemberSketches | None = None) -> dict[str, MemberChecks]:
    """``member_checks`` of ``ids`` in each of the training files ``names``: the ones
    holding any of them, already known (``Holding.names``), not read again. ``read``
    keeps each file's members' sketches for the checks after the replace (``near_on_add``):
    a file's members are read once, not before and after."""
    return {name: member_checks(library, name, ids, progress, cancelled, read)
            for name in names}


@dataclass(frozen=True)
class Worse:
    """What the replaced members of one training file have now and did not have before."""

    name: str
    harmful: Mapping[str, tuple[str, ...]]  # id -> the harmful codes it gained
    over_limit: tuple[str, ...]
    near: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.harmful or self.over_limit or self.near)


def what_got_worse(before: Mapping[str, MemberChecks],
                   after: Mapping[str, MemberChecks]) -> list[Worse]:
    """Per file (by name), the checks that found a replaced member only afterwards: one
    that was already over the limit, or already had that warning, is nothing new."""
    worse = []
    for name, now in sorted(after.items()):
        then = before.get(name, MemberChecks())
        gained = {cid: new for cid, codes in now.harmful.items()
                  if (new := tuple(c for c in codes if c not in then.harmful.get(cid, ())))}
        found = Worse(name, gained, tuple(sorted(now.over_limit - then.over_limit)),
                      tuple(sorted(now.near - then.near)))
        if found:
            worse.append(found)
    return worse


@dataclass(frozen=True)
class Replaced:
    """What a replace of an import's changed conversations did (``replace_changed``)."""

    report: ImportReport  # the second import of their files, with replace on
    rebuilt: list[str]  # training files rebuilt because they hold a replaced conversation
    # Training files whose rebuild was cancelled: the library records that they owe one,
    # and the next open of the library rebuilds them (``app.recovery``).
    not_rebuilt: list[str] = field(default_factory=list)
    # What the add review's checks find in the replaced members of each file now and did
    # not before; nothing when the rebuild was cancelled.
    worse: list[Worse] = field(default_factory=list)


def changed_files(changed: Sequence[FileVerdict]) -> list[Path]:
    """The files a Replace imports again: those holding ``changed``, each once."""
    return [Path(f) for f in dict.fromkeys(v.file for v in changed)]


def replace_changed(library: Library, changed: Sequence[FileVerdict],
                    checked: Sequence[str] | None = None, progress: Progress | None = None,
                    cancelled: Callable[[], bool] | None = None) -> Replaced:
    """Replace the stored versions of an import's ``changed`` conversations by their files'
    versions, as the window's Replace and ``lora-studio import --replace`` both do: the add
    review's checks of the stored versions in ``checked`` (the files holding them, read for
    the question; read here when None), the changed files imported again replacing only
    those, the files holding a replaced one rebuilt, and the checks asked again, so that
    only what the new versions brought in is said. A cancel before the import raises
    ``BuildCancelled`` (nothing replaced); one during the rebuild or the checks after it
    keeps what was replaced and names the files still owing a rebuild."""
    ids = [str(v.conversation_id) for v in changed if v.conversation_id]
    names = holding(library, ids).names if checked is None else checked
    # The files' members' sketches, read for the checks before and kept for those after:
    # the replace changes only the ones it replaced, which the checks read again.
    read: MemberSketches = {}
    before = checks_by_file(library, ids, names, progress, cancelled, read)
    files = changed_files(changed)
    again = import_paths(library, files, replace=set(ids), progress=progress,
                         cancelled=cancelled)
    # Read again after the import, not taken from the question's: the person may have
    # taken a while to answer, and on a team library another member may have added one of
    # them to a file (or renamed one) meanwhile.
    stale = holding(library, again.replaced_ids).names
    try:
        rebuilt = rebuild_training_files(library, stale, progress, cancelled)
        after = checks_by_file(library, again.replaced_ids, stale, progress, cancelled,
                               read)
    except BuildCancelled:  # what was replaced stays replaced: say so, not failed
        # Files are rebuilt one by one: those done before the cancel owe nothing.
        with library.session() as session:
            owed = set(rebuilds_due(session))
        return Replaced(again, [n for n in stale if n not in owed],
                        [n for n in stale if n in owed])
    return Replaced(again, rebuilt, worse=what_got_worse(before, after))


TURNS_NAMED = 4  # turn numbers a difference names


def _said(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, Any]]:
    """(role, text, turn) of each message a person and the consultant say (no system)."""
    return [(str(m.get("role")), str(m.get("content")), m.get("turn_number"))
            for m in messages if m.get("role") != "system"]


def what_differs(stored: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """How a regenerated conversation differs from the stored one, in a few words:
    "1 reply changed (turn 3)", "2 replies and 1 client message changed (turns 2, 3 and
    5); 2 messages more", "only details other than the messages differ"."""
    old_said = _said(stored.get("messages") or [])
    new_said = _said(new.get("messages") or [])
    changed = [(new_m[0], new_m[2]) for old_m, new_m in zip(old_said, new_said, strict=False)
               if old_m[:2] != new_m[:2]]
    parts = []
    if changed:
        replies = sum(1 for role, _turn in changed if role == "assistant")
        kinds = [plural(n, noun) for n, noun in ((replies, "reply"),
                                                 (len(changed) - replies, "client message"))
                 if n]
        turns = list(dict.fromkeys(str(turn) for _role, turn in changed if turn is not None))
        named = turns[:TURNS_NAMED] + (["…"] if len(turns) > TURNS_NAMED else [])
        where = (f" ({agreeing(len(turns), 'turn', 'turns')} {and_list(named)})"
                 if turns else "")
        parts.append(f"{and_list(kinds)} changed{where}")
    extra = len(new_said) - len(old_said)
    if extra:
        parts.append(f"{plural(abs(extra), 'message')} {'more' if extra > 0 else 'fewer'}")
    return "; ".join(parts) or "only details other than the messages differ"


def _new_versions(file: str, ids: Collection[str], batch: str,
                  cancelled: Callable[[], bool] | None) -> dict[str, Mapping[str, Any]]:
    """The records of ``ids`` in ``file`` as an import reads them: a full training file too
    large to read whole is streamed a conversation at a time (``load_file_lazily``) and
    left as soon as all of them were met. What was met before the file stops reading (it
    breaks further on, or a cancel) is kept."""
    found: dict[str, Mapping[str, Any]] = {}
    records: Iterator[Loaded] = iter(())
    try:
        records = iter(load_file_lazily(Path(file), batch, stop=cancelled))
        for _part, record, _error, _dumped in records:
            cid = record.get("conversation_id") if record is not None else None
            if record is not None and isinstance(cid, str) and cid in ids and cid not in found:
                found[cid] = record
                if len(found) == len(ids):
                    break
    except (InputError, OSError):
        pass
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()  # a streamed file is closed now, not when collected
    return found


def differences(library: Library, changed: Sequence[tuple[str, str]],
                progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None) -> dict[str, str]:
    """``what_differs`` of each (conversation id, file) whose file still reads: a few
    files, read again (the import kept no record of them), each once for all the ones
    asked of it; a large full training file streamed, which takes a while
    (``reads_streamed``: ``progress`` follows the files, a cancel stops at the next
    conversation). One that no longer reads, or whose conversation is gone, is left out:
    the question names it without the words."""
    return {cid: what_differs(old, new)
            for cid, (old, new) in _compared(library, changed, progress, cancelled).items()}


def marks_taken(library: Library, changed: Sequence[tuple[str, str]],
                stored: Mapping[str, Stored], progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None) -> dict[str, str]:
    """Of the changed (conversation id, file) marked reviewed in the library (``stored``),
    those whose new version says other things (``reviewed_text``), with who marked each:
    the marks a replace takes away (``app.importer``). Only the marked ones' files are
    read again, as ``differences`` reads them; most replaces read none."""
    marked = [(cid, file) for cid, file in changed
              if (found := stored.get(cid)) is not None and found.reviewed_by]
    return {cid: str(stored[cid].reviewed_by)
            for cid, (old, new) in _compared(library, marked, progress, cancelled).items()
            if reviewed_text(old.get("messages") or []) != reviewed_text(new.get("messages")
                                                                         or [])
            and not (new.get("quality") or {}).get("reviewed_by")}  # (its own mark stands)


def _compared(library: Library, changed: Sequence[tuple[str, str]],
              progress: Progress | None, cancelled: Callable[[], bool] | None,
              ) -> dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(stored record, new version) of each (conversation id, file) whose file still
    reads (``differences``)."""
    by_file: dict[str, list[str]] = {}
    for cid, file in changed:
        by_file.setdefault(file, []).append(cid)
    found: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}
    for done, (file, ids) in enumerate(by_file.items()):
        if cancelled is not None and cancelled():
            break
        if progress is not None:
            progress(done, len(by_file), Path(file).name)
        stored: dict[str, Mapping[str, Any]] = {}
        for cid in ids:
            try:
                stored[cid] = library.record(cid)
            except (LibraryError, KeyError):
                continue
        if not stored:
            continue
        first = next(iter(stored.values()))
        new = _new_versions(file, set(stored), first.get("batch_id") or "", cancelled)
        found.update((cid, (stored[cid], record)) for cid, record in new.items())
    return found


def reads_streamed(files: Iterable[str]) -> bool:
    """Whether any of ``files`` is too large to read whole: what ``differences`` says of
    it is then streamed from it, which takes more than a moment."""
    for file in files:
        try:
            if os.stat(file).st_size > jsonio.MAX_INPUT_BYTES:
                return True
        except OSError:
            continue
    return False
