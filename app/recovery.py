"""Finish or roll back work a killed process left behind, at the start of any command.

What is recognised, from what the library positively records: fragments that no training
file uses (a large build killed before its switch: ``app.stored_builds``), build folders
of libraries from before v6 (unfinished builds, deleted training files, builds since
moved into the database: ``trainingfiles.remove_orphan_files``), training files created
by an older version that never got their first build, training files whose conversations
changed batch while their rebuild was cut short (their header no longer matches their
members), training files that owe a rebuild after a change to their conversations or to
the tokenizer (``stored_builds.OWED``: the window's rebuild was dropped as it closed, or
cancelled), and training files whose build is still in files from before v6: those are
built into the database (the header keeps its dates) before their folders go.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Collection

import orjson
from sqlalchemy import delete, func, select

from app import killed_work, upkeep
from app.build import BuildCancelled
from app.cutoff import policy_label
from app.fingerprints import fill_missing
from app.library import Library
from app.models import BuildFragment, Conversation, Member, TrainingFile
from app.paths import BUILD_FOLDER
from app.stored_builds import drop_unreferenced, rebuilds_due, unreferenced_count
from app.stored_cut_offs import rejudge_stored
from app.stored_near import flag_stored_copies
from app.stored_repair import repair_stored, repaired_files
from app.stored_sketches import sketch_again
from app.stored_whitespace import forget_padded
from app.team_locks import FRAGMENTS, try_lock_in_transaction
from app.tokenizer_choice import load_choice
from app.trainingfiles import (
    BUILDING,
    DELETED,
    cut_from_its_files,
    move_into_database,
    rebuild_if_owed,
    rebuild_training_files,
    remove_orphan_files,
)
from app.wording import agreeing, plural

Progress = Callable[[int, int, str], None]


def _saying(progress: Progress | None, text: str) -> Progress | None:
    """``progress`` with its words replaced by ``text`` (what the person is waiting for)."""
    if progress is None:
        return None
    report = progress
    return lambda done, total, _current: report(done, total, text)


def unfinished_creations(library: Library) -> list[str]:
    """Training files recorded without any build (an older version's interrupted add)."""
    with library.session() as session:
        return list(session.scalars(
            select(TrainingFile.name).where(TrainingFile.json_file.is_(None),
                                            TrainingFile.head.is_(None))))


def files_built_on_disk(library: Library) -> list[str]:
    """Training files whose build is still in files from before v6."""
    with library.session() as session:
        return list(session.scalars(
            select(TrainingFile.name).where(TrainingFile.json_file.is_not(None),
                                            TrainingFile.head.is_(None))
            .order_by(TrainingFile.name)))


def stale_training_files(library: Library) -> list[str]:
    """Files whose header names other batches than their members have now, or with a
    member that has no stored rendering."""
    with library.session() as session:
        rows = session.execute(select(
            TrainingFile.file_id, TrainingFile.name, TrainingFile.header)
            .where(TrainingFile.head.is_not(None))).all()
        unrendered = set(session.scalars(  # a member without a stored rendering
            select(Member.file_id).distinct()
            .outerjoin(BuildFragment, BuildFragment.key == Member.fragment_key)
            .where(BuildFragment.key.is_(None))))
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for file_id, batch_id, number in session.execute(
            select(Member.file_id, Conversation.batch_id, func.count())
            .join(Conversation, Conversation.pk == Member.conversation_pk)
            .group_by(Member.file_id, Conversation.batch_id)
        ):
            counts[file_id][str(batch_id)] = number
    stale = []
    for file_id, name, header in rows:
        written = (orjson.loads(header).get("scaffolding_distribution") or {}).get("batch") \
            if header else None
        if written != dict(counts[file_id]) or file_id in unrendered:
            stale.append(name)
    return sorted(stale)


def tokenizer_behind(library: Library, names: Collection[str]) -> set[str]:
    """Of ``names``, the training files whose header names another tokenizer or chat
    template than the library counts with now: the rebuild they owe is the one after a
    tokenizer change, and finishing it says so."""
    if not names:
        return set()
    choice = load_choice(library)
    now = (choice.tokenizer_sha256, choice.template_label)
    with library.session() as session:
        rows = session.execute(select(TrainingFile.name, TrainingFile.header)
                               .where(TrainingFile.name.in_(sorted(names)))).all()
    behind = set()
    for name, header in rows:
        tokens = orjson.loads(header).get("tokens") if header else None
        if isinstance(tokens, dict) and \
                (tokens.get("tokenizer_sha256"), tokens.get("chat_template")) != now:
            behind.add(name)
    return behind


def conversations_changed_too(library: Library, names: Collection[str]) -> set[str]:
    """Of ``names`` (files owing the rebuild after a tokenizer change), those that owe one
    for a change to their conversations as well: such a change forgets the file's stored
    totals (``stored_builds.forget_totals``), a tokenizer change does not, and each counts
    one change owed (``stored_builds.OWED``)."""
    if not names:
        return set()
    with library.session() as session:
        return set(session.scalars(
            select(TrainingFile.name).where(
                TrainingFile.name.in_(sorted(names)), TrainingFile.totals.is_(None),
                TrainingFile.changes - TrainingFile.changes_built > 1)))


# Why a file owes a rebuild (``owed_because``), as the words that follow "the rebuild after".
CONVERSATIONS_CHANGED = "its conversations changed"
TOKENIZER_CHANGED = "the tokenizer changed"
BOTH_CHANGED = "its conversations and the tokenizer both changed"


def owed_because(library: Library, names: Collection[str]) -> dict[str, str]:
    """Why each of ``names`` (files owing a rebuild) owes it: its conversations changed,
    the tokenizer did, or both (one of the three wordings above)."""
    retokenized = tokenizer_behind(library, names)
    both = conversations_changed_too(library, retokenized)
    return {name: BOTH_CHANGED if name in both else
            TOKENIZER_CHANGED if name in retokenized else
            CONVERSATIONS_CHANGED for name in names}


def needs_recovery(library: Library) -> bool:
    """Cheap enough for every command, and works on a library opened read-only."""
    if upkeep.due(library.root) or killed_work.any_left(library):
        return True
    if unfinished_creations(library) or stale_training_files(library) \
            or files_built_on_disk(library):
        return True
    with library.session() as session:
        if unreferenced_count(session) or rebuilds_due(session):
            return True
        rows = session.execute(select(TrainingFile.file_id, TrainingFile.revision)).all()
    revisions = dict(rows)
    files_dir = library.files_dir
    if not files_dir.is_dir():
        return False
    for path in files_dir.iterdir():
        match = BUILD_FOLDER.match(path.name)
        if not match or not path.is_dir():
            continue
        if (path / BUILDING).exists() or (path / DELETED).exists():
            return True
        if int(match["revision"]) < revisions.get(int(match["file_id"]), -1):
            return True
    return False


def finish_interrupted_work(library: Library, progress: Progress | None = None,
                            cancelled: Callable[[], bool] | None = None,
                            said: list[str] | None = None) -> list[str]:
    """Roll back unfinished creations, remove known leftovers, rebuild stale files.

    Returns one sentence per thing done, for the person to read. ``progress`` hears
    (done, total, what is being done) as it goes (moving an older version's builds and
    rebuilding can take minutes in a large library); ``cancelled`` stops it between and
    inside rebuilds (``BuildCancelled``): every step is its own transaction, so what is
    left is finished at the next start. ``said`` (given) gets each sentence as its step
    ends, so a cancel still tells what was done before it.
    """
    def step(text: str, done: int = 0, total: int = 0) -> None:
        if cancelled and cancelled():
            raise BuildCancelled()
        if progress:
            progress(done, total, text)

    before_policies = made_before_policies(library)  # before their rebuilds below
    done = [] if said is None else said
    later: dict[str, int] = {}  # (read in ``finally``: whatever fails before it is set)
    try:
        done += killed_work.say_and_forget(library)  # first: before leftovers are tidied
        for name in unfinished_creations(library):
            with library.session() as session, session.begin():
                session.execute(delete(TrainingFile).where(TrainingFile.name == name))
            done.append(f"removed the training file '{name}', whose creation was interrupted")
        with library.session() as session, session.begin():
            # On a team library only while no member's build runs: a build's fragments are
            # unreferenced until its switch (``app.team_locks``); else at a later start.
            dropped = drop_unreferenced(session) if try_lock_in_transaction(
                session, FRAGMENTS) else 0
        if dropped:
            done.append(f"removed {plural(dropped, 'stored conversation rendering')} left over "
                        "by an interrupted build")
        on_disk = files_built_on_disk(library)
        later = moved_after_the_passes(library, on_disk)
        for number, name in enumerate(on_disk):
            if name in later:  # said here once it is in (``_say_moved_later``)
                later[name] = len(done)
                continue
            step(f"Moving the training file '{name}' into the library database", number,
                 len(on_disk))
            how = "" if move_into_database(library, name) else RENDERED_AGAIN
            done.append(moved_in(name, how))
        for folder in remove_orphan_files(library):
            done.append(f"removed {folder.name}, left over by an interrupted build or an "
                        "older version")
        with library.session() as session:
            owed = set(rebuilds_due(session))
        because = owed_because(library, owed)
        stale = set(stale_training_files(library))
        for name in sorted(owed | stale):
            step(f"Rebuilding the training file '{name}'")
            saying = _saying(progress, f"Rebuilding the training file '{name}'")
            if name in stale:  # its stored build may not read back right: render it all
                rebuild_training_files(library, [name], saying, cancelled, from_scratch=True)
            elif rebuild_if_owed(library, name, saying, cancelled) is None:
                continue  # paid meanwhile by another member's rebuild, or the file is gone
            done.append(f"rebuilt the training file '{name}', whose " + (
                "last rebuild was interrupted" if name not in owed else
                f"rebuild after {because[name]} did not finish"))
        one_time_passes(library, progress, cancelled, done)
        still = [name for name in files_built_on_disk(library) if name in later]
        for number, name in enumerate(still):  # none of their conversations changed
            step(f"Moving the training file '{name}' into the library database", number,
                 len(still))
            move_into_database(library, name)
    finally:  # a Cancel after some rebuilds still says what those changed: never again
        _say_moved_later(library, later, done)
        done += now_leaving_out(library, before_policies)
    return done


RENDERED_AGAIN = "built again from its conversations; "


def moved_in(name: str, how: str) -> str:
    return (f"moved the training file '{name}' into the library database ({how}its files "
            "from the older version are removed)")


# The one-time passes that change stored conversations and rebuild the files holding them.
CHANGING_PASSES = frozenset({upkeep.TEXT_REPAIR, upkeep.CUT_OFF_RULE, upkeep.LINE_WHITESPACE})


def moved_after_the_passes(library: Library, on_disk: Collection[str]) -> dict[str, int]:
    """Of the files whose build is still in files from before v6, those to move in after
    the one-time passes (each with where its sentence goes, set by the caller): a build
    that cannot be cut from its files is rendered again in full, and a pass changing its
    conversations then rebuilt it a second time (18 s and 7 s at 5,000 conversations).
    Moved after the passes, it is built once: by the rebuild of a pass that changed its
    conversations, else by its move, with the same bytes either way."""
    if library.read_only or not CHANGING_PASSES & set(upkeep.due(library.root)):
        return {}
    return {name: 0 for name in on_disk if not cut_from_its_files(library, name)}


def _say_moved_later(library: Library, later: dict[str, int], done: list[str]) -> None:
    """Say each of ``later`` now in the database where its move would have been said."""
    if not later:
        return
    on_disk = set(files_built_on_disk(library))
    for shift, (name, at) in enumerate(sorted(
            ((name, at) for name, at in later.items() if name not in on_disk),
            key=lambda item: item[1])):
        done.insert(at + shift, moved_in(name, RENDERED_AGAIN))


def finish_for_a_window(library: Library, progress: Progress | None = None,
                        cancelled: Callable[[], bool] | None = None,
                        ) -> tuple[list[str], bool]:
    """``finish_interrupted_work`` as a window's job in a child process (``app.job_process``:
    in a thread of the window's, its moves and rebuilds held the interpreter lock for up to
    0.3–0.55 s at a time, and the window stalled): what it did, one sentence each, and
    whether Cancel stopped it (the sentences of the steps it finished are kept then).
    It runs at a lower priority: on a busy machine the window's process is scheduled
    first (the progress dialog stalled 0.3–1.2 s at a time while it built a large file)."""
    if hasattr(os, "nice") and multiprocessing.parent_process() is not None:
        with contextlib.suppress(OSError):  # (a child does this one job and ends)
            os.nice(10)
    said: list[str] = []
    try:
        finish_interrupted_work(library, progress, cancelled, said)
    except BuildCancelled:
        return said, True
    return said, False


def made_before_policies(library: Library) -> list[str]:
    """Training files whose build was made before cut-off policies (schema v3 and before:
    its header names none), when every reply was trained, cut off or not. Opening such a
    library gives them the default policy (Trim), which their next build follows."""
    with library.session() as session:
        rows = session.execute(select(TrainingFile.name, TrainingFile.header)
                               .where(TrainingFile.header.is_not(None))).all()
    return sorted(name for name, header in rows
                  if header and "cut_off_policy" not in orjson.loads(header))


def now_leaving_out(library: Library, names: Collection[str]) -> list[str]:
    """Of ``names`` (made before cut-off policies), one sentence for each whose build now
    follows its policy and leaves replies out: the person never chose that, and what the
    file trains changed."""
    if library.read_only or not names:
        return []
    with library.session() as session:
        rows = session.execute(select(TrainingFile.name, TrainingFile.header,
                                      TrainingFile.cut_off_policy)
                               .where(TrainingFile.name.in_(sorted(names)))).all()
    said = []
    for name, header, policy in sorted(rows):
        head = orjson.loads(header) if header else {}
        left = (head.get("totals") or {}).get("replies_left_out") or 0
        if "cut_off_policy" not in head or not left:
            continue  # not rebuilt yet (its lines are still the older version's) or the same
        lineless = (head.get("quality_summary") or {}).get(
            "conversations_without_trained_reply") or 0
        without = (f", and {plural(lineless, 'conversation')} no longer "
                   f"{agreeing(lineless, 'has', 'have')} a line" if lineless else "")
        replies = plural(left, "cut-off reply", "cut-off replies")
        said.append(
            f"the training file '{name}' was made before cut-off policies, when every reply "
            f"was trained: rebuilt now, it follows the default policy ({policy_label(policy)}) "
            f"and leaves {replies} out of training{without}; set its cut-off policy to Keep "
            "to train them as before")
    return said


def one_time_passes(library: Library, progress: Progress | None = None,
                    cancelled: Callable[[], bool] | None = None,
                    said: list[str] | None = None) -> list[str]:
    """Give conversations stored by older versions what an import does today, once
    (``app.upkeep`` records it); training files holding a changed conversation are rebuilt.
    Its sentences, also added to ``said`` (given) as each step ends."""
    done = [] if said is None else said
    due = upkeep.due(library.root)
    if library.read_only or not due:
        return done
    if upkeep.TEXT_REPAIR in due:
        mended: list[str] = []
        repaired = repair_stored(library, _saying(
            progress, "Repairing text stored by an older version"), cancelled, mended)
        escaped = len(set(repaired) - set(mended))
        if escaped:
            done.append("repaired literal escape sequences in "
                        f"{plural(escaped, 'conversation')} stored before text repair "
                        "existed (warning text_repaired)")
        if mended:
            done.append("mended Windows line ends (\\r\\n, made \\n) or control characters "
                        f"(removed) in {plural(len(mended), 'conversation')} stored before "
                        "import mended them (warning text_repaired)")
        done += _rebuild_holding(library, repaired, "repaired conversations", progress,
                                 cancelled)
    if upkeep.CUT_OFF_RULE in due:
        changed = rejudge_stored(library, _saying(
            progress, "Judging cut-off turns again under this version's rule"), cancelled)
        if changed:
            done.append(
                f"judged the cut-off turns of {plural(len(changed), 'conversation')} again "
                "under this version's rule (an informal client message without a full stop "
                "is no longer cut off; a reply ending on a colon, a semicolon or a long dash "
                "now is)")
        done += _rebuild_holding(library, changed, "conversations whose cut-off turns were "
                                 "judged again", progress, cancelled)
    if upkeep.SENTENCE_SKETCHES in due or upkeep.SHORTER_COPIES in due:
        # A library from before fingerprints (v3, v4) has none until an import fills them:
        # the passes below read fingerprints, and would see nothing and record themselves
        # done. Nothing a person sees: the near-duplicate pass says what it flags.
        fill_missing(library, _saying(
            progress, "Indexing the stored conversations' sentences again"), cancelled)
        if cancelled and cancelled():
            raise BuildCancelled()
    if upkeep.SENTENCE_SKETCHES in due:  # nothing a person sees: no sentence
        sketch_again(library, _saying(
            progress, "Indexing the stored conversations' sentences again"), cancelled)
    if upkeep.SHORTER_COPIES in due:
        flagged = flag_stored_copies(library, _saying(
            progress, "Looking for shorter copies among the stored conversations"), cancelled)
        if flagged:
            done.append(
                f"flagged {plural(len(flagged), 'conversation')} near_duplicate: each nearly "
                "repeats one stored before it, or is a shorter copy of it or holds one (their "
                "replies would be trained twice); an add can leave them out")
    if upkeep.LINE_WHITESPACE in due:
        padded = forget_padded(library, _saying(
            progress, "Looking for whitespace around messages"), cancelled)
        done += _rebuild_files(library, padded, "conversations whose lines no longer "
                               "keep the whitespace around a message", progress, cancelled)
    upkeep.record(library.root, due)
    return done


def _rebuild_holding(library: Library, changed: Collection[str], holding: str,
                     progress: Progress | None,
                     cancelled: Callable[[], bool] | None) -> list[str]:
    """Rebuild the training files holding ``changed`` conversations (a pass changed what
    is stored of them), one sentence each. Cancelled, the pass is not recorded and runs
    again; the files it did not reach still owe their rebuild, paid at the next start."""
    return _rebuild_files(library, repaired_files(library, list(changed)), holding, progress,
                          cancelled)


def _rebuild_files(library: Library, names: Collection[str], holding: str,
                   progress: Progress | None,
                   cancelled: Callable[[], bool] | None) -> list[str]:
    """Rebuild the training files ``names`` (they hold ``holding``), one sentence each."""
    done = []
    for name in sorted(names):
        if cancelled and cancelled():
            raise BuildCancelled()
        rebuild_training_files(library, [name], _saying(
            progress, f"Rebuilding the training file '{name}'"), cancelled)
        done.append(f"rebuilt the training file '{name}', which holds {holding}")
    return done
