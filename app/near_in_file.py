"""Near-duplicates within one training file, asked before an add.

The library flags a conversation ``near_duplicate`` when it was imported after a very
similar one (``app.similar.is_near``: most sentences the same, or a shorter copy of it or
one that holds it): a relation to other conversations of the library, not a quality warning
of the conversation's own file, and one that says nothing about a given training file (its
twin may be in no file at all). What matters for training is whether a training file would
hold two near-identical lines, or a shorter copy beside its original, which would give one
conversation's replies extra weight. This module answers that for an add: which of the new
conversations nearly repeat one already in the file or one earlier in the same request (the
first of each group is never one of them). Each question stops at the first near one
(``NearOnAdd``), and compares only with conversations that share one of its smallest
sentence hashes; of a hash that many hold (a stock line of every client's), only with a
few and with those that share more of its sentences (``NearIndex``), so that a file of
thousands of different dialogues that all say "Thank you so much." is not compared pair by
pair.

The same check answers it for a file as it stands (``near_members``): its members asked in
file order as if added to an empty file, so each one that nearly repeats an earlier member
is counted once, and leaving those out keeps one of each group and no two near ones.
"""

from __future__ import annotations

from array import array
from bisect import insort
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import select

from app.key_parts import in_parts
from app.library import Library
from app.models import Conversation, Member, TrainingFile
from app.similar import COMMON_BUCKET, INDEXED, Unpacked, any_near, first_near, unpack

PROGRESS_EVERY = 100  # conversations between two progress reports
Progress = Callable[[int, int, str], None]  # done, total, what (as ``app.build.Progress``)
# The hash of the empty piece after a dialogue's final full stop (or inside an ellipsis),
# which versions before ``app.stored_sketches`` sketched: not a sentence, and the smallest
# hash there is, so it leads almost every sketch they stored. Looked up like a sentence it
# would make every member a candidate of every new conversation. Today's sketches never
# hold it, and the one-time pass sketches the stored ones again, but a library whose pass
# was cancelled (or failed) at start opens as it is: until the pass has run, the review
# still meets it.
EMPTY_PIECE = 0
# Uncommon sentence hashes a conversation under a crowded key must share with the one asked
# about to be compared with it (``NearIndex``): one could be chance, a near one shares many.
MORE_SHARED = 2
# Of each sketch, this many smallest hashes are looked up for that (all of the one asked
# about are): half the memory of all 64, and a near one still shares many of them.
DEEP = 32


def lookup_keys(sketch: bytes) -> list[int]:
    """The ``INDEXED`` smallest sentence hashes of a sketch, the empty piece of a sketch
    stored by an older version left out."""
    return [key for key in unpack(sketch)[:INDEXED + 1] if key != EMPTY_PIECE][:INDEXED]


def _file_sketches(library: Library, name: str) -> list[tuple[str, bytes]]:
    """The file's members' dialogue sketches (members stored without one are left out)."""
    with library.session() as session:
        return [(cid, sketch) for cid, sketch in session.execute(
            select(Conversation.conversation_id, Conversation.dialogue_sketch)
            .join(Member, Member.conversation_pk == Conversation.pk)
            .join(TrainingFile, TrainingFile.file_id == Member.file_id)
            .where(TrainingFile.name == name)) if sketch]


# Training file name -> its members' (id, sketch), as ``_file_sketches`` read them.
MemberSketches = dict[str, list[tuple[str, bytes]]]


def _members_sketches(library: Library, name: str | None,
                      read: MemberSketches | None) -> list[tuple[str, bytes]]:
    """The file's members' sketches (none for a new file): from ``read`` when there,
    else read from the library (and kept in ``read``)."""
    if name is None:
        return []
    if read is None:
        return _file_sketches(library, name)
    if name not in read:
        read[name] = _file_sketches(library, name)
    return read[name]


def _sketches_of(library: Library, pks: Sequence[int]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    with library.session() as session:
        for part in in_parts(pks):
            found.update((pk, sketch) for pk, sketch in session.execute(
                select(Conversation.pk, Conversation.dialogue_sketch)
                .where(Conversation.pk.in_(part))) if sketch)
    return found


class NearCheckCancelled(Exception):
    """The person cancelled the near-duplicate check of an add."""


class NearIndex:
    """The conversations asked about so far, found by the sentence hashes they share with
    the one asked about next.

    Each is indexed under its ``lookup_keys``; a conversation's candidates are the ones
    sharing one of its keys, in the order of its keys and, under a key, in the order
    indexed. A key that leads to more than ``COMMON_BUCKET`` of them is a common sentence
    (a stock greeting or thanks whose hash happens to be small): walked in full it made every
    conversation a candidate of every later one, whose comparisons grew with the square of
    the file. Of such a key only the first ``COMMON_BUCKET`` are candidates (the other
    re-generations of one dialogue, when that is why the key is crowded), then of the rest
    those whose ``DEEP`` smallest hashes hold ``MORE_SHARED`` or more of its uncommon ones
    (hashes of at most ``COMMON_BUCKET`` of them): a near one shares most of its sentences
    (``similar.is_near`` needs six shared hashes or more of two dialogues of eight sentences
    or more), most of them not common. Every candidate shares a key with the one asked
    about, as before; where no key is crowded the candidates and their order are as they
    were."""

    def __init__(self) -> None:
        self._by_key: dict[int, list[int]] = {}  # lookup key -> entries, in the order indexed
        self._entries: list[tuple[str, bytes]] = []
        self._keys: list[list[int]] = []  # each entry's lookup keys
        # Sentence hash (``DEEP`` smallest) -> entries: made only once a crowded key is met,
        # then kept up. Most hashes are one conversation's: those map to its entry number
        # (no container each: half a million of them at 20,000 conversations), the others
        # to an array (not a list: lists slow every garbage collection).
        self._once: dict[int, int] = {}
        self._by_hash: dict[int, array[int]] = {}
        self._hashed = 0  # entries in ``_once`` and ``_by_hash``

    def add(self, cid: str, sketch: bytes) -> int:
        """Index ``cid`` after the others; return its entry number (for ``replace``)."""
        entry = len(self._entries)
        self._entries.append((cid, sketch))
        keys = lookup_keys(sketch)
        self._keys.append(keys)
        for key in keys:
            self._by_key.setdefault(key, []).append(entry)
        return entry

    def replace(self, entry: int, sketch: bytes) -> None:
        """Index entry ``entry`` (an ``add``'s number) under a new sketch, in its place:
        a conversation replaced by a new version keeps its place in the order stored."""
        cid, old = self._entries[entry]
        for key in self._keys[entry]:
            bucket = self._by_key[key]
            bucket.remove(entry)
            if not bucket:
                del self._by_key[key]
        keys = lookup_keys(sketch)
        for key in keys:
            insort(self._by_key.setdefault(key, []), entry)
        self._entries[entry] = (cid, sketch)
        self._keys[entry] = keys
        if entry < self._hashed:
            self._unhash(entry, old)
            self._hash(entry, sketch)

    def candidates(self, sketch: bytes) -> Iterator[tuple[str, bytes]]:
        """The indexed ones sharing a lookup key with ``sketch``, each once, made as they
        are asked for (the first near one usually ends the search); of a crowded key's,
        only those the class docstring says."""
        seen: set[int] = set()
        crowded: set[int] = set()
        for key in lookup_keys(sketch):
            bucket: Sequence[int] = self._by_key.get(key, ())
            if len(bucket) > COMMON_BUCKET:
                crowded.add(key)
                bucket = bucket[:COMMON_BUCKET]
            for entry in bucket:
                if entry not in seen:
                    seen.add(entry)
                    yield self._entries[entry]
        if crowded:
            for entry in self._sharing_more(sketch, crowded, seen):
                yield self._entries[entry]

    def _sharing_more(self, sketch: bytes, crowded: set[int], seen: set[int]) -> list[int]:
        """The entries under a ``crowded`` key not ``seen`` yet that share ``MORE_SHARED``
        or more of the sketch's uncommon sentence hashes, in the order indexed."""
        self._hash_the_rest()
        mine = set(unpack(sketch))
        shared = Counter(map(self._once.__getitem__, self._once.keys() & mine))
        by_hash = self._by_hash
        shared.update(chain.from_iterable(
            bucket for bucket in map(by_hash.__getitem__, by_hash.keys() & mine)
            if len(bucket) <= COMMON_BUCKET))
        return sorted(entry for entry, count in shared.items()
                      if count >= MORE_SHARED and entry not in seen
                      and not crowded.isdisjoint(self._keys[entry]))

    def _hash_the_rest(self) -> None:
        """Put the entries indexed since the last call in ``_once`` or ``_by_hash`` (not
        the empty piece: no sentence)."""
        for entry in range(self._hashed, len(self._entries)):
            self._hash(entry, self._entries[entry][1])
        self._hashed = len(self._entries)

    def _hash(self, entry: int, sketch: bytes) -> None:
        """Put ``entry`` under the ``DEEP`` smallest hashes of ``sketch``."""
        once, by_hash = self._once, self._by_hash
        for value in unpack(sketch)[:DEEP]:
            bucket = by_hash.get(value)
            if bucket is not None:
                bucket.append(entry)
            elif value in once:
                by_hash[value] = array("I", (once.pop(value), entry))
            elif value != EMPTY_PIECE:
                once[value] = entry

    def _unhash(self, entry: int, sketch: bytes) -> None:
        """Take ``entry`` from under the hashes ``_hash`` put it under for ``sketch``."""
        once, by_hash = self._once, self._by_hash
        for value in unpack(sketch)[:DEEP]:
            bucket = by_hash.get(value)
            if bucket is not None:
                if entry in bucket:
                    bucket.remove(entry)
                if not bucket:
                    del by_hash[value]
            elif once.get(value) == entry:
                del once[value]


@dataclass(frozen=True, eq=False)  # one per plan, shared by its copies: by identity, hashable
class NearOnAdd:
    """Which new conversations of an add nearly repeat a member of the file or an earlier
    new one, and what answers "does it repeat one that stays?" for any choices of the
    review. Not the list of every pair: in a library of one template's re-generations each
    conversation nearly repeats thousands, and the review needs one that stays, so each
    question stops at the first near one (``app.similar.any_near``)."""

    near: tuple[str, ...] = ()  # the new ids that nearly repeat one, in the order asked
    with_member_twin: frozenset[str] = frozenset()  # of ``near``: one in the file
    order: tuple[str, ...] = ()  # the new ids with a sketch, in the order asked for
    sketches: Mapping[str, bytes] = field(default_factory=dict)
    unpacked: dict[bytes, Unpacked] = field(default_factory=dict, compare=False, repr=False)
    # Of ``near``: the one each nearly repeats (the first near one found: a member, else
    # an earlier new one), to name it to the person.
    twins: Mapping[str, str] = field(default_factory=dict)

    def repeating_one_kept(self) -> Callable[[str, Mapping[str, str]], bool]:
        """``repeats(cid, out)``: whether ``cid`` nearly repeats a member of the file or an
        earlier new one that ``out`` does not leave out. Asked in the order of the add with
        the earlier ones decided (as ``AddPlan.left_out`` does): the ones that stay are
        indexed as the questions move on, so each is compared only with those."""
        near = frozenset(self.near)
        position = {cid: index for index, cid in enumerate(self.order)}
        kept = [NearIndex()]
        state = {"next": 0}

        def repeats(cid: str, out: Mapping[str, str]) -> bool:
            if cid not in near:
                return False
            if cid in self.with_member_twin:
                return True
            mine = position[cid]
            if mine < state["next"]:  # asked out of order: start again
                kept[0] = NearIndex()
                state["next"] = 0
            for earlier in self.order[state["next"] : mine]:
                if earlier not in out:
                    kept[0].add(earlier, self.sketches[earlier])
            state["next"] = mine
            return any_near(self.sketches[cid], kept[0].candidates(self.sketches[cid]),
                            self.unpacked)

        return repeats


def near_on_add(library: Library, name: str | None, new: Sequence[tuple[str, int]],
                progress: Progress | None = None,
                cancelled: Callable[[], bool] | None = None,
                doing: str = "looking for near-duplicates among the ones to add",
                read: MemberSketches | None = None) -> NearOnAdd:
    """Of ``new`` (conversation id, row key; in the order asked for), those that nearly
    repeat a member of the training file ``name`` (None: a new, empty file) or an earlier
    one of ``new`` (``NearOnAdd``); ``new`` may hold members (a replace asks of the ones
    it replaced), each compared with the others, not with itself. ``progress`` follows
    the conversations checked; ``cancelled`` stops the check (``NearCheckCancelled``).
    ``read`` keeps the file's members' sketches for the next question about it (a
    replace asks before and after it): the ones asked about are always read again, so
    only the members not asked about are taken from it."""
    members = NearIndex()
    asked = {cid for cid, _pk in new}  # a member asked about never repeats itself
    for member, sketch in _members_sketches(library, name, read):
        if member not in asked:
            members.add(member, sketch)
    sketches = _sketches_of(library, [pk for _cid, pk in new])
    earlier = NearIndex()
    unpacked: dict[bytes, Unpacked] = {}
    near: list[str] = []
    with_member: set[str] = set()
    order: list[str] = []
    by_id: dict[str, bytes] = {}
    twins: dict[str, str] = {}
    total = len(new)
    for done, (cid, pk) in enumerate(new):
        if done % PROGRESS_EVERY == 0:
            if cancelled is not None and cancelled():
                raise NearCheckCancelled()
            if progress is not None:
                progress(done, total, doing)
        mine = sketches.get(pk)
        if mine is None:
            continue
        twin = first_near(mine, members.candidates(mine), unpacked)
        if twin is not None:
            with_member.add(cid)
        else:
            twin = first_near(mine, earlier.candidates(mine), unpacked)
        if twin is not None:
            near.append(cid)
            twins[cid] = twin.conversation_id
        earlier.add(cid, mine)
        order.append(cid)
        by_id[cid] = mine
    if progress is not None:
        progress(total, total, doing)
    return NearOnAdd(tuple(near), frozenset(with_member), tuple(order), by_id, unpacked,
                     twins)


def _members_in_order(library: Library, name: str) -> list[tuple[str, int]]:
    """(conversation id, row key) of the file's members, in file order."""
    with library.session() as session:
        return [(cid, pk) for cid, pk in session.execute(
            select(Conversation.conversation_id, Conversation.pk)
            .join(Member, Member.conversation_pk == Conversation.pk)
            .join(TrainingFile, TrainingFile.file_id == Member.file_id)
            .where(TrainingFile.name == name)
            .order_by(Member.position))]


@dataclass(frozen=True)
class NearInFile:
    """The near-duplicates within a training file as it stood when counted."""

    members: tuple[str, ...]  # the members counted over, in file order
    repeats: Mapping[str, str]  # member -> the earlier member it nearly repeats


def near_members(library: Library, name: str, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> NearInFile:
    """The members of the training file ``name`` that nearly repeat an earlier member, in
    file order, each with the member it repeats: the add's check (``near_on_add``) of the
    members in file order, so that no second rule of what is near exists. Each repeat gives
    one dialogue extra weight in training; leaving all of them out keeps the first of each
    group. Nothing for a file that is gone. Reads only: safe on a worker thread."""
    members = _members_in_order(library, name)
    check = near_on_add(library, None, members, progress, cancelled,
                        f"looking for near-duplicates in '{name}'")
    return NearInFile(tuple(cid for cid, _pk in members),
                      {cid: check.twins[cid] for cid in check.near})
