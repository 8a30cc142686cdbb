"""A change to a training file worked out from what it adds and removes.

A build's header comes from its totals (``app.file_totals``), stored with the build; a
change whose kept members are exactly as they were built needs only the digests of the
conversations it adds and removes: the new totals are the old ones plus the added and
minus the removed contributions. ``plan_delta`` decides whether that holds and returns
what the build needs, or None, and then the build reads every member (``app.trainingfiles``).

The member rows must be the ones the totals were stored with (``member_guard``), the
settings and shared profile the same, and each removed member as it was built (its key is
made again from its stored state: row key, content hash, a hash of its stored digest,
batch, review mark). The kept members are either checked the same way (a rebuild: no
digest parsed, but every member's state read and hashed) or trusted (adding and removing:
nothing read but what changes). Trusting them holds because every change to a
conversation a build depends on forgets the stored totals of the files holding it in the
same transaction (``app.stored_builds.forget_totals``): the next build of those files
reads every member.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import orjson

from app.file_totals import (
    PROFILE,
    FileTotals,
    StoredTotals,
    TotalsMismatch,
    contribution,
)
from app.fragments import fragment_key
from app.records import Digest
from app.review import is_reviewed


@dataclass(frozen=True, slots=True)
class MemberState:
    """A conversation's stored state, as a build reads it (nothing parsed yet)."""

    digest: bytes
    batch: str
    reviewer: str | None
    content: str
    reviewed_at: str | None

    def key(self, settings: str, pk: int) -> str:
        """The fragment key without its profile part (``:shared`` or ``:own``)."""
        return fragment_key(settings, pk, self.content, hashlib.sha1(self.digest).hexdigest(),
                            self.batch, self.reviewer, self.reviewed_at)

    def parsed(self) -> Digest:
        """The stored digest with the library's batch and review mark overlaid."""
        item: Digest = orjson.loads(self.digest)
        item["batch_id"] = self.batch  # batches can be renamed after import
        item["human_reviewed"] = is_reviewed(item["human_reviewed"], self.reviewer)
        return item

    @property
    def rendered(self) -> tuple[str, str | None, str, str | None]:
        """What its rendering depends on besides the document its content hash names (the
        digest is made from the document and not rendered: ``Library.records_with_states``
        reads the same four)."""
        return self.batch, self.reviewer, self.content, self.reviewed_at

    @property
    def stale(self) -> bool:
        """Stored by a version without per-policy counts (made again before use)."""
        return b'"policies"' not in self.digest


def full_key(key: str, profile: str, shared_hash: str | None) -> str:
    """A member's fragment key: its state's key and whether its profile is the shared one."""
    return f"{key}:{'shared' if profile == shared_hash else 'own'}"


@dataclass(frozen=True, slots=True)
class Delta:
    """What a build needs when only the added and removed members are read."""

    added: dict[int, tuple[Digest, str]]  # row key -> digest and fragment key, when added
    removed: list[tuple[Digest, str]]  # digest and fragment key of each removed member
    shared_hash: str | None


def plan_delta(
    stored: StoredTotals | None, guard: str, settings: str,
    added: Sequence[int], removed: Sequence[tuple[int, str | None]],
    states: Mapping[int, MemberState], kept: Sequence[tuple[int, str | None]] | None = None,
) -> Delta | None:
    """The delta that adds ``added`` and removes ``removed`` (row key, fragment key) from
    the build ``stored`` describes, or None when the file must be read whole (see the
    module docstring). ``guard``: the member rows' ``member_guard`` now; ``states`` holds
    every added and removed member (and every kept one when ``kept`` is given).

    ``kept``: the members staying, each checked against its stored fragment key. None:
    they are trusted to be as built, as every change to a conversation a build depends on
    forgets the stored totals of the files holding it (``app.stored_builds.forget_totals``).
    """
    if stored is None or stored.settings != settings or stored.members != guard:
        return None
    wanted = [*added, *(pk for pk, _ in removed), *(pk for pk, _ in kept or ())]
    if any(pk not in states for pk in wanted):
        return None  # gone from the library: the full way says which
    if any(states[pk].stale for pk in (*added, *(pk for pk, _ in removed))):
        return None
    added_digests = {pk: states[pk].parsed() for pk in added}
    removed_digests = {}
    for pk, before in removed:
        if before is None or before.rpartition(":")[0] != states[pk].key(settings, pk):
            return None  # changed since it was built: what it added is not known
        removed_digests[pk] = states[pk].parsed()
    profiles: Counter[str] = stored.totals.values(PROFILE)
    profiles.subtract(d["profile_hash"] for d in removed_digests.values())
    profiles.update(d["profile_hash"] for d in added_digests.values())
    profiles = +profiles
    shared_hash = stored.shared_hash
    if profiles:
        best = max(profiles.values())
        leaders = [h for h, c in profiles.items() if c == best]
        # A tie is settled by the first member using one: the full way reads them in order.
        if len(leaders) != 1:
            return None
        if leaders[0] != shared_hash:
            if stored.totals.n("conversations") > len(removed):
                return None  # the kept members' renderings name the shared profile
            shared_hash = leaders[0]  # none kept: the added ones are rendered with it
    for pk, before in kept or ():
        if before is None or before.rpartition(":")[0] != states[pk].key(settings, pk):
            return None  # changed since the build (or built another way): read them all
    return Delta(
        {pk: (digest, full_key(states[pk].key(settings, pk), digest["profile_hash"],
                               shared_hash)) for pk, digest in added_digests.items()},
        [(removed_digests[pk], str(key)) for pk, key in removed],
        shared_hash if profiles else None)


def delta_totals(
    stored: FileTotals, delta: Delta, policy: str,
    part_of: Callable[[str], tuple[Sequence[int], int, int, tuple[int, int]]],
) -> FileTotals | None:
    """The new totals: ``stored`` with the added members' contributions in and the removed
    ones' out; ``part_of(key)`` gives a fragment's (line tokens, json size, jsonl size, fitted).
    None when the removed members are not all counted in ``stored``."""
    added = [contribution(digest, policy, *part_of(key))
             for digest, key in delta.added.values()]
    removed = [contribution(digest, policy, *part_of(key)) for digest, key in delta.removed]
    try:
        return stored.changed(added, removed)
    except TotalsMismatch:
        return None
