"""Recreate a training file from a full training file of ours that was imported.

A library rebuilt from a saved training file, or a colleague's file received, used to give
the conversations back but not the file: a file made again from them started from the
default settings (Trim, 4,096 tokens) and another order, so it trained otherwise than the
file it came from. The header of our full JSON says the file's name and settings
(``cut_off_policy``, ``over_budget``, ``tokens.max_seq_len``) and its conversations are in
the file's order: that is all a training file is, so it is made again from them, once the
import has stored them, with nothing left out (the original's author chose its members).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ijson  # type: ignore[import-untyped]  # no type information shipped
from sqlalchemy import select

from app.build import BuildCancelled
from app.errors import InputError, LibraryError
from app.full_found import FullFileFacts, conversation_ids, full_files_in, read_facts
from app.importer import (
    RESTORED_REPLACED,
    RESTORED_REPLACING,
    ImportReport,
    WalkCancelled,
    import_paths,
)
from app.library import Library
from app.models import Conversation
from app.trainingfiles import (
    MAX_NAME,
    TrainingFileInfo,
    apply_addition,
    check_new_name,
    plan_addition,
)
from app.wording import agreeing, plural

Progress = Callable[[int, int, str], None]
REPLACING, REPLACED = RESTORED_REPLACING, RESTORED_REPLACED  # the ImportReport's keys


@dataclass(frozen=True)
class RestoredFile:
    """A training file made again from an imported full training file, and what of it
    could not be (its conversations the library does not hold)."""

    facts: FullFileFacts
    info: TrainingFileInfo | None
    missing: int = 0  # conversations of the file the library does not hold
    failure: str = ""  # why it was not made (then ``info`` is None)
    differing: list[str] = field(default_factory=list)  # stored versions kept (changed)

    def sentence(self, replace: str = "") -> str:
        """What became of it, for the summary and the command line alike; ``replace``:
        what became of its changed conversations once the person answered Replace
        (``REPLACING`` or ``REPLACED``: the window's summary, still open, says it)."""
        source = self.facts.path.name
        if self.info is None and self.facts.same_as and not self.failure:
            return f"{self.facts.already_words()} (from {source}): not made again."
        if self.info is None:
            return (f"The training file '{self.facts.name}' of {source} was not recreated: "
                    f"{self.failure}")
        named = (f"'{self.info.name}'" if self.info.name == self.facts.name else
                 f"'{self.info.name}' (the name '{self.facts.name}' is taken)")
        held = plural(self.info.conversations, "conversation")
        text = (f"Training file {named} recreated from {source} with its settings "
                f"({self.facts.settings_words()}): {held} in the file's order")
        if self.missing:
            text += (f"; {plural(self.missing, 'conversation')} of the file "
                     f"{agreeing(self.missing, 'is', 'are')} not in the library (not "
                     f"imported) and left out")
        if self.differing:
            text += self._differing(replace)
        if counted := self.facts.tokens_words():
            text += f"; {counted}"
        return text + "."

    def _differing(self, replace: str) -> str:
        count = len(self.differing)
        some = f"; {plural(count, 'conversation')} of the file"
        stored = f"the library's stored {agreeing(count, 'version', 'versions')}"
        if replace == REPLACED:
            return (f"{some} differed from {stored}: replaced by the file's, and the training "
                    f"file rebuilt with {agreeing(count, 'it', 'them')}")
        if replace == REPLACING:
            return (f"{some} {agreeing(count, 'differs', 'differ')} from {stored}: being "
                    "replaced by the file's, and the training file rebuilt")
        return (f"{some} {agreeing(count, 'differs', 'differ')} from {stored}, which it holds "
                f"until {agreeing(count, 'it is', 'they are')} replaced by the file's "
                "(Replace, or import --replace), which rebuilds it")


def told(report: ImportReport, files: Sequence[RestoredFile]) -> None:
    """``files`` said in ``report``: as the import left them, and as they read once its
    changed conversations are being replaced and are replaced (``ImportReport.summary``)."""
    report.restored.extend(one.sentence() for one in files)
    for state in (REPLACING, REPLACED):
        report.restored_later.setdefault(state, []).extend(one.sentence(state)
                                                           for one in files)


def free_name(library: Library, wanted: str) -> str:
    """``wanted``, or "wanted (2)", "wanted (3)"… when a file of the library has it (the
    name shortened to leave room for the number when it is as long as a name may be)."""
    for n in itertools.count(1):
        suffix = "" if n == 1 else f" ({n})"
        candidate = wanted if n == 1 else f"{wanted[:MAX_NAME - len(suffix)].rstrip(' .')}{suffix}"
        try:
            return check_new_name(library, candidate)
        except LibraryError:
            if n > 1000:
                raise
    raise AssertionError("unreachable")


def restore_file(library: Library, facts: FullFileFacts, differing: Sequence[str] = (),
                 progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> RestoredFile:
    """Make the training file ``facts`` describe again from the conversations the library
    holds, in the file's order, with its settings; ``differing``: the file's conversations
    the import found changed and kept as stored."""
    try:
        wanted = conversation_ids(facts.path)
    except (OSError, ijson.JSONError, InputError, LibraryError) as exc:
        return RestoredFile(facts, None, failure=f"it could not be read again ({exc}).")
    held = _held(library, wanted)
    ids = [cid for cid in wanted if cid in held]
    if not ids:
        return RestoredFile(facts, None, missing=len(wanted),
                            failure="none of its conversations is in the library.")
    try:
        # Planned with Cancel heard, and recorded with all its settings only by its one
        # complete build: a cancel or a kill leaves no file, nor one with other settings.
        plan = plan_addition(library, free_name(library, facts.name), ids, create=True,
                             cut_off_policy=facts.cut_off_policy,
                             over_budget=facts.over_budget, max_seq_len=facts.max_seq_len,
                             progress=progress, cancelled=cancelled)
        info = apply_addition(library, plan, progress=progress, cancelled=cancelled)
    except (BuildCancelled, LibraryError) as exc:
        why = (f"{str(exc).rstrip('.')}." if isinstance(exc, LibraryError) else
               "the import was cancelled while it was being made (the conversations "
               "imported stay).")
        return RestoredFile(facts, None, failure=why + " Import the file again to make it "
                            "(its conversations are then skipped as already in the library).")
    changed = set(differing)
    return RestoredFile(facts, info, missing=len(wanted) - len(ids),
                        differing=[cid for cid in ids if cid in changed])


def _held(library: Library, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the library holds (a look-up a thousand at a time)."""
    held: set[str] = set()
    with library.session() as session:
        for start in range(0, len(ids), 1000):
            held.update(session.scalars(select(Conversation.conversation_id).where(
                Conversation.conversation_id.in_(ids[start:start + 1000]))))
    return held


def restored(library: Library, facts: Sequence[FullFileFacts], changed: Sequence[str] = (),
             progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
             *, again: bool = False) -> list[RestoredFile]:
    """Each file of ``facts`` made again (``restore_file``); one the library holds already
    (``FullFileFacts.same_as``) is not made (its ``sentence`` says so), unless ``again``
    (the person asked for it once told)."""
    return [RestoredFile(one, None) if one.same_as and not again else
            restore_file(library, one, changed, progress, cancelled) for one in facts]


def import_and_restore(library: Library, paths: Sequence[Path], batch: str | None = None,
                       progress: Progress | None = None,
                       cancelled: Callable[[], bool] | None = None, *,
                       own_batches: bool = True, recreate: bool = False,
                       chosen: Sequence[FullFileFacts] | None = None) -> ImportReport:
    """``import_paths``, then, with ``recreate``, the full training files of ours it read
    made again as training files (``restored``); the report's ``restored`` says what
    became of each. ``chosen``: those to make, as the question before the import offered
    them, even one the library holds already; else every one the import reads (chosen or
    in a folder), but those the library holds already (``import --recreate``)."""
    facts: list[FullFileFacts] = []
    if recreate and chosen is not None:
        facts = list(chosen)
    elif recreate:
        try:
            facts = full_files_in(library, paths, cancelled=cancelled).full_files
        except WalkCancelled:  # the import hears it too; those named are said not made
            facts = [f for f in map(read_facts, (p for p in paths if p.is_file())) if f]
    report = import_paths(library, paths, batch, progress, cancelled, own_batches=own_batches)
    if report.cancelled:  # each file asked for is named: none was made
        told(report, [RestoredFile(one, None, failure=(
            "the import was cancelled before it was made. Import the file again to make it "
            "(the conversations imported are then skipped as already in the library)."))
            for one in facts if chosen is not None or not one.same_as])
        return report
    changed = [str(v.conversation_id) for v in report.changed]
    told(report, restored(library, facts, changed, progress, cancelled,
                          again=chosen is not None))
    return report
