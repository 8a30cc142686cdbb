"""A change to a training file worked out from what it adds and removes.

A build's header comes from its totals (``app.file_totals``), stored with the build; a
change whose kept members are exactly as they were built needs only the digests of the
conversations it adds and removes: the new totals are the old ones plus the added and
minus the removed contributions. ``plan_delta`` decides whether that holds and returns
what the build needs, or None, and then the build reads every member (``app.trainingfiles``).

"Exactly as they were built" is checked, not assumed: every member's fragment key is made
again from its stored state (row key, content hash, a hash of its stored digest, batch,
review mark; no digest is parsed for it) and compared with the key stored on its row; the
member list must be the one the totals were stored with, and the settings and shared
profile the same. So a change made behind the build's back (a batch renamed, a review mark
set, a record repaired, a member row deleted) takes the full way, as before.
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
    members_hash,
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
    def stale(self) -> bool:
        """Stored by a version without per-policy counts (made again before use)."""
        return b'"policies"' not in self.digest


def full_key(key: str, profile: str, shared_hash: str | None) -> str:
    """A member's fragment key: its state's key and whether its profile is the shared one."""
    return f"{key}:{'shared' if profile == shared_hash else 'own'}"


@dataclass(frozen=True, slots=True)
class Delta:
    """What a build needs when only the added and removed members are read."""

    keys: list[str]  # every member's fragment key, in the new order
    added: list[tuple[Digest, str]]  # digest and fragment key of each added member
    removed: list[tuple[Digest, str]]  # digest and fragment key of each removed member
    shared_hash: str | None


@dataclass(frozen=True, slots=True)
class Previous:
    """The build a change starts from: its member rows (row key, fragment key) in order
    and its stored totals (None: none stored, or they do not read back)."""

    members: list[tuple[int, str | None]]
    totals: StoredTotals | None


def plan_delta(
    previous: Previous, new_members: Sequence[int], states: Mapping[int, MemberState],
    settings: str, policy: str,
) -> Delta | None:
    """The delta from ``previous`` to ``new_members``, or None when the file must be read
    whole (see the module docstring). ``states`` holds every new and removed member."""
    stored = previous.totals
    if stored is None or stored.settings != settings:
        return None
    if members_hash(previous.members) != stored.members:
        return None
    if len(set(new_members)) != len(new_members):
        return None  # a conversation listed twice: the full way says so
    old_key = dict(previous.members)
    if any(pk not in states for pk in (*new_members, *old_key)):
        return None  # gone from the library: the full way says which
    wanted = set(new_members)
    removed = [pk for pk, _ in previous.members if pk not in wanted]
    added = [pk for pk in new_members if pk not in old_key]
    if any(states[pk].stale for pk in (*added, *removed)):
        return None
    added_digests = {pk: states[pk].parsed() for pk in added}
    removed_digests = {pk: states[pk].parsed() for pk in removed}
    profiles: Counter[str] = stored.totals.values(PROFILE)
    profiles.subtract(d["profile_hash"] for d in removed_digests.values())
    profiles.update(d["profile_hash"] for d in added_digests.values())
    profiles = +profiles
    shared_hash = stored.shared_hash
    if profiles:
        best = max(profiles.values())
        leaders = [h for h, c in profiles.items() if c == best]
        # A tie is settled by the first member using one: the full way reads them in order.
        if len(leaders) != 1 or leaders[0] != shared_hash:
            return None
    keys: list[str] = []
    added_parts: list[tuple[Digest, str]] = []
    for pk in new_members:
        state = states[pk]
        key = state.key(settings, pk)
        if pk not in old_key:
            digest = added_digests[pk]
            keys.append(full_key(key, digest["profile_hash"], shared_hash))
            added_parts.append((digest, keys[-1]))
            continue
        before = old_key[pk]
        if before is None or before.rpartition(":")[0] != key:
            return None  # changed since the build (or built another way): read them all
        keys.append(before)
    removed_parts = []
    for pk in removed:
        before = old_key[pk]
        if before is None or before.rpartition(":")[0] != states[pk].key(settings, pk):
            return None
        removed_parts.append((removed_digests[pk], before))
    return Delta(keys, added_parts, removed_parts, shared_hash if profiles else None)


def delta_totals(
    stored: FileTotals, delta: Delta, policy: str,
    part_of: Callable[[str], tuple[Sequence[int], int, int]],
) -> FileTotals | None:
    """The new totals: ``stored`` with the added members' contributions in and the removed
    ones' out; ``part_of(key)`` gives a fragment's (line tokens, json size, jsonl size).
    None when the removed members are not all counted in ``stored``."""
    added = [contribution(digest, policy, *part_of(key)) for digest, key in delta.added]
    removed = [contribution(digest, policy, *part_of(key)) for digest, key in delta.removed]
    try:
        return stored.changed(added, removed)
    except TotalsMismatch:
        return None
