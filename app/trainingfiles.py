"""Training files: named, ordered sets of conversations rendered as full JSON + JSONL.

A build is stored in the library database as a head plus one fragment per conversation
(``app.stored_builds``); a change renders only the conversations whose fragment it has not
got, and switches the file to its new build in one transaction. A failure or a kill at any
point therefore leaves the previous build exactly as it was, and the JSON and JSONL never
disagree. The two files are put together when they leave the library (``app.export``).

Libraries from before v6 kept builds as files in ``training-files/<id>-r<revision>/``;
those are moved into the database by ``app.recovery`` and their folders then removed
(``remove_orphan_files``).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import FORMAT_VERSION
from app.budget_fit import (
    FOR_EARLIER_FILES,
    FOR_NEW_FILES,
    OverBudget,
    budget_of,
    parse_over_budget,
)
from app.build import BuildCancelled, Progress, header_of, render_fragments
from app.build_delta import MemberState, delta_totals, full_key, plan_delta
from app.collector import collector_paused
from app.cutoff import (
    DEFAULT_POLICY,
    CutOffPolicy,
    left_out_counts,
    parse_policy,
    untrainable_reason,
)
from app.errors import LibraryError
from app.file_totals import FileTotals, StoredTotals, contribution
from app.fragments import Fragment, full_json_size_of, head_bytes, settings_key
from app.fullfile import shared_profile_hash
from app.key_parts import in_parts
from app.legacy_builds import LegacyMismatch, LegacyReader, read_legacy_build, recorded_sha256
from app.library import Library, RecordsGone, now_iso
from app.models import BuildFragment, Conversation, Member, TrainingFile
from app.near_in_file import NearCheckCancelled, NearOnAdd, near_on_add
from app.paths import BUILD_FOLDER
from app.quality import harmful_warnings
from app.records import Digest, digest_of, summarise
from app.review import is_reviewed
from app.running_work import running
from app.samples import sample_hashes
from app.stored_builds import (
    BuildReader,
    DamagedBuild,
    StoredFragment,
    drop_unreferenced,
    file_fragments,
    find_fragments,
    forget_totals,
    guard_of,
    hash_for_saved_copies,
    last_position,
    line_counts,
    member_guard,
    owes_a_rebuild,
    save_fragments,
)
from app.team_locks import (
    CREATING_FILES,
    REMOVING,
    fragments_in_use,
    lock_in_transaction,
    training_file_lock,
)
from app.token_counts import NO_LINE, library_cache, lines_over
from app.token_counts import max_seq_len as max_seq_len_of
from app.token_lines import DEFAULT_MAX_SEQ_LEN, check_max_seq_len
from app.tokenizer_choice import counter_for
from app.wording import agreeing, first_few, plural

if TYPE_CHECKING:  # the tokenizer library is loaded by whoever counts
    from app.tokens import TokenCounter

# Device names Windows reserves in every folder, with any extension. Windows counts the
# superscript digits ¹ ² ³ as digits here, so "COM¹" is a device too.
WINDOWS_DIGITS = "0123456789\u00b9\u00b2\u00b3"
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{d}" for d in WINDOWS_DIGITS),
                    *(f"lpt{d}" for d in WINDOWS_DIGITS)}
# The en and em dashes too: autocorrect types them for " - ", and every file system we ship
# to takes them in a file name (the slug is the casefolded name, the files are named after it).
TYPOGRAPHIC_DASHES = "\u2013\u2014"
NAME_PATTERN = re.compile(rf"^[\w][\w .()+{TYPOGRAPHIC_DASHES}-]*$")
MAX_NAME = 80
# ext4, APFS and others allow 255 bytes of UTF-8 per file name; NTFS, FAT and exFAT 255
# UTF-16 units; HFS+ stores names decomposed (NFD), which can take more of either. The
# longest name an export writes is the JSONL's manifest, "<name>.jsonl.manifest.json" (the
# atomic writer's temporary names keep only the start of a name: app.jsonio).
MAX_FILE_NAME = 255
NAME_OVERHEAD = len(".jsonl.manifest.json")
MAX_NAME_UNITS = MAX_FILE_NAME - NAME_OVERHEAD


def _name_units(text: str) -> int:
    """The most room ``text`` takes as a file name on any file system we ship to."""
    forms = (text, unicodedata.normalize("NFD", text))
    return max(max(len(f.encode("utf-8")), len(f.encode("utf-16-le")) // 2) for f in forms)


@dataclass(frozen=True, slots=True)
class TrainingFileInfo:
    file_id: int
    name: str
    conversations: int
    trainable_replies: int
    estimated_tokens: int
    json_bytes: int
    jsonl_bytes: int
    created_at: str
    updated_at: str
    built: bool  # its build is in the database (False: not yet moved in from before v6)
    cut_off_policy: str = DEFAULT_POLICY.value
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN  # the trainer's maximum sequence length
    over_budget: str = FOR_EARLIER_FILES.value  # a longer line: fitted or whole (budget_fit)
    # The header's tokens.total: its lines counted as the trainer reads them (None for a
    # file built before exact counts, which has only the characters ÷ 4 estimate).
    tokens: int | None = None


# The marks a name may hold, kept on one line wherever the sentence wraps (no-break
# spaces): it broke as "- – — _" / ". ( ) +", which read as two lists.
ALLOWED_MARKS = "\u00a0".join(["-", "–", "—", "_", ".", "(", ")", "+"])


def check_name(name: str) -> str:
    """Return the cleaned name, or raise with a message a person can act on."""
    text = unicodedata.normalize("NFC", " ".join(str(name).split()))
    if not text:
        raise LibraryError("the name cannot be empty")
    if len(text) > MAX_NAME:
        raise LibraryError(f"the name can have at most {MAX_NAME} characters "
                           f"(this one has {len(text)})")
    units = _name_units(text)
    if units > MAX_NAME_UNITS:
        over = units - MAX_NAME_UNITS
        raise LibraryError(
            f"the name is too long for a file name: it takes {units} bytes, and file systems "
            f"allow {MAX_NAME_UNITS} for a training file's name (letters outside A-Z take 2 "
            f"to 4 bytes each). Shorten it by at least {over} bytes (a Chinese or Japanese "
            "character takes 3)")
    if "/" in text or "\\" in text or ".." in text:
        raise LibraryError(f"'{text}' is not allowed: a name cannot contain /, \\ or '..'")
    if not NAME_PATTERN.match(text) or text.endswith("."):
        raise LibraryError(
            f"'{text}' is not allowed: use letters, digits, spaces and {ALLOWED_MARKS}, "
            "starting with a letter or digit and not ending with a dot"
        )
    stem = text.split(".")[0].strip().casefold()
    if stem in WINDOWS_RESERVED:
        raise LibraryError(f"'{text}' is a reserved device name on Windows, where no file "
                           "can be called so: choose another name (a word added to it will "
                           "do)")
    lowered = text.casefold()
    if lowered.endswith((".json", ".jsonl")):
        raise LibraryError("give the name without .json or .jsonl; both files are made for you")
    return text


def _info(library: Library, row: TrainingFile) -> TrainingFileInfo:
    return TrainingFileInfo(
        row.file_id, row.name, row.conversations, row.trainable_replies, row.estimated_tokens,
        row.json_bytes, row.jsonl_bytes, row.created_at, row.updated_at,
        row.head is not None, row.cut_off_policy, row.max_seq_len, row.over_budget,
        counted_tokens(row.header),
    )


def counted_tokens(header_json: bytes | None) -> int | None:
    """The exact token total a stored header carries, so that the files list and the
    details say the same number (the list showed the characters ÷ 4 estimate beside the
    details' count, a quarter apart)."""
    if not header_json:
        return None
    total = (orjson.loads(header_json).get("tokens") or {}).get("total")
    return total if isinstance(total, int) else None


def read_build(library: Library, name: str) -> BuildReader | LegacyReader:
    """The stored build of ``name``, to read its full JSON and JSONL (a context manager:
    everything is read from one moment of the database). A build from before v6 that is
    still in files (a reader may not move it in) is read from them, checked against the
    sha256 recorded beside them."""
    with library.session() as session:
        row = _row(session, name)
        file_id, real_name = row.file_id, row.name
        built, files = row.head is not None, (row.json_file, row.jsonl_file)
        sizes = (row.json_bytes, row.jsonl_bytes)
    if built:
        return BuildReader(library.engine, file_id, real_name)
    if files[0] is None or files[1] is None:
        raise LibraryError(f"'{real_name}' has not been built yet")

    def refuse(why: str) -> LibraryError:
        return DamagedBuild(real_name, f"it is stored as files from an older LoRA Studio "
                                       f"and {why}")

    paths = (library.files_dir / files[0], library.files_dir / files[1])
    if library.read_only and any(recorded_sha256(path) is None for path in paths):
        raise LibraryError(unrecorded_build(real_name))
    return LegacyReader(real_name, *paths, sizes, refuse)


def unrecorded_build(name: str) -> str:
    """Why a reader makes no copy of a build an older version kept as files without their
    sha256 (every version before v6 but the last): nothing is wrong with it, but nothing
    can check it either; moving it into the database, as any writer does, can."""
    return (f"the training file '{name}' is stored as files from an older LoRA Studio "
            "that recorded no sha256 to check them by, so no copy is made from them while the "
            "library is only read. Open the library for writing once (in the window, or with "
            f"a command that changes it, such as `lora-studio rebuild \"{name}\"`): its "
            "builds then move into this version's library, and the copy can be saved. Nothing "
            "was written.")


def list_training_files(library: Library) -> list[TrainingFileInfo]:
    with library.session() as session:
        rows = session.scalars(select(TrainingFile).order_by(TrainingFile.name)).all()
        return [_info(library, row) for row in rows]


def get_training_file(library: Library, name: str) -> TrainingFileInfo:
    with library.session() as session:
        row = _row(session, name)
        return _info(library, row)


def _row(session: Session, name: str) -> TrainingFile:
    row = session.scalar(select(TrainingFile).where(TrainingFile.slug == name.casefold()))
    if row is None:
        raise LibraryError(f"there is no training file named '{name}'")
    return row


def header(library: Library, name: str) -> dict[str, Any]:
    """The stored ``training_file_metadata`` of a file."""
    with library.session() as session:
        row = _row(session, name)
        return orjson.loads(row.header) if row.header else {}


def member_ids(library: Library, name: str) -> list[str]:
    """Conversation ids of a file, in file order."""
    with library.session() as session:
        row = _row(session, name)
        return list(session.scalars(
            select(Conversation.conversation_id)
            .join(Member, Member.conversation_pk == Conversation.pk)
            .where(Member.file_id == row.file_id)
            .order_by(Member.position)
        ))


def name_taken(name: str) -> str:
    """Said when a name is taken (names are compared ignoring case)."""
    return (f"a training file named '{name}' already exists; choose another name (names "
            "that differ only in capitals count as the same)")


def check_new_name(library: Library, name: str) -> str:
    """A valid name that no training file has yet (names are case-insensitive)."""
    name = check_name(name)
    with library.session() as session:
        taken = session.scalar(select(TrainingFile).where(TrainingFile.slug == name.casefold()))
    if taken is not None:
        raise LibraryError(name_taken(taken.name))
    return name


def check_rename(library: Library, old: str, new: str) -> str:
    """A valid name for ``old`` that no other training file has (the same name in other
    capitals is ``old``'s own); the rename checks again under its lock."""
    new = check_name(new)
    with library.session() as session:
        taken = session.scalar(select(TrainingFile).where(TrainingFile.slug == new.casefold()))
    if taken is not None and taken.slug != old.casefold():
        raise LibraryError(name_taken(taken.name))
    return new


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A conversation as listed under a training file."""

    conversation_id: str
    persona_name: str | None
    persona_archetype: str | None
    batch_id: str
    source_file: str
    emotional_arc_key: str | None = None
    training_topic_key: str | None = None
    tokens: int = 0  # exact count when known (NO_LINE: no training line), else the estimate
    warning_codes: tuple[str, ...] = ()
    reviewed_by: str | None = None
    emotional_arc: str | None = None  # the file's own names of the arc and topic codes
    training_topic: str | None = None
    # its longest line as this file's build wrote it (its cut-off policy, fitted or not;
    # NO_LINE: the file writes none for it; 0: its build records no counts), which
    # ``tokens``, the library's count, is not
    line_tokens: int = 0
    tokens_counted: bool = False  # ``tokens`` is the library's exact count, not the estimate


def member_rows(library: Library, name: str) -> list[MemberRow]:
    """The file's conversations in file order, read with one query (no full library scan)."""
    with library.session() as session:
        row = _row(session, name)
        return [MemberRow(cid, persona, archetype, batch, source, arc, topic,
                          exact or estimate, tuple(codes.split(",")) if codes else (), reviewer,
                          arc_name, topic_name,
                          _longest_line(lines), bool(exact))
                for cid, persona, archetype, batch, source, arc, topic, exact, estimate, codes,
                reviewer, arc_name, topic_name, lines in session.execute(
            select(Conversation.conversation_id, Conversation.persona_name,
                   Conversation.persona_archetype, Conversation.batch_id,
                   Conversation.source_file, Conversation.emotional_arc_key,
                   Conversation.training_topic_key, library.counted(),
                   Conversation.estimated_tokens, Conversation.warning_codes,
                   Conversation.reviewed_by, Conversation.emotional_arc,
                   Conversation.training_topic, BuildFragment.tokens)
            .join(Member, Member.conversation_pk == Conversation.pk)
            .outerjoin(BuildFragment, BuildFragment.key == Member.fragment_key)
            .where(Member.file_id == row.file_id)
            .order_by(Member.position)
        )]


def _longest_line(tokens: bytes | None) -> int:
    """A member's ``line_tokens``: its longest line in the file's build, ``NO_LINE`` when
    the build writes none for it (its cut-off policy trains none of its replies), 0 when
    the build records no counts for it (a build made before they were stored)."""
    if tokens is None:
        return 0
    return max(line_counts(tokens), default=NO_LINE)


def files_holding(
    library: Library, *, batch_id: str | None = None,
    conversation_ids: Sequence[str] | None = None,
) -> list[str]:
    """Names of the training files that hold any conversation of a batch, or of a list."""
    query = (select(TrainingFile.name).distinct()
             .join(Member, Member.file_id == TrainingFile.file_id)
             .join(Conversation, Conversation.pk == Member.conversation_pk)
             .order_by(TrainingFile.name))
    with library.session() as session:
        if batch_id is not None:
            return list(session.scalars(query.where(Conversation.batch_id == batch_id)))
        names: set[str] = set()
        wanted = list(conversation_ids or [])
        for part in in_parts(wanted):
            names.update(session.scalars(
                query.where(Conversation.conversation_id.in_(part))))
        return sorted(names)


def rebuild_training_files(
    library: Library, names: Sequence[str], progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None, from_scratch: bool = False,
) -> list[str]:
    """Rebuild files whose conversations changed batch, so headers and JSONL say so too.

    ``from_scratch`` renders every conversation again instead of reusing stored
    fragments (and replaces them): for a stored build that does not read back right.
    """
    for name in names:
        with training_file_lock(library, name):
            with library.session() as session:
                file_id = _row(session, name).file_id
            _build(library, file_id, name, _member_pks(library, name), progress, cancelled,
                   reuse=not from_scratch)
    return list(names)


def rebuild_if_owed(library: Library, name: str, progress: Progress | None = None,
                    cancelled: Callable[[], bool] | None = None) -> int | None:
    """Rebuild ``name`` if it still owes a rebuild (``stored_builds.OWED``), looked
    at under the file's lock: on a team library another member's rebuild may have paid it
    (or the file gone) since the list of files owing one was read. Stored renderings are
    reused, as the window's own rebuild after the change does: their keys hold each
    conversation's state, so only what changed is rendered again. How many conversations
    were rendered; None when nothing was owed any more."""
    with training_file_lock(library, name):
        with library.session() as session:
            row = session.scalar(select(TrainingFile)
                                 .where(TrainingFile.slug == name.casefold()))
            if row is None or not owes_a_rebuild(row):
                return None
            file_id = row.file_id
        return _build(library, file_id, name, _member_pks(library, name), progress,
                      cancelled)


def move_into_database(library: Library, name: str) -> bool:
    """See ``_move_into_database`` (this holds the file's lock around it)."""
    with training_file_lock(library, name), fragments_in_use(library):
        return _move_into_database(library, name)


def cut_from_its_files(library: Library, name: str) -> bool:
    """Whether moving ``name``'s build from before v6 into the database cuts it from its
    files as they are (``app.legacy_builds``), rather than rendering every conversation
    again (a build without an index, as schema v3 and v4 made them)."""
    with library.session() as session:
        row = _row(session, name)
        old_files, stored_header = [row.json_file, row.jsonl_file], row.header
    if not (old_files[0] and old_files[1]):
        return False
    return read_legacy_build(library.files_dir / old_files[0], library.files_dir / old_files[1],
                             len(_member_pks(library, name)), stored_header) is not None


def _move_into_database(library: Library, name: str) -> bool:
    """Move a build that is still in files from before v6 into the database, so its JSON
    and JSONL come out exactly as before; its folder goes once the database no longer
    points at it. True: cut from the files as they are (``app.legacy_builds``); False:
    rendered again (no usable index), with the same dates.

    Cut fragments are stored under keys no build ever makes, so the file's next change
    renders every conversation with the current code rather than mixing the two.
    """
    with library.session() as session:
        row = _row(session, name)
        file_id, revision, stored_header = row.file_id, row.revision, row.header
        old_files = [row.json_file, row.jsonl_file]
    pks = _member_pks(library, name)
    legacy = None
    if old_files[0] and old_files[1]:
        legacy = read_legacy_build(library.files_dir / old_files[0],
                                   library.files_dir / old_files[1], len(pks), stored_header)
    if legacy is None:
        _build(library, file_id, name, pks, reuse=False, keep_updated_at=True)
        return False
    keys = [f"v5:{file_id}:{revision}:{position}" for position in range(len(pks))]
    spill = _Spill([])
    try:
        for key, (json_part, jsonl_part, tokens) in zip(keys, legacy.fragments(), strict=True):
            spill.add(library, Fragment(key, json_part, jsonl_part, tokens))
        spill.settled()
        with library.session() as session, session.begin():
            save_fragments(session, spill.held)
            current = session.get(TrainingFile, file_id)
            if current is None or current.head is not None or current.revision != revision:
                raise LibraryError(f"the training file '{name}' changed meanwhile")
            current.head = legacy.head
            # Made at the file's next build; a rebuild owed stays owed (these bytes are
            # the old build's, from before the change that owes it: ``changes_built`` is
            # left as it was).
            current.totals = None
            current.json_file = current.jsonl_file = None
            current.revision = revision + 1
            session.flush()
            _store_members(session, file_id, pks, keys)
    except LegacyMismatch:  # changed since it was built: render it from the library
        spill.take_back(library)
        _build(library, file_id, name, pks, reuse=False, keep_updated_at=True)
        return False
    except BaseException:
        spill.take_back(library)
        raise
    _remove_build(library, old_files)
    return True


def create_training_file(
    library: Library, name: str, cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    over_budget: OverBudget | str = FOR_NEW_FILES,
) -> TrainingFileInfo:
    """Create an empty training file (its JSON has no conversations, its JSONL no lines)."""
    name = check_new_name(library, name)
    with training_file_lock(library, name):
        _build(library, None, name, [], policy=_policy(cut_off_policy),
               over_budget=_over_budget(over_budget))
    return get_training_file(library, name)


@dataclass(frozen=True, slots=True)
class AddPlan:
    """What adding checked conversations to a training file would do, worked out once
    before anything is written (``plan_addition``) and carried out once
    (``apply_addition``): the review shows it, the user may leave groups out.

    ``new`` and ``new_pks`` are the conversations not in the file yet, in the order asked
    for; the frozensets say which of them are hidden by the window's filter, flagged with
    warnings that would harm training, near-duplicates, over the file's token budget, or
    sample conversations that came with the app (so samples never go into a file of real
    data unnoticed).

    ``warned`` reads the quality warnings of each conversation's own record, the ones a
    training file's header counts and its JSONL lines carry. "Flagged" are those of them
    with a warning that would harm training; one whose warnings are all informational
    (``app.quality.INFORMATIONAL``: the JSONL already handles them) is no reason to leave
    it out. Near-duplicates are their own group: a conversation that nearly repeats one
    already in the file or earlier in the request (``app.near_in_file``).
    """

    name: str
    create: bool
    requested: int
    new: tuple[str, ...]
    new_pks: tuple[int, ...]
    already: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    without_reply: tuple[str, ...] = ()
    # have replies, but the file's cut-off policy trains none of them (no JSONL line)
    untrainable: tuple[str, ...] = ()
    hidden: frozenset[str] = frozenset()
    flagged: frozenset[str] = frozenset()  # of ``warned``: with a harmful warning
    # each new conversation with quality warnings, with all its codes (its record's own)
    warned: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # the new ids that nearly repeat one in the file or earlier in ``new``, in order
    near_duplicates: tuple[str, ...] = ()
    # answers whether one of them repeats one that stays, for any choices
    near_check: NearOnAdd = field(default_factory=NearOnAdd)
    over_budget: frozenset[str] = frozenset()
    samples: frozenset[str] = frozenset()
    cut_off: frozenset[str] = frozenset()  # lose replies to the file's cut-off policy
    replies_left_out: int = 0  # how many replies, over all of ``new``
    leave_out_hidden: bool = False
    leave_out_flagged: bool = False
    leave_out_near_duplicates: bool = False
    leave_out_samples: bool = False
    leave_out_over_budget: bool = False
    cut_off_policy: str = DEFAULT_POLICY.value  # the file's (a new one is created with it)
    over_budget_setting: str = FOR_NEW_FILES.value  # likewise (``app.budget_fit``)
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN  # likewise: the budget ``over_budget`` is over

    @property
    def fits_lines(self) -> bool:
        """The file ends a longer line at its last whole reply that fits: the lines still
        over its budget are those whose first reply alone does not fit, written whole."""
        return self.over_budget_setting == OverBudget.FIT.value

    @property
    def unfittable_left_out(self) -> bool:
        """Whether the window's add review and the command line leave ``over_budget`` out
        unless told to keep them: in a file that fits its lines, those are the ones whose
        first reply alone is longer than the limit, which no trainer trains right (TRL
        cuts inside that reply and trains the cut one, Axolotl drops the line). In a file
        that writes its lines whole, the person chose that: they are kept unless told."""
        return self.fits_lines and bool(self.over_budget)

    def choose(self, *, leave_out_hidden: bool | None = None,
               leave_out_flagged: bool | None = None,
               leave_out_near_duplicates: bool | None = None,
               leave_out_samples: bool | None = None,
               leave_out_over_budget: bool | None = None) -> AddPlan:
        """The same plan with other choices (the plan itself is never changed)."""
        return replace(
            self,
            leave_out_hidden=self.leave_out_hidden if leave_out_hidden is None
            else leave_out_hidden,
            leave_out_flagged=self.leave_out_flagged if leave_out_flagged is None
            else leave_out_flagged,
            leave_out_near_duplicates=self.leave_out_near_duplicates
            if leave_out_near_duplicates is None else leave_out_near_duplicates,
            leave_out_samples=self.leave_out_samples if leave_out_samples is None
            else leave_out_samples,
            leave_out_over_budget=self.leave_out_over_budget if leave_out_over_budget is None
            else leave_out_over_budget)

    @property
    def flagged_by_code(self) -> tuple[tuple[str, int], ...]:
        """Harmful warning code -> how many of ``flagged`` carry it (one may carry
        several), the most frequent first: what makes them flagged."""
        return _by_code(harmful_warnings(codes) for cid, codes in self.warned
                        if cid in self.flagged)

    @property
    def handled(self) -> tuple[str, ...]:
        """The new conversations with warnings, all informational: kept when flagged ones
        are left out."""
        return tuple(cid for cid, _codes in self.warned if cid not in self.flagged)

    @property
    def handled_by_code(self) -> tuple[tuple[str, int], ...]:
        """Warning code -> how many of ``handled`` carry it, the most frequent first."""
        return _by_code(codes for cid, codes in self.warned if cid not in self.flagged)

    @property
    def mixes_samples(self) -> bool:
        """Sample conversations and the user's own in one request."""
        return bool(self.samples) and len(self.samples) < len(self.new)

    def left_out(self) -> dict[str, str]:
        """Each new conversation the choices leave out, with the first choice that does
        (a key of ``LEFT_OUT_REASONS``). A near-duplicate is left out only while one it
        repeats stays (in the file, or added before it): a pair is never lost whole, and
        the file never keeps two of a group."""
        out: dict[str, str] = {}
        repeats = self._repeating_one_kept()
        for cid in self.new:
            for chosen, key in (
                    (self.leave_out_hidden and cid in self.hidden, "hidden"),
                    (self.leave_out_flagged and cid in self.flagged, "flagged"),
                    (self.leave_out_near_duplicates and repeats(cid, out), "near"),
                    (self.leave_out_samples and cid in self.samples, "samples"),
                    (self.leave_out_over_budget and cid in self.over_budget, "over_budget")):
                if chosen:
                    out[cid] = key
                    break
        return out

    def _repeating_one_kept(self) -> Callable[[str, Mapping[str, str]], bool]:
        """Whether a new conversation nearly repeats one that stays: one in the file, or
        one of the new ones (all before it) that the given choices do not leave out."""
        return self.near_check.repeating_one_kept()

    def near_duplicates_added(self) -> list[str]:
        """The conversations this add puts in the file although they nearly repeat one
        that stays in it (what leaving out near-duplicates would leave out)."""
        out = self.left_out()
        repeats = self._repeating_one_kept()
        return [cid for cid in self.new if cid not in out and repeats(cid, out)]

    @property
    def adding(self) -> list[str]:
        """The conversation ids that will be added, in order."""
        out = self.left_out()
        return [cid for cid in self.new if cid not in out]

    @property
    def adding_pks(self) -> list[int]:
        out = self.left_out()
        return [pk for cid, pk in zip(self.new, self.new_pks, strict=True) if cid not in out]

    def _skip_reasons(self) -> dict[str, tuple[str, str, str]]:
        """The plan's list of those it skips -> the reason in the review's words, and in
        brief for a status that names the file already: alone ("3 skipped: no reply to
        train under the file's cut-off policy") and after a count when there are several
        ("2 with no reply to train under the file's cut-off policy, 1 already in the
        file"). One entry a reason, so none goes without its brief words."""
        untrainable = "no reply to train under the file's cut-off policy"
        return {
            "already": (f"already in '{self.name}'", "already in the file",
                        "already in the file"),
            "missing": ("not in the library",) * 3,
            "without_reply": ("without a single trainable reply",) * 3,
            "untrainable": (untrainable_reason(self.cut_off_policy), untrainable,
                            f"with {untrainable}"),
        }

    def skipped(self) -> dict[str, list[str]]:
        """Why each conversation that is not added is left out, with the ids."""
        left_out = self.left_out()
        reasons = {
            **{why: list(getattr(self, kind))
               for kind, (why, _alone, _after_count) in self._skip_reasons().items()},
            **{why: [c for c, by in left_out.items() if by == key]
               for key, why in LEFT_OUT_REASONS.items()},
        }
        return {why: ids for why, ids in reasons.items() if ids}

    def skipped_briefly(self) -> list[tuple[int, str, str]]:
        """How many the plan skips for each reason, the most first, with the reason in
        brief, alone and after its count ("no reply to train under the file's cut-off
        policy"; "2 with no reply to …"): for a status that names the file already.
        Those the review left out are not counted here."""
        counts = [(len(getattr(self, kind)), alone, after_count)
                  for kind, (_why, alone, after_count) in self._skip_reasons().items()
                  if getattr(self, kind)]
        return sorted(counts, key=lambda count: -count[0])

    def added_with_warnings(self) -> dict[str, list[str]]:
        """The groups a choice could leave out whose conversations are added all the same
        (the box left unticked), each with its ids: the review names them beside those
        left out, so a person sees which ones they chose to keep."""
        adding = self.adding
        near = set(self.near_duplicates_added())
        groups = {
            "hidden": [cid for cid in adding if cid in self.hidden],
            "flagged": [cid for cid in adding if cid in self.flagged],
            "near": [cid for cid in adding if cid in near],
            "samples": [cid for cid in adding if cid in self.samples],
            "over_budget": [cid for cid in adding if cid in self.over_budget],
        }
        return {_added_reason(key, self.fits_lines): ids for key, ids in groups.items() if ids}

    def skipped_text(self, limit: int = 10) -> str:
        """Each reason with its count and first ids, numbers written as every sentence
        writes them ("1,240 not in the library: a, b and 1,238 more")."""
        return "; ".join(f"{len(ids):,} {why}: {first_few(ids, limit)}"
                         for why, ids in self.skipped().items())


def _by_code(codes_of_each: Iterable[Sequence[str]]) -> tuple[tuple[str, int], ...]:
    """Code -> how many carry it, the most frequent first (then by code)."""
    counts = Counter(code for codes in codes_of_each for code in codes)
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# Why a choice in the review left a new conversation out (``AddPlan.left_out``).
LEFT_OUT_REASONS = {
    "hidden": "hidden by the current filter (left out)",
    "flagged": "flagged with warnings that would harm training (left out)",
    "near": "nearly repeating a conversation already in the file or earlier in the "
            "selection (left out)",
    "samples": "of the app's sample conversations (left out)",
    "over_budget": "over the file's length limit (left out)",
}



def _added_reason(key: str, fits_lines: bool) -> str:
    """``LEFT_OUT_REASONS[key]`` for those added all the same; in a file that fits its
    lines, over the limit means a first reply alone is, and the line is written whole."""
    if key == "over_budget" and fits_lines:
        return "with a first reply longer than the file's length limit (added whole)"
    return LEFT_OUT_REASONS[key].removesuffix(" (left out)") + " (added)"


def over_budget_pks(library: Library, name: str | None, pks: Sequence[int],
                    progress: Progress | None = None,
                    cancelled: Callable[[], bool] | None = None,
                    fit: bool = False,
                    policy: CutOffPolicy | str = DEFAULT_POLICY,
                    budget: int | None = None) -> set[int]:
    """Conversations whose training line, as the file writes it under its cut-off
    ``policy``, is longer than the training file's ``max_seq_len`` (a new file's default
    when ``name`` is None): a trainer would cut them. Counts missing from the library are
    made now (``app.token_counts``), with progress. ``fit``: the file ends such lines at
    their last whole reply that fits (``app.budget_fit``), so only those whose first reply
    alone is too long stay over. ``budget``: the limit of a file about to be created with
    another than the default."""
    ids: dict[int, str] = {}
    with library.session() as session:
        for part in in_parts(pks):
            ids.update((pk, cid) for pk, cid in session.execute(
                select(Conversation.pk, Conversation.conversation_id)
                .where(Conversation.pk.in_(part))))
    limit = budget if budget is not None else max_seq_len_of(library, name)
    over = lines_over(library, list(ids.values()), limit,
                      policy=policy, fit=fit, progress=progress, cancelled=cancelled)
    if cancelled and cancelled():
        raise BuildCancelled()
    return {pk for pk, cid in ids.items() if cid in over}


def plan_addition(
    library: Library, name: str, conversation_ids: Sequence[str], *, create: bool = False,
    hidden: Collection[str] = (), cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
    over_budget: OverBudget | str = FOR_NEW_FILES, max_seq_len: int | None = None,
) -> AddPlan:
    """Work out what adding ``conversation_ids`` to ``name`` does; nothing is written.

    ``create``: ``name`` is a new file (the name is checked here, once), created with
    ``cut_off_policy``, ``over_budget`` and ``max_seq_len`` (None: the default) in its
    first build, so no second build sets them (a kill between left the wrong ones). ``hidden``: the
    ids the window's filter does not show, so the review can say so. Missing token counts
    are made here (the slow part: ``progress`` follows it, ``cancelled`` stops it).
    """
    if not conversation_ids:
        raise LibraryError("no conversations are checked: check the ones to add first")
    policy = _policy(cut_off_policy)
    setting = _over_budget(over_budget)
    name = check_new_name(library, name) if create else get_training_file(library, name).name
    wanted = list(dict.fromkeys(conversation_ids))
    # id -> (pk, trainable replies, content hash)
    facts: dict[str, tuple[int, int, str]] = {}
    with library.session() as session:
        for part in in_parts(wanted):
            facts.update((cid, (pk, replies, sha)) for cid, pk, replies, sha in
                         session.execute(
                select(Conversation.conversation_id, Conversation.pk,
                       Conversation.trainable_replies, Conversation.content_sha256)
                .where(Conversation.conversation_id.in_(part))))
    present: Collection[int] = ()
    if not create:  # only the asked-for rows are looked up, not the whole file
        with library.session() as session:
            row = _row(session, name)
            policy, setting = _policy(row.cut_off_policy), _over_budget(row.over_budget)
            present = _members_among(session, row.file_id,
                                     [facts[cid][0] for cid in wanted if cid in facts])
    candidates: list[str] = []
    already, missing, without_reply = [], [], []
    for cid in wanted:
        found = facts.get(cid)
        if found is None:
            missing.append(cid)
        elif found[0] in present:
            already.append(cid)
        elif found[1] == 0:
            without_reply.append(cid)
        else:
            candidates.append(cid)
    # The stored count is the policy's own: a conversation whose replies the file's policy
    # all leaves out would give no JSONL line (the digest has the counts per policy).
    digests = _digests(library, [facts[cid][0] for cid in candidates])
    trained = [item["policies"][policy.value]["trainable_replies"] > 0 for item in digests]
    new = [cid for cid, ok in zip(candidates, trained, strict=True) if ok]
    # The record's own quality warnings, as the header counts them (the row's codes also
    # hold the library's near-duplicate flag, which is no warning of the conversation's file)
    own = {cid: item["warning_codes"] for cid, item in zip(candidates, digests, strict=True)}
    new_pks = [facts[cid][0] for cid in new]
    untrainable = [cid for cid, ok in zip(candidates, trained, strict=True) if not ok]
    budget = (check_max_seq_len(max_seq_len if max_seq_len is not None else
                                DEFAULT_MAX_SEQ_LEN) if create else
              max_seq_len_of(library, name))
    over = over_budget_pks(library, None if create else name, new_pks, progress, cancelled,
                           fit=setting is OverBudget.FIT, policy=policy, budget=budget)
    try:
        near = near_on_add(library, None if create else name,
                           list(zip(new, new_pks, strict=True)), progress, cancelled)
    except NearCheckCancelled:
        raise BuildCancelled() from None
    samples = sample_hashes()
    left_out = left_out_counts([item for item, ok in zip(digests, trained, strict=True) if ok],
                               policy)
    hidden_set = set(hidden)
    return AddPlan(
        name=name, create=create, requested=len(wanted), new=tuple(new),
        new_pks=tuple(new_pks), already=tuple(already), missing=tuple(missing),
        without_reply=tuple(without_reply), untrainable=tuple(untrainable),
        hidden=frozenset(c for c in new if c in hidden_set),
        flagged=frozenset(c for c in new if harmful_warnings(own[c])),
        warned=tuple((c, tuple(own[c])) for c in new if own[c]),
        near_duplicates=near.near, near_check=near,
        over_budget=frozenset(c for c, pk in zip(new, new_pks, strict=True) if pk in over),
        samples=frozenset(c for c in new if facts[c][2] in samples),
        cut_off=frozenset(left_out),
        replies_left_out=sum(n for reasons in left_out.values() for n in reasons.values()),
        cut_off_policy=policy.value, over_budget_setting=setting.value, max_seq_len=budget,
    )


def apply_addition(
    library: Library, plan: AddPlan, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TrainingFileInfo:
    """Carry a plan out with one build: a new file is recorded only with its first complete
    build, so a cancelled, failed or killed request leaves no trace."""
    return apply_addition_counted(library, plan, progress, cancelled).info


@dataclass(frozen=True)
class Addition:
    info: TrainingFileInfo  # the file after the addition
    # How many of the plan's conversations it put in: the file's growth may hold another
    # member's (or window's) addition made meanwhile.
    added: int


def apply_addition_counted(
    library: Library, plan: AddPlan, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Addition:
    """``apply_addition``, with how many conversations of the plan it put in."""
    pks = _still_stored(library, plan.adding_pks)  # removed since the plan: left out
    if not pks:
        why = plan.skipped_text()
        raise LibraryError("nothing to add" + (f": {why}" if why else ""))
    with training_file_lock(library, plan.name):
        if plan.create:
            with _build_recorded(library, plan.name, CREATE_RECORD, count=len(pks)):
                _create_with(library, plan, pks, progress, cancelled)
            info = get_training_file(library, plan.name)
            return Addition(info, info.conversations)
        # The file may have changed since the plan: whatever is in it already is not added
        # twice; under the file's lock no other change to it runs meanwhile (team_locks).
        before = _plan_members(library, plan.name, pks)
        with _build_recorded(library, plan.name, ADD_RECORD, count=len(pks)):
            _change(library, plan.name, pks, (), progress, cancelled)
        return Addition(get_training_file(library, plan.name),
                        _plan_members(library, plan.name, pks) - before)


# What a build's ``app.running_work`` record says it was doing (``app.recovery``).
CREATE_RECORD = "create"
ADD_RECORD = "add"
SETTINGS_RECORD = "settings"


def _build_recorded(library: Library, name: str, change: str,
                    **facts: Any) -> contextlib.AbstractContextManager[None]:
    """A record of a build of ``name`` while it runs, with the file's revision before it
    (a kill before its switch leaves that revision: the change was not made)."""
    revision = None
    if change != CREATE_RECORD:
        with library.session() as session:
            revision = _row(session, name).revision
    return running(library.root, {"kind": "build", "change": change, "name": name,
                                  "revision": revision, **facts}, library.read_only)


def _plan_members(library: Library, name: str, pks: Sequence[int]) -> int:
    """How many of ``pks`` the file holds."""
    with library.session() as session:
        return len(_members_among(session, _row(session, name).file_id, pks))


def _create_with(library: Library, plan: AddPlan, pks: list[int], progress: Progress | None,
                 cancelled: Callable[[], bool] | None) -> None:
    """Create the plan's file with ``pks``; conversations another member removed from the
    library meanwhile are left out (its first build is made again without them)."""
    for _ in range(MEMBER_RETRIES):
        try:
            _build(library, None, plan.name, pks, progress=progress, cancelled=cancelled,
                   policy=_policy(plan.cut_off_policy),
                   over_budget=_over_budget(plan.over_budget_setting),
                   max_seq_len=plan.max_seq_len)
            return
        except ConversationsGone as gone:
            pks = [pk for pk in pks if pk not in gone.pks]
            if not pks:
                raise LibraryError(f"nothing to add to '{plan.name}': its conversations "
                                   "were removed from the library meanwhile") from None
    raise LibraryError(f"'{plan.name}' was not created: its conversations keep being "
                       "removed from the library meanwhile; try again")


def _still_stored(library: Library, pks: Sequence[int]) -> list[int]:
    """The row keys that are still in the library, in the order given."""
    present: set[int] = set()
    with library.session() as session:
        for part in in_parts(pks):
            present.update(session.scalars(select(Conversation.pk).where(
                Conversation.pk.in_(part))))
    return [pk for pk in pks if pk in present]


def add_conversations(
    library: Library,
    name: str,
    conversation_ids: Sequence[str],
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    create: bool = False,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    over_budget: OverBudget | str = FOR_NEW_FILES,
) -> TrainingFileInfo:
    """Plan and apply in one go: the new conversations are appended in the order given,
    those already in the file (or unusable) are skipped; see ``plan_addition``.
    ``cut_off_policy`` and ``over_budget`` apply to a file created here; an existing file
    keeps its own (see ``change_settings``)."""
    plan = plan_addition(library, name, conversation_ids, create=create,
                         cut_off_policy=cut_off_policy, over_budget=over_budget)
    return apply_addition(library, plan, progress=progress, cancelled=cancelled)


def remove_conversations(
    library: Library, name: str, conversation_ids: Sequence[str],
    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
) -> TrainingFileInfo:
    found = library.resolve_ids(conversation_ids)
    with training_file_lock(library, name):
        with library.session() as session:
            present = _members_among(session, _row(session, name).file_id,
                                     list(found.values()))
        absent = [cid for cid in conversation_ids if found.get(cid) not in present]
        if absent:
            raise LibraryError(f"not in '{name}': " + ", ".join(absent[:20]))
        _change(library, name, (), set(found.values()), progress, cancelled)
    return get_training_file(library, name)


def remove_member_pks(
    library: Library, name: str, pks: Collection[int], progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TrainingFileInfo:
    """Rebuild ``name`` without the given conversations (by row key); the others keep
    their order. Used before conversations leave the library."""
    with training_file_lock(library, name):
        _change(library, name, (), set(pks), progress, cancelled)
    return get_training_file(library, name)


def restore_members(
    library: Library, name: str, members: Sequence[int], updated_at: str,
    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
    verify: Callable[[Session], None] | None = None,
) -> TrainingFileInfo:
    """Rebuild ``name`` with exactly ``members`` (row keys, in this order) and the header
    date ``updated_at``: an undo putting the file back as it was (``app.member_undo``,
    which checks first, under this file's lock, that doing so is exact). ``verify`` runs
    in the transaction that switches the file, before it writes: it raises to change
    nothing (the check holds at the write, not only before the rendering)."""
    with training_file_lock(library, name):
        with library.session() as session:
            file_id = _row(session, name).file_id
        _build(library, file_id, name, list(members), progress, cancelled,
               updated_at=updated_at, verify=verify)
    return get_training_file(library, name)


def rename_training_file(
    library: Library, old: str, new: str, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TrainingFileInfo:
    new = check_name(new)
    # The new name's lock too: nobody creates or renames another file to the same name
    # meanwhile.
    with training_file_lock(library, old, new):
        with library.session() as session:
            row = _row(session, old)
            clash = session.scalar(select(TrainingFile)
                                   .where(TrainingFile.slug == new.casefold()))
            if clash is not None and clash.file_id != row.file_id:
                raise LibraryError(name_taken(clash.name))
        _rebuild(library, old, new_members=_member_pks(library, old), new_name=new,
                 progress=progress, cancelled=cancelled)
    return get_training_file(library, new)


def _policy(value: CutOffPolicy | str) -> CutOffPolicy:
    try:
        return parse_policy(str(value))
    except ValueError as exc:
        raise LibraryError(str(exc)) from None


def _over_budget(value: OverBudget | str) -> OverBudget:
    try:
        return parse_over_budget(str(value))
    except ValueError as exc:
        raise LibraryError(str(exc)) from None


def set_cut_off_policy(
    library: Library, name: str, cut_off_policy: CutOffPolicy | str,
    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
) -> TrainingFileInfo:
    """Change what the file does with cut-off turns; both files are rebuilt to match.

    A failed or cancelled rebuild leaves the previous policy and files in place.
    """
    return change_settings(library, name, cut_off_policy=cut_off_policy, progress=progress,
                           cancelled=cancelled)


def replies_left_out(
    library: Library, conversation_ids: Sequence[str], cut_off_policy: CutOffPolicy | str
) -> dict[str, dict[str, int]]:
    """For an add review: per conversation, the replies ``cut_off_policy`` would leave out,
    by reason (see ``app.cutoff.REASONS``). Conversations that lose none are not listed."""
    pks = list(library.row_keys(conversation_ids).values())
    return left_out_counts(_digests(library, pks), _policy(cut_off_policy))


def file_replies_left_out(library: Library, name: str) -> dict[str, dict[str, int]]:
    """For a training file's details: per member, the replies its policy leaves out."""
    with library.session() as session:
        policy = _row(session, name).cut_off_policy
    return left_out_counts(_digests(library, _member_pks(library, name)), policy)


def set_max_seq_len(
    library: Library, name: str, value: int, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TrainingFileInfo:
    """Change a file's maximum sequence length and rebuild it (its header reports it)."""
    return change_settings(library, name, max_seq_len=value, progress=progress,
                           cancelled=cancelled)


def change_settings(
    library: Library, name: str, *, cut_off_policy: CutOffPolicy | str | None = None,
    max_seq_len: int | None = None, over_budget: OverBudget | str | None = None,
    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
    unless: Callable[[TrainingFile], str | None] | None = None,
) -> TrainingFileInfo:
    """Change the file's cut-off policy, maximum sequence length and/or what happens to a
    line longer than it (``app.budget_fit``) with one rebuild.

    All are checked before anything changes; a failed or cancelled rebuild leaves the
    previous settings and files in place. ``unless``: asked of the file's row once the
    file is locked; a sentence from it is raised, and nothing changes (an undo that is no
    longer exact: ``app.settings_undo``).
    """
    policy = _policy(cut_off_policy) if cut_off_policy is not None else None
    value = check_max_seq_len(max_seq_len) if max_seq_len is not None else None
    setting = _over_budget(over_budget) if over_budget is not None else None
    with training_file_lock(library, name):
        with library.session() as session:  # one read of the row for both
            row = _row(session, name)
            why = unless(row) if unless is not None else None
            previous: tuple[int, str] = row.max_seq_len, row.over_budget
        if why is not None:
            raise LibraryError(why)
        # A kill before the switch: the next start puts ``previous`` back (app.recovery).
        with _build_recorded(library, name, SETTINGS_RECORD, max_seq_len=previous[0],
                             over_budget=previous[1]):
            if value is not None or setting is not None:
                with library.session() as session, session.begin():
                    row = _row(session, name)
                    row.max_seq_len = value if value is not None else row.max_seq_len
                    row.over_budget = (setting.value if setting is not None
                                       else row.over_budget)
            try:
                _rebuild(library, name, new_members=_member_pks(library, name),
                         progress=progress, cancelled=cancelled, new_policy=policy)
            except BaseException:
                if value is not None or setting is not None:
                    with library.session() as session, session.begin():
                        row = _row(session, name)
                        row.max_seq_len, row.over_budget = previous
                raise
    return get_training_file(library, name)


def delete_training_file(library: Library, name: str,
                         before: Callable[[Session, TrainingFile], None] | None = None) -> None:
    """Delete the file, its members and the fragments only it used, in one transaction;
    ``before`` reads what it needs (``app.file_undo``) in that transaction first."""
    with training_file_lock(library, name), library.session() as session, session.begin():
        row = _row(session, name)
        if before is not None:
            before(session, row)
        old_files = [row.json_file, row.jsonl_file]
        keys = list(session.scalars(select(Member.fragment_key)
                                    .where(Member.file_id == row.file_id)))
        session.delete(row)
        session.flush()
        drop_unreferenced(session, [k for k in keys if k])
    _remove_build(library, old_files)  # files of a build from before v6


def _member_pks(library: Library, name: str) -> list[int]:
    with library.session() as session:
        row = _row(session, name)
        return list(session.scalars(
            select(Member.conversation_pk).where(Member.file_id == row.file_id)
            .order_by(Member.position)
        ))


def member_digests(library: Library, name: str) -> list[Digest]:
    """The file's members' stored digests, in order (each policy's counts among them)."""
    return _digests(library, _member_pks(library, name))


def _digests(library: Library, pks: Sequence[int]) -> list[Digest]:
    """The members' stored digests, in order (see ``_read_members``)."""
    return _read_members(library, pks)[0]


def _state_rows(session: Session, pks: Sequence[int]) -> Iterator[tuple[int, MemberState]]:
    """The stored state of each conversation in ``pks`` that is in the library, a part of
    the keys a query (``app.key_parts``)."""
    for part in in_parts(pks):
        for pk, blob, batch, reviewer, content, at in session.execute(
            select(Conversation.pk, Conversation.digest, Conversation.batch_id,
                   Conversation.reviewed_by, Conversation.content_sha256,
                   Conversation.reviewed_at)
            .where(Conversation.pk.in_(part))
        ):
            yield pk, MemberState(blob, batch, reviewer, content, at)


def _member_states(library: Library, pks: Sequence[int]) -> dict[int, MemberState]:
    """The stored state of each conversation in ``pks`` that is in the library."""
    with library.session() as session:
        return dict(_state_rows(session, pks))


def _changed_since_read(session: Session, read: Mapping[int, MemberState]) -> bool:
    """Whether any of the conversations ``read`` (row key → state as a build read it) has
    been replaced, moved to another batch or marked since: a change the build may have
    missed, as it read the state before the record and renders from what it read."""
    return any(read[pk].rendered != now.rendered
               for pk, now in _state_rows(session, list(read)))


def _read_members(library: Library, pks: Sequence[int],
                  found: Mapping[int, MemberState] | None = None,
                  ) -> tuple[list[Digest], list[MemberState]]:
    """Per member, in order: its digest (batch and review mark overlaid), and the stored
    state its rendering depends on (``found``: already read).

    A digest stored by an older version (without the per-policy counts) is made again
    from its record and stored back; the state keeps the digest as it was read."""
    if found is None:
        found = _member_states(library, pks)
    states = [found[pk] for pk in pks]
    digests = [state.parsed() for state in states]
    stale = [i for i, item in enumerate(digests) if "policies" not in item]
    if stale:
        stale_pks = [pks[i] for i in stale]
        refreshed = {pk: digest_of(summarise(record)) for pk, record
                     in zip(stale_pks, library.records_by_pk(stale_pks), strict=True)}
        if not library.read_only:
            with library.session() as session, session.begin():
                session.execute(update(Conversation), [
                    {"pk": pk, "digest": orjson.dumps(item)} for pk, item in refreshed.items()])
                # Other files holding them: their bytes stay right, their totals not.
                forget_totals(session, list(refreshed), rebuild_due=False)
        for i, pk in zip(stale, stale_pks, strict=True):
            item = refreshed[pk]
            item["batch_id"] = states[i].batch
            item["human_reviewed"] = is_reviewed(item["human_reviewed"], states[i].reviewer)
            digests[i] = item
    return digests, states


def _store_members(session: Session, file_id: int, new_members: list[int],
                   keys: list[str]) -> set[str]:
    """Make the membership rows say ``new_members``, in order, each with its fragment key;
    return the keys the rows named before.

    Positions only order the rows (gaps are fine), so the usual changes touch only what
    changed: a removal deletes its rows and an append adds rows after the last one. Any
    other change (a new order) rewrites them all.
    """
    old = session.execute(select(Member.conversation_pk, Member.position, Member.fragment_key)
                          .where(Member.file_id == file_id).order_by(Member.position)).all()
    old_keys = {key for _, _, key in old if key}
    key_of = dict(zip(new_members, keys, strict=True))
    wanted = set(new_members)
    kept = [pk for pk, _, _ in old if pk in wanted]
    if kept != new_members[: len(kept)]:
        session.execute(delete(Member).where(Member.file_id == file_id))
        old, kept = [], []
    gone = [pk for pk, _, _ in old if pk not in wanted]
    for part in in_parts(gone):
        session.execute(delete(Member).where(Member.file_id == file_id,
                                             Member.conversation_pk.in_(part)))
    changed = [{"file_id": file_id, "conversation_pk": pk, "fragment_key": key_of[pk]}
               for pk, _, key in old if pk in wanted and key != key_of[pk]]
    if changed:
        session.execute(update(Member), changed)
    after = max((position for _, position, _ in old), default=-1) + 1
    added = new_members[len(kept):]
    _insert_members(session, [
        {"file_id": file_id, "conversation_pk": pk, "position": after + i,
         "fragment_key": key_of[pk]} for i, pk in enumerate(added)])
    return old_keys


class ConversationsGone(LibraryError):
    """Conversations written into a file at its switch were removed from the library by
    another member meanwhile (a team library): the change is made again without them."""

    def __init__(self, pks: Collection[int]) -> None:
        super().__init__(f"{plural(len(pks), 'conversation')} "
                         f"{agreeing(len(pks), 'was', 'were')} removed from the library "
                         "meanwhile")
        self.pks = frozenset(pks)


MEMBER_RETRIES = 3  # builds again without conversations removed meanwhile, at most


def _insert_members(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert member rows. On a team library a conversation another member deleted before
    this switch fails its foreign key: ``ConversationsGone`` then names the ones gone
    (checked in a savepoint, so nothing is left half-written)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(Member), rows)  # one writer: nothing is deleted meanwhile
        return
    try:
        with session.begin_nested():
            session.execute(insert(Member), rows)
    except IntegrityError:
        pks = [int(row["conversation_pk"]) for row in rows]
        present: set[int] = set()
        for part in in_parts(pks):
            present.update(session.scalars(select(Conversation.pk).where(
                Conversation.pk.in_(part))))
        gone = [pk for pk in pks if pk not in present]
        if not gone:
            raise
        raise ConversationsGone(gone) from None


def _rebuild(
    library: Library,
    name: str,
    new_members: list[int],
    new_name: str | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    new_policy: CutOffPolicy | None = None,
) -> None:
    with library.session() as session:
        file_id = _row(session, name).file_id
    _build(library, file_id, new_name or name, new_members, progress, cancelled, new_policy)


# Marks in build folders of libraries from before v6 (builds were files on disk then).
BUILDING = ".building"  # in a build folder until the database points at it
DELETED = ".deleted"  # in the folder of a training file being deleted
SPILL_BYTES = 64 << 20  # fragments rendered beyond this are stored before the switch


def _unmark(folder: Path, marker: str) -> None:
    with contextlib.suppress(OSError):
        (folder / marker).unlink()


def _on_disk(library: Library) -> list[tuple[Path, int, int]]:
    """Build folders present (from before v6): (folder, file id, revision)."""
    if not library.files_dir.is_dir():
        return []
    found = []
    for path in library.files_dir.iterdir():
        match = BUILD_FOLDER.match(path.name)
        if match and path.is_dir():
            found.append((path, int(match["file_id"]), int(match["revision"])))
    return found


@dataclass
class _Spill:
    """Fragments rendered for a build, held until the switch unless there are too many.

    Too many are stored before the switch by a thread of their own while the build renders
    on: storing them is mostly SQLite writing and a WAL checkpoint, which let go of the
    interpreter, so on two cores it takes next to no time off the rendering (it was a
    fifth of a large first build's wait). At most one batch is being stored at a time, and
    a batch is half of ``SPILL_BYTES``, so the two together hold no more than one did.
    ``settled`` before the switch: the switch's transaction waits for none of it."""

    held: list[Fragment]
    size: int = 0
    stored_early: list[str] | None = None  # keys stored (or being stored) before the switch
    storing: Future[None] | None = None
    writer: ThreadPoolExecutor | None = None

    def add(self, library: Library, fragment: Fragment) -> None:
        self.held.append(fragment)
        self.size += len(fragment.json) + len(fragment.jsonl)
        if self.size > SPILL_BYTES // 2:
            self._wait()  # one batch in flight at most: memory stays bounded
            batch, self.held, self.size = self.held, [], 0
            self.stored_early = [*(self.stored_early or []), *(f.key for f in batch)]
            if self.writer is None:
                self.writer = ThreadPoolExecutor(1, thread_name_prefix="build-spill")
            self.storing = self.writer.submit(_store_early, library, batch)

    def _wait(self) -> None:
        storing, self.storing = self.storing, None
        if storing is not None:
            storing.result()  # a failure to store is the build's failure

    def settled(self) -> None:
        """Every batch stored (its error raised here), the thread gone."""
        try:
            self._wait()
        finally:
            if self.writer is not None:
                self.writer.shutdown()
                self.writer = None

    def take_back(self, library: Library) -> None:
        """After a failed build: the fragments it stored early that nothing uses (once
        the batch being stored is in, so none lands after the clean-up)."""
        with contextlib.suppress(Exception):
            self.settled()
        if self.stored_early:
            with contextlib.suppress(Exception), library.session() as session, \
                    session.begin():
                drop_unreferenced(session, self.stored_early)


def _store_early(library: Library, fragments: list[Fragment]) -> None:
    """One batch of ``_Spill``'s, in its own transaction (its thread's own connection)."""
    with library.session() as session, session.begin():
        save_fragments(session, fragments)


def _build(
    library: Library,
    file_id: int | None,
    final_name: str,
    new_members: list[int],
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    policy: CutOffPolicy | None = None,
    reuse: bool = True,
    keep_updated_at: bool = False,
    updated_at: str | None = None,
    verify: Callable[[Session], None] | None = None,
    over_budget: OverBudget = FOR_NEW_FILES,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
) -> int:
    """Render what is missing and switch the file to its new build in one transaction;
    return how many conversations were rendered.

    ``file_id`` None creates the training file: its row and members are written in the
    same transaction as its first build, so an interrupted creation leaves nothing.
    Without ``reuse`` every conversation is rendered again and its stored fragment
    replaced. ``keep_updated_at``: the header keeps its date (moving a build from files
    into the database changes nothing a person made); ``updated_at``: the date the header
    says instead (an undo puts back the date from before the change it undoes);
    ``verify``: run in the switch's transaction before it writes (see ``restore_members``);
    ``over_budget``, ``max_seq_len``: the settings of a file created here (an existing
    file keeps its own).
    """
    with collector_paused(), fragments_in_use(library):
        return _switch_to_new_build(library, file_id, final_name, new_members, progress,
                                    cancelled, policy, reuse, keep_updated_at,
                                    updated_at=updated_at, verify=verify,
                                    over_budget=over_budget, max_seq_len=max_seq_len)


def next_file_id(library: Library, session: Session) -> int:
    """A new file's id: the next free one (of the database's and of build folders from
    before v6). Taken in the switch's transaction, under the creation lock on a team
    library (``app.team_locks``), so two files created at once get two ids."""
    lock_in_transaction(session, CREATING_FILES)
    known = session.scalar(select(func.max(TrainingFile.file_id))) or 0
    return max([known, *(f for _, f, _ in _on_disk(library))]) + 1


class _NoDelta(Exception):
    """The stored totals do not hold what a delta subtracts: read the whole file."""


class _ChangedBeforeRendering(Exception):
    """A conversation was replaced, moved or marked after the build read the state its
    fragment key is made from, before its record was read to render: the rendering would
    be stored under the old state's key. The build starts again from the states."""


def _records_as_keyed(library: Library, pks: Sequence[int],
                      states: Mapping[int, MemberState]) -> Iterator[dict[str, Any]]:
    """The records of ``pks`` to render, each checked against the state its key was made
    from (``_ChangedBeforeRendering``)."""
    try:
        for pk, (record, now) in zip(pks, library.records_with_states(pks), strict=True):
            if states[pk].rendered != now:
                raise _ChangedBeforeRendering()
            yield record
    except RecordsGone as gone:  # the build is made again without them
        raise ConversationsGone(gone.pks) from None


@dataclass
class _Target:
    """The file a build writes, and the settings it is rendered with."""

    file_id: int
    name: str
    creating: bool
    revision: int
    created_at: str
    updated_at: str
    policy: CutOffPolicy
    max_seq_len: int
    old_files: list[str | None]
    # The file's ``changes`` as read before its members were: what the build pays
    # (``app.stored_builds.OWED``); a change counted after that stays owed.
    changes: int = 0
    over_budget: OverBudget = FOR_EARLIER_FILES  # what a line over max_seq_len becomes

    @property
    def fit_budget(self) -> int | None:
        """The budget lines are fitted to (None: written whole)."""
        return budget_of(self.over_budget, self.max_seq_len)


def _switch_to_new_build(
    library: Library,
    file_id: int | None,
    final_name: str,
    new_members: list[int],
    progress: Progress | None,
    cancelled: Callable[[], bool] | None,
    policy: CutOffPolicy | None,
    reuse: bool,
    keep_updated_at: bool,
    use_totals: bool = True,
    tries: int = MEMBER_RETRIES,
    updated_at: str | None = None,
    verify: Callable[[Session], None] | None = None,
    over_budget: OverBudget = FOR_NEW_FILES,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
) -> int:
    """``_build``'s work, with the cycle collector paused around it (``tries``: builds
    started again after a conversation changed under it, at most)."""
    previous: list[tuple[int, str | None]] | None = None
    states: dict[int, MemberState] = {}
    stored_totals: StoredTotals | None = None
    guard = ""
    with library.session() as session:
        if file_id is None:  # its id is taken at the switch (``next_file_id``)
            created_at = now_iso()
            target = _Target(0, final_name, True, 1, created_at, created_at,
                             policy or DEFAULT_POLICY, max_seq_len, [None, None],
                             over_budget=over_budget)
        else:
            current = session.get(TrainingFile, file_id)
            if current is None:
                raise LibraryError(f"the training file '{final_name}' was deleted meanwhile")
            target = _target(library, current, final_name, policy, keep_updated_at)
            if updated_at is not None:
                target.updated_at = updated_at
            if reuse and current.head is not None:
                previous, states = _members_with_states(session, file_id)
                if use_totals and not owes_a_rebuild(current):  # else: read them all
                    stored_totals = _stored_totals(current.totals)
                    guard = member_guard(session, file_id)
    # Everything a conversation's fragments depend on (app.fragments): the file's settings,
    # the conversation's stored state, and whether its profile is written with it (that
    # changes when most of the file's conversations come to use another profile).
    counter = counter_for(library)  # its basis names the tokenizer and template
    settings = _settings(target, counter.basis)
    wanted = set(new_members)
    if len(wanted) != len(new_members):
        raise LibraryError(f"a conversation is listed twice in '{final_name}'")
    old_key = dict(previous or [])
    removed = [(pk, key) for pk, key in previous or [] if pk not in wanted]
    states.update(_member_states(library, [pk for pk in new_members if pk not in states]))
    delta = None
    if previous is not None:
        delta = plan_delta(stored_totals, guard, settings,
                           [pk for pk in new_members if pk not in old_key], removed, states,
                           kept=[(pk, old_key[pk]) for pk in new_members if pk in old_key])
    stored: dict[str, StoredFragment] = {}
    digests: list[Digest] = []  # every member's: read only when there is no delta
    if delta is not None:
        keys = [delta.added[pk][1] if pk in delta.added else str(old_key[pk])
                for pk in new_members]
        shared_hash = delta.shared_hash
        with library.session() as session:
            stored = find_fragments(session, [*(k for _, k in delta.added.values()),
                                              *(k for _, k in delta.removed)])
    else:
        digests, member_states = _read_members(library, new_members, states)
        shared_hash = shared_profile_hash(digests)
        keys = [full_key(state.key(settings, pk), item["profile_hash"], shared_hash)
                for pk, state, item in zip(new_members, member_states, digests, strict=True)]
        if reuse:
            with library.session() as session:
                if file_id is not None:
                    stored = file_fragments(session, file_id)
                stored.update(find_fragments(session, [k for k in keys if k not in stored]))

    def totals_of(part_of: PartOf) -> FileTotals:
        if delta is None:
            return FileTotals.of(contribution(item, target.policy.value, *part_of(key))
                                 for item, key in zip(digests, keys, strict=True))
        assert stored_totals is not None  # a delta is planned from stored totals only
        totals = delta_totals(stored_totals.totals, delta, target.policy.value, part_of)
        if totals is None:
            raise _NoDelta()
        return totals

    def write_members(session: Session) -> tuple[set[str], str]:
        old_keys = _store_members(session, target.file_id, new_members, keys)
        return old_keys - set(keys), guard_of(len(new_members), sum(new_members))

    if delta is None:
        render = [(pk, key) for pk, key in zip(new_members, keys, strict=True)
                  if key not in stored]
    else:  # the kept members' fragments are stored: they were just checked
        render = [(pk, key) for pk, (_, key) in delta.added.items() if key not in stored]
    try:
        return _finish(library, target, settings, counter, len(new_members), render,
                       stored, shared_hash, totals_of, write_members, progress, cancelled,
                       states, [pk for pk in new_members if pk not in old_key and pk in states],
                       verify)
    except _NoDelta:
        return _switch_to_new_build(library, file_id, final_name, new_members, progress,
                                    cancelled, policy, reuse, keep_updated_at, False, tries,
                                    updated_at, verify, target.over_budget,
                                    target.max_seq_len)
    except _ChangedBeforeRendering:
        if tries <= 1:
            raise LibraryError(
                f"'{final_name}' was not built: its conversations keep being replaced, moved "
                "or marked reviewed meanwhile; try again once that work is done") from None
        return _switch_to_new_build(library, file_id, final_name, new_members, progress,
                                    cancelled, policy, reuse, keep_updated_at, use_totals,
                                    tries - 1, updated_at, verify, target.over_budget,
                                    target.max_seq_len)


# a fragment's (line tokens, json size, jsonl size, what its line left out to fit)
PartOf = Callable[[str], tuple[tuple[int, ...], int, int, tuple[int, int]]]


def _target(library: Library, current: TrainingFile, final_name: str,
            policy: CutOffPolicy | None, keep_updated_at: bool) -> _Target:
    taken = [r for _, f, r in _on_disk(library) if f == current.file_id]
    return _Target(current.file_id, final_name, False, max([current.revision, *taken]) + 1,
                   current.created_at,
                   current.updated_at if keep_updated_at else now_iso(),
                   policy or _policy(current.cut_off_policy), current.max_seq_len,
                   [current.json_file, current.jsonl_file], current.changes,
                   _over_budget(current.over_budget))


def _settings(target: _Target, basis: object) -> str:
    """The settings part of every fragment key of the file (``app.fragments``)."""
    return settings_key(target.name, target.policy.value, target.max_seq_len, FORMAT_VERSION,
                        basis, target.over_budget.value)


def _stored_totals(data: bytes | None) -> StoredTotals | None:
    """A file's stored totals (None: none, or unreadable; a build then reads every member)."""
    return StoredTotals.loads(data)


def _finish(
    library: Library, target: _Target, settings: str, counter: TokenCounter, count: int,
    render: list[tuple[int, str]], stored: dict[str, StoredFragment],
    shared_hash: str | None,
    totals_of: Callable[[PartOf], FileTotals],
    write_members: Callable[[Session], tuple[set[str], str]],
    progress: Progress | None, cancelled: Callable[[], bool] | None,
    states: Mapping[int, MemberState], added: Collection[int],
    verify: Callable[[Session], None] | None = None,
) -> int:
    """Render ``render`` (row key, fragment key), make the header from the totals and
    switch the file (of ``count`` members) to the new build in one transaction
    (``write_members`` writes the member rows and returns the fragment keys no longer
    used and the rows' ``member_guard``); return how many were rendered. ``states``: the
    state this build read of each conversation it renders or adds; ``added``: those it
    adds to the file; ``verify``: run first in that transaction (it raises to write nothing)."""
    spill = _Spill([])
    try:
        for fragment in render_fragments(
                _records_as_keyed(library, [pk for pk, _ in render], states),
                [key for _, key in render], name=target.name, shared_hash=shared_hash,
                cut_off_policy=target.policy, counter=counter, cache=library_cache(library),
                progress=progress, cancelled=cancelled, fit_budget=target.fit_budget):
            stored[fragment.key] = StoredFragment(fragment.tokens, len(fragment.json),
                                                  len(fragment.jsonl), fragment.fitted)
            spill.add(library, fragment)
        spill.settled()
        if cancelled and cancelled():
            raise BuildCancelled()

        def part_of(key: str) -> tuple[tuple[int, ...], int, int, tuple[int, int]]:
            part = stored[key]
            return part.tokens, part.json_size, part.jsonl_size, part.fitted

        totals = totals_of(part_of)
        head = header_of(target.name, totals, created_at=target.created_at,
                         updated_at=target.updated_at, jsonl_name=f"{target.name}.jsonl",
                         cut_off_policy=target.policy, counter=counter,
                         max_seq_len=target.max_seq_len, over_budget=target.over_budget)
        head_data = head_bytes(head, library.profile(shared_hash) if shared_hash else None)
        with library.session() as session, session.begin():
            # No conversation is deleted from the library between this switch writing it
            # into the file and the commit (``app.removal`` takes the lock alone).
            lock_in_transaction(session, REMOVING, shared=True)
            if verify is not None:
                verify(session)
            save_fragments(session, spill.held)
            if target.creating:
                if session.scalar(select(TrainingFile.file_id)
                                  .where(TrainingFile.slug == target.name.casefold())):
                    raise LibraryError(name_taken(target.name))
                target.file_id = next_file_id(library, session)
                row = TrainingFile(file_id=target.file_id, created_at=target.created_at,
                                   max_seq_len=target.max_seq_len)
                session.add(row)
            else:
                existing = session.get(TrainingFile, target.file_id)
                if existing is None:
                    raise LibraryError(f"the training file '{target.name}' was deleted "
                                       "meanwhile")
                row = existing
            row.name, row.slug = target.name, target.name.casefold()
            row.revision, row.updated_at = target.revision, target.updated_at
            row.json_file = row.jsonl_file = None
            row.head = head_data
            row.conversations = count
            row.trainable_replies = head["totals"]["trainable_replies"]
            row.estimated_tokens = head["totals"]["estimated_tokens"]
            row.json_bytes = full_json_size_of(len(head_data), totals.n("json_size"), count)
            row.jsonl_bytes = totals.n("jsonl_size")
            row.json_sha256 = row.jsonl_sha256 = None  # stored below, if anyone asks
            row.header = orjson.dumps(head)
            row.cut_off_policy = target.policy.value
            row.over_budget = target.over_budget.value
            session.flush()
            unused, guard = write_members(session)
            row.totals = StoredTotals(totals, settings, shared_hash, guard).dumps()
            # Paid up to the changes counted before this build read its members; one
            # counted since (another member's) stays owed, and its totals untrusted.
            row.changes_built = max(row.changes_built or 0, target.changes)
            if _changed_since_read(session, {pk: states[pk] for pk in added}):
                # Changed by another window's job or team member after this build read
                # it: the file did not hold it then, so nothing counted the change for it.
                row.changes = TrainingFile.changes + 1
            drop_unreferenced(session, unused)
    except BaseException:
        spill.take_back(library)
        raise
    _remove_build(library, target.old_files)  # a build from before v6, now in the database
    # Read through once more, here rather than on the window's thread (a kill meanwhile
    # leaves them to be made when a saved copy needs them).
    hash_for_saved_copies(library.engine, library.session, target.file_id, target.name)
    return len(render)


def _change(library: Library, name: str, add: Sequence[int], remove: Collection[int],
            progress: Progress | None, cancelled: Callable[[], bool] | None) -> None:
    """Append ``add`` (those not in the file yet, in order) and drop ``remove``: only the
    conversations changed are read and rendered when the file's stored totals allow
    (``app.build_delta``), else the whole member list is built as any change is.
    Conversations another member removed from the library meanwhile are left out."""
    for _ in range(MEMBER_RETRIES):
        try:
            with fragments_in_use(library):
                _change_once(library, name, add, remove, progress, cancelled)
            return
        except ConversationsGone as gone:
            add = [pk for pk in add if pk not in gone.pks]
    raise LibraryError(f"'{name}' was not changed: the conversations to add keep being "
                       "removed from the library meanwhile; try again")


def _change_once(library: Library, name: str, add: Sequence[int], remove: Collection[int],
                 progress: Progress | None, cancelled: Callable[[], bool] | None) -> None:
    with collector_paused():
        if _change_by_delta(library, name, list(dict.fromkeys(add)), set(remove), progress,
                            cancelled):
            return
    current = _member_pks(library, name)
    present = set(current)
    _rebuild(library, name, new_members=[pk for pk in current if pk not in remove]
             + [pk for pk in dict.fromkeys(add) if pk not in present],
             progress=progress, cancelled=cancelled)


def _change_by_delta(library: Library, name: str, add: list[int], remove: set[int],
                     progress: Progress | None, cancelled: Callable[[], bool] | None) -> bool:
    """``_change`` reading only the conversations it changes; False (nothing written)
    when the stored totals cannot be trusted for it."""
    with library.session() as session:
        current = _row(session, name)
        stored_totals = _stored_totals(current.totals)
        if current.head is None or stored_totals is None or owes_a_rebuild(current):
            return False
        target = _target(library, current, current.name, None, False)
        guard = member_guard(session, target.file_id)
        present = _members_among(session, target.file_id, [*add, *remove])
    counter = counter_for(library)
    settings = _settings(target, counter.basis)
    added = [pk for pk in add if pk not in present and pk not in remove]
    removed = [(pk, present[pk]) for pk in sorted(remove) if pk in present]
    states = _member_states(library, [*added, *(pk for pk, _ in removed)])
    delta = plan_delta(stored_totals, guard, settings, added, removed, states)
    if delta is None:
        return False
    with library.session() as session:
        stored = find_fragments(session, [*(k for _, k in delta.added.values()),
                                          *(k for _, k in delta.removed)])

    def totals_of(part_of: PartOf) -> FileTotals:
        totals = delta_totals(stored_totals.totals, delta, target.policy.value, part_of)
        if totals is None:
            raise _NoDelta()
        return totals

    count, pk_sum = map(int, guard.split(":"))
    gone = [pk for pk, _ in removed]
    count += len(added) - len(gone)

    def write_members(session: Session) -> tuple[set[str], str]:
        if member_guard(session, target.file_id) != guard:
            raise LibraryError(f"the training file '{target.name}' changed meanwhile; "
                               "try again")
        for part in in_parts(gone):
            session.execute(delete(Member).where(
                Member.file_id == target.file_id,
                Member.conversation_pk.in_(part)))
        if added:
            after = last_position(session, target.file_id) + 1
            _insert_members(session, [
                {"file_id": target.file_id, "conversation_pk": pk, "position": after + i,
                 "fragment_key": delta.added[pk][1]} for i, pk in enumerate(added)])
        return ({key for _, key in delta.removed},
                guard_of(count, pk_sum + sum(added) - sum(gone)))

    try:
        _finish(library, target, settings, counter, count,
                [(pk, key) for pk, (_, key) in delta.added.items() if key not in stored],
                stored, delta.shared_hash, totals_of, write_members, progress, cancelled,
                states, [pk for pk in added if pk in states])
    except (_NoDelta, _ChangedBeforeRendering):  # the full way reads every state again
        return False
    return True


def _members_among(session: Session, file_id: int, pks: Sequence[int]) -> dict[int, str | None]:
    """Those of ``pks`` that are members of the file, with their fragment keys."""
    found: dict[int, str | None] = {}
    wanted = list(dict.fromkeys(pks))
    for part in in_parts(wanted):
        found.update((pk, key) for pk, key in session.execute(
            select(Member.conversation_pk, Member.fragment_key).where(
                Member.file_id == file_id,
                Member.conversation_pk.in_(part))))
    return found


def _members_with_states(session: Session, file_id: int
                         ) -> tuple[list[tuple[int, str | None]], dict[int, MemberState]]:
    """The file's member rows in order, (row key, fragment key), and each member's stored
    state, in one query (no list of row keys sent back to the database)."""
    members: list[tuple[int, str | None]] = []
    states: dict[int, MemberState] = {}
    for pk, key, blob, batch, reviewer, content, at in session.execute(
            select(Member.conversation_pk, Member.fragment_key, Conversation.digest,
                   Conversation.batch_id, Conversation.reviewed_by,
                   Conversation.content_sha256, Conversation.reviewed_at)
            .join(Conversation, Conversation.pk == Member.conversation_pk)
            .where(Member.file_id == file_id).order_by(Member.position)):
        members.append((pk, key))
        states[pk] = MemberState(blob, batch, reviewer, content, at)
    return members, states


def _build_folders(library: Library, files: Sequence[str | None]) -> set[Path]:
    folders = {(library.files_dir / r).parent for r in files if r}
    return {f for f in folders if f != library.files_dir and BUILD_FOLDER.match(f.name)}




def _remove_build(library: Library, files: Sequence[str | None]) -> None:
    """Delete a superseded build: its two files and the revision folder holding them."""
    for relative in files:
        if relative:
            with contextlib.suppress(OSError):
                (library.files_dir / relative).unlink()
    for folder in _build_folders(library, files):
        shutil.rmtree(folder, ignore_errors=True)


def remove_orphan_files(library: Library) -> list[Path]:
    """Delete the build folders the database positively knows to be left over.

    That is: a folder still marked as an unfinished build or as deleted, or an older
    revision of a training file the database has moved past. A folder the database does
    not know (a lost or restored database, a folder copied in) is left alone, and so is
    anything not named like our builds.
    """
    with library.session() as session:
        rows = session.execute(
            select(TrainingFile.file_id, TrainingFile.revision, TrainingFile.json_file)).all()
    revisions = {file_id: revision for file_id, revision, _ in rows}
    current = {(library.files_dir / json_file).parent for _, _, json_file in rows if json_file}
    removed = []
    for folder, file_id, revision in sorted(_on_disk(library)):
        if folder in current:
            _unmark(folder, BUILDING)  # the switch happened; the process died just after
            _unmark(folder, DELETED)  # the delete did not happen
            continue
        marked = (folder / BUILDING).exists() or (folder / DELETED).exists()
        if marked or revision < revisions.get(file_id, -1):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
